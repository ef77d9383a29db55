"""Bad inputs from the world: a prompt interrupted, a data dir that cannot be written,
a journal path that is a directory. Each gets one line, the contract's exit code, and
nothing staged. Real processes, real terminals (a pty), real files.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
ACCOUNT = "amara-quinn"  # a demo-git account with several live credentials


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PAMTUI_DEBUG": "0",
    }


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 60) -> bool:
    """Read the pty into ``seen`` until ``needle`` shows (or the child closes it)."""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return needle in seen
            if not chunk:
                return needle in seen
            seen.extend(chunk)
    return needle in seen


def _wait(pid: int, timeout: float = 30) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


@pytest.mark.parametrize(
    ("argv", "prompt"),
    [
        (
            ["revoke", "--provider", "demo-git", "--account", ACCOUNT, "--reason", "r"],
            b"Execute this plan? [y/N]",
        ),
        (["offboard", "amara quinn", "--reason", "r"], b"steps? [y/N]"),
    ],
    ids=["revoke", "offboard"],
)
def test_ctrl_c_at_a_confirmation_prompt_ends_the_command(
    tmp_path: Path, db_path: Path, argv: list[str], prompt: bytes
) -> None:
    """The first Ctrl-C at "[y/N]" was swallowed (asyncio.run's SIGINT handler only
    cancels its task, which a blocking input() never notices): the command hung."""
    env = _env(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(
            sys.executable, [sys.executable, "-m", "pamtui", *argv, "--db", str(db_path)], env
        )
    seen = bytearray()
    try:
        assert _read_until(fd, prompt, seen), seen.decode(errors="replace")
        os.write(fd, b"\x03")  # Ctrl-C, as the terminal sends it
        _read_until(fd, b"interrupted", seen, timeout=20)
        code = _wait(pid)
    finally:
        os.close(fd)
    text = seen.decode(errors="replace")
    assert code == 130, text
    assert "pamtui: interrupted" in text and "Traceback" not in text
    listed = subprocess.run(
        [sys.executable, "-m", "pamtui", "queue", "--json", "--db", str(db_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"  # nothing staged
