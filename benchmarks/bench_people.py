"""Correlation of accounts to people at 100,000 accounts (demo ``scale``).

1. Setup: generate the org and build its state file (once; reused with
   ``--keep DIR``), then one inventory sync of the three demo providers.
2. Roster: the demo idp's ``list_people`` (about 80,000 people at 100k accounts).
3. Correlation: ``services.people.correlate`` over every account, pure (no I/O),
   ``--runs`` times; then ``PeopleService.correlate`` over the inventory views,
   which also counts live credentials and reads the manual overrides (aim for
   both: under 2 s).
4. The people list: ``summary`` of every person (what a people view builds).

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line


def scale_config(scale: int, state: Path) -> str:
    from pamtui.cli.providers import scale_config as text

    out = text(scale)
    return out.replace(f"scale = {scale}", f'scale = {scale}\nstate_file = "{state}"')


def seconds(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:7.0f} ms   min {min(values) * 1000:7.0f} ms"
        f"   max {max(values) * 1000:7.0f} ms   (n={len(values)})"
    )


async def figures(config: Path, db: Path, runs: int) -> None:
    from pamtui.model import RiskFlag
    from pamtui.services.people import correlate, summary
    from pamtui.services.session import Session

    session = Session.open(config_path=str(config), db_path=str(db))
    try:
        t0 = time.perf_counter()
        views = await session.inventory.sync()
        print(f"  inventory sync (3 providers)   {(time.perf_counter() - t0) * 1000:7.0f} ms")
        t0 = time.perf_counter()
        roster = await session.people.load_roster()
        took = time.perf_counter() - t0
        print(
            f"  roster (demo idp)              {took * 1000:7.0f} ms   {len(roster.people)} people"
        )
        accounts = [v.account for v in views]
        overrides = session.people.store.load()
        pure = []
        for _ in range(runs):
            t0 = time.perf_counter()
            corr = correlate(accounts, roster.people, overrides)
            pure.append(time.perf_counter() - t0)
        print(f"  correlate {len(accounts)} accounts   {seconds(pure)}")
        service = []
        for _ in range(runs):
            t0 = time.perf_counter()
            corr = session.people.correlate(views)
            service.append(time.perf_counter() - t0)
        print(f"  PeopleService.correlate        {seconds(service)}   (+ live credentials)")
        rules = Counter(str(link.rule) for link in corr.links.values())
        print("  links by rule: " + ", ".join(f"{r} {n}" for r, n in sorted(rules.items())))
        flags = Counter(f for key in corr.accounts for f in corr.flags(key))
        print(
            f"  unowned {flags[RiskFlag.UNOWNED]}, orphaned {flags[RiskFlag.ORPHANED]}, "
            f"ambiguous {len(corr.ambiguous)}, unresolved {len(corr.unresolved)}"
        )
        people = sorted(corr.people.values(), key=lambda p: (p.name, p.id))
        t0 = time.perf_counter()
        rows = summary(corr, people)
        print(
            f"  summary of every person        {(time.perf_counter() - t0) * 1000:7.0f} ms   {len(rows)} rows"
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
    tmp = None
    if args.keep:
        work = args.keep
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        work = Path(tmp.name)
    try:
        from pamtui.providers.demo.provider import ensure_scaled

        state = work / f"demo-{args.scale}.sqlite"
        fresh = not state.exists()
        started = time.perf_counter()
        ensure_scaled(state, scale=args.scale)
        what = "generated + built" if fresh else "reused"
        print(f"{args.scale} accounts: state file {what} in {time.perf_counter() - started:.1f} s")
        config = work / "scale.toml"
        config.write_text(scale_config(args.scale, state), encoding="utf-8")
        asyncio.run(figures(config, work / "people.db", args.runs))
    finally:
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
