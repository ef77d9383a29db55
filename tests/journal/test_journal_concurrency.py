"""The journal under several writer processes, and its batched and fast paths.

Real OS processes append to one file at once: the result must be one linear
chain. ``append_many`` must build exactly the chain that appending entry by
entry builds, and write nothing when any row is refused. The time-window
query plans and the schema upgrade are checked here too.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pamtui.journal import (
    EntryFilter,
    Journal,
    JournalUnavailable,
    SecretInJournal,
    timestamp,
)
from pamtui.journal.canonical import canonical_json
from pamtui.journal.chain import GENESIS_HASH, body_text, entry_hash
from pamtui.journal.database import _SCHEMA_1, SCHEMA_VERSION
from pamtui.journal.journal import _canonical_encode

PROCESSES = 4
PER_PROCESS = 200

# Each writer waits for the go file, so that all of them contend at once.
_WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pamtui.journal import Journal

    db, name, count, batch, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    journal = Journal.open(db, busy_timeout_s=30)
    Path(f"{go}.{name}").touch()  # ready
    deadline = time.monotonic() + 10
    while not Path(go).exists() and time.monotonic() < deadline:
        time.sleep(0.005)
    # The pause between transactions leaves the lock free for a moment:
    # SQLite's busy handler polls, so without it the writer holding the lock
    # tends to keep it and the chain barely interleaves.
    if batch == 1:
        for i in range(count):
            journal.append(name, "write", provider="p", subject=f"{name}:{i}", detail={"i": i})
            time.sleep(0.001)
    else:
        for start in range(0, count, batch):
            journal.append_many(
                {"actor": name, "action": "write", "provider": "p",
                 "subject": f"{name}:{i}", "detail": {"i": i}}
                for i in range(start, min(start + batch, count))
            )
            time.sleep(0.001)
    journal.close()
    """
)


def _run_writers(db_path: Path, tmp_path: Path, batch: int) -> None:
    Journal.open(db_path).close()  # create and migrate once, before the race
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WRITER,
                str(db_path),
                f"proc{k}",
                str(PER_PROCESS),
                str(batch),
                str(go),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(PROCESSES)
    ]
    deadline = time.monotonic() + 20  # let the interpreters start and open the journal
    while time.monotonic() < deadline and not all(
        Path(f"{go}.proc{k}").exists() for k in range(PROCESSES)
    ):
        time.sleep(0.01)
    go.touch()
    try:
        for proc in procs:
            _out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def _all_entries(journal: Journal):
    return journal.entries(newest_first=False, limit=10 * PROCESSES * PER_PROCESS)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("batch", [1, 10], ids=["append", "append_many"])
def test_processes_appending_at_once_form_one_chain(db_path, tmp_path, batch) -> None:
    _run_writers(db_path, tmp_path, batch)
    journal = Journal.open(db_path, read_only=True)
    try:
        entries = _all_entries(journal)
        total = PROCESSES * PER_PROCESS
        assert [e.seq for e in entries] == list(range(1, total + 1))
        report = journal.verify()
        assert report.ok, report.problem
        assert report.entries == total
        assert report.head is not None and report.head.seq == total
        switches = sum(a.actor != b.actor for a, b in itertools.pairwise(entries))
        # they really ran at once (one after the other would switch 3 times)
        assert switches >= 2 * PROCESSES, f"the writers hardly interleaved ({switches} switches)"
        by_actor: dict[str, list] = {}
        for entry in entries:
            by_actor.setdefault(entry.actor, []).append(entry)
        assert sorted(by_actor) == [f"proc{k}" for k in range(PROCESSES)]
        for mine in by_actor.values():
            # every entry of every process, in the order it appended them
            assert [e.detail["i"] for e in mine] == list(range(PER_PROCESS))
            if batch > 1:  # a batch is one transaction: its entries are adjacent
                for start in range(0, PER_PROCESS, batch):
                    seqs = [e.seq for e in mine[start : start + batch]]
                    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    finally:
        journal.close()


# -- append_many ---------------------------------------------------------------

_AWKWARD = [
    "",
    "plain",
    'quote " and backslash \\',
    "tab\tnewline\ncontrol\x01\x1f del\x7f",
    "ünïcödé ß 東京 🔑",
    "\u2028 line separator \u2029",
    "</script>&<>",
]


def _rows(n: int, *, seed: int = 7, base: str = "2025-03-01T10:00:00.") -> list:
    rng = random.Random(seed)
    rows: list = []
    for i in range(n):
        detail = {
            "reason": rng.choice(_AWKWARD),
            "n": rng.randrange(-(10**12), 10**12),
            "ratio": rng.random(),
            "ok": rng.choice([True, False, None]),
            "nested": {"Zeta": [1, "two", {"ä": rng.choice(_AWKWARD)}], "alpha": []},
        }
        fields = (
            rng.choice(["alice", "policy:stale", "system", rng.choice(_AWKWARD)]),
            rng.choice(["revoke", "stage", rng.choice(_AWKWARD)]),
            rng.choice(["", "github", rng.choice(_AWKWARD)]),
            rng.choice(["", f"credential:{i}", rng.choice(_AWKWARD)]),
            detail,
            f"{base}{i:06d}Z",
        )
        if i % 2:
            rows.append(fields)
        else:
            rows.append(
                dict(
                    zip(
                        ("actor", "action", "provider", "subject", "detail", "ts"),
                        fields,
                        strict=True,
                    )
                )
            )
    return rows


