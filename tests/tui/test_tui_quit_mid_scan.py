"""Quitting while the demo's stream threads scan a large org exits cleanly.

The stream of each demo provider scans every credential in a thread first
(300,000 at 100k accounts). Quitting then used to close the scan's SQLite
connection under it (a crash: the connection is shared across threads) or
wait seconds for it. Now the scan is interrupted and joined before the
connection closes. A subprocess, so a crash is an exit status, not a dead
test runner.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pamtui.providers.demo.scaled import ensure_scaled

SCALE = 20_000

SCRIPT = textwrap.dedent(
    """
    import asyncio, sys, threading
    from pamtui.config import Config, ProviderConfig
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp

    state, db, scale = sys.argv[1], sys.argv[2], int(sys.argv[3])
    providers = tuple(
        ProviderConfig(
            f"demo-{s}", "demo",
            {"system": s, "scale": scale, "state_file": state, "latency_ms": 0},
        )
        for s in ("idp", "git", "cloud")
    )
    session = Session.open(cfg=Config(source=None, providers=providers), db_path=db)
    app = PamtuiApp(session)  # the live stream on, as an operator runs it

    def scanning():
        return [t.name for t in threading.enumerate() if t.name.startswith("pamtui-scan")]

    async def main():
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(12000):
                if scanning():
                    break
                await asyncio.sleep(0.005)
            else:
                print("never saw a scan thread")
                sys.exit(3)
            print("quitting while", sorted(scanning()))
            await pilot.press("q")
        print("left after exit:", scanning())

    asyncio.run(main())
    print("clean exit", app.return_code)
    """
)


@pytest.fixture(scope="module")
def scaled_state(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("quit") / f"demo-{SCALE}.sqlite"
    return ensure_scaled(path, scale=SCALE)


def test_quitting_mid_scan_stops_the_scan_threads_and_exits_cleanly(scaled_state, tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(scaled_state), str(tmp_path / "p.db"), str(SCALE)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, (out.returncode, out.stdout[-2000:], out.stderr[-2000:])
    assert "quitting while ['pamtui-scan-demo-" in out.stdout
    assert "left after exit: []" in out.stdout
    assert "clean exit 0" in out.stdout
    assert "Traceback" not in out.stderr
