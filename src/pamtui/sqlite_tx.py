"""One writer at a time: SQLite's ``BEGIN IMMEDIATE`` ... ``COMMIT``, ``ROLLBACK`` on failure.

Every pamtui store that writes a shared SQLite file (the TOTP store, the
events file, the drift snapshots, the demo organisation's state, the journal)
takes the write lock up front, so two processes never both read, decide and
then fail to write. It lives here, below the journal, the providers and the
services, so each of them can use the same few lines; each keeps its own
mapping of a failure to an error for operators.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` on ``conn``; ``COMMIT`` when the block ends, else ``ROLLBACK``.

    ``conn`` must be in autocommit mode (``isolation_level=None``) or between
    transactions. A failure to begin (the lock stayed busy past the busy
    timeout, or a transaction is already open: these do not nest) is raised
    as is and rolls nothing back. Anything raised in the block, or by the
    ``COMMIT`` itself (a deferred constraint), rolls back and propagates
    unchanged; a failing ``ROLLBACK`` (SQLite may have rolled back already)
    does not hide it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        with suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
        raise
