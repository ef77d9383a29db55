"""Correlation of accounts to people at 100,000 accounts (demo ``scale``).

1. Setup: generate the org and build its state file (once; reused with
   ``--keep DIR``), then one inventory sync of the three demo providers.
2. Roster: the demo idp's ``list_people`` (about 80,000 people at 100k accounts).
3. Correlation: ``services.people.correlate`` over every account, pure (no I/O),
   ``--runs`` times; then ``PeopleService.correlate`` over the inventory views,
   which also counts live credentials and reads the manual overrides (aim for
   both: under 2 s).
4. The people list: ``summary`` of every person (what a people view builds).
5. The people view, headless (Textual ``run_test``, 120x40), once the accounts
   pane holds every account: from ``u`` to the list of every person on screen;
   each keystroke typed into its filter (``/``) to the next frame after the list
   was re-filtered (p50/p99, ``--keys`` keystrokes at least); Enter on a person
   to the frame showing their accounts.

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line, scratch_dir


def scale_config(scale: int, state: Path) -> str:
    from pamtui.cli.providers import scale_config as text

    out = text(scale)
    return out.replace(f"scale = {scale}", f'scale = {scale}\nstate_file = "{state}"')


QUERIES = ("lucia castillo", "e1111", "terminated", "zoe", "reyes li", "@acme", "castillo")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms_stats(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms   "
        f"max {max(values) * 1000:7.1f} ms   (n={len(values)})"
    )


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


async def view_figures(config: Path, db: Path, keys: int) -> None:
    """Section 5: the people view, headless."""
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.screens.people import PeopleScreen
    from pamtui.tui.widgets.accounts import AccountsTable

    session = Session.open(config_path=str(config), db_path=str(db))
    app = PamtuiApp(session, stream=False)
    frames: list[float] = []
    display = app._display

    def timed_display(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    app._display = timed_display  # type: ignore[method-assign]

    async def next_frame_after(mark: list[float]) -> float:
        while not (mark and any(f > mark[0] for f in frames[-3:])):
            await asyncio.sleep(0.001)
        return next(f for f in frames if f > mark[0])

    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(AccountsTable)
        while table.row_count < 1000 or app.main.accounts_loading:
            await asyncio.sleep(0.02)
        await pilot.pause()
        shown: list[float] = []
        original = PeopleScreen._show_list

        def timed_show(screen: PeopleScreen) -> None:
            original(screen)
            shown.append(time.perf_counter())

        PeopleScreen._show_list = timed_show  # type: ignore[method-assign]
        try:
            frames.clear()
            t0 = time.perf_counter()
            await pilot.press("u")
            while not (isinstance(app.screen, PeopleScreen) and app.screen.rows and shown):
                await asyncio.sleep(0.005)
            opened = await next_frame_after(shown) - t0
            screen = app.screen
            print(
                f"  view: u to every person listed  {opened * 1000:7.0f} ms   "
                f"{len(screen.rows)} people"
            )
            latencies: list[float] = []
            typed: list[str] = []
            while len(latencies) < keys:
                for query in QUERIES:
                    await pilot.press("slash")
                    await pilot.pause()
                    for n, ch in enumerate(query):
                        shown.clear()
                        frames.clear()
                        t0 = time.perf_counter()
                        await pilot.press("space" if ch == " " else ch)
                        latencies.append(await next_frame_after(shown) - t0)
                        typed.append(query[: n + 1])
                    await pilot.press("escape")
                    await pilot.pause()
                    if len(latencies) >= keys:
                        break
            print(f"  view: filter keystroke -> frame {ms_stats(latencies)}")
            slowest = sorted(zip(latencies, typed, strict=True), reverse=True)[:5]
            print(
                "  view: slowest keystrokes: "
                + ", ".join(f"{q!r} {t * 1000:.0f} ms" for t, q in slowest)
            )
            opens: list[float] = []
            for query in ("lucia castillo", "zoe", "castillo"):
                await pilot.press("slash")
                for ch in query:
                    await pilot.press("space" if ch == " " else ch)
                await pilot.press("enter")
                await pilot.pause()
                frames.clear()
                mark = [time.perf_counter()]
                await pilot.press("enter")
                while screen.query_one("#person-pane").has_class("hidden"):
                    await asyncio.sleep(0.001)
                opens.append(await next_frame_after(mark) - mark[0])
                await pilot.press("escape")
                await pilot.press("escape")
                await pilot.pause()
            print(f"  view: Enter on a person -> frame {ms_stats(opens)}")
        finally:
            PeopleScreen._show_list = original  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the generated org in this directory")
    parser.add_argument("--keys", type=int, default=100, help="filter keystrokes to time")
    parser.add_argument("--only", choices=("correlation", "view"))
    args = parser.parse_args()
    print(machine_line())
    with scratch_dir(args.keep) as work:
        from pamtui.providers.demo.scaled import ensure_scaled

        state = work / f"demo-{args.scale}.sqlite"
        fresh = not state.exists()
        started = time.perf_counter()
        ensure_scaled(state, scale=args.scale)
        what = "generated + built" if fresh else "reused"
        print(f"{args.scale} accounts: state file {what} in {time.perf_counter() - started:.1f} s")
        config = work / "scale.toml"
        config.write_text(scale_config(args.scale, state), encoding="utf-8")
        if args.only in (None, "correlation"):
            asyncio.run(figures(config, work / "people.db", args.runs))
        if args.only in (None, "view"):
            print("People view (headless, Textual run_test, 120x40):")
            asyncio.run(view_figures(config, work / "view.db", args.keys))


if __name__ == "__main__":
    main()