def _fields(row) -> tuple:
    if isinstance(row, dict):
        return (
            row["actor"],
            row["action"],
            row.get("provider", ""),
            row.get("subject", ""),
            row.get("detail"),
            row.get("ts"),
        )
    return tuple(row) + (None,) * (6 - len(row))


def _stored(journal: Journal) -> list[tuple]:
    return journal.conn.execute("SELECT * FROM entries ORDER BY seq").fetchall()


def _prefill(journal: Journal) -> None:
    for i in range(3):
        journal.append("bob", "stage", provider="demo", subject=f"s{i}", detail={"i": i})


def test_append_many_builds_the_chain_append_builds(tmp_path) -> None:
    rows = _rows(300)
    one = Journal.open(tmp_path / "one.db")
    many = Journal.open(tmp_path / "many.db")
    try:
        _prefill(one)
        # the same prefix in both files, so the batch continues the same chain
        many.conn.executemany(
            "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", _stored(one)
        )
        with one.transaction() as tx:
            for row in rows:
                actor, action, provider, subject, detail, ts = _fields(row)
                tx.append(actor, action, provider=provider, subject=subject, detail=detail, ts=ts)
        head = many.append_many(rows)
        assert _stored(many) == _stored(one)
        assert head == one.head() and head is not None and head.seq == 303
        assert many.verify().ok and one.verify().ok
    finally:
        one.close()
        many.close()


def test_append_many_hashes_are_the_documented_hashes(journal: Journal) -> None:
    journal.append_many(_rows(50))
    prev = GENESIS_HASH
    for seq, ts, actor, action, provider, subject, detail, prev_hash, hash_ in _stored(journal):
        body = {
            "seq": seq,
            "ts": ts,
            "actor": actor,
            "action": action,
            "provider": provider,
            "subject": subject,
            "detail": json.loads(detail),
            "prev_hash": prev,
        }
        assert prev_hash == prev
        assert hash_ == entry_hash(prev, canonical_json(body))
        prev = hash_


def test_append_many_without_ts_shares_one_timestamp(journal: Journal) -> None:
    before = timestamp()
    journal.append("alice", "stage")
    journal.append_many([("alice", "revoke", "p", f"s{i}", {"i": i}) for i in range(5)])
    entries = _all_entries(journal)
    assert len({e.ts for e in entries[1:]}) == 1
    assert before <= entries[0].ts <= entries[1].ts
    assert [e.detail for e in entries[1:]] == [{"i": i} for i in range(5)]
    assert journal.verify().ok


def test_append_many_of_nothing_writes_nothing(journal: Journal) -> None:
    assert journal.append_many([]) is None
    _prefill(journal)
    assert journal.append_many(iter(())) == journal.head()
    assert journal.count() == 3


@pytest.mark.parametrize("where", [0, 57, 99])
@pytest.mark.parametrize(
    "secret",
    [
        {"token": "ghp_x"},
        {"nested": {"Password": "hunter2"}},
        {"list": [{"ok": 1}, {"client_secret": "s"}]},
        {"deep": [[{"API_KEY": "k"}]]},
    ],
)
def test_append_many_with_a_secret_in_any_row_writes_nothing(journal, where, secret) -> None:
    _prefill(journal)
    head = journal.head()
    rows = [("alice", "revoke", "p", f"s{i}", {"i": i}) for i in range(100)]
    rows[where] = ("alice", "revoke", "p", "leaky", secret)
    with pytest.raises(SecretInJournal):
        journal.append_many(rows)
    as_dicts = [{"actor": a, "action": b, "detail": d} for a, b, _p, _s, d in rows]
    with pytest.raises(SecretInJournal):
        journal.append_many(as_dicts)
    assert journal.head() == head and journal.count() == 3
    assert journal.verify().ok


@pytest.mark.parametrize(
    "bad",
    [
        ("alice", "revoke", None, "s", {}),  # not a string
        ("alice", "revoke", "p", "s", {}, 12345),  # ts not a string
        ("alice", "revoke", "p"),  # too short
        ("alice", "revoke", "p", "s", {}, "ts", "extra"),  # too long
        {"actor": "alice", "action": "revoke", "detial": {"typo": 1}},  # unknown key
        {"action": "revoke"},  # no actor
    ],
)
def test_append_many_with_a_malformed_row_writes_nothing(journal, bad) -> None:
    _prefill(journal)
    rows = [("alice", "revoke", "p", f"s{i}", {"i": i}) for i in range(10)] + [bad]
    with pytest.raises((TypeError, ValueError, KeyError)):
        journal.append_many(rows)
    assert journal.count() == 3 and journal.verify().ok


