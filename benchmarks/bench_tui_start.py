"""Time from start to the first frame with demo data, headless and in tmux.

Every figure is printed beside a bare Textual app's (``_bare_app.py``),
measured in the same run the same way, and their ratio: the aim is pamtui's
first frame within 1.5x the bare app's.

Headless: Textual's own test driver (``App.run_test``), from constructing the
app to the accounts pane holding the demo's 250 accounts.
tmux: the installed ``pamtui`` at 120x40, from ``tmux new-session`` to the
first risk badge on screen (cold: a fresh data dir, so the demo state file is
built from sample_data first; warm: the state file and the last inventory
snapshot exist, as they do from an operator's second start on).

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _machine import machine_line, measured_env, until_snapshot_saved

HERE = Path(__file__).parent


def _median_and_max(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms"


async def _headless_once(data_dir: Path, started: float | None = None) -> float:
    """From ``started`` (default: now, after the imports) to the 250 demo rows on screen."""
    if started is None:
        started = time.perf_counter()
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.widgets.accounts import AccountsTable

    session = Session.open(db_path=str(data_dir / "pamtui.db"))
    app = PamtuiApp(session)
    async with app.run_test(size=(120, 40)):
        while True:
            # Not pilot.pause(): it waits for an idle app, and a live stream never idles.
            await asyncio.sleep(0.005)
            try:
                if app.screen.query_one(AccountsTable).row_count >= 250:
                    break
            except Exception:
                continue
        took = time.perf_counter() - started
        await asyncio.to_thread(until_snapshot_saved, data_dir / "pamtui.db")
        return took


def _fresh_python(code: str, env: dict[str, str]) -> float:
    """Seconds a fresh interpreter takes to run ``code``, which prints its own figure."""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return float(out.stdout.strip().splitlines()[-1])


_HEADLESS_PAMTUI = """
import time; t0 = time.perf_counter()
import asyncio, sys
sys.path.insert(0, {here!r})
from bench_tui_start import _headless_once
from pathlib import Path
print(asyncio.run(_headless_once(Path({data!r}), t0)))
"""

_HEADLESS_BARE = """
import time; t0 = time.perf_counter()
import asyncio, sys
sys.path.insert(0, {here!r})
from _bare_app import BareApp

async def once():
    app = BareApp()
    async with app.run_test(size=(120, 40)):
        while not app.screen.query("#marker"):
            await asyncio.sleep(0.005)
        return time.perf_counter() - t0

print(asyncio.run(once()))
"""


def headless(runs: int) -> None:
    """Fresh interpreters, imports included: what a user waits for."""
    with tempfile.TemporaryDirectory() as tmp:
        env = measured_env()
        code = _HEADLESS_PAMTUI.format(here=str(HERE), data=tmp)
        cold = _fresh_python(code, env)
        warm, bare = [], []
        for _ in range(runs):  # interleaved, so both see the same load on the machine
            bare.append(_fresh_python(_HEADLESS_BARE.format(here=str(HERE)), env))
            warm.append(_fresh_python(code, env))
    ratio = statistics.median(warm) / statistics.median(bare)
    print(
        f"  headless, fresh interpreter  cold {cold * 1000:7.0f} ms   warm {_median_and_max(warm)}"
    )
    print(f"  headless, bare Textual app                    {_median_and_max(bare)}")
    print(f"  headless ratio pamtui / bare: {ratio:.2f}x (median of {runs})")


def _tmux_once(data_dir: Path, argv: list[str]) -> float:
    socket = f"pamtui-bench-{uuid.uuid4().hex[:8]}"
    env = measured_env()

    def tmux(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )

    try:
        started = time.perf_counter()
        tmux(
            "new-session",
            "-d",
            "-s",
            "b",
            "-x",
            "120",
            "-y",
            "40",
            "-e",
            f"PAMTUI_DB={data_dir / 'pamtui.db'}",
            "-e",
            "TERM=xterm-256color",
            *argv,
        )
        deadline = started + 30
        while time.perf_counter() < deadline:
            if "ORPHAN" in tmux("capture-pane", "-p", "-t", "b").stdout:
                took = time.perf_counter() - started
                if "bare" not in argv[-1]:
                    until_snapshot_saved(data_dir / "pamtui.db")
                return took
            time.sleep(0.02)
        raise RuntimeError(f"{argv[-1]} did not show its first frame within 30 s")
    finally:
        tmux("kill-server")


def in_tmux(runs: int) -> None:
    if shutil.which("tmux") is None:
        print("  tmux: not installed, skipped")
        return
    pamtui = [str(Path(sys.executable).with_name("pamtui"))]
    bare_app = [sys.executable, str(HERE / "_bare_app.py")]
    with tempfile.TemporaryDirectory() as tmp:
        cold = _tmux_once(Path(tmp), pamtui)
        warm, bare = [], []
        for _ in range(runs):  # interleaved, so both see the same load on the machine
            bare.append(_tmux_once(Path(tmp), bare_app))
            warm.append(_tmux_once(Path(tmp), pamtui))
    ratio = statistics.median(warm) / statistics.median(bare)
    print(
        f"  tmux, installed pamtui       cold {cold * 1000:7.0f} ms   warm {_median_and_max(warm)}"
    )
    print(f"  tmux, bare Textual app                        {_median_and_max(bare)}")
    print(f"  tmux ratio pamtui / bare: {ratio:.2f}x (median of {runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(machine_line())
    print("TUI start to first frame with the demo's 250 accounts (120x40):")
    headless(args.runs)
    in_tmux(args.runs)


if __name__ == "__main__":
    main()
