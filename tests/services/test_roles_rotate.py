"""Rotating the journal and resetting the demo are an admin's (services/roles.py).

``audit rotate`` moves every entry into an archive; ``demo --reset`` rotates too
and forgets the queue, the reviews and the drift. Both ran for any role: an
operator (or an auditor whose local session is read-only elsewhere) could
archive the live history, or wipe pending four-eyes items, on a real journal.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from tests.services.test_roles_triage_writes import ME, _config_as, refusals


def _entries(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM entries").fetchone()[0])


def _history(tmp_path: Path, role: str, capsys) -> tuple[Path, Path]:
    """A config naming this OS account with ``role``; a journal with a staged revocation."""
    cfg, db = _config_as(tmp_path, role), tmp_path / "pamtui.db"
    (tmp_path / "staging").mkdir()
    operator = _config_as(tmp_path / "staging", "operator")  # the one who staged it
    where = ["--config", str(operator), "--db", str(db)]
    revoke = ["revoke", "--provider", "demo-git", "--account", "amara-quinn", "--reason", "r"]
    assert main([*revoke, "--yes", *where]) == 0, capsys.readouterr()
    capsys.readouterr()
    return db, cfg


@pytest.mark.parametrize("role", ["operator", "approver"])
@pytest.mark.parametrize(
    "argv", [["audit", "rotate"], ["demo", "--reset"]], ids=["audit-rotate", "demo-reset"]
)
def test_only_an_admin_rotates_the_journal_or_resets_the_demo(tmp_path, capsys, role, argv):
    db, cfg = _history(tmp_path, role, capsys)
    before = _entries(db)
    with sqlite3.connect(db) as conn:
        queued = conn.execute("SELECT count(*) FROM queue_items").fetchone()[0]
    assert queued > 0
    code = main([*argv, "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and "needs the admin role" in err, err
    assert not (tmp_path / "pamtui.db-archives").exists() or not any(
        (tmp_path / "pamtui.db-archives").iterdir()
    )
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM queue_items").fetchone()[0] == queued
    assert _entries(db) == before + 1  # only the refusal
    assert [(actor, act) for actor, _, act in refusals(db)] == [(ME, "rotate")]
    assert Journal.open(db, read_only=True).verify().ok


@pytest.mark.parametrize(
    "argv", [["audit", "rotate"], ["demo", "--reset"]], ids=["audit-rotate", "demo-reset"]
)
def test_an_admin_rotates_and_resets(tmp_path, capsys, argv):
    db, cfg = _history(tmp_path, "admin", capsys)
    code = main([*argv, "--config", str(cfg), "--db", str(db)])
    assert code == 0, capsys.readouterr()
    assert any((tmp_path / "pamtui.db-archives").iterdir())
    assert refusals(db) == []
