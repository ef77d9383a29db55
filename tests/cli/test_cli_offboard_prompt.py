"""The offboarding confirmation counts its steps in words that read right for one.

It asked "Execute these 1 steps? [y/N]" for a one-step plan. Driven in a real
terminal (a pty): the prompt is only asked there.
"""

from __future__ import annotations

from pathlib import Path

from pamtui.cli import main
from tests.cli.test_cli_bad_inputs import _in_a_terminal


def test_a_one_step_offboarding_asks_about_the_one_step(tmp_path: Path, db_path: Path) -> None:
    # David Wang's SSH keys revoked first: only his org membership is left.
    revoke = ["revoke", "--provider", "demo-git", "--account", "davidw-acme"]
    argv = [*revoke, "--action", "revoke_token", "--reason", "r", "--yes", "--db", str(db_path)]
    assert main(argv) == 0
    offboard = ["offboard", "E1065", "--reason", "r", "--db", str(db_path)]
    code, text = _in_a_terminal(tmp_path, offboard, [(b"[y/N]", b"n\r")], until=b"nothing staged")
    assert "1. remove memberships" in text and "2. " not in text, text
    assert "Execute the 1 step above? [y/N]" in text, text
    assert code == 1 and "cancelled: nothing staged" in text, text
