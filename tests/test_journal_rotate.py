"""Retention: archive a journal and continue its chain in the same file."""

from __future__ import annotations

import pytest

from pamtui.cli import main
from pamtui.journal import Journal, JournalError


def _fill(journal: Journal, n: int, actor: str = "alice") -> None:
    for i in range(n):
        journal.append(actor, "revoked", subject=f"credential:{actor}{i}", detail={"i": i})


def test_rotation_links_the_segments(db_path, tmp_path, static_session, static_provider):
    journal = static_session.journal
    action = static_provider.revoke_actions(static_provider.credentials["t-bob-1"])[0]
    static_session.queue.stage([action], "kept across rotation")
    _fill(journal, 10)
    witnessed = journal.head()
    previous, start = journal.rotate(tmp_path / "segment-1.db", actor="tester")
    assert previous == witnessed
    assert (start.seq, start.prev_hash, start.action) == (
        witnessed.seq + 1,
        witnessed.hash,
        "segment_start",
    )
    _fill(journal, 5, actor="bob")
    report = journal.verify()
    assert report.ok and report.entries == 6
    assert journal.verify(expect_head=witnessed).ok  # the link is the witnessed head
    archive = Journal.open(tmp_path / "segment-1.db", read_only=True)
    assert archive.verify(expect_head=witnessed).ok and archive.head() == witnessed
    assert [i.reason for i in static_session.queue.items()] == ["kept across rotation"]
    assert oct((tmp_path / "segment-1.db").stat().st_mode & 0o777) == "0o600"


def test_an_older_witnessed_head_points_to_the_archive(journal, tmp_path):
    _fill(journal, 5)
    older = journal.head()
    _fill(journal, 5)
    journal.rotate(tmp_path / "a.db")
    report = journal.verify(expect_head=older)
    assert not report.ok and "archived segment" in report.problem
    assert Journal.open(tmp_path / "a.db", read_only=True).verify(expect_head=older).ok


def test_tampering_after_rotation_is_still_caught(journal, tmp_path, db_path):
    import sqlite3

    _fill(journal, 5)
    journal.rotate(tmp_path / "a.db")
    _fill(journal, 3)
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE entries SET detail = '{\"previous_head\":\"1:x\"}' WHERE action = 'segment_start'"
    )
    report = journal.verify()
    assert not report.ok and report.bad_seq == 6


def test_a_broken_chain_is_not_rotated(journal, tmp_path, db_path):
    import sqlite3

    _fill(journal, 3)
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE entries SET actor = 'eve' WHERE seq = 2"
    )
    with pytest.raises(JournalError, match="not rotating"):
        journal.rotate(tmp_path / "a.db")
    assert journal.count() == 3


def test_rotate_from_the_cli(capsys, journal, db_path, tmp_path):
    _fill(journal, 4)
    head = journal.head()
    journal.close()
    code = main(["audit", "rotate", "--db", str(db_path), "--archive", str(tmp_path / "s1.db")])
    out = capsys.readouterr().out
    assert code == 0 and f"head {head}" in out and "continues at entry 5" in out
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(head)])
    assert code == 0
    code = main(["audit", "rotate", "--db", str(db_path), "--archive", str(tmp_path / "s1.db")])
    assert code == 1 and "exists already" in capsys.readouterr().err
