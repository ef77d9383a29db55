"""Audit journal benchmarks: batched append, durable commit latency, verify, filtered list.

Prints figures; never fails on time. Every file lives in a temporary
directory that is removed at the end (unless ``--db`` names a file to keep
and reuse for the million-entry benchmarks).

    .venv/bin/python benchmarks/bench_journal.py            # the full run
    .venv/bin/python benchmarks/bench_journal.py --entries 100000 --append-entries 20000
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _machine import machine_line  # benchmarks/ is on sys.path when run as a script

from pamtui.journal import EntryFilter, Journal
from pamtui.journal.canonical import canonical_json
from pamtui.journal.database import connect
from pamtui.journal.journal import timestamp

_INSERT = (
    "INSERT INTO entries (seq, ts, actor, action, provider, subject, detail, prev_hash, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

# -- synthetic but plausible journal content ---------------------------------

OPERATORS = [f"op{i:02d}" for i in range(40)] + ["alice", "bob", "carol", "dave"]
POLICY_ACTORS = ["policy:stale-tokens", "policy:offboarding", "policy:no-mfa-admins"]
PROVIDERS = ["corp-scim", "github", "aws", "gcp", "okta", "slack", "gitlab", "demo-idp"]
# (action, weight): staging and queue traffic dominate; MFA events are rare.
ACTIONS = [
    ("stage", 20),
    ("approve", 10),
    ("revoke", 18),
    ("verify", 18),
    ("queue.retry", 4),
    ("queue.cancel", 2),
    ("review.start", 1),
    ("review.decide", 12),
    ("sweep", 8),
    ("login", 6),
    ("mfa.enroll", 1),
]
REASONS = [
    "offboarding ticket",
    "leaked credential reported by scanner",
    "quarterly access review",
    "unused for more than 90 days",
    "privileged grant without MFA",
    "contractor end date reached",
]
RARE_TERM = "INC-RARE-7741"  # occurs in exactly one entry, early in the history
ABSENT_TERM = "no-such-term-q9z"  # occurs nowhere: the worst case, a full scan
RARE_ACTOR = "auditor-ext"  # a handful of entries, all early


def make_rows(
    n: int,
    *,
    seed: int,
    start: datetime,
    span: timedelta,
    with_ts: bool,
    first: int = 0,
    rare_at: int = 1000,
) -> list:
    """``n`` append_many rows (tuples), timestamps spread evenly over ``span``.

    ``first`` is the index of the first row in the whole history (rows are
    made in chunks): the rare actor and the rare term go by it.
    """
    rng = random.Random(seed)
    rand = rng.random  # one call per pick: generating a million rows should not dominate
    # Operators are skewed (a few do most of the work); policies act 15% of the time.
    actors = [OPERATORS[min(int(rng.expovariate(0.12)), len(OPERATORS) - 1)] for _ in range(997)]
    actors += POLICY_ACTORS * 59
    actions = [a for a, w in ACTIONS for _ in range(w)]
    kinds = ("credential", "account", "grant")
    scopes = (["repo", "admin:org"], ["read:user", "billing"], ["repo", "read:user"])
    step = span / max(n, 1)
    rows = []
    for i in range(first, first + n):
        actor = actors[int(rand() * len(actors))]
        if i < 50 * 1000 and i % 1000 == 7:
            actor = RARE_ACTOR
        action = actions[int(rand() * len(actions))]
        provider = PROVIDERS[int(rand() * len(PROVIDERS))]
        kind = kinds[int(rand() * 3)]
        subject = f"{kind}:{provider}:{int(rand() * 50_000):05d}"
        detail = {
            "reason": f"{REASONS[int(rand() * len(REASONS))]} #{int(rand() * 100_000)}",
            "label": f"{kind} of user{int(rand() * 5_000)}",
            "fingerprint": f"{int(rand() * 2**48):012x}",
        }
        if action in ("revoke", "verify"):
            detail["scopes"] = scopes[int(rand() * 3)]
        if i == rare_at:
            detail["reason"] = f"incident {RARE_TERM}"
        row = (actor, action, provider, subject, detail)
        if with_ts:
            row += (timestamp(start + step * (i - first)),)
        rows.append(row)
    return rows


# -- helpers --------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with 20 samples, p99 is the maximum)."""
    ordered = sorted(values)
    return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def plan(journal: Journal, filt: EntryFilter) -> str:
    """The query plan of the last statement ``Journal.entries(filt)`` runs."""
    statements: list[str] = []
    journal.conn.set_trace_callback(statements.append)  # gets the SQL with values bound
    try:
        journal.entries(filt, limit=100)
    finally:
        journal.conn.set_trace_callback(None)
    rows = journal.conn.execute(f"EXPLAIN QUERY PLAN {statements[-1]}").fetchall()
    return "; ".join(r[-1] for r in rows)


# -- 1. batched append vs plain executemany --------------------------------------


