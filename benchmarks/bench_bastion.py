"""``pamtui serve-ssh`` with N operator sessions: first frame, total RSS, provider calls.

Starts a real serve-ssh on 127.0.0.1 (a free port) with one operator key
(``alice``, role operator), opens N sessions with the OpenSSH client in tmux
one after the other, and reports for each the time from ``ssh`` starting to
the triage TUI's first frame with demo data, then the RSS of the service and
all its children with every session open, and the demo providers' calls per
minute: counted by the providers themselves in a call log (demo/calls.py:
list pages, people listings, streams opened, live seconds polled), read
before and after a ``--window`` of steady state, once with the first session
alone and once with all N open. The load average is printed beside them.

    .venv/bin/python benchmarks/bench_bastion.py --sessions 5
    .venv/bin/python benchmarks/bench_bastion.py --sessions 20 --scale 100000
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line

from pamtui.providers.demo.calls import read_calls
from pamtui.services.inventory_snapshot import snapshot_file

SSH = shutil.which("ssh") or "/usr/bin/ssh"


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo += children.get(current, [])
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--scale", type=int, default=0, help="demo accounts (0: the small demo)")
    parser.add_argument(
        "--window", type=float, default=60, help="seconds over which provider calls are counted"
    )
    parser.add_argument("--settle", type=float, default=10, help="seconds before counting")
    args = parser.parse_args()
    print(machine_line())
    pamtui = str(Path(sys.executable).with_name("pamtui"))
    with tempfile.TemporaryDirectory(prefix="pamtui-bastion-") as tmp:
        root = Path(tmp)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "alice")],
                       check=True)  # fmt: skip
        keys = root / "keys"
        keys.write_text(f'pamtui-operator="alice" {(root / "alice.pub").read_text()}')
        keys.chmod(0o600)
        providers = "".join(
            f'[[providers]]\nname = "demo-{s}"\ntype = "demo"\nsystem = "{s}"\n'
            + (f"scale = {args.scale}\n" if args.scale else "")
            + 'call_log = "demo-calls.sqlite"\n'
            for s in ("idp", "git", "cloud")
        )
        n = args.sessions
        (root / "config.toml").write_text(
            f"[ssh]\nmax_sessions = {n + 1}\nmax_sessions_per_operator = {n + 1}\n"
            f"max_connections_per_operator = {n + 1}\n\n"
            '[[operators]]\nname = "alice"\nroles = ["operator"]\n\n' + providers
        )
        if args.scale:  # generated before the service starts: not part of any session's time
            from pamtui.providers.demo import reset

            started = time.monotonic()
            reset(root / "data", scale=args.scale)
            print(
                f"demo org of {args.scale} accounts generated in {time.monotonic() - started:.0f} s"
            )
        env = {**os.environ, "HOME": str(root / "home")}
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        log = (root / "server.log").open("wb")
        server = subprocess.Popen(
            [pamtui, "serve-ssh", "--config", str(root / "config.toml"), "--db",
             str(root / "data" / "pamtui.db"), "--authorized-keys", str(keys), "--port", "0"],
            stdout=log, stderr=log, env=env,
        )  # fmt: skip
        sock = f"pamtui-bench-{uuid.uuid4().hex[:8]}"

        def tmux(*argv: str) -> str:
            return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *argv],
                                  capture_output=True, text=True, env=env).stdout  # fmt: skip

        try:
            port = None
            for _ in range(400):
                match = re.search(
                    r"listening on 127\.0\.0\.1:(\d+)", (root / "server.log").read_text()
                )
                if match:
                    port = match.group(1)
                    break
                time.sleep(0.05)
            assert port, (root / "server.log").read_text()
            ssh = [SSH, "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
                   "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                   "-o", "LogLevel=ERROR", "-i", str(root / "alice"), "-p", port, "-tt",
                   "alice@127.0.0.1"]  # fmt: skip
            calls_file = root / "data" / "demo-calls.sqlite"
            # Operators connect to a running service: its hub publishes the shared
            # inventory first (services/shared_inventory.py), timed on its own.
            published = snapshot_file(root / "data" / "pamtui.db")
            started = time.monotonic()
            while not published.exists():
                if time.monotonic() - started > 1800:
                    raise SystemExit("the hub published no inventory in 30 min")
                time.sleep(0.2)
            print(
                f"service start to shared inventory published: "
                f"{time.monotonic() - started:.1f} s (load average {_load()})"
            )

            def rate(label: str) -> None:
                time.sleep(args.settle)  # the sessions' start-up syncs are over
                before = read_calls(calls_file)
                started = time.monotonic()
                time.sleep(args.window)
                after = read_calls(calls_file)
                minutes = (time.monotonic() - started) / 60
                by_kind: dict[str, int] = {}
                for (_provider, kind), count in after.items():
                    by_kind[kind] = by_kind.get(kind, 0) + count - before.get((_provider, kind), 0)
                total = sum(by_kind.values())
                detail = ", ".join(f"{k} {v / minutes:.0f}" for k, v in sorted(by_kind.items()))
                print(f"{label}: provider calls {total / minutes:.0f}/min ({detail}); "
                      f"load average {_load()}")  # fmt: skip
                since_start = sum(after.values())
                print(f"{label}: provider calls since the service started: {since_start}")

            def rss(sessions: int) -> None:
                pids = _descendants(server.pid)
                total = sum(_rss_kib(p) for p in pids)

                def cmdline(pid: int) -> str:
                    try:
                        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                    except OSError:
                        return ""

                refresh = sum(_rss_kib(p) for p in pids if "--inventory-once" in cmdline(p))
                hub = sum(_rss_kib(p) for p in pids if "cli.hub" in cmdline(p)) - refresh
                print(f"{sessions} sessions: {len(pids)} processes, total RSS {total / 1024:.0f} MiB "
                      f"(service {_rss_kib(server.pid) / 1024:.0f} MiB, hub {hub / 1024:.0f} MiB"
                      + (f", the periodic inventory refresh {refresh / 1024:.0f} MiB" if refresh else "")
                      + f"); load average {_load()}")  # fmt: skip

            for i in range(n):
                started = time.monotonic()
                tmux("new-session", "-d", "-s", f"s{i}", "-x", "160", "-y", "45", " ".join(ssh))
                while True:
                    screen = tmux("capture-pane", "-p", "-t", f"s{i}")
                    if (
                        "alice (operator)" in screen
                        and re.search(r"Accounts [\d,]+", screen)
                        and "waiting for the service" not in screen
                    ):
                        break
                    if time.monotonic() - started > 600:
                        raise SystemExit(f"session {i}: no first frame:\n{screen}")
                    time.sleep(0.05)
                print(
                    f"session {i + 1}: connect to first frame with data "
                    f"{time.monotonic() - started:.2f} s (load average {_load()})"
                )
                if i == 0 and args.window > 0:
                    rate("1 session")
                if i + 1 == 5 and n > 5:
                    rss(5)
            if args.window > 0 and n > 1:
                rate(f"{n} sessions")
            else:
                time.sleep(5)  # let every session settle (syncs finish)
            rss(n)
        finally:
            tmux("kill-server")
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
