"""The accounts pane at 100,000 accounts / 300,000 credentials (demo ``scale``).

1. Setup: generate the org and build its state file (once; reused by later runs
   with ``--keep DIR``).
2. Index (no UI): ``AccountIndex`` load, sort by each column, and each
   keystroke of typed queries (substring and fuzzy), p50/p99.
3. Headless first frame (Textual ``run_test``, 120x40), on the demo (250) and the
   100k org: from opening the session to the first screen of rows (the pane shows
   each provider's accounts as soon as it has listed them, credentials to follow),
   and to the complete pane (every account with its credentials and risk flags).
4. Headless filter: from a keystroke in the filter box to the next frame the
   app hands its driver after the table was re-filtered, on 100k accounts.
5. tmux (installed ``pamtui``, 120x40): start to the first risk badge on screen,
   to every account counted in the pane title with loading done (from the last
   inventory snapshot, marked as such, when there is one), and to the
   providers' answer replacing the snapshot, demo and 100k; then, once
   reconciled, keystroke in the filter to the pane title showing the new count
   (111 keystrokes one at a time, and 9 whole-query bursts; includes tmux's
   capture latency); last, ``q`` to the process gone (right after the
   providers answered, or once the first 100k start's snapshot is saved).

Each part's first start leaves the inventory snapshot the measured starts
use (an operator's second start on); "first start" is the one without it.

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line, measured_env, scratch_dir, until_snapshot_saved

QUERIES = ("lucia-castillo", "orphan priv", "zoe.z", "~mrtgrc")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def ms_stats(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 50) * 1000:7.1f} ms   p99 {pct(values, 99) * 1000:7.1f} ms   "
        f"max {max(values) * 1000:7.1f} ms   (n={len(values)})"
    )


def scale_config(scale: int, state: Path) -> str:
    from pamtui.cli.providers import scale_config as text

    out = text(scale)
    # Point every provider at the prepared state file, wherever the db lives.
    return out.replace(f"scale = {scale}", f'scale = {scale}\nstate_file = "{state}"')


# -- 2. the index alone -----------------------------------------------------------


async def _sync(config: Path, db: Path):
    from pamtui.services.session import Session

    session = Session.open(config_path=str(config), db_path=str(db))
    try:
        started = time.perf_counter()
        views = await session.inventory.sync()
        return views, time.perf_counter() - started
    finally:
        await session.aclose()


def index_figures(config: Path, db: Path) -> None:
    from pamtui.services.account_index import COLUMNS, AccountIndex

    views, took = asyncio.run(_sync(config, db))
    creds = sum(len(v.credentials) for v in views)
    print(
        f"  inventory sync (3 providers)  {took * 1000:7.0f} ms   {len(views)} accounts, {creds} creds"
    )
    started = time.perf_counter()
    index = AccountIndex(views)
    print(f"  index load + default sort     {(time.perf_counter() - started) * 1000:7.0f} ms")
    for column in COLUMNS:
        times = []
        for descending in (False, True, False):
            t0 = time.perf_counter()
            index.sort(column, descending)
            times.append(time.perf_counter() - t0)
        print(
            f"  sort by {column:<9}             first {times[0] * 1000:6.0f} ms   again {min(times[1:]) * 1000:6.0f} ms"
        )
    index.sort("risk")
    per_key: list[float] = []
    for query in QUERIES:
        for _round in range(3):
            index.filter("")
            for n in range(1, len(query) + 1):
                t0 = time.perf_counter()
                index.filter(query[:n])
                per_key.append(time.perf_counter() - t0)
    print(f"  filter keystroke (index only) {ms_stats(per_key)}")


# -- 3 and 4: headless ---------------------------------------------------------------


def _showing_snapshot(app) -> bool:
    start = getattr(app, "start", None)  # None: a pamtui from before snapshots
    return bool(start is not None and start.showing)


async def _first_frame(config: Path | None, db: Path, expect: int) -> tuple[float, float, float]:
    """(first screen of rows, complete pane, reconciled with the providers), in seconds.

    Complete: every account with its risk flags, from the providers or from the
    last inventory snapshot (marked as such). Reconciled: the providers have
    answered and the pane shows their answer. The run then stays until the
    snapshot file is written, as an operator's session does.
    """
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.widgets.accounts import AccountsTable

    started = time.perf_counter()
    session = Session.open(config_path=str(config) if config else None, db_path=str(db))
    app = PamtuiApp(session)
    first = complete = None
    async with app.run_test(size=(120, 40)):
        while True:
            await asyncio.sleep(0.005)  # not pilot.pause(): a live stream never idles
            try:
                rows = app.screen.query_one(AccountsTable).row_count
                loading = app.main.accounts_loading
            except Exception:
                continue
            now = time.perf_counter() - started
            if first is None and rows >= min(expect, 40):
                first = now
            snapshot = _showing_snapshot(app)
            if complete is None and rows >= expect and (snapshot or not loading):
                complete = now
            if rows >= expect and not loading and not snapshot:
                reconciled = now
                break
        saved = db.with_name(f"{db.name}-inventory.sqlite")
        deadline = time.perf_counter() + 120
        while hasattr(app, "start") and not saved.exists() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)
    return first or 0.0, complete or 0.0, reconciled


async def _filter_latency(config: Path, db: Path, expect: int) -> list[float]:
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.widgets.accounts import AccountsTable

    session = Session.open(config_path=str(config), db_path=str(db))
    app = PamtuiApp(session, stream=False)
    frames: list[float] = []
    filtered: list[float] = []
    display = app._display

    def timed_display(screen, renderable) -> None:
        display(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    app._display = timed_display  # type: ignore[method-assign]
    latencies: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(AccountsTable)
        while (  # typing after the sync
            table.row_count < expect or app.main.accounts_loading or _showing_snapshot(app)
        ):
            await asyncio.sleep(0.02)
        set_filter = table.set_filter

        def timed_filter(needle: str) -> None:
            set_filter(needle)
            filtered.append(time.perf_counter())

        table.set_filter = timed_filter  # type: ignore[method-assign]
        await pilot.pause()
        for query in QUERIES:
            for _round in range(3):
                await pilot.press("slash")
                await pilot.pause()
                for ch in query:
                    filtered.clear()
                    t0 = time.perf_counter()
                    await pilot.press(ch)
                    while not (filtered and any(f > filtered[0] for f in frames[-3:])):
                        await asyncio.sleep(0.001)
                    latencies.append(next(f for f in frames if f > filtered[0]) - t0)
                    frames.clear()
                await pilot.press("escape")
                await pilot.pause()
    return latencies


def print_frames(
    what: str, runs: list[tuple[float, float, float]], quits: list[float] | None = None
) -> None:
    """Median and max of the first screen of rows, the complete pane, and reconciled.

    ``quits``: from ``q`` to the process gone (tmux only).
    """
    rows = [
        ("first screen of rows", [first for first, _, _ in runs]),
        ("complete (all risk)", [done for _, done, _ in runs]),
        ("providers answered", [rec for _, _, rec in runs]),
    ]
    if quits:
        rows.append(("q -> process gone", quits))
    for label, values in rows:
        print(
            f"  {what:<17} {label:<21} median {statistics.median(values) * 1000:6.0f} ms"
            f"   max {max(values) * 1000:6.0f} ms"
        )


def headless(config: Path, db_dir: Path, scale: int, runs: int) -> None:
    # A first run of each leaves the inventory snapshot the measured runs start from.
    asyncio.run(_first_frame(None, db_dir / "demo.db", 250))
    demo = [asyncio.run(_first_frame(None, db_dir / "demo.db", 250)) for _ in range(runs)]
    print_frames("demo (250)", demo)
    first_ever = asyncio.run(_first_frame(config, db_dir / "big.db", scale))
    print_frames(f"{scale}, first start", [first_ever])
    big = [asyncio.run(_first_frame(config, db_dir / "big.db", scale)) for _ in range(runs)]
    print_frames(f"{scale} accounts", big)
    latencies = asyncio.run(_filter_latency(config, db_dir / "big.db", scale))
    print(f"  filter keystroke -> frame     {ms_stats(latencies)}")


# -- 5. tmux ------------------------------------------------------------------------


class Tmux:
    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"pamtui-scale-{uuid.uuid4().hex[:8]}"
        self.env = measured_env(**env)

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "b").stdout

    def wait(self, check, timeout: float = 120) -> float:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if check(self.screen()):
                return time.perf_counter()
            time.sleep(0.005)
        raise RuntimeError(f"tmux: timed out; screen:\n{self.screen()}")

    def gone(self, timeout: float = 60) -> float:
        """When the session's program has exited (tmux ends the session with it)."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self("has-session", "-t", "b").returncode != 0:
                return time.perf_counter()
            time.sleep(0.005)
        raise RuntimeError(f"tmux: still running after q; screen:\n{self.screen()}")


