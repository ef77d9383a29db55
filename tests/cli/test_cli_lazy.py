"""The command line imports only what the command run needs (a quick TUI start).

``pamtui`` (the TUI) and ``pamtui accounts`` must not import the SSH server,
the reports, the keyring or sqlite-utils; ``--help`` and a mistyped command
still see every command.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from pamtui import cli
from pamtui.cli import COMMAND_GROUPS, COMMANDS, command_in, groups_for

NOT_FOR_THE_TUI = (
    "pamtui.cli.ssh",
    "pamtui.cli.offboard",
    "pamtui.cli.review",
    "pamtui.cli.audit",
    "pamtui.ssh",
    "pamtui.services.offboarding_report",
    "pamtui.tui.screens.audit",
    "pamtui.tui.screens.help",
    "keyring",
    "sqlite_utils",
    "qrcode",
    "asyncssh",
    "rich.pretty",  # Textual's RichLog: the stream pane writes Text only (widgets/line_log.py)
)


def test_the_command_table_names_every_command_each_group_registers():
    registered: dict[str, str] = {}
    for name in COMMAND_GROUPS:
        parser = argparse.ArgumentParser()
        sub = parser.add_subparsers()
        cli._group(name).register(sub, argparse.ArgumentParser(add_help=False))
        for command in sub.choices:
            registered[command] = name
    assert registered == COMMANDS


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], None),
        (["--read-only"], None),
        (["--db", "x.db", "--theme", "nord"], None),
        (["--config", "accounts"], None),  # a value, not the command
        (["--db=x.db", "accounts", "--json"], "accounts"),
        (["--config", "c.toml", "serve-ssh"], "serve-ssh"),
        (["--help"], ""),
        (["--conf", "c.toml", "accounts"], ""),  # an abbreviation: argparse decides
        (["-h", "accounts"], ""),
    ],
)
def test_the_command_is_found_without_parsing(argv, command):
    assert command_in(argv) == command


def test_only_the_groups_needed_are_imported():
    assert groups_for([]) == ()
    assert groups_for(["accounts"]) == ("triage",)
    assert groups_for(["--help"]) == COMMAND_GROUPS
    assert groups_for(["nope"]) == COMMAND_GROUPS  # argparse lists every choice


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert command in out


def test_a_mistyped_command_lists_every_choice(capsys):
    with pytest.raises(SystemExit) as exited:
        cli.main(["acounts"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "serve-ssh" in err and "offboard" in err


def test_the_tui_imports_nothing_it_does_not_need_for_its_first_frame():
    code = (
        "import sys, pamtui.cli as c\n"
        "c.build_parser(c.groups_for([]))\n"
        "c.build_parser(c.groups_for(['accounts']))\n"
        "import pamtui.tui.app\n"
        f"print([m for m in {NOT_FOR_THE_TUI!r} if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
