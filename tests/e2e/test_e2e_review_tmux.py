"""An access review end to end, driving the installed ``pamtui`` in tmux on the demo.

Start a small campaign from the command line, open the TUI, press v, decide
every item (keep with a justification, revoke, defer), quit, and check that
the evidence report lists every decision and names the journal's head.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

pytestmark = pytest.mark.tmux

ITEMS = 3


def _pamtui() -> str:
    installed = Path(sys.executable).with_name("pamtui")
    return str(installed) if installed.exists() else shutil.which("pamtui") or "pamtui"


class Tmux:
    def __init__(self, socket: str, env: dict[str, str]) -> None:
        self.socket = socket
        self.env = env
        self.server_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.server_env,
        )

    def start(self, *argv: str) -> None:
        env_args = [arg for key, value in self.env.items() for arg in ("-e", f"{key}={value}")]
        result = self.run(
            "new-session", "-d", "-s", "t", "-x", "120", "-y", "40", *env_args, _pamtui(), *argv
        )
        assert result.returncode == 0, result.stderr

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t").stdout

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "t", key)
            time.sleep(0.05)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "t", "-l", text)

    def wait_for(self, check: Callable[[str], bool] | str, timeout: float = 20.0) -> str:
        predicate = (lambda s: check in s) if isinstance(check, str) else check
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {check!r}; screen was:\n{screen}")

    def alive(self) -> bool:
        return self.run("has-session", "-t", "t").returncode == 0


@pytest.fixture
def tmux(tmp_path: Path):
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI (.ci/run installs it)")
        pytest.skip("tmux is not installed")
    env = {
        "PAMTUI_DB": str(tmp_path / "data" / "pamtui.db"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "home" / ".config"),
        "XDG_DATA_HOME": str(tmp_path / "home" / ".local" / "share"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
    }
    session = Tmux(f"pamtui-review-{uuid.uuid4().hex[:8]}", env)
    yield session
    session.run("kill-server")


def _cli(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_pamtui(), *argv], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
    )


def _decide(tmux: Tmux, key: str, prompt: str | None, text: str, done: int) -> None:
    """Press a decision key (answering its prompt) until progress shows ``done``."""
    target = f"{done}/{ITEMS} decided"
    for _attempt in range(3):
        tmux.keys(key)
        if prompt is not None:
            try:
                tmux.wait_for(prompt, timeout=5)
            except AssertionError:
                continue  # the key raced a redraw: press it again
            tmux.type(text)
            tmux.keys("Enter")
        try:
            tmux.wait_for(target, timeout=5)
            return
        except AssertionError:
            continue
    raise AssertionError(f"{key!r} did not record a decision; screen:\n{tmux.screen()}")


def test_review_campaign_end_to_end_in_tmux(tmux) -> None:
    started = _cli(
        tmux.env, "review", "start", "--scope", "privileged", "--limit", str(ITEMS), "--json"
    )
    assert started.returncode == 0, started.stderr
    campaign = json.loads(started.stdout)
    assert campaign["items"] == ITEMS

    tmux.start()
    tmux.wait_for("ORPHAN")  # the inventory is loaded: revocations can be planned
    for _attempt in range(3):
        tmux.keys("v")
        try:
            tmux.wait_for(f"0/{ITEMS} decided", timeout=5)
            break
        except AssertionError:
            continue
    else:
        raise AssertionError(f"v did not open the review screen:\n{tmux.screen()}")
    screen = tmux.screen()
    assert "Evidence · item 1 of 3" in screen and "Owner / HR" in screen

    # The shared key map: shift+k keeps (k moves up), shift+r revokes as on the triage screen.
    _decide(tmux, "K", "justification (journalled)", "break-glass admin, owner confirmed", 1)
    _decide(tmux, "R", "Enter stages", "no longer in the team", 2)
    _decide(tmux, "d", None, "", 3)
    screen = tmux.wait_for("All decided: 3 items")
    assert "kept 1, revoked 1, deferred 1" in screen

    tmux.keys("q")
    deadline = time.monotonic() + 10
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive(), "pamtui did not quit on q"

    cid = str(campaign["id"])
    report = _cli(tmux.env, "review", "report", cid, "--format", "md")
    assert report.returncode == 0, report.stderr
    text = report.stdout
    head = _cli(tmux.env, "audit", "head").stdout.strip()
    assert re.fullmatch(r"\d+:[0-9a-f]{64}", head), head
    assert f"**Journal head at report time:** {head}" in text
    assert "**Decisions match the journal:** yes" in text
    assert f"{ITEMS}/{ITEMS} decided" in text
    rows = [line for line in text.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == ITEMS
    assert [row.split(" | ")[5] for row in rows] == ["keep", "revoke", "defer"]
    assert "break-glass admin, owner confirmed" in rows[0]
    assert "pending \\(approved\\)" in rows[1] or "pending (approved)" in rows[1]

    listed = _cli(tmux.env, "audit", "list", "--action", "review_decision", "--json")
    entries = json.loads(listed.stdout)
    assert len(entries) == ITEMS
    for entry in entries:
        assert f"`{entry['seq']}:{entry['hash']}`" in text
    assert _cli(tmux.env, "audit", "verify", "--expect-head", head).returncode == 0
