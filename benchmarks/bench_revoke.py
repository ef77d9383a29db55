"""Revoke 1,000 credentials through the queue against a slow, rate-limiting HTTP provider.

A local token API (``DELETE /tokens/{id}``, ``GET /tokens/{id}``) runs in a
child process on 127.0.0.1; every request takes ``--latency-ms`` and a seeded
``--rate-429`` share of them answer 429 with ``Retry-After: --retry-after``.
Each credential is staged as its own plan, then ``RevocationQueue.run`` drives
them all (revoke, then verify) with ``--concurrency`` calls at a time, through
``HttpClient`` and a journal with ``synchronous=FULL`` in a temporary directory.

Prints figures; never fails on time. Aim: 1,000 items in under 10 s with a
concurrency of 20, every item verified, no token revoked twice.

    .venv/bin/python benchmarks/bench_revoke.py
    .venv/bin/python benchmarks/bench_revoke.py --items 200 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
from _machine import machine_line  # benchmarks/ is on sys.path when run as a script

from pamtui.journal import Journal, Transaction
from pamtui.model import (
    AccessEvent,
    Account,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    QueueState,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderContext, ProviderError
from pamtui.providers.http import HttpClient, http_settings
from pamtui.services.queue import RevocationQueue, plan_for_credential

PROVIDER = "bench-api"
SEED = 20250101

# -- the token API (runs in a child process) -------------------------------------------


class TokenApi:
    """State and counters of the fake API; every method is called under ``lock``."""

    def __init__(self, items: int, latency_s: float, rate_429: float, retry_after: str) -> None:
        self.lock = threading.Lock()
        self.latency_s = latency_s
        self.rate_429 = rate_429
        self.retry_after = retry_after
        self.status = {token_id(i): "active" for i in range(items)}
        self.effective: Counter[str] = Counter()  # active -> revoked transitions per token
        self.accepted_deletes: Counter[str] = Counter()  # 204/404 answers to DELETE per token
        self.keys: dict[str, set[str]] = {}  # Idempotency-Key values seen per token
        self.seen: Counter[tuple[str, str]] = Counter()  # (method, token) -> requests so far
        self.by_method: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.in_flight = 0
        self.max_in_flight = 0

    def throttle(self, method: str, token: str) -> bool:
        """Whether this request gets a 429: seeded by (method, token, n-th request).

        The same requests are throttled on every run, whatever order the
        threads take the lock in.
        """
        self.seen[(method, token)] += 1
        draw = random.Random(f"{SEED}:{method}:{token}:{self.seen[(method, token)]}").random()
        return draw < self.rate_429

    def stats(self) -> dict[str, Any]:
        revoked = sum(1 for s in self.status.values() if s == "revoked")
        return {
            "requests": dict(self.by_method),
            "throttled": dict(self.throttled),
            "tokens": len(self.status),
            "revoked": revoked,
            "effective_max": max(self.effective.values(), default=0),
            "effective_duplicates": sum(1 for n in self.effective.values() if n > 1),
            "tokens_deleted_more_than_once": sum(
                1 for n in self.accepted_deletes.values() if n > 1
            ),
            "tokens_with_several_keys": sum(1 for k in self.keys.values() if len(k) > 1),
            "max_in_flight": self.max_in_flight,
        }


def token_id(i: int) -> str:
    return f"tok-{i:05d}"


def make_handler(api: TokenApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle on, the body waits
        # for the client's delayed ACK (40 ms on Linux) and every GET gets slower.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _send(
            self, status: int, body: Any = None, headers: Mapping[str, str] | None = None
        ) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response_only(status)
            if data:
                self.send_header("Content-Type", "application/json")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            method = self.command
            if self.path == "/_stats":
                with api.lock:
                    self._send(200, api.stats())
                return
            prefix = "/tokens/"
            token = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
            with api.lock:
                api.by_method[method] += 1
                api.in_flight += 1
                api.max_in_flight = max(api.max_in_flight, api.in_flight)
                throttled = bool(token) and api.throttle(method, token)
            try:
                time.sleep(api.latency_s)  # the provider's own processing time
                if throttled:
                    with api.lock:
                        api.throttled[method] += 1
                    self._send(429, {"message": "rate limited"}, {"Retry-After": api.retry_after})
                elif token not in api.status or method not in ("GET", "DELETE"):
                    self._send(404, {"message": f"no such resource {self.path}"})
                elif method == "GET":
                    with api.lock:
                        status = api.status[token]
                    self._send(200, {"id": token, "status": status})
                else:
                    with api.lock:
                        if api.status[token] == "active":
                            api.status[token] = "revoked"
                            api.effective[token] += 1
                        api.accepted_deletes[token] += 1
                        key = self.headers.get("Idempotency-Key", "")
                        api.keys.setdefault(token, set()).add(key)
                    self._send(204)
            finally:
                with api.lock:
                    api.in_flight -= 1

        do_GET = do_DELETE = _serve

    return Handler


def serve(items: int, latency_s: float, rate_429: float, retry_after: str) -> None:
    """The child process: print the port, serve until stdin closes."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256  # the default backlog of 5 drops a burst of 20 connects

    api = TokenApi(items, latency_s, rate_429, retry_after)
    httpd = Server(("127.0.0.1", 0), make_handler(api))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    print(httpd.server_address[1], flush=True)
    sys.stdin.read()  # the parent closes our stdin (or dies): stop
    httpd.shutdown()
    httpd.server_close()