def test_append_many_fails_closed(db_path, journal: Journal) -> None:
    _prefill(journal)
    read_only = Journal.open(db_path, read_only=True)
    with pytest.raises(JournalUnavailable):
        read_only.append_many([("alice", "revoke", "p", "s", {})])
    read_only.close()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    impatient = Journal.open(db_path, busy_timeout_s=0.1)
    with pytest.raises(JournalUnavailable, match="locked"):
        impatient.append_many([("alice", "revoke", "p", "s", {})])
    blocker.execute("ROLLBACK")
    blocker.close()
    impatient.close()
    assert journal.count() == 3


_text = st.text(max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=8,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(_text, _text, _text, _text, st.dictionaries(_text, _json, max_size=4)),
        min_size=1,
        max_size=6,
    )
)
def test_append_many_and_verify_agree_with_body_text(tmp_path, rows) -> None:
    rows = [r for r in rows if not _has_forbidden_key(r[4])]
    if not rows:
        return
    path = tmp_path / f"h{random.getrandbits(64):x}.db"
    journal = Journal.open(path)
    try:
        journal.append_many(rows)
        prev = GENESIS_HASH
        for seq, ts, actor, action, provider, subject, detail, _prev, hash_ in _stored(journal):
            body = body_text(
                seq=seq,
                ts=ts,
                actor=actor,
                action=action,
                provider=provider,
                subject=subject,
                detail_json=detail,
                prev_hash=prev,
            )
            assert detail == canonical_json(json.loads(detail))
            assert hash_ == entry_hash(prev, body)
            prev = hash_
        assert journal.verify().ok
    finally:
        journal.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _has_forbidden_key(value) -> bool:
    from pamtui.journal.redact import looks_secret

    if isinstance(value, dict):
        return any(looks_secret(str(k)) or _has_forbidden_key(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_forbidden_key(v) for v in value)
    return False


@given(value=st.dictionaries(_text, _json, max_size=5))
def test_the_prebuilt_encoder_is_canonical_json(value) -> None:
    assert _canonical_encode(value) == canonical_json(value)


# -- reading ---------------------------------------------------------------------


def test_time_windows_return_what_a_plain_filter_returns(journal: Journal) -> None:
    """Whichever plan ``entries`` picks for a time window, the rows are the same,
    also when timestamps do not grow with seq (a clock stepped back)."""
    rng = random.Random(3)
    rows = []
    for i in range(600):
        minute = i // 2 if i % 50 else rng.randrange(300)  # mostly in order, some not
        rows.append(
            (
                "alice",
                "stage",
                "p",
                f"s{i}",
                {"i": i},
                f"2025-01-01T{minute // 60:02d}:{minute % 60:02d}:00.000000Z",
            )
        )
    journal.append_many(rows)
    every = _all_entries(journal)

    def expected(since, until, newest_first, before_seq, after_seq, limit):
        hits = [
            e
            for e in every
            if (since is None or e.ts >= since)
            and (until is None or e.ts < until)
            and (before_seq is None or e.seq < before_seq)
            and (after_seq is None or e.seq > after_seq)
        ]
        return [e.seq for e in (hits[::-1] if newest_first else hits)][:limit]

    bounds = [
        None,
        "2025-01-01T00:00:00",
        "2025-01-01T00:30:00",
        "2025-01-01T02:00:00",
        "2025-01-01T04:59:00",
        "2025-01-01T09:00:00",
    ]
    for since in bounds:
        for until in bounds:
            if not (since or until):
                continue
            for newest_first in (True, False):
                for before_seq, after_seq in ((None, None), (400, None), (None, 100), (500, 50)):
                    got = journal.entries(
                        EntryFilter(since=since, until=until),
                        limit=25,
                        before_seq=before_seq,
                        after_seq=after_seq,
                        newest_first=newest_first,
                    )
                    assert [e.seq for e in got] == expected(
                        since, until, newest_first, before_seq, after_seq, 25
                    ), (since, until, newest_first, before_seq, after_seq)


def test_a_version_1_journal_is_upgraded(db_path) -> None:
    db_path.parent.mkdir(mode=0o700)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    for statement in _SCHEMA_1.split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version=1")
    conn.close()
    journal = Journal.open(db_path)
    journal.append_many([("alice", "revoke", "github", f"s{i}", {"i": i}) for i in range(20)])
    journal.close()
    journal = Journal.open(db_path)  # and reopening an upgraded file is a no-op
    try:
        assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 2
        indexes = {r[0] for r in journal.conn.execute("SELECT name FROM sqlite_master")}
        assert "entries_provider_action" in indexes
        assert journal.verify().ok
        assert journal.count(EntryFilter(provider="github", action="revoke")) == 20
    finally:
        journal.close()
