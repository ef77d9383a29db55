"""Time from start to the first frame with demo data, headless and in tmux.

Headless: Textual's own test driver (``App.run_test``), from constructing the
app to the accounts pane holding the demo's 250 accounts.
tmux: the installed ``pamtui`` at 120x40, from ``tmux new-session`` to the
first risk badge on screen (cold: a fresh data dir, so the demo state file is
built from sample_data first; warm: the state file exists).

Prints figures; never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path


def _median_and_max(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.0f} ms   max {max(values) * 1000:7.0f} ms"


async def _headless_once(data_dir: Path) -> float:
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.widgets.accounts import AccountsTable

    started = time.perf_counter()
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
        return time.perf_counter() - started


def headless(runs: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cold = asyncio.run(_headless_once(Path(tmp)))
        warm = [asyncio.run(_headless_once(Path(tmp))) for _ in range(runs)]
    print(
        f"  headless (Textual run_test)  cold {cold * 1000:7.0f} ms   warm {_median_and_max(warm)}"
    )


def _tmux_once(data_dir: Path, pamtui: str) -> float:
    socket = f"pamtui-bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

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
            pamtui,
        )
        deadline = started + 30
        while time.perf_counter() < deadline:
            if "ORPHAN" in tmux("capture-pane", "-p", "-t", "b").stdout:
                return time.perf_counter() - started
            time.sleep(0.02)
        raise RuntimeError("pamtui did not show the demo within 30 s")
    finally:
        tmux("kill-server")


def in_tmux(runs: int) -> None:
    if shutil.which("tmux") is None:
        print("  tmux: not installed, skipped")
        return
    pamtui = str(Path(sys.executable).with_name("pamtui"))
    with tempfile.TemporaryDirectory() as tmp:
        cold = _tmux_once(Path(tmp), pamtui)
        warm = [_tmux_once(Path(tmp), pamtui) for _ in range(runs)]
    print(
        f"  tmux, installed pamtui       cold {cold * 1000:7.0f} ms   warm {_median_and_max(warm)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("TUI start to first frame with the demo's 250 accounts (120x40):")
    headless(args.runs)
    in_tmux(args.runs)


if __name__ == "__main__":
    main()
