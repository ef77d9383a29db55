"""``pamtui audit`` and the error contract, on a real journal file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys

import pytest

from pamtui.cli import main
from pamtui.journal import Journal


@pytest.fixture
def filled(db_path):
    journal = Journal.open(db_path)
    for i in range(6):
        journal.append(
            "alice",
            "revoke",
            provider="demo-idp",
            subject=f"credential:t{i}",
            detail={"label": f"token {i}", "reason": "left"},
        )
    journal.append(
        "bob",
        "approve",
        provider="demo-git",
        subject="account:u9",
        detail={"label": "\x1b]0;pwned\x07 approve"},
    )
    head = journal.head()
    journal.close()
    return db_path, head


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _tamper(db_path, sql: str) -> None:
    """Edit the file the way an intruder would: with the sqlite3 shell if present."""
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(db_path), sql], check=True)
    else:
        sqlite3.connect(db_path, isolation_level=None).execute(sql)


def test_verify_ok_then_names_the_edited_entry(capsys, filled):
    db_path, _ = filled
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 0 and out.startswith("ok: 7 entries")
    _tamper(db_path, "UPDATE entries SET actor = 'mallory' WHERE seq = 3;")
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 1
    assert "entry 3" in out and "edited" in out


def test_head_and_expect_head(capsys, filled):
    db_path, head = filled
    code, out, _ = run(capsys, "audit", "head", "--db", str(db_path))
    assert code == 0 and out.strip() == str(head)
    code, _, _ = run(capsys, "audit", "verify", "--db", str(db_path), "--expect-head", str(head))
    assert code == 0
    _tamper(db_path, "DELETE FROM entries WHERE seq = 7;")
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path), "--expect-head", str(head))
    assert code == 1 and "truncated" in out
    code, _, err = run(capsys, "audit", "verify", "--db", str(db_path), "--expect-head", "nope")
    assert code == 2 and "SEQ:HASH" in err


def test_list_filters_and_json(capsys, filled):
    db_path, _ = filled
    code, out, _ = run(capsys, "audit", "list", "--db", str(db_path), "--actor", "bob", "--json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["seq"], r["actor"], r["action"]) for r in rows] == [(7, "bob", "approve")]
    assert rows[0]["detail"]["label"].startswith("\x1b]0;pwned")  # the journal keeps the bytes
    code, out, _ = run(capsys, "audit", "list", "--db", str(db_path), "--provider", "demo-idp")
    assert code == 0 and len(out.strip().splitlines()) == 1 + 6
    code, out, _ = run(capsys, "audit", "list", "--db", str(db_path), "--text", "pwned")
    assert "\x1b" not in out and "␛]0;pwned" in out  # ...but the terminal never sees ESC


def test_errors_are_one_line_with_exit_codes(capsys, tmp_path):
    code, out, err = run(capsys, "audit", "verify", "--db", str(tmp_path / "none.db"))
    assert code == 1 and "no journal" in err and err.count("\n") == 1
    bad = tmp_path / "bad.toml"
    bad.write_text("[operator]\nrequire_totp = 'yes'\n")
    code, out, err = run(capsys, "providers", "--config", str(bad))
    assert code == 2 and err.startswith("pamtui: config:") and err.count("\n") == 1
    assert "operator.require_totp" in err
    code, _out, err = run(capsys, "queue", "retry", "--db", str(tmp_path / "x.db"))
    assert code == 2 and "needs an item ID" in err


def test_not_a_database_is_a_clear_error(capsys, tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    code, _, err = run(capsys, "audit", "verify", "--db", str(junk))
    assert code == 1 and "pamtui:" in err and "Traceback" not in err


def test_export_to_a_private_file(capsys, filled, tmp_path):
    db_path, _ = filled
    out = tmp_path / "audit.jsonl"
    code, stdout, _ = run(
        capsys,
        "audit",
        "export",
        "--db",
        str(db_path),
        "--format",
        "jsonl",
        "--out",
        str(out),
        "--provider",
        "demo-idp",
    )
    assert code == 0 and "exported 6 entries" in stdout
    assert oct(out.stat().st_mode & 0o777) == "0o600"
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["seq"] for r in records] == [1, 2, 3, 4, 5, 6]
    code, stdout, err = run(capsys, "audit", "export", "--db", str(db_path), "--format", "cef")
    assert code == 0 and stdout.count("CEF:0|pamtui|") == 7 and "exported 7" in err
    assert "\x1b" not in stdout
    with pytest.raises(SystemExit) as info:
        main(["audit", "export", "--db", str(db_path), "--format", "xml"])
    assert info.value.code == 2


def test_global_options_work_before_the_command(capsys, filled):
    db_path, head = filled
    code, out, _ = run(capsys, "--db", str(db_path), "audit", "head")
    assert code == 0 and out.strip() == str(head)


def test_module_entry_point_runs(filled):
    db_path, head = filled
    result = subprocess.run(
        [sys.executable, "-m", "pamtui", "audit", "head", "--db", str(db_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.strip() == str(head)


@pytest.mark.parametrize("verb", [["list", "--json"], ["export", "--format", "jsonl"]])
def test_since_and_until_read_like_recheck_and_drift(capsys, filled, verb):
    """``--since 7d`` was compared as text with the timestamps: always nothing, exit 0.
    A typo (``--since yesterday``) was the same silent empty answer."""
    db_path, _ = filled
    code, out, err = run(capsys, "audit", *verb, "--since", "7d", "--db", str(db_path))
    assert code == 0, err
    assert len(out.strip().splitlines() if verb[0] == "export" else json.loads(out)) == 7
    code, out, _ = run(capsys, "audit", *verb, "--until", "1h", "--db", str(db_path))
    assert code == 0 and out.strip() in ("", "[]")  # nothing older than an hour
    # An offset is a time, not text: 01:00+01:00 is midnight UTC, before every entry.
    code, out, _ = run(
        capsys, "audit", *verb, "--since", "2000-01-01T01:00+01:00", "--db", str(db_path)
    )
    assert (
        code == 0 and len(out.strip().splitlines() if verb[0] == "export" else json.loads(out)) == 7
    )
    for option in ("--since", "--until"):
        code, out, err = run(capsys, "audit", *verb, option, "yesterday", "--db", str(db_path))
        assert code == 2 and out == ""
        assert err.startswith(f"pamtui: {option} 'yesterday': expected") and err.count("\n") == 1


def test_verify_of_an_empty_journal_does_not_print_head_none(capsys, db_path):
    Journal.open(db_path).close()
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 0 and out == "ok: 0 entries, nothing recorded yet\n"
