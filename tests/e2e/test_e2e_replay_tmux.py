"""The audit screen's replay in a real terminal (tmux): recorded sequences stay inside the app.

A recording made by the service's ``Recorder`` carries a title change, an
OSC 52 clipboard write, markup and colours. ``pamtui audit`` in tmux replays
it with ``w``: the text is on the screen as typed, the colour is drawn, and
the terminal's title is not what the recording asked for.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.e2e.test_e2e_tmux import _pamtui
from tests.tui.test_tui_replay import HOSTILE, journal_session

pytestmark = pytest.mark.tmux


def test_replay_in_a_real_terminal_keeps_recorded_sequences_inside(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    from pamtui.services.recordings import Recorder

    db = tmp_path / "data" / "pamtui.db"
    rec = Recorder.create(db, "7a11e5", cols=70, rows=10, term="xterm-256color")
    rec.output(b"\x1b[2J\x1b[H" + HOSTILE + b"\r\nlast line of the session")
    journal_session(db, "7a11e5", rec.close())
    socket = f"pamtui-replay-{uuid.uuid4().hex[:8]}"
    server_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

    def tmux(*args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=server_env,
        )
        return done.stdout

    def wait_for(text: str) -> str:
        screen = ""
        for _ in range(300):  # a bound for a busy machine, not a speed check
            screen = tmux("capture-pane", "-p", "-e", "-t", "t")
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {text!r}; screen was:\n{screen}")

    env = {"PAMTUI_DB": str(db), "HOME": str(tmp_path / "home"), "TERM": "xterm-256color"}
    env_args = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    try:
        tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", *env_args, _pamtui(), "audit")
        wait_for("chain verified")
        for key in ("j", "j"):  # newest first: bob's entry, then the session's end
            tmux("send-keys", "-t", "t", key)
            time.sleep(0.1)
        wait_for("Replay session")  # the footer offers the key on this entry
        tmux("send-keys", "-t", "t", "w")
        screen = wait_for("last line of the session")
        assert "[bold red]x[/] [@click=app.quit]click[/]" in screen
        assert "pwned-title" not in tmux("display-message", "-p", "-t", "t", "#{pane_title}")
        red_line = next(line for line in screen.splitlines() if "RED" in line)
        # Coloured by the emulator (in the theme's red), the rest of the line not.
        colours = re.search(r"(\x1b\[[0-9;]*m)RED(\x1b\[[0-9;]*m)", red_line)
        assert colours is not None and colours.group(1) != colours.group(2), red_line
        tmux("send-keys", "-t", "t", "q")  # closes the replay
        wait_for("Audit journal")
        assert "last line of the session" not in tmux("capture-pane", "-p", "-t", "t")
    finally:
        tmux("kill-server")
