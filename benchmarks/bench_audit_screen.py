"""The audit review screen on a large journal, driven headless by Textual's Pilot.

Measures, on a journal of N entries (1,000,000 by default): time from start
to the first page on screen, time for a search (actor:, then free text) to
show its page, time for End to page in older entries, and time until the
background chain verification reports. Prints figures; never fails on time.

    .venv/bin/python benchmarks/bench_audit_screen.py [--entries N] [--db PATH]

With --db PATH an existing journal is reused (or built there once).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pamtui.journal import Journal
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import JournalTable

ACTORS = ("alice", "bob", "carol", "policy:stale-tokens", "system")
ACTIONS = ("stage", "approve", "execute", "revoked", "verified")


def build(path: Path, entries: int) -> float:
    started = time.perf_counter()
    journal = Journal.open(path)
    batch = 10_000
    for b in range(0, entries, batch):
        journal.append_many(
            (
                ACTORS[i % 5],
                ACTIONS[i % 5],
                f"demo-{('idp', 'git', 'cloud')[i % 3]}",
                f"credential:t{b}-{i}",
                {"label": f"Revoke token t{b}-{i}", "reason": "offboarding"},
            )
            for i in range(min(batch, entries - b))
        )
    journal.close()
    return time.perf_counter() - started


async def wait_until(check, timeout: float = 60.0) -> float:
    started = time.perf_counter()
    while not check():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the screen did not get there")
        await asyncio.sleep(0.002)
    return time.perf_counter() - started


async def measure(path: Path, runs: int) -> None:
    started = time.perf_counter()
    app = AuditApp(Journal.open(path, read_only=True))
    async with app.run_test(size=(120, 40)) as pilot:

        def table() -> JournalTable | None:
            try:
                return app.screen.query_one(JournalTable)
            except Exception:
                return None

        await wait_until(lambda: table() is not None and table().row_count > 0)
        first_page = time.perf_counter() - started
        print(f"  start to first page on screen         {first_page * 1000:8.0f} ms")

        newest = table().entries[0].seq
        # Each search is done when the first row on screen satisfies it.
        searches = {
            "actor:carol": lambda e: e.actor == "carol",
            "provider:demo-git action:revoked": lambda e: (
                (e.provider, e.action) == ("demo-git", "revoked")
            ),
            "t7-42 (free text, rare)": lambda e: "t7-42" in e.subject,
        }
        times: dict[str, list[float]] = {query: [] for query in searches}
        for _ in range(runs):
            for label, satisfied in searches.items():
                box = app.screen.query_one("#audit-query")
                box.value = label.split(" (")[0]
                t0 = time.perf_counter()
                await box.action_submit()
                await wait_until(
                    lambda s=satisfied: (
                        bool(table().entries) and table().row_count > 0 and s(table().entries[0])
                    )
                )
                times[label].append(time.perf_counter() - t0)
                box.value = ""
                await box.action_submit()
                await wait_until(lambda: bool(table().entries) and table().entries[0].seq == newest)
        for label, spent in times.items():
            print(
                f"  search {label!r:38} median {statistics.median(spent) * 1000:6.0f} ms"
                f"   max {max(spent) * 1000:6.0f} ms"
            )

        pages = []
        table().focus()
        for _ in range(5):
            rows = table().row_count
            t0 = time.perf_counter()
            await pilot.press("end")
            await wait_until(lambda r=rows: table().row_count > r)
            pages.append(time.perf_counter() - t0)
        print(
            f"  End: next page of 200 older entries   median {statistics.median(pages) * 1000:6.0f}"
            f" ms   max {max(pages) * 1000:6.0f} ms"
        )

        status = app.screen.query_one("#audit-status")
        await wait_until(
            lambda: "verified" in str(status.render()).lower() or "BROKEN" in str(status.render()),
            timeout=120,
        )
        print(
            f"  start to chain status shown (thread)  {(time.perf_counter() - started):8.1f} s"
            f"   ({str(status.render()).strip()[:60]}...)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "journal.db"
        if not path.exists():
            print(f"building a journal of {args.entries:,} entries…")
            print(f"  built in {build(path, args.entries):.1f} s")
        count = Journal.open(path, read_only=True).count()
        print(f"audit screen on {count:,} entries (120x40, headless):")
        asyncio.run(measure(path, args.runs))


if __name__ == "__main__":
    main()