@contextmanager
def token_api(
    items: int, latency_s: float, rate_429: float, retry_after: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start the API in a child process (its own GIL); yield its base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            f"{items},{latency_s},{rate_429},{retry_after}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def server_stats(base_url: str) -> dict[str, Any]:
    return httpx.get(f"{base_url}/_stats", timeout=10).json()


# -- the provider (benchmark only) -----------------------------------------------------


class TokenApiProvider:
    """The Provider protocol over the token API, through pamtui's ``HttpClient``."""

    type: ClassVar[str] = "bench-token-api"
    capabilities = frozenset({Capability.CREDENTIALS, Capability.REVOKE, Capability.VERIFY})

    def __init__(self, name: str, http: HttpClient, credentials: list[Credential]) -> None:
        self.name = name
        self.http = http
        self.credentials = credentials

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], context: ProviderContext
    ) -> TokenApiProvider:
        http, extra = http_settings(name, settings, allowed_extra_keys=("items",))
        items = int(extra.get("items", 0))
        creds = [
            Credential(
                provider=name,
                id=token_id(i),
                account_id=f"svc-{i % 50:03d}",
                kind=CredentialKind.API_TOKEN,
                status=CredentialStatus.ACTIVE,
                label=f"token {i}",
                fingerprint=f"…{i:04d}",
            )
            for i in range(items)
        ]
        return cls(name, HttpClient(name, http), creds)

    async def list_accounts(self) -> AsyncIterator[Account]:
        return
        yield  # an async generator with nothing in it

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        for cred in self.credentials:
            if account is None or cred.account_id == account.id:
                yield cred

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        return
        yield

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if not isinstance(target, Credential):
            raise ProviderError(f"{self.name}: only tokens can be revoked here")
        return [
            RevokeAction(
                provider=self.name,
                name="revoke_token",
                target_kind=TargetKind.CREDENTIAL,
                target_id=target.id,
                account_id=target.account_id,
                label=f"Revoke {target.label}",
                order=10,
            )
        ]

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        response = await self.http.request(
            "DELETE",
            f"tokens/{action.target_id}",
            headers={"Idempotency-Key": idempotency_key},
            expect=(204, 404),
        )
        gone = response.status_code == 404
        return RevokeResult(
            ok=True,
            already_done=gone,
            detail="already revoked" if gone else "revoked",
            provider_response={"status": response.status_code},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        response = await self.http.request("GET", f"tokens/{action.target_id}", expect=(200, 404))
        if response.status_code == 404:
            return VerifyResult(gone=True, detail="not found", provider_response={})
        status = self.http.parse_json(response).get("status")
        return VerifyResult(
            gone=status == "revoked",
            detail=f"status {status}",
            provider_response={"status": status},
        )

    async def aclose(self) -> None:
        await self.http.aclose()


# -- instrumentation -------------------------------------------------------------------


class TimedJournal(Journal):
    """A Journal that adds up the time spent inside its write transactions.

    The queue writes the journal on the event loop's thread, so this is time
    during which no HTTP response is read and no request is sent.
    """

    tx_count = 0
    tx_seconds = 0.0

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        t0 = time.perf_counter()
        try:
            with super().transaction() as tx:
                yield tx
        finally:
            self.tx_count += 1
            self.tx_seconds += time.perf_counter() - t0


# -- the benchmark ---------------------------------------------------------------------


def _fs_of(path: Path) -> str:
    best, fstype = "", "unknown filesystem"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, kind, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, fstype = mount, kind
    except OSError:
        pass
    return fstype


async def bench(args: argparse.Namespace, base_url: str, workdir: Path) -> dict[str, Any]:
    provider = TokenApiProvider.from_config(
        PROVIDER,
        {
            "base_url": base_url,
            "max_concurrency": args.concurrency,
            "max_retries": 4,
            "backoff_base_s": 0.05,
            "backoff_max_s": 1.0,
            "timeout_s": 10.0,
            "items": args.items,
        },
        ProviderContext(state_dir=workdir),
    )
    journal = TimedJournal.open(workdir / "journal.db")
    queue = RevocationQueue(
        journal, {PROVIDER: provider}, "bench", concurrency_per_provider=args.concurrency
    )
    try:
        t0 = time.perf_counter()
        ids: list[int] = []
        async for cred in provider.list_credentials():
            for item in queue.stage(
                plan_for_credential(provider, cred), "bench: revoke every token", approve=True
            ):
                ids.append(item.id)
        stage_s = time.perf_counter() - t0
        journal.tx_count, journal.tx_seconds = 0, 0.0

        profiler = cProfile.Profile() if args.profile else None
        cpu0 = time.process_time()
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        outcomes = await queue.run(ids)
        if profiler is not None:
            profiler.disable()
        run_s = time.perf_counter() - t0
        cpu_s = time.process_time() - cpu0

        counts = queue.counts()
        actions = dict(
            journal.conn.execute(
                "SELECT action, count(*) FROM entries GROUP BY action ORDER BY seq"
            )
        )
        attempts = Counter(queue.get(i).attempts for i in ids)
        t0 = time.perf_counter()
        report = journal.verify()
        verify_s = time.perf_counter() - t0
        return {
            "stage_s": stage_s,
            "run_s": run_s,
            "cpu_s": cpu_s,
            "ok": sum(1 for o in outcomes if o.ok),
            "outcomes": len(outcomes),
            "failures": [o.message for o in outcomes if not o.ok][:3],
            "counts": counts,
            "attempts": attempts,
            "requests": provider.http.requests,
            "retries": provider.http.retries,
            "waits": provider.http.rate_limited_waits,
            "tx_count": journal.tx_count,
            "tx_s": journal.tx_seconds,
            "report": report,
            "verify_s": verify_s,
            "actions": actions,
            "profiler": profiler,
        }
    finally:
        await provider.aclose()
        journal.close()


def print_results(args: argparse.Namespace, r: dict[str, Any], srv: dict[str, Any]) -> None:
    n, run_s = args.items, r["run_s"]
    counts: dict[QueueState, int] = r["counts"]
    verified = counts.get(QueueState.VERIFIED, 0)
    states = ", ".join(f"{state} {count}" for state, count in sorted(counts.items()))
    throttled = sum(srv["throttled"].values())
    server_requests = sum(srv["requests"].values())
    ideal = 2 * n * args.latency_ms / 1000 / args.concurrency
    print(f"\n[1] staging: {n:,} plans of one item each (approved): {r['stage_s']:.2f} s")
    print(f"\n[2] queue.run: {n:,} items, concurrency {args.concurrency}")
    print(
        f"  total {run_s:.2f} s   {n / run_s:,.0f} items/s   "
        f"{r['requests'] / run_s:,.0f} HTTP calls/s   (aim < 10 s)"
    )
    print(
        f"  lower bound for {2 * n:,} calls of {args.latency_ms:g} ms, {args.concurrency} at a "
        f"time: {ideal:.2f} s (+{throttled} throttled calls: "
        f"{(2 * n + throttled) * args.latency_ms / 1000 / args.concurrency:.2f} s)"
    )
    print(
        f"  HTTP requests {r['requests']:,}   retries {r['retries']:,}   "
        f"rate-limited waits {r['waits']:,}   "
        f"(server: {server_requests:,} requests, {throttled} answered 429, "
        f"at most {srv['max_in_flight']} in flight)"
    )
    print(
        f"  journal transactions during the run: {r['tx_count']:,}, "
        f"{r['tx_s']:.2f} s on the event loop "
        f"({r['tx_s'] / max(r['tx_count'], 1) * 1000:.2f} ms each, "
        f"{r['tx_s'] / run_s:.0%} of the run)"
    )
    print(
        f"  CPU time of this process (event loop, SQLite) during the run: {r['cpu_s']:.2f} s "
        f"({r['cpu_s'] / run_s:.0%} of the run; the server is another process)"
    )
    attempts = ", ".join(f"{k}: {v}" for k, v in sorted(r["attempts"].items()))
    print(
        f"  states: {states}   all verified: {'yes' if verified == n else 'NO'}   "
        f"outcomes ok {r['ok']:,}/{r['outcomes']:,}   queue attempts per item {{{attempts}}}"
    )
    for message in r["failures"]:
        print(f"  failure: {message}")
    print(
        f"  duplicates: {srv['effective_duplicates']} tokens revoked more than once "
        f"(effective), {srv['tokens_deleted_more_than_once']} deleted more than once, "
        f"{srv['tokens_with_several_keys']} with several idempotency keys; "
        f"server: {srv['revoked']:,}/{srv['tokens']:,} tokens revoked"
    )
    report = r["report"]
    print(
        f"\n[3] journal.verify(): {'ok' if report.ok else 'FAILED: ' + report.problem}, "
        f"{report.entries:,} entries, {r['verify_s'] * 1000:.0f} ms"
    )
    print("  entries by action: " + ", ".join(f"{a} {n:,}" for a, n in r["actions"].items()))
    profiler = r["profiler"]
    if profiler is not None:
        for key in ("tottime", "cumulative"):
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(key).print_stats(25)
            print(f"\n[profile] queue.run, sorted by {key}")
            print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000, help="credentials (default 1,000)")
    parser.add_argument("--concurrency", type=int, default=20, help="default 20")
    parser.add_argument(
        "--latency-ms", type=float, default=50, help="server time per request (default 50)"
    )
    parser.add_argument(
        "--rate-429", type=float, default=0.05, help="share of requests answered 429 (0.05)"
    )
    parser.add_argument(
        "--retry-after",
        default="0",
        help="Retry-After value on a 429, in seconds (default 0: retry at once)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile queue.run")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        items, latency, rate, retry_after = args.serve.split(",")
        serve(int(items), float(latency), float(rate), retry_after)
        return 0

    print("== bench_revoke: the revocation queue against an HTTP provider ==")
    print(machine_line())
    workdir = Path(tempfile.mkdtemp(prefix="pamtui-bench-"))
    print(f"files: {workdir} (temporary, on {_fs_of(workdir)}; journal synchronous=FULL, WAL)")
    print(
        f"server: 127.0.0.1 (child process, ThreadingHTTPServer), {args.latency_ms:g} ms per "
        f"request, {args.rate_429:.0%} answered 429 with Retry-After: {args.retry_after} "
        f"(seeded); client: HttpClient, max_concurrency {args.concurrency}, "
        f"backoff_base_s 0.05, max_retries 4"
    )
    try:
        with token_api(args.items, args.latency_ms / 1000, args.rate_429, args.retry_after) as (
            base_url,
            _proc,
        ):
            results = asyncio.run(bench(args, base_url, workdir))
            stats = server_stats(base_url)
        print_results(args, results, stats)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
