"""Movers and excess at 100,000 accounts (demo ``scale``): what ``session.movers.assess`` costs.

1. Setup: the scaled org (as ``bench_people.py``; ``--keep DIR`` reuses it), one
   inventory sync, the rosters read and correlated, with the demo's two baselines.
2. The first ``assess``: records every person's role in ``people_history``
   (about 80,000 rows, one transaction) and assesses everyone.
3. Later ``assess`` calls, ``--runs`` times: history read, nothing written.
4. The pure part alone (``assess_all``), and ``people_flags`` for the accounts pane.

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line, scratch_dir
from bench_people import scale_config, seconds

BASELINES = """
[[baselines]]
name = "engineering"
match = { department = "Engineering" }
allow = { "demo-idp" = ["Everyone", "VPN-Users", "Dept-Engineering", "App-*"], "demo-git" = ["*"] }

[[baselines]]
name = "sales"
match = { department = "Sales" }
allow = { "demo-idp" = ["Everyone", "VPN-Users", "Dept-Sales", "App-Salesforce", "App-Jira"], "demo-git" = [] }
"""


async def figures(config: Path, db: Path, runs: int) -> None:
    from pamtui.model import RiskFlag
    from pamtui.services.movers import assess_all, people_flags
    from pamtui.services.session import Session

    session = Session.open(config_path=str(config), db_path=str(db))
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        print(f"  {len(views)} accounts, {len(corr.people)} people")
        t0 = time.perf_counter()
        movers = await session.movers.assess(corr, views)
        print(f"  first assess (records history) {(time.perf_counter() - t0) * 1000:7.0f} ms")
        later = []
        for _ in range(runs):
            t0 = time.perf_counter()
            movers = await session.movers.assess(corr, views)
            later.append(time.perf_counter() - t0)
        print(f"  assess (history read)          {seconds(later)}")
        history = session.movers.history.load()
        by_key = {v.key: v for v in views}
        pure = []
        for _ in range(runs):
            t0 = time.perf_counter()
            assess_all(corr.people.values(), corr.accounts_of, by_key, session.baselines, history)
            pure.append(time.perf_counter() - t0)
        print(f"  assess_all (pure)              {seconds(pure)}")
        t0 = time.perf_counter()
        flags = people_flags(corr, movers)
        print(
            f"  people_flags                   {(time.perf_counter() - t0) * 1000:7.0f} ms   "
            f"{len(flags)} accounts flagged"
        )
        print(
            f"  assessed {len(movers.people)} people: {len(movers.flagged([RiskFlag.MOVER]))} "
            f"movers, {len(movers.flagged([RiskFlag.EXCESS]))} with excess"
        )
    finally:
        await session.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the generated org in this directory")
    args = parser.parse_args()
    print(machine_line())
    with scratch_dir(args.keep) as work:
        from pamtui.providers.demo.scaled import ensure_scaled

        state = work / f"demo-{args.scale}.sqlite"
        started = time.perf_counter()
        ensure_scaled(state, scale=args.scale)
        print(f"{args.scale} accounts: state file ready in {time.perf_counter() - started:.1f} s")
        config = work / "movers.toml"
        config.write_text(scale_config(args.scale, state) + BASELINES, encoding="utf-8")
        db = work / "movers.db"
        for leftover in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            leftover.unlink(missing_ok=True)
        asyncio.run(figures(config, db, args.runs))


if __name__ == "__main__":
    main()
