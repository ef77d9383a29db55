"""The command-line contract, the same for every command (docs/architecture.md).

Exit codes follow one rule (2: wrong as typed, including a verb that does not
apply to the thing's state; 1: tried and the answer is no), every option has
help, every command that prints takes ``--json``, counts read as English, and
the full-screen UIs refuse to draw into a file or a pipe.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest

from pamtui.cli import build_parser, main

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"  # the demo's departed employee
SRC = Path(__file__).resolve().parents[2] / "src" / "pamtui"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo_db(db_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The demo org with one verified revocation and a review whose item 1 is kept."""
    db = str(db_path)
    code, _, err = run(
        capsys,
        "revoke",
        "--db",
        db,
        "--provider",
        "demo-git",
        "--account",
        ACCOUNT,
        "--credential",
        TOKEN,
        "--reason",
        "departed: token used at 03:00",
        "--yes",
    )
    assert code == 0, err
    code, out, err = run(
        capsys, "review", "start", "--db", db, "--scope", "provider:demo-git", "--limit", "1"
    )
    assert code == 0, err
    # "1 account(s)" before: the count reads as English.
    assert "started: 1 account in scope" in out
    code, _, err = run(
        capsys, "review", "decide", "1", "1", "keep", "--db", db, "--justification", "on call"
    )
    assert code == 0, err
    return db_path


# (id, argv after the command's --db, exit code, a piece of stderr)
MISTAKES: list[tuple[str, list[str], int, str]] = [
    ("queue-retry-verified", ["queue", "retry", "1"], 2, "only failed items are retried"),
    ("queue-cancel-unknown", ["queue", "cancel", "99"], 2, "no queue item 99"),
    ("queue-cancel-verified", ["queue", "cancel", "1"], 2, "only pending items"),
    ("queue-approve-verified", ["queue", "approve", "1"], 2, "cannot become approved"),
    ("queue-edit-verified", ["queue", "edit", "1", "--reason", "x"], 2, "only staged items"),
    ("queue-retry-no-id", ["queue", "retry"], 2, "needs an item ID"),
    ("review-show-unknown", ["review", "show", "99"], 2, "no review campaign 99"),
    ("review-item-unknown", ["review", "decide", "1", "9", "defer"], 2, "has no item 9"),
    (
        "review-decide-again",
        ["review", "decide", "1", "1", "keep", "--justification", "again"],
        2,
        "--override",
    ),
    ("accounts-provider-unknown", ["accounts", "--provider", "nope"], 2, "no provider named"),
    (
        "revoke-account-unknown",
        ["revoke", "--provider", "demo-git", "--account", "nobody", "--reason", "r", "--yes"],
        2,
        "no account 'nobody'",
    ),
    ("verify-bad-head", ["audit", "verify", "--expect-head", "x"], 2, "--expect-head"),
    ("drift-bad-since", ["drift", "--since", "yesterday"], 2, "--since"),
    ("drift-provider-unknown", ["drift", "--provider", "nope"], 2, "no provider named"),
    ("recheck-bad-concurrency", ["audit", "recheck", "--concurrency", "-1"], 2, "--concurrency"),
    ("audit-list-bad-limit", ["audit", "list", "--limit", "0"], 2, "--limit"),
    ("forward-unconfigured", ["audit", "forward"], 2, "no [[forward]] table"),
    ("providers-unknown-type", ["providers", "--settings", "nope"], 2, "nope"),
    ("mfa-not-enrolled", ["mfa", "status"], 1, ""),
    (
        "operators-bad-name",
        ["operators", "allow-enrol", "bad\tname"],
        2,
        "is not an operator name",
    ),
    (
        "operators-reset-without-admin-enrolment",
        ["operators", "reset-totp", "alice", "--totp", "123456"],
        1,
        "an admin's step-up is required",
    ),
    ("verify-ok", ["audit", "verify"], 0, ""),
]


@pytest.mark.parametrize(
    ("argv", "code", "err_part"),
    [pytest.param(a, c, e, id=i) for i, a, c, e in MISTAKES],
)
def test_exit_codes_follow_one_rule(
    demo_db: Path, capsys: pytest.CaptureFixture[str], argv: list[str], code: int, err_part: str
) -> None:
    got, _, err = run(capsys, *argv, "--db", str(demo_db))
    assert got == code, err
    assert err_part in err
    if err_part:
        assert err.startswith("pamtui: ") and err.count("\n") == 1  # one line, no traceback


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    yield " ".join(path), parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _walk(child, (*path, name))


