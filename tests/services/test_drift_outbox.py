"""The drift journal outbox: a notable sync's ``drift`` entry is never lost.

``snapshots.sqlite`` remembers per sync whether its journal entry was written
(``syncs.journalled``). A sync whose entry did not make it (the recording task
cancelled by a quit while its thread committed, a journal that refused the
append) is journalled at the next call, once. Real SQLite files, real threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pamtui import foreground
from pamtui.journal import EntryFilter, Journal, JournalUnavailable
from pamtui.services import drift as dr
from pamtui.services.drift_recorder import DriftRecorder, StoreBusy, journal_owed, owed
from pamtui.services.inventory import AccountView
from tests.services.test_drift import token, view

BASE = [view(groups=("Everyone",), credentials=[token("t1", "read")]), view(id="a2", name="bob")]
GROWN = [view(groups=("Everyone", "Admins"), credentials=[token("t1", "read")]), BASE[1]]


class BlockingViews:
    """Views whose iteration (in ``record``'s thread) waits until released."""

    def __init__(self, views: list[AccountView]) -> None:
        self.views = views
        self.started = threading.Event()
        self.release = threading.Event()

    def __iter__(self) -> Iterator[AccountView]:
        self.started.set()
        assert self.release.wait(60)
        return iter(self.views)


def drift_entries(journal: Journal) -> list:
    return journal.entries(EntryFilter(action=dr.DRIFT_ACTION))


def sync_count(store: dr.SnapshotStore) -> int:
    with sqlite3.connect(store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM syncs").fetchone()[0])


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(6000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition never met")


def expected_detail(tmp_path: Path) -> dict:
    """What ``journal_detail`` says for BASE -> GROWN, from a store of its own."""
    other = dr.SnapshotStore(tmp_path / "expected.sqlite")
    other.record("p", BASE)
    return dr.journal_detail(other.record("p", GROWN))


async def test_a_sync_cancelled_while_recording_is_journalled_at_the_next_call(
    tmp_path: Path, journal: Journal
) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    recorder = DriftRecorder(store, journal)
    await recorder({"p": BASE})  # the baseline

    blocking = BlockingViews(GROWN)
    task = asyncio.create_task(recorder({"p": blocking}))
    assert await asyncio.to_thread(blocking.started.wait, 60)
    task.cancel()  # the TUI quits while record() runs in its thread
    blocking.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    await until(lambda: sync_count(store) == 2)  # the thread still commits
    assert drift_entries(journal) == []

    await recorder({"p": GROWN})  # the next sync (the next start): no change of its own
    [entry] = drift_entries(journal)
    assert entry.actor == "system" and entry.provider == "p"
    assert entry.detail == expected_detail(tmp_path)
    assert entry.detail["sync"] == 2

    await recorder({"p": GROWN})
    await DriftRecorder(store, journal)({})  # another session starting
    assert len(drift_entries(journal)) == 1
    assert journal.verify().ok


async def test_a_journal_that_refuses_the_append_is_caught_up_once(
    tmp_path: Path, db_path: Path
) -> None:
    journal = Journal.open(db_path, busy_timeout_s=0.05)
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    recorder = DriftRecorder(store, journal)
    try:
        await recorder({"p": BASE})
        locker = sqlite3.connect(db_path, isolation_level=None, timeout=0)
        locker.execute("BEGIN EXCLUSIVE")  # another connection holds the journal
        try:
            await recorder({"p": GROWN})
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert drift_entries(journal) == []
        assert "journal" in recorder.last_error
        # The sync is committed: the next one sees no change, yet the entry comes.
        await recorder({"p": GROWN})
        [entry] = drift_entries(journal)
        assert entry.detail == expected_detail(tmp_path)
        await recorder({"p": GROWN})
        assert len(drift_entries(journal)) == 1
    finally:
        journal.close()


async def test_a_read_only_journal_leaves_the_entry_for_a_writable_session(
    tmp_path: Path, db_path: Path, journal: Journal
) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    await DriftRecorder(store, journal)({"p": BASE})
    read_only = Journal.open(db_path, read_only=True)
    try:
        await DriftRecorder(store, read_only)({"p": GROWN})
    finally:
        read_only.close()
    assert drift_entries(journal) == []
    await DriftRecorder(store, journal)({"p": GROWN})
    [entry] = drift_entries(journal)
    assert entry.detail == expected_detail(tmp_path)


async def test_a_read_only_session_writes_nothing(tmp_path: Path, journal: Journal) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    await DriftRecorder(store, journal, read_only=True)({"p": BASE})
    assert not store.path.exists()


OLD_SCHEMA = """
CREATE TABLE syncs (
    id INTEGER PRIMARY KEY, provider TEXT NOT NULL, ts TEXT NOT NULL,
    accounts INTEGER NOT NULL, baseline INTEGER NOT NULL, changes INTEGER NOT NULL
);
CREATE INDEX syncs_provider ON syncs (provider, id);
CREATE TABLE current (
    provider TEXT NOT NULL, account_id TEXT NOT NULL, digest BLOB NOT NULL,
    record TEXT NOT NULL, PRIMARY KEY (provider, account_id)
) WITHOUT ROWID;
CREATE TABLE changes (
    id INTEGER PRIMARY KEY, sync_id INTEGER NOT NULL, ts TEXT NOT NULL,
    provider TEXT NOT NULL, account_id TEXT NOT NULL, account_name TEXT NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL
);
"""


def old_store(path: Path) -> None:
    """A snapshots.sqlite as the previous pamtui left it: BASE, then GROWN (notable)."""
    current = [
        ("p", v.account.id, dr._digest(dr._encode(dr.record_of(v))), dr._encode(dr.record_of(v)))
        for v in GROWN
    ]
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.execute("INSERT INTO syncs VALUES (1, 'p', '2026-01-01T00:00:00Z', 2, 1, 0)")
        conn.execute("INSERT INTO syncs VALUES (2, 'p', '2026-01-02T00:00:00Z', 2, 0, 1)")
        conn.execute(
            "INSERT INTO changes VALUES (1, 2, '2026-01-02T00:00:00Z', 'p', 'a1', 'alice',"
            " 'privilege_granted', '{\"groups\":[\"Admins\"]}')"
        )
        conn.executemany("INSERT INTO current VALUES (?, ?, ?, ?)", current)
    conn.close()


async def test_an_upgraded_store_re_journals_no_past_sync(tmp_path: Path, journal: Journal) -> None:
    path = tmp_path / "snapshots.sqlite"
    old_store(path)
    store = dr.SnapshotStore(path)
    recorder = DriftRecorder(store, journal)
    await recorder({"p": GROWN})
    await recorder({})
    assert drift_entries(journal) == []
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, journalled FROM syncs ORDER BY id").fetchall() == [
            (1, 1),
            (2, 1),
            (3, 1),
        ]
    conn.close()
    # New notable syncs are owed an entry, and get it.
    await recorder({"p": [*BASE, view(id="a3", name="carol", privileged=True)]})
    [entry] = drift_entries(journal)
    assert entry.detail["sync"] == 4
    assert entry.detail["counts"] == {dr.PRIVILEGE_REMOVED: 1, dr.NEW_PRIVILEGED_ACCOUNT: 1}


def two_owed(tmp_path: Path) -> dr.SnapshotStore:
    """A store with two notable syncs whose entries were never written."""
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    store.record("p", BASE)
    store.record("p", GROWN)
    store.record("q", [])
    store.record("q", [view(provider="q", id="x", name="x", privileged=True)])
    return store


def test_a_sync_another_process_journalled_meanwhile_is_not_journalled_again(
    tmp_path: Path,
) -> None:
    store = two_owed(tmp_path)
    stale = owed(store)  # read before the other process's flush
    assert [(sync_id, provider) for sync_id, provider, _ in stale] == [(2, "p"), (4, "q")]
    appended: list[str] = []
    assert journal_owed(store, owed(store), lambda p, d: appended.append(p)) == ([2, 4], None)
    assert journal_owed(store, stale, lambda p, d: appended.append(p)) == ([], None)
    assert appended == ["p", "q"] and owed(store) == []


def test_the_outbox_waits_for_the_snapshot_lock_and_keeps_order(tmp_path: Path) -> None:
    store = two_owed(tmp_path)
    holder = sqlite3.connect(store.path, isolation_level=None, timeout=0)
    holder.execute("BEGIN IMMEDIATE")  # another process recording
    appended: list[int] = []
    try:
        with pytest.raises(StoreBusy):
            journal_owed(store, owed(store), lambda p, d: appended.append(d["sync"]))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert appended == []

    def refuse_first(provider: str, detail: dict) -> None:
        if detail["sync"] == 2:
            raise JournalUnavailable("locked")
        appended.append(detail["sync"])

    done, failure = journal_owed(store, owed(store), refuse_first)
    assert (done, appended) == ([], []) and isinstance(failure, JournalUnavailable)

    def odd_failure(provider: str, detail: dict) -> None:
        if detail["sync"] == 2:
            raise ValueError("this one only")
        appended.append(detail["sync"])

    done, failure = journal_owed(store, owed(store), odd_failure)
    assert (done, appended) == ([4], [4]) and isinstance(failure, ValueError)
    assert [sync_id for sync_id, _, _ in owed(store)] == [2]  # still owed, not lost


def test_concurrent_recorders_journal_each_sync_once(tmp_path: Path, db_path: Path) -> None:
    store = two_owed(tmp_path)
    Journal.open(db_path).close()
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def session() -> None:
        journal = Journal.open(db_path, busy_timeout_s=30)
        try:
            recorder = DriftRecorder(store, journal)
            barrier.wait(60)
            asyncio.run(recorder({}))
            if recorder.last_error:
                errors.append(AssertionError(recorder.last_error))
        except BaseException as exc:
            errors.append(exc)
        finally:
            journal.close()

    threads = [threading.Thread(target=session) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    journal = Journal.open(db_path)
    try:
        entries = sorted(drift_entries(journal), key=lambda e: e.seq)
        assert [e.detail["sync"] for e in entries] == [2, 4]  # once each, oldest first
        assert journal.verify().ok
    finally:
        journal.close()


# -- quitting does not wait for a large record -------------------------------------

MANY = [view(id=f"a{n}", name=f"user{n}", groups=("Everyone",)) for n in range(1_200)]


class StallingViews:
    """1,200 views: iteration waits for ``release``, then stalls at the 601st view.

    A record that was told to stop gives up at its first chunk boundary (the
    500th view) and never asks for the 601st; one that goes on stalls there.
    """

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.stalled = threading.Event()
        self.unstall = threading.Event()

    def __iter__(self) -> Iterator[AccountView]:
        self.started.set()
        assert self.release.wait(60)
        for n, item in enumerate(MANY):
            if n == 600:
                self.stalled.set()
                assert self.unstall.wait(60)
            yield item


def recording() -> bool:
    """Whether a thread is inside ``SnapshotStore.record`` now."""
    code = dr.SnapshotStore.record.__code__
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code is code:
                return True
            frame = frame.f_back
    return False


def test_a_record_told_to_stop_writes_nothing(tmp_path: Path) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    store.record("p", BASE)
    with pytest.raises(foreground.Abandoned):
        store.record("p", MANY, stop=lambda: True)
    assert sync_count(store) == 1
    assert store.record("p", MANY, stop=lambda: False).accounts == 1_200


async def test_a_cancelled_recorder_stops_its_thread_before_it_writes(
    tmp_path: Path, journal: Journal
) -> None:
    """The TUI quitting at 100k waited a second for the drift record's thread."""
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    recorder = DriftRecorder(store, journal)
    await recorder({"p": BASE})
    views = StallingViews()
    task = asyncio.create_task(recorder({"p": views}))
    assert await asyncio.to_thread(views.started.wait, 60)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    views.release.set()
    try:
        await until(lambda: views.stalled.is_set() or not recording())
        assert not views.stalled.is_set()  # stopped at its first chunk, not 600 views on
    finally:
        views.unstall.set()
    assert sync_count(store) == 1  # nothing written: the next sync records it
    await recorder({"p": MANY})
    assert sync_count(store) == 2
