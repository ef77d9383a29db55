"""Policy lives with the data: a laxer --config cannot weaken the recorded policy.

Each attack from issue 14 is run the way an operator would: the real CLI on a
real SQLite database, the table edited with the real ``sqlite3`` shell.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess

import pyotp
import pytest

from pamtui.cli import main
from pamtui.journal import EntryFilter, Journal
from pamtui.services import identity
from pamtui.services.session import Session
from tests.support.totp import enrol

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"
PROVIDERS = '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _as_ops_alice(monkeypatch):
    """The OS account is the identity (never USER): these tests run as ops-alice."""
    monkeypatch.setattr(identity, "os_account", lambda: "ops-alice")


def _config(path, *, totp=True, four_eyes=True, read_only=False):
    lines = ["[operator]"]
    lines += [
        f"require_totp = {str(totp).lower()}",
        f"four_eyes_for_privileged = {str(four_eyes).lower()}",
        f"read_only = {str(read_only).lower()}",
        "",
        PROVIDERS,
    ]
    path.write_text("\n".join(lines))
    return path


def _enrol(name, db) -> pyotp.TOTP:
    return enrol(db, name)


def _policy_entries(db) -> list:
    journal = Journal.open(db, read_only=True)
    try:
        return journal.entries(EntryFilter(action="operator_policy_change"), newest_first=False)
    finally:
        journal.close()


@pytest.fixture
def strict(tmp_path, db_path, memory_keyring):
    """A database whose recorded policy was set by a strict config's first use."""
    strict_cfg = _config(tmp_path / "strict.toml")
    totp = _enrol("ops-alice", db_path)
    # The first writable session with the strict config records it (pamtui, revoke, queue...).
    Session.open(config_path=str(strict_cfg), db_path=str(db_path)).journal.close()
    lax = _config(tmp_path / "lax.toml", totp=False, four_eyes=False, read_only=False)
    return strict_cfg, lax, db_path, totp


def test_the_first_strict_config_records_the_policy_in_the_journal(capsys, strict) -> None:
    strict_cfg, _, db, _ = strict
    capsys.readouterr()
    (entry,) = _policy_entries(db)
    assert entry.actor == "ops-alice"
    assert entry.detail["before"] == []
    assert entry.detail["after"] == ["require_totp", "four_eyes_for_privileged"]
    assert str(strict_cfg) in entry.detail["source"]
    code, out, err = run(capsys, "policy", "show", "--db", str(db), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["require_totp"] and shown["four_eyes_for_privileged"] and not shown["read_only"]
    assert shown["recorded"] and shown["seq"] == entry.seq
    # The same config again changes nothing and journals nothing.
    Session.open(config_path=str(strict_cfg), db_path=str(db)).journal.close()
    assert len(_policy_entries(db)) == 1


def _revoke(cfg, db, *extra):
    return (
        "revoke",
        "--config",
        str(cfg),
        "--db",
        str(db),
        "--provider",
        "demo-git",
        "--account",
        ACCOUNT,
        "--credential",
        TOKEN,
        "--reason",
        "leak",
        "--yes",
        *extra,
    )


def _refused(code: int, err: str) -> None:
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert "recorded policy (require_totp = true, four_eyes_for_privileged = true" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(lambda c, d: _revoke(c, d), id="revoke"),
        pytest.param(
            lambda c, d: ("queue", "approve", "1", "--config", c, "--db", d), id="approve"
        ),
        pytest.param(lambda c, d: ("queue", "run", "--config", c, "--db", d), id="run"),
        pytest.param(lambda c, d: ("queue", "cancel", "1", "--config", c, "--db", d), id="cancel"),
        pytest.param(lambda c, d: ("--config", c, "--db", d), id="tui"),
    ],
)
def test_a_laxer_config_is_refused(capsys, strict, argv) -> None:
    _, lax, db, _ = strict
    capsys.readouterr()
    before = Journal.open(db, read_only=True)
    head = before.head()
    before.close()
    code, out, err = run(capsys, *argv(str(lax), str(db)))
    _refused(code, err)
    assert str(lax) in err and "pamtui policy set" in err
    after = Journal.open(db, read_only=True)
    try:  # nothing was staged, stepped up or revoked
        assert after.head() == head
    finally:
        after.close()


