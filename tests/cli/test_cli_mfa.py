"""TOTP step-up from the command line, with a real (in-memory) keyring backend."""

from __future__ import annotations

import json

import pyotp
import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from pamtui.services import identity
from tests.support.totp import enrol

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"


@pytest.fixture
def setup(tmp_path, db_path, memory_keyring, monkeypatch):
    be_os_account(monkeypatch, "ops-alice")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[operator]\nrequire_totp = true\n\n"
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n'
        "latency_ms = 0\n"
    )
    totp = enrol(db_path, "ops-alice")
    return cfg, db_path, totp


def be_os_account(monkeypatch, name: str) -> None:
    """Run as another OS account (the identity is the real uid's, never USER)."""
    monkeypatch.setattr(identity, "os_account", lambda: name)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def revoke(cfg, db, *extra):
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


def test_status_reports_enrolment(capsys, setup):
    cfg, db, _ = setup
    code, out, _ = run(capsys, "mfa", "status", "--config", str(cfg), "--db", str(db))
    assert code == 0 and "enrolled" in out.lower()


def test_revoke_needs_a_code_and_accepts_it_once(capsys, setup, monkeypatch):
    cfg, db, totp = setup
    with open("/dev/null") as no_terminal:
        monkeypatch.setattr("sys.stdin", no_terminal)
        code, _, err = run(capsys, *revoke(cfg, db))
    assert code == 2 and "--totp" in err
    now = totp.now()
    code, out, err = run(capsys, *revoke(cfg, db, "--totp", now))
    assert code == 0 and "verified" in out, err
    # The same code again (replay) is refused, and nothing is staged for it.
    code, _, err = run(capsys, "queue", "run", "--config", str(cfg), "--db", str(db), "--totp", now)
    assert code == 1 and "already used" in err
    entries = Journal.open(db, read_only=True).entries(limit=1000)
    actions = [e.action for e in entries]
    assert "stepup_ok" in actions and "stepup_failed" in actions
    assert all(now not in str(e.detail) for e in entries)  # never the code


def test_a_wrong_code_stops_before_the_provider(capsys, setup):
    cfg, db, _ = setup
    code, _, err = run(capsys, *revoke(cfg, db, "--totp", "000001"))
    assert code == 1 and "wrong code" in err
    journal = Journal.open(db, read_only=True)
    assert not [e for e in journal.entries(limit=1000) if e.action in ("stage", "execute")]


def _enrol(name: str, db) -> pyotp.TOTP:
    return enrol(db, name)


def _four_eyes_config(path, name):
    path.write_text(
        "[operator]\nrequire_totp = true\nfour_eyes_for_privileged = true\n\n"
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'
    )
    return path


def test_the_four_eyes_approver_steps_up_with_their_own_code(
    capsys,
    tmp_path,
    db_path,
    monkeypatch,
    memory_keyring,
):
    alice = _four_eyes_config(tmp_path / "alice.toml", "ops-alice")
    bob = _four_eyes_config(tmp_path / "bob.toml", "ops-bob")
    alice_totp, bob_totp = _enrol("ops-alice", db_path), _enrol("ops-bob", db_path)
    db = str(db_path)

    be_os_account(monkeypatch, "ops-alice")
    code, out, err = run(
        capsys, "accounts", "--json", "--provider", "demo-git", "--config", str(alice), "--db", db
    )
    assert code == 0, err
    privileged = next(a for a in json.loads(out) if "privileged" in a["flags"])
    code, out, err = run(
        capsys,
        "revoke",
        "--config",
        str(alice),
        "--db",
        db,
        "--provider",
        "demo-git",
        "--account",
        privileged["id"],
        "--reason",
        "owner on leave",
        "--yes",
        "--totp",
        alice_totp.now(),
    )
    assert code == 0 and "four eyes required" in out, err
    be_os_account(monkeypatch, "ops-bob")
    code, out, err = run(capsys, "queue", "list", "--json", "--config", str(bob), "--db", db)
    waiting = [i for i in json.loads(out) if i["state"] == "awaiting_approval"]
    assert waiting
    first = str(min(i["id"] for i in waiting))

    # A valid code, but alice's: bob must prove he is bob.
    approve = ("queue", "approve", first, "--config", str(bob), "--db", db, "--totp")
    code, _, err = run(capsys, *approve, alice_totp.now())
    assert code == 1 and "wrong code" in err
    code, out, err = run(capsys, "queue", "list", "--json", "--config", str(bob), "--db", db)
    assert {i["id"]: i["state"] for i in json.loads(out)}[int(first)] == "awaiting_approval"

    code, out, err = run(capsys, *approve, bob_totp.now())
    assert code == 0 and "approved by ops-bob" in out, err

    journal = Journal.open(db_path, read_only=True)
    steps = [(e.actor, e.action) for e in journal.entries(limit=1000) if "stepup" in e.action]
    assert ("ops-bob", "stepup_failed") in steps and ("ops-bob", "stepup_ok") in steps
    assert ("ops-alice", "stepup_ok") in steps


def test_an_operator_name_in_a_config_is_refused(capsys, tmp_path, db_path):
    """A name in a file anyone can write proves nothing: identity is the OS account."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[operator]\nname = "bob"\nrequire_totp = true\n\n'
        '[[providers]]\nname = "demo-git"\ntype = "demo"\n'
    )
    code, out, err = run(capsys, "accounts", "--config", str(cfg), "--db", str(db_path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert "operator.name" in err and "OS account" in err and "SSH key" in err


def test_the_code_can_come_on_standard_input_out_of_sight_of_ps(
    capsys, setup, tmp_path, monkeypatch
):
    """--totp CODE is visible to other local users in ps: a pipe is not."""
    cfg, db, totp = setup
    piped = tmp_path / "code.txt"
    piped.write_text(totp.now() + "\n")
    with open(piped) as stdin:
        monkeypatch.setattr("sys.stdin", stdin)
        code, out, err = run(capsys, *revoke(cfg, db))
    assert code == 0 and "verified" in out, err
    journal = Journal.open(db, read_only=True)
    assert [e.action for e in journal.entries(limit=1000)].count("stepup_ok") == 1


def test_the_totp_help_warns_that_the_flag_is_visible_in_ps(capsys):
    with pytest.raises(SystemExit):
        main(["revoke", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Visible to other local users (ps)" in out
    assert "standard input" in out


def test_cancel_asks_for_step_up_too(capsys, setup):
    """queue cancel asked for no step-up even with require_totp = true."""
    cfg, db, _ = setup
    common = ("--config", str(cfg), "--db", str(db))
    code, _, err = run(capsys, *revoke(cfg, db, "--totp", "000001"))
    assert code == 1  # nothing staged: the code was wrong
    # A pending item to cancel (an ID that names nothing is refused first, exit 2).
    cfg.write_text(
        cfg.read_text() + '\n[[policies]]\nname = "terminated-owners"\n'
        'match = { owner_status = "terminated" }\naction = "plan"\n'
    )
    assert run(capsys, "sweep", *common)[0] == 0
    code, _, err = run(capsys, "queue", "cancel", "1", *common, "--totp", "000002")
    assert code == 1 and "wrong code" in err
    journal = Journal.open(db, read_only=True)
    failed = [e for e in journal.entries(limit=1000) if e.action == "stepup_failed"]
    assert "queue:1" in {e.subject for e in failed}  # the cancel was checked
