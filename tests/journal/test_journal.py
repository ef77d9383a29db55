"""The hash-chained journal: appends, tamper detection, heads, filters, fail-closed."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import sqlite3
import stat

import pytest

from pamtui.journal import EntryFilter, Head, Journal, JournalUnavailable, SecretInJournal
from pamtui.journal.canonical import canonical_json
from pamtui.journal.chain import GENESIS_HASH


def _fill(journal: Journal, n: int = 10) -> None:
    for i in range(n):
        journal.append(
            "alice" if i % 2 else "bob",
            "revoke" if i % 3 else "stage",
            provider="demo-idp",
            subject=f"credential:t{i}",
            detail={"n": i, "reason": "leak ü"},
        )


def test_hash_is_sha256_of_prev_hash_and_canonical_body(journal: Journal) -> None:
    entry = journal.append(
        "alice", "revoke", provider="p", subject="s", detail={"b": 1, "a": [1, "x"]}
    )
    body = {
        "seq": entry.seq,
        "ts": entry.ts,
        "actor": "alice",
        "action": "revoke",
        "provider": "p",
        "subject": "s",
        "detail": {"a": [1, "x"], "b": 1},
        "prev_hash": GENESIS_HASH,
    }
    expected = hashlib.sha256((GENESIS_HASH + canonical_json(body)).encode()).hexdigest()
    assert entry.hash == expected
    assert entry.prev_hash == GENESIS_HASH


def test_chain_links_and_verifies(journal: Journal) -> None:
    _fill(journal)
    entries = journal.entries(newest_first=False, limit=100)
    assert [e.seq for e in entries] == list(range(1, 11))
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    report = journal.verify()
    assert report.ok and report.entries == 10
    assert report.head == Head(10, entries[-1].hash)


def test_file_is_private(db_path, journal: Journal) -> None:
    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db_path.parent).st_mode) == 0o700
    assert journal.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _raw(db_path):
    return sqlite3.connect(db_path, isolation_level=None)


def test_edited_entry_is_named(db_path, journal: Journal) -> None:
    _fill(journal)
    _raw(db_path).execute("UPDATE entries SET actor = 'mallory' WHERE seq = 4")
    report = journal.verify()
    assert not report.ok and report.bad_seq == 4 and "edited" in report.problem


def test_edited_detail_is_named(db_path, journal: Journal) -> None:
    _fill(journal)
    _raw(db_path).execute("""UPDATE entries SET detail = '{"n":99}' WHERE seq = 7""")
    report = journal.verify()
    assert (report.ok, report.bad_seq) == (False, 7)


def test_deleted_entry_is_named(db_path, journal: Journal) -> None:
    _fill(journal)
    _raw(db_path).execute("DELETE FROM entries WHERE seq = 5")
    report = journal.verify()
    assert not report.ok and report.bad_seq == 5 and "missing" in report.problem


def test_inserted_entry_is_named(db_path, journal: Journal) -> None:
    _fill(journal, 3)
    conn = _raw(db_path)
    conn.execute("UPDATE entries SET seq = seq + 1000 WHERE seq >= 2")
    conn.execute("UPDATE entries SET seq = seq - 999 WHERE seq >= 1000")
    row = conn.execute("SELECT * FROM entries WHERE seq = 1").fetchone()
    conn.execute(
        "INSERT INTO entries VALUES (2, ?, 'mallory', 'noop', '', '', '{}', ?, ?)",
        (row[1], row[8], "f" * 64),
    )
    report = journal.verify()
    assert not report.ok and report.bad_seq == 2


def test_reordered_entries_are_named(db_path, journal: Journal) -> None:
    _fill(journal, 5)
    conn = _raw(db_path)
    conn.execute("UPDATE entries SET seq = 100 WHERE seq = 2")
    conn.execute("UPDATE entries SET seq = 2 WHERE seq = 3")
    conn.execute("UPDATE entries SET seq = 3 WHERE seq = 100")
    report = journal.verify()
    assert not report.ok and report.bad_seq == 2


def test_truncation_needs_the_witnessed_head(db_path, journal: Journal) -> None:
    _fill(journal)
    witnessed = journal.head()
    _raw(db_path).execute("DELETE FROM entries WHERE seq > 8")
    assert journal.verify().ok  # a clean prefix looks fine on its own...
    report = journal.verify(expect_head=witnessed)
    assert not report.ok and report.bad_seq == 10 and "truncated" in report.problem


def test_rewritten_tail_is_detected_with_the_witnessed_head(db_path, journal: Journal) -> None:
    _fill(journal, 5)
    witnessed = journal.head()
    conn = _raw(db_path)
    conn.execute("DELETE FROM entries WHERE seq >= 4")
    forger = Journal.open(db_path)
    forger.append("mallory", "revoke", detail={"n": 3})
    forger.append("mallory", "revoke", detail={"n": 4})
    assert forger.verify().ok  # internally consistent forgery...
    assert not forger.verify(expect_head=witnessed).ok  # ...but not the witnessed history
    forger.close()


def test_head_parse() -> None:
    head = Head.parse("12:" + "a" * 64)
    assert head == Head(12, "a" * 64) and str(head) == "12:" + "a" * 64
    for bad in ("12", "x:" + "a" * 64, "3:abc"):
        with pytest.raises(ValueError):
            Head.parse(bad)


def test_filters(journal: Journal) -> None:
    _fill(journal, 12)
    assert {e.actor for e in journal.entries(EntryFilter(actor="alice"))} == {"alice"}
    assert journal.count(EntryFilter(action="stage")) == 4
    assert [e.seq for e in journal.entries(EntryFilter(subject="credential:t3"))] == [4]
    assert journal.count(EntryFilter(text="leak ü")) == 12
    page = journal.entries(limit=5)
    older = journal.entries(limit=5, before_seq=page[-1].seq)
    assert [e.seq for e in page + older] == list(range(12, 2, -1))


def test_secrets_are_refused(journal: Journal) -> None:
    with pytest.raises(SecretInJournal):
        journal.append("alice", "revoke", detail={"nested": {"token": "ghp_abc"}})
    assert journal.head() is None  # nothing was written


def test_read_only_journal_fails_closed(db_path, journal: Journal) -> None:
    _fill(journal, 1)
    ro = Journal.open(db_path, read_only=True)
    with pytest.raises(JournalUnavailable):
        ro.append("alice", "revoke")
    assert ro.verify().ok
    ro.close()


def test_locked_journal_fails_closed(db_path, journal: Journal) -> None:
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    impatient = Journal.open(db_path, busy_timeout_s=0.1)
    with pytest.raises(JournalUnavailable, match="locked"):
        impatient.append("alice", "revoke")
    blocker.execute("ROLLBACK")
    impatient.append("alice", "revoke")
    assert impatient.verify().ok
    impatient.close()


def test_detail_round_trips(journal: Journal) -> None:
    detail = {"reason": "leak", "scopes": ["repo", "admin:org"], "ok": True, "n": None}
    journal.append("alice", "revoke", detail=detail)
    (entry,) = journal.entries()
    assert entry.detail == detail
    stored = journal.conn.execute("SELECT detail FROM entries").fetchone()[0]
    assert (
        stored
        == canonical_json(detail)
        == json.dumps(detail, sort_keys=True, separators=(",", ":"))
    )