# Commands that print no report of their own: the full-screen UIs, the server, and the
# exporters whose output *is* the chosen format (--format).
NO_JSON = {"pamtui", "pamtui audit", "pamtui audit export", "pamtui review report"}
NO_JSON |= {"pamtui serve-ssh", "pamtui review"}
NO_JSON |= {"pamtui sessions play"}  # its output is the recorded terminal, replayed
OWNED_ELSEWHERE: set[str] = set()


def test_every_option_and_argument_has_help() -> None:
    missing = []
    for path, parser in _walk(build_parser(), ("pamtui",)):
        if path in OWNED_ELSEWHERE:
            continue
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_every_command_that_prints_takes_json() -> None:
    leaves = [
        path
        for path, parser in _walk(build_parser(), ("pamtui",))
        if not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        or path == "pamtui"
    ]
    assert "pamtui queue" in leaves and "pamtui audit head" in leaves
    without = [
        path
        for path, parser in _walk(build_parser(), ("pamtui",))
        if path in leaves
        and path not in NO_JSON | OWNED_ELSEWHERE
        and not any("--json" in a.option_strings for a in parser._actions)
    ]
    assert without == []


def test_json_is_json_for_every_queue_verb_and_sweep(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(demo_db)
    code, out, _ = run(capsys, "sweep", "--json", "--db", db)
    assert code == 0
    report = json.loads(out)  # "no [[policies]] configured" as text before
    assert report["policies"] == 0 and report["entries"] == []
    code, out, _ = run(capsys, "queue", "run", "--json", "--db", db)
    assert code == 0 and json.loads(out) == {"outcomes": [], "expired": [], "held": []}
    code, out, _ = run(
        capsys,
        "revoke",
        "--db",
        db,
        "--provider",
        "demo-git",
        "--account",
        ACCOUNT,
        "--reason",
        "offboarding",
        "--dry-run",
        "--json",
    )
    assert code == 0 and json.loads(out)["steps"] and json.loads(out)["staged"] == []
    code, out, _ = run(capsys, "audit", "head", "--json", "--db", db)
    assert code == 0 and json.loads(out)["seq"] > 1


def test_text_audit_list_shows_the_reason(
    demo_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "audit", "list", "--action", "stage", "--db", str(demo_db))
    assert code == 0
    assert "REASON" in out.splitlines()[0]
    assert "departed: token used at 03:00" in out


def test_no_count_is_written_with_a_parenthesised_plural() -> None:
    """``1 step(s)``, ``1 entries``: counts go through cli.common.plural (or its like)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.relative_to(SRC).parts[0] not in ("cli", "services", "journal"):
            continue  # what the CLI says; the TUI's and providers' text are others' files
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"\{[^}]+\}[^\"']*\w\((s|es)\)", line):
                offenders.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert offenders == []


def test_secrets_set_warns_once_and_not_about_a_totp_secret(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_memory.PlaintextishKeyring")
    keyring.core.init_backend()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pamtui", "secrets", "set", "okta-prod", "--db", str(db_path)],
            input="s3cret-value\n",
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(SRC.parents[1])},
            timeout=60,
        )
    finally:
        keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("WARNING") == 1 and "WARNING: WARNING" not in result.stderr
    assert "TOTP" not in result.stderr and "provider secret" in result.stderr


@pytest.mark.parametrize("argv", [[], ["audit"]], ids=["tui", "audit-screen"])
@pytest.mark.parametrize("into", ["file", "pipe"])
def test_a_full_screen_ui_refuses_a_stdout_that_is_not_a_terminal(
    db_path: Path, tmp_path: Path, argv: list[str], into: str
) -> None:
    """``pamtui > out.txt`` and ``pamtui | cat`` wrote escape codes; now one line and exit 2."""
    out_file = tmp_path / "out.txt"
    with out_file.open("wb") as sink:
        result = subprocess.run(
            [sys.executable, "-m", "pamtui", *argv, "--db", str(db_path)],
            stdin=subprocess.DEVNULL,
            stdout=sink if into == "file" else subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=60,
        )
    written = out_file.read_bytes() if into == "file" else result.stdout
    assert written == b""  # no escape codes in the file
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.startswith("pamtui: standard output is not a terminal") and err.count("\n") == 1
