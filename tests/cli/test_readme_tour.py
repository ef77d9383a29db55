"""The README's tour works exactly as written, from its first command.

The first command installed into ``.venv`` without activating it, so the
tour's later ``pamtui audit list`` was "command not found" unless typed as
``.venv/bin/pamtui``. The TUI steps are exercised by the tmux tests; here, the
shell the tour leaves behind and the commands it names.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from pamtui.cli import main

README = Path(__file__).resolve().parents[2] / "README.md"


def _first_command() -> str:
    match = re.search(r"```sh\n(.+?)\n```", README.read_text(), re.S)
    assert match is not None
    return match.group(1)


def _tour() -> str:
    text = README.read_text()
    return text[text.index("1. `pamtui`") : text.index("### Keys")]  # the numbered steps


def test_the_first_command_leaves_pamtui_on_the_path() -> None:
    steps = [shlex.split(part) for part in _first_command().split("&&")]
    activated = any(
        s[:2] in (["source", ".venv/bin/activate"], [".", ".venv/bin/activate"]) for s in steps
    )
    assert activated, "the tour types `pamtui ...`: the first command must activate .venv"
    assert steps[-1] == ["pamtui"]


def test_the_tour_commands_run_as_written(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    commands = re.findall(r"`(pamtui [a-z][^`]*)`", _tour())
    assert "pamtui audit list" in commands and "pamtui audit verify" in commands
    # The tour revokes Lucía's token in the TUI first; the same through the one path.
    assert (
        main(
            [
                "revoke",
                "--provider",
                "demo-git",
                "--account",
                "lucia-castillo-acme",
                "--credential",
                "716008953",
                "--reason",
                "tour",
                "--yes",
            ]
        )
        == 0
    )
    capsys.readouterr()
    outputs = {}
    # The tour says which commands do not succeed, and why.
    # "stops with exit 2: the demo has two Lucías" -- for that reason, not another usage
    # mistake (without --reason it exited 2 too, and this test took it for ambiguity).
    expected = {"pamtui offboard lucia --reason ...": (2, "matches 2 people")}
    for command in commands:
        argv = shlex.split(command)[1:]
        code, why = expected.get(command, (0, ""))
        assert main(argv) == code, command
        out, err = capsys.readouterr()
        assert why in err, (command, err)
        outputs[command] = out
        if argv[0] == "offboard" and "--dry-run" in argv:
            # "Run it again with --yes instead of --dry-run: every step ends verified"
            yes = [("--yes" if a == "--dry-run" else a) for a in argv]
            assert main(yes) == 0, yes
            assert "every step verified" in capsys.readouterr().out
    assert "tour" in outputs["pamtui audit list"]  # "who did what and why"
    assert outputs["pamtui audit verify"].startswith("ok: ")