def test_each_laxer_key_alone_is_refused(capsys, tmp_path, strict) -> None:
    strict_cfg, _, db, totp = strict
    capsys.readouterr()
    no_totp = _config(tmp_path / "a.toml", totp=False)
    code, _, err = run(capsys, *_revoke(no_totp, db))
    assert code == 2 and "operator.require_totp = false" in err
    no_four_eyes = _config(tmp_path / "b.toml", four_eyes=False)
    code, _, err = run(capsys, *_revoke(no_four_eyes, db, "--totp", totp.now()))
    assert code == 2 and "operator.four_eyes_for_privileged = false" in err
    assert "require_totp = false" not in err


def test_read_only_recorded_by_policy_set_needs_a_step_up_and_binds_every_config(
    capsys, strict
) -> None:
    strict_cfg, _, db, totp = strict
    capsys.readouterr()
    code, _, err = run(
        capsys, "policy", "set", "read_only", "true", "--config", str(strict_cfg), "--db", str(db),
        "--totp", "000000",
    )  # fmt: skip
    assert code == 1 and "wrong code" in err
    assert len(_policy_entries(db)) == 1  # a refused step-up changes nothing
    code, out, err = run(
        capsys, "policy", "set", "read_only", "true", "--config", str(strict_cfg), "--db", str(db),
        "--totp", totp.now(),
    )  # fmt: skip
    assert code == 0, err
    last = _policy_entries(db)[-1]
    assert last.actor == "ops-alice" and last.detail["source"] == "policy set"
    assert "read_only" not in last.detail["before"] and "read_only" in last.detail["after"]
    # The strict config does not say read_only = true: it is laxer now.
    code, _, err = run(capsys, *_revoke(strict_cfg, db))
    assert code == 2 and "operator.read_only = false" in err
    # A config that says read_only = true gets a read-only session: nothing revokes.
    ro = _config(strict_cfg.with_name("ro.toml"), read_only=True)
    code, _, err = run(capsys, *_revoke(ro, db, "--totp", totp.now()))
    assert code == 1 and "read-only" in err


def test_policy_set_loosens_only_with_a_step_up(capsys, strict, monkeypatch) -> None:
    strict_cfg, lax, db, totp = strict
    capsys.readouterr()
    with open("/dev/null") as no_terminal:
        monkeypatch.setattr("sys.stdin", no_terminal)
        code, _, err = run(
            capsys, "policy", "set", "four_eyes_for_privileged", "false",
            "--config", str(strict_cfg), "--db", str(db),
        )  # fmt: skip
    assert code == 2 and "TOTP code" in err
    code, out, err = run(
        capsys, "policy", "set", "four_eyes_for_privileged", "off",
        "--config", str(strict_cfg), "--db", str(db), "--totp", totp.now(),
    )  # fmt: skip
    assert code == 0, err
    code, out, _ = run(capsys, "policy", "show", "--db", str(db))
    assert "four_eyes_for_privileged = false" in out and "require_totp = true" in out
    code, _, err = run(capsys, "policy", "set", "nonsense", "true", "--db", str(db))
    assert code == 2 and "unknown policy key" in err
    code, _, err = run(capsys, "policy", "set", "read_only", "maybe", "--db", str(db))
    assert code == 2 and "expected true or false" in err


def _sqlite3(db, sql: str) -> None:
    if shutil.which("sqlite3"):
        subprocess.run(["sqlite3", str(db), sql], check=True, timeout=20)
    else:  # the same library the shell is built on
        conn = sqlite3.connect(db)
        conn.executescript(sql)
        conn.close()


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("UPDATE policy SET value = 'false' WHERE key = 'require_totp';", id="update"),
        pytest.param("DELETE FROM policy;", id="delete"),
        pytest.param(
            "UPDATE entries SET detail = replace(detail, '\"require_totp\",', '') "
            "WHERE action = 'operator_policy_change';"
            "UPDATE policy SET value = 'false' WHERE key = 'require_totp';",
            id="entry-and-table",
        ),
    ],
)
def test_editing_the_policy_with_the_sqlite3_shell_is_detected(capsys, strict, sql) -> None:
    strict_cfg, lax, db, _ = strict
    capsys.readouterr()
    _sqlite3(db, sql)
    for argv in (_revoke(lax, db), _revoke(strict_cfg, db), ("policy", "show", "--db", str(db))):
        code, _, err = run(capsys, *argv)
        assert code == 1, err
        assert "the recorded policy does not match the journal" in err
        assert len(err.strip().splitlines()) == 1
