"""A journal in a directory named ``ops#1``, ``a?b`` or ``50%``: read, not misread.

Was: ``pamtui audit verify`` said "not a pamtui journal (no journal schema)"
for ``ops#1`` and ``a?b`` (and left an empty ``ops`` or ``a`` file beside the
data directory), and "SQLite needs to create pamtui.db-shm" for ``50%41``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from tests.journal.test_read_only_copy import _copy, _journal, _pamtui, restore_modes

__all__ = ["restore_modes"]  # the fixture, used by name

ODD = ["ops#1", "a?b", "50%", "50%41", "x&mode=rw"]


def _listing(root: Path) -> set[Path]:
    return {Path(r, n) for r, dirs, files in os.walk(root) for n in (*dirs, *files)}


@pytest.mark.parametrize("name", ODD)
def test_a_read_only_journal_reads_its_own_file(tmp_path: Path, name: str) -> None:
    db = tmp_path / name / "pamtui.db"
    _journal(db, 3).close()
    before = _listing(tmp_path)
    journal = Journal.open(db, read_only=True)
    try:
        head = journal.head()
        assert head is not None and head.seq == 3
    finally:
        journal.close()
    assert {
        p for p in _listing(tmp_path) - before if not p.name.endswith(("-shm", "-wal"))
    } == set()


@pytest.mark.parametrize("name", ODD)
def test_audit_verify_and_list_in_an_odd_directory(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / name / "pamtui.db"
    _journal(db, 4).close()
    assert main(["--db", str(db), "audit", "verify"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ok: 4 entries"), err
    assert main(["--db", str(db), "audit", "list"]) == 0
    out, _ = capsys.readouterr()
    assert all(f"s{i}" in out for i in range(4))
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # no stray "ops" or "a"


@pytest.mark.parametrize("name", ["ops#1", "a?b", "50%41"])
def test_a_read_only_copy_in_an_odd_directory_is_audited(
    tmp_path: Path, name: str, restore_modes: None
) -> None:
    """The ``immutable=1`` open of a copy nobody may write, under the same names."""
    _journal(tmp_path / "live" / "pamtui.db", 5).close()
    copy = _copy(tmp_path / "live" / "pamtui.db", tmp_path / name)
    verify = _pamtui(tmp_path, copy, "audit", "verify")
    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 5 entries")
    assert sorted(p.name for p in copy.parent.iterdir()) == ["pamtui.db"]