def _tmux_run(
    pamtui: str, db: Path, config: Path | None, total: int, typing: bool
) -> tuple[tuple[float, float, float], list[float], list[float], float]:
    argv = [pamtui] + (["--config", str(config)] if config else [])
    tmux = Tmux({"PAMTUI_DB": str(db), "TERM": "xterm-256color"})
    try:
        started = time.perf_counter()
        tmux("new-session", "-d", "-s", "b", "-x", "120", "-y", "40", *argv)
        # First screen: rows with their badges; complete: every account, loading done.
        first = tmux.wait(lambda s: "ORPHAN" in s and "Accounts " in s) - started
        # Complete: every account counted, from the providers or the last snapshot.
        done = (
            tmux.wait(lambda s: f"Accounts {total}" in s and "loading" not in s, timeout=180)
            - started
        )
        reconciled = (
            tmux.wait(
                lambda s: f"Accounts {total}" in s and "loading" not in s and "snapshot" not in s,
                timeout=180,
            )
            - started
        )
        latencies: list[float] = []
        bursts: list[float] = []
        if typing:
            for _round in range(KEY_ROUNDS):
                for query in QUERIES:
                    latencies += _type(tmux, total, query, burst=False)
                    bursts += _type(tmux, total, query, burst=True)
            # The first start leaves the snapshot the next starts use: quitting
            # abandons a save still under way (it gives way while keys arrive).
            until_snapshot_saved(db, timeout=300)
        # Quit: right after the providers answered (the snapshot save and the drift
        # record still under way at 100k), or once the first start's snapshot is saved.
        asked = time.perf_counter()
        tmux("send-keys", "-t", "b", "q")
        gone = tmux.gone() - asked
        return (first, done, reconciled), latencies, bursts, gone
    finally:
        tmux("kill-server")