def bench_append(workdir: Path, n: int, batch: int) -> None:
    print(f"\n[1] batched append: {n:,} entries in batches of {batch:,}, synchronous=FULL")
    rows = make_rows(
        n, seed=1, start=datetime(2025, 1, 1, tzinfo=UTC), span=timedelta(0), with_ts=False
    )
    # The baseline inserts the same rows, already encoded, with placeholder
    # hashes: SQLite's own cost for the same table, indexes and pragmas.
    now = timestamp()
    plain_rows = [
        (i + 1, now, a, act, p, s, canonical_json(d), "0" * 64, "f" * 64)
        for i, (a, act, p, s, d) in enumerate(rows)
    ]
    journal = Journal.open(workdir / "append.db")
    plain = connect(workdir / "plain.db")
    t_journal = t_plain = 0.0
    # Interleave the two, batch by batch, so both see the same disk weather.
    for start in range(0, n, batch):
        t0 = time.perf_counter()
        journal.append_many(rows[start : start + batch])
        t1 = time.perf_counter()
        plain.execute("BEGIN IMMEDIATE")
        plain.executemany(_INSERT, plain_rows[start : start + batch])
        plain.execute("COMMIT")
        t2 = time.perf_counter()
        t_journal += t1 - t0
        t_plain += t2 - t1
    assert journal.count() == n
    journal.close()
    plain.close()
    remove_db(workdir / "append.db")
    remove_db(workdir / "plain.db")
    j_rate, p_rate = n / t_journal, n / t_plain
    print(
        f"  journal append_many (check + encode + hash + insert): {j_rate:10,.0f} entries/s"
        f"  ({t_journal:.2f} s)"
    )
    print(
        f"  plain SQLite executemany (pre-encoded, no hashing):   {p_rate:10,.0f} rows/s"
        f"     ({t_plain:.2f} s)"
    )
    print(f"  ratio journal / plain: {j_rate / p_rate:.2f}  (aim >= 0.5)")


# -- 2. durable single-entry commit latency ---------------------------------------


def bench_latency(workdir: Path, n: int) -> None:
    print(
        f"\n[2] durable single-entry append (Journal.append, own transaction, "
        f"synchronous=FULL, WAL): {n} appends"
    )
    journal = Journal.open(workdir / "latency.db")
    journal.append_many(
        make_rows(
            1000,
            seed=2,
            start=datetime(2025, 1, 1, tzinfo=UTC),
            span=timedelta(days=1),
            with_ts=True,
        )
    )
    latencies = []
    for i in range(n):
        t0 = time.perf_counter()
        journal.append(
            "alice",
            "revoke",
            provider="github",
            subject=f"credential:github:{i}",
            detail={"reason": "leaked credential", "fingerprint": f"{i:012x}"},
        )
        latencies.append((time.perf_counter() - t0) * 1000)
    journal.close()
    remove_db(workdir / "latency.db")
    print(
        f"  p50 {pct(latencies, 0.50):.2f} ms   p99 {pct(latencies, 0.99):.2f} ms   "
        f"mean {statistics.fmean(latencies):.2f} ms   max {max(latencies):.2f} ms   "
        f"({1000 / statistics.fmean(latencies):,.0f} commits/s)"
    )


# -- 3. and 4. on a large journal ------------------------------------------------


def build_large(path: Path, n: int, batch: int) -> tuple[float, datetime, datetime]:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    span = timedelta(days=365)
    end = start + span
    journal = Journal.open(path)
    have = journal.count()
    if have == n:
        journal.close()
        print(f"\n[3] reusing {path} ({n:,} entries)")
        return 0.0, start, end
    if have:
        raise SystemExit(f"{path} holds {have:,} entries, not {n:,}: remove it or pick another")
    print(
        f"\n[3] building a {n:,}-entry journal (append_many, batches of {batch:,}, "
        "one year of timestamps)"
    )
    elapsed = 0.0
    chunk = 100_000  # generate in chunks: a million detail dicts at once is memory for nothing
    for lo in range(0, n, chunk):
        hi = min(lo + chunk, n)
        rows = make_rows(
            hi - lo,
            seed=3 + lo,
            start=start + span * (lo / n),
            span=span * ((hi - lo) / n),
            with_ts=True,
            first=lo,
            rare_at=n // 100,
        )
        t0 = time.perf_counter()
        for b in range(0, len(rows), batch):
            journal.append_many(rows[b : b + batch])
        elapsed += time.perf_counter() - t0
    journal.close()
    size = sum(os.path.getsize(f"{path}{s}") for s in ("", "-wal") if os.path.exists(f"{path}{s}"))
    print(f"  build: {elapsed:.1f} s ({n / elapsed:,.0f} entries/s), file {size / 2**20:,.0f} MiB")
    return elapsed, start, end


