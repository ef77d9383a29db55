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
    previous, start, where = journal.rotate(tmp_path / "segment-1.db", actor="tester")
    assert previous == witnessed and where == tmp_path / "segment-1.db"
    assert (start.seq, start.prev_hash, start.action) == (
        witnessed.seq + 1,
        witnessed.hash,
        "segment_start",
    )
    _fill(journal, 5, actor="bob")
    report = journal.verify(archives=[where])
    assert report.ok and report.entries == witnessed.seq + 6 and report.archives == (str(where),)
    assert journal.verify(expect_head=witnessed, archives=[where]).ok  # the link, witnessed
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
    assert (
        not report.ok and "entries 1..10 are in archive a.db, not verified here" in report.problem
    )
    assert journal.verify(expect_head=older, archives=[tmp_path / "a.db"]).ok
    assert Journal.open(tmp_path / "a.db", read_only=True).verify(expect_head=older).ok


def test_tampering_after_rotation_is_still_caught(journal, tmp_path, db_path):
    import sqlite3

    _fill(journal, 5)
    journal.rotate(tmp_path / "a.db")
    _fill(journal, 3)
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE entries SET detail = '{\"previous_head\":\"1:x\"}' WHERE action = 'segment_start'"
    )
    report = journal.verify(archives=[tmp_path / "a.db"])
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
    out, err = capsys.readouterr()
    assert code == 0 and f"head {head}" in out and "continues at entry 5" in out
    assert "audit verify` needs it with --archive" in err
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(head)])
    assert code == 1 and "entries 1..4 are in archive s1.db" in capsys.readouterr().out
    code = main(
        [
            *("audit", "verify", "--db", str(db_path), "--expect-head", str(head)),
            *("--archive", str(tmp_path / "s1.db")),
        ]
    )
    assert code == 0
    code = main(["audit", "rotate", "--db", str(db_path), "--archive", str(tmp_path / "s1.db")])
    assert code == 1 and "exists already" in capsys.readouterr().err


# -- a live file never vouches for entries it no longer holds ------------------


def _attacker_restarts_the_chain(db_path, head, archive_name: str = "nowhere.db") -> None:
    """What anyone who can write the file can do with the sqlite3 module alone.

    Delete every entry and insert one ``segment_start`` chained onto ``head``,
    hashed exactly as pamtui hashes, naming an archive that does not exist.
    """
    import json
    import sqlite3

    from pamtui.journal.canonical import canonical_json
    from pamtui.journal.chain import body_text, entry_hash

    detail = canonical_json({"archive": archive_name, "previous_head": str(head)})
    seq, ts = head.seq + 1, "2026-12-01T00:00:00.000000Z"
    body = body_text(
        seq=seq,
        ts=ts,
        actor="mallory",
        action="segment_start",
        provider="",
        subject="",
        detail_json=detail,
        prev_hash=head.hash,
    )
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("DELETE FROM entries")
    conn.execute(
        "INSERT INTO entries VALUES (?, ?, 'mallory', 'segment_start', '', '', ?, ?, ?)",
        (seq, ts, detail, head.hash, entry_hash(head.hash, body)),
    )
    conn.close()
    assert json.loads(detail)["archive"] == archive_name


def test_deleting_everything_behind_a_forged_segment_start_fails(db_path, journal, capsys):
    _fill(journal, 7)
    witnessed = journal.head()
    _attacker_restarts_the_chain(db_path, witnessed)
    report = journal.verify(expect_head=witnessed)
    assert not report.ok
    assert "entries 1..7 are in archive nowhere.db, not verified here" in report.problem
    assert report.missing_archive == "nowhere.db"
    journal.close()
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(witnessed)])
    out = capsys.readouterr().out
    assert code == 1 and "ok" not in out.split(":")[0]
    assert "entries 1..7 are in archive nowhere.db, not verified here" in out


def test_an_older_witness_with_the_tail_rewritten_fails(db_path, journal, capsys):
    _fill(journal, 4)
    older = journal.head()
    _fill(journal, 6, actor="bob")  # the history the attacker wants gone
    _attacker_restarts_the_chain(db_path, older)
    forger = Journal.open(db_path)
    _fill(forger, 3, actor="mallory")  # a plausible tail after the fake link
    forger.close()
    assert not journal.verify(expect_head=older).ok
    journal.close()
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(older)])
    assert code == 1
    assert "entries 1..4 are in archive nowhere.db" in capsys.readouterr().out