KEY_ROUNDS = 3
"""Rounds of the typed queries in tmux: 3 x 3 queries, 111 keystrokes one at a time
(and 9 bursts)."""


def _type(tmux: Tmux, total: int, query: str, *, burst: bool) -> list[float]:
    """Type ``query`` in the filter; seconds from each send to its result on screen.

    One key at a time: each keystroke waits for its own result. ``burst``: the
    whole query in one ``send-keys`` (as a fast typist or a paste sends it),
    timed to the result of its last key.
    """
    tmux("send-keys", "-t", "b", "/")
    tmux.wait(lambda s: "filter: name" in s or "▔▔▔" in s, timeout=10)
    latencies = []
    chunks = [query] if burst else list(query)
    typed = ""
    for chunk in chunks:
        typed += chunk
        t0 = time.perf_counter()
        tmux("send-keys", "-t", "b", "-l", chunk)
        shown = tmux.wait(
            lambda s, q=typed: f"/{total} · {q}" in s or f"{total} · {q}" in s, timeout=20
        )
        latencies.append(shown - t0)
    tmux("send-keys", "-t", "b", "Escape")
    tmux.wait(lambda s: f"Accounts {total}" in s and "·" not in s.splitlines()[1], timeout=20)
    return latencies


def in_tmux(config: Path, db_dir: Path, scale: int, runs: int) -> None:
    if shutil.which("tmux") is None:
        print("  tmux: not installed, skipped")
        return
    pamtui = str(Path(sys.executable).with_name("pamtui"))
    demo, demo_quits = [], []
    for _ in range(runs):
        frames, _keys, _bursts, gone = _tmux_run(pamtui, db_dir / "demo.db", None, 250, False)
        demo.append(frames)
        demo_quits.append(gone)
    print_frames("demo (250)", demo, demo_quits)
    big, keys, bursts, quits = [], [], [], []
    for n in range(runs):
        frames, latencies, burst, gone = _tmux_run(pamtui, db_dir / "big.db", config, scale, n == 0)
        big.append(frames)
        keys.extend(latencies)
        bursts.extend(burst)
        quits.append(gone)
    print_frames(f"{scale} accounts", big, quits)
    if keys:
        print(f"  filter keystroke -> screen    {ms_stats(keys)}")
        print(f"  filter burst -> screen        {ms_stats(bursts)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the generated org in this directory")
    parser.add_argument("--only", choices=("index", "headless", "tmux"))
    args = parser.parse_args()
    print(machine_line())
    with scratch_dir(args.keep) as work:
        from pamtui.providers.demo.scaled import ensure_scaled

        state = work / f"demo-{args.scale}.sqlite"
        fresh = not state.exists()
        started = time.perf_counter()
        ensure_scaled(state, scale=args.scale)
        took = time.perf_counter() - started
        what = "generated + built" if fresh else "reused"
        print(
            f"{args.scale} accounts, ~{3 * args.scale} credentials: state file {what} in {took:.1f} s"
        )
        config = work / "scale.toml"
        config.write_text(scale_config(args.scale, state), encoding="utf-8")
        if args.only in (None, "index"):
            print("Index (AccountIndex, no UI):")
            index_figures(config, work / "index.db")
        if args.only in (None, "headless"):
            print("Headless (Textual run_test, 120x40):")
            headless(config, work, args.scale, args.runs)
        if args.only in (None, "tmux"):
            print("tmux (installed pamtui, 120x40):")
            in_tmux(config, work, args.scale, args.runs)


if __name__ == "__main__":
    main()
