"""``immediate_transaction``: the write lock every pamtui store takes, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from pamtui.sqlite_tx import immediate_transaction


def _connect(path: Path, timeout: float = 5.0) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, timeout=timeout)
    conn.execute("PRAGMA journal_mode = WAL")
    return conn


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "store.sqlite"
    conn = _connect(path)
    conn.execute("CREATE TABLE t (v INTEGER PRIMARY KEY)")
    conn.close()
    yield path


def _values(path: Path) -> list[int]:
    other = _connect(path)  # another connection: sees only what was committed
    try:
        return [v for (v,) in other.execute("SELECT v FROM t ORDER BY v")]
    finally:
        other.close()


def test_the_block_is_committed_when_it_ends(db: Path) -> None:
    conn = _connect(db)
    with immediate_transaction(conn) as tx:
        assert tx is conn and conn.in_transaction
        conn.execute("INSERT INTO t VALUES (1)")
        assert _values(db) == []  # not visible before the commit
    assert not conn.in_transaction
    assert _values(db) == [1]


def test_an_exception_rolls_back_and_propagates_unchanged(db: Path) -> None:
    conn = _connect(db)

    class Boom(Exception):
        pass

    boom = Boom("in the block")
    with pytest.raises(Boom) as raised, immediate_transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise boom
    assert raised.value is boom
    assert not conn.in_transaction
    assert _values(db) == []
    with immediate_transaction(conn):  # the connection is usable again
        conn.execute("INSERT INTO t VALUES (2)")
    assert _values(db) == [2]


def test_a_failing_commit_rolls_back_and_propagates(tmp_path: Path) -> None:
    # A deferred foreign key is checked at COMMIT: the COMMIT fails and SQLite
    # leaves the transaction open, so the helper must roll it back itself.
    conn = _connect(tmp_path / "fk.sqlite")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER"
        " REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)"
    )
    with pytest.raises(sqlite3.IntegrityError), immediate_transaction(conn):
        conn.execute("INSERT INTO child VALUES (1, 42)")
    assert not conn.in_transaction
    assert conn.execute("SELECT count(*) FROM child").fetchone() == (0,)


def test_a_busy_lock_fails_to_begin_and_runs_nothing(db: Path) -> None:
    holder, waiter = _connect(db), _connect(db, timeout=0)
    ran = []
    with immediate_transaction(holder):
        holder.execute("INSERT INTO t VALUES (1)")
        with (
            pytest.raises(sqlite3.OperationalError, match="locked"),
            immediate_transaction(waiter),
        ):
            ran.append(True)
        assert holder.in_transaction  # the holder's transaction is untouched
    assert ran == [] and not waiter.in_transaction
    assert _values(db) == [1]


def test_it_does_not_nest_and_a_nested_attempt_leaves_the_outer_one_intact(db: Path) -> None:
    conn = _connect(db)
    ran = []
    with immediate_transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        with (
            pytest.raises(sqlite3.OperationalError, match="within a transaction"),
            immediate_transaction(conn),
        ):
            ran.append(True)
        assert conn.in_transaction
        conn.execute("INSERT INTO t VALUES (2)")
    assert ran == []
    assert _values(db) == [1, 2]