def test_an_archive_named_by_the_attacker_must_really_end_at_the_link(
    db_path, journal, tmp_path, capsys
):
    """A real archive of some other history does not vouch for the forged link."""
    other = Journal.open(tmp_path / "other.db")
    _fill(other, 9, actor="eve")
    other.close()
    _fill(journal, 5)
    witnessed = journal.head()
    _attacker_restarts_the_chain(db_path, witnessed, archive_name="other.db")
    report = journal.verify(expect_head=witnessed, archives=[tmp_path / "other.db"])
    assert not report.ok and "not verified here" in report.problem
    assert "other.db ends at 9:" in report.problem


def test_a_legitimate_rotation_verifies_with_its_archives(db_path, journal, capsys):
    _fill(journal, 5)
    first_witness = journal.head()
    journal.rotate()  # into the default archive directory, where verify looks
    _fill(journal, 4, actor="bob")
    second_witness = journal.head()
    journal.rotate()
    _fill(journal, 2, actor="carol")
    archives = sorted(journal.archive_dir().iterdir())
    assert len(archives) == 2 and all(a.stat().st_mode & 0o777 == 0o600 for a in archives)
    assert journal.archive_dir().stat().st_mode & 0o777 == 0o700
    report = journal.verify(expect_head=first_witness)
    assert report.ok and report.entries == 5 + 1 + 4 + 1 + 2
    assert report.archives == tuple(str(a) for a in archives)
    assert journal.verify(expect_head=second_witness).ok
    journal.close()
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(first_witness)])
    out = capsys.readouterr().out
    assert code == 0 and out.startswith("ok: 13 entries (2 archives included)")


def test_moved_archives_are_supplied_with_archive(db_path, journal, tmp_path, capsys):
    _fill(journal, 3)
    witnessed = journal.head()
    journal.rotate()
    _fill(journal, 2)
    (archive,) = journal.archive_dir().iterdir()
    moved = tmp_path / "offline-copy.db"
    archive.rename(moved)
    journal.close()
    code = main(["audit", "verify", "--db", str(db_path)])
    assert code == 1 and f"entries 1..3 are in archive {archive.name}" in capsys.readouterr().out
    code = main(
        [
            "audit",
            "verify",
            "--db",
            str(db_path),
            "--archive",
            str(moved),
            "--expect-head",
            str(witnessed),
        ]
    )
    assert code == 0, capsys.readouterr()
    code = main(["audit", "verify", "--db", str(db_path), "--archive", str(tmp_path / "no.db")])
    assert code == 2 and "no such file" in capsys.readouterr().err


def test_a_tampered_archive_fails_the_live_verify(db_path, journal, capsys):
    import sqlite3

    _fill(journal, 4)
    journal.rotate()
    _fill(journal, 2)
    (archive,) = journal.archive_dir().iterdir()
    sqlite3.connect(archive, isolation_level=None).execute(
        "UPDATE entries SET actor = 'eve' WHERE seq = 2"
    )
    report = journal.verify()
    assert not report.ok and report.bad_seq == 2 and f"in archive {archive}" in report.problem


def test_rotate_without_archive_keeps_it_where_verify_looks(capsys, journal, db_path):
    import json

    _fill(journal, 3)
    head = journal.head()
    journal.close()
    code = main(["audit", "rotate", "--db", str(db_path)])
    out, err = capsys.readouterr()
    expected = db_path.with_name("pamtui.db-archives") / "pamtui-0000000001-0000000003.db"
    assert code == 0 and str(expected) in out and err == ""
    code = main(["audit", "verify", "--db", str(db_path), "--expect-head", str(head), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["ok"] and report["archives"] == [str(expected)]
    assert report["entries"] == 4


def test_an_archive_verifies_with_the_archive_before_it(journal):
    _fill(journal, 3)
    journal.rotate()
    _fill(journal, 2)
    journal.rotate()
    older, newer = sorted(journal.archive_dir().iterdir())
    second = Journal.open(newer, read_only=True)
    report = second.verify()  # finds the older archive beside it
    assert report.ok and report.archives == (str(older),) and report.entries == 3 + 1 + 2
    older.unlink()
    assert "entries 1..3 are in archive" in second.verify().problem