def bench_verify(path: Path) -> None:
    journal = Journal.open(path, read_only=True)
    t0 = time.perf_counter()
    report = journal.verify()
    elapsed = time.perf_counter() - t0
    journal.close()
    print(
        f"  verify: {elapsed:.2f} s for {report.entries:,} entries "
        f"({report.entries / elapsed:,.0f} entries/s), ok={report.ok}  (aim < 10 s)"
    )


def bench_filters(path: Path, start: datetime, end: datetime, runs: int) -> None:
    print(
        f"\n[4] filtered list: Journal.entries(filter, limit=100), newest first; "
        f"median and p99 over {runs} runs (fewer if a run is slow), warm cache"
    )
    journal = Journal.open(path, read_only=True)
    mid = start + (end - start) / 2
    cases: list[tuple[str, EntryFilter]] = [
        ("actor (common)", EntryFilter(actor="op03")),
        ("actor (rare, old)", EntryFilter(actor=RARE_ACTOR)),
        ("provider + action (common)", EntryFilter(provider="github", action="revoke")),
        ("provider + action (rare)", EntryFilter(provider="aws", action="mfa.enroll")),
        ("provider + action (none)", EntryFilter(provider="aws", action="no-such-action")),
        (
            "since/until (1 day, mid-history)",
            EntryFilter(since=timestamp(mid), until=timestamp(mid + timedelta(days=1))),
        ),
        ("since (last 30 days)", EntryFilter(since=timestamp(end - timedelta(days=30)))),
        (
            "since/until (first 6 months)",
            EntryFilter(since=timestamp(start), until=timestamp(mid)),
        ),
        (
            "since/until (whole year)",
            EntryFilter(since=timestamp(start), until=timestamp(end)),
        ),
        (
            "since/until (first 30 days)",
            EntryFilter(since=timestamp(start), until=timestamp(start + timedelta(days=30))),
        ),
        ("subject", EntryFilter(subject="credential:github:01234")),
        (
            "actor + since (30 days)",
            EntryFilter(actor="op03", since=timestamp(end - timedelta(days=30))),
        ),
        ("text (common: 'offboarding')", EntryFilter(text="offboarding")),
        ("text (rare: one old entry)", EntryFilter(text=RARE_TERM)),
        ("text (absent: full scan)", EntryFilter(text=ABSENT_TERM)),
    ]
    width = max(len(name) for name, _ in cases)
    for name, filt in cases:
        times: list[float] = []
        found = 0
        budget_end = time.perf_counter() + 8.0
        for _ in range(runs):
            t0 = time.perf_counter()
            found = len(journal.entries(filt, limit=100))
            times.append((time.perf_counter() - t0) * 1000)
            if time.perf_counter() > budget_end and len(times) >= 3:
                break
        print(
            f"  {name:<{width}}  median {statistics.median(times):8.1f} ms  "
            f"p99 {pct(times, 0.99):8.1f} ms  n={len(times):<2}  rows={found:<3}  "
            f"plan: {plan(journal, filt)}"
        )
    journal.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries",
        type=int,
        default=1_000_000,
        help="size of the journal for verify and list (default 1,000,000)",
    )
    parser.add_argument(
        "--append-entries",
        type=int,
        default=200_000,
        help="entries for the append throughput benchmark (default 200,000)",
    )
    parser.add_argument("--batch", type=int, default=1000, help="append_many batch size")
    parser.add_argument(
        "--build-batch",
        type=int,
        default=10_000,
        help="append_many batch size for building the large journal (default 10,000)",
    )
    parser.add_argument("--latency-appends", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20, help="runs per list filter")
    parser.add_argument(
        "--db", type=Path, help="keep the large journal here and reuse it on later runs"
    )
    parser.add_argument(
        "--only",
        choices=["append", "latency", "large"],
        action="append",
        help="run only these parts (repeatable)",
    )
    args = parser.parse_args(argv)
    only = set(args.only or ["append", "latency", "large"])

    print("== bench_journal: the audit journal ==")
    print(machine_line())
    workdir = Path(tempfile.mkdtemp(prefix="pamtui-bench-"))
    print(f"files: {workdir} (temporary, on {_fs_of(workdir)})")
    try:
        if "append" in only:
            bench_append(workdir, args.append_entries, args.batch)
        if "latency" in only:
            bench_latency(workdir, args.latency_appends)
        if "large" in only:
            large = args.db or workdir / "large.db"
            _, start, end = build_large(large, args.entries, args.build_batch)
            bench_verify(large)
            bench_filters(large, start, end, args.runs)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _fs_of(path: Path) -> str:
    """The filesystem type holding ``path`` (fsync cost depends on it)."""
    best, fstype = "", "unknown filesystem"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            _dev, mount, kind, *_ = line.split()
            if str(path).startswith(mount) and len(mount) > len(best):
                best, fstype = mount, kind
    except OSError:
        pass
    return fstype


if __name__ == "__main__":
    sys.exit(main())
