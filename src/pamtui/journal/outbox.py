"""The forwarding outbox: which journal entries each destination has taken.

The entries table is the outbox itself: append-only, ordered by ``seq``, and
an entry is there only once its transaction committed. What this module
keeps, in the ``forward_state`` table of the same database, is one cursor per
destination: the last ``seq`` the receiver took (the idempotency key: the
next run starts after it, so a restart sends nothing twice and loses
nothing), the last head checkpoint, and the last error.

Each cursor advance is its own small transaction, committed right after the
message left this host: a crash between the two re-sends that one entry
(at-least-once), never skips one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from pamtui.journal.heads import Head
from pamtui.journal.journal import Journal, timestamp
from pamtui.model import JournalEntry


@dataclass(frozen=True)
class ForwardCursor:
    destination: str
    last_seq: int = 0
    last_sent_at: str = ""
    checkpoint_seq: int = 0
    checkpoint_at: str = ""
    last_attempt_at: str = ""
    last_error: str = ""
    skipped_from: int = 0
    """Entries ``skipped_from..skipped_to`` were rotated into an archive before
    they were forwarded (0: none)."""
    skipped_to: int = 0


_FIELDS = (
    "destination, last_seq, last_sent_at, checkpoint_seq, checkpoint_at, last_attempt_at, "
    "last_error, skipped_from, skipped_to"
)


class Outbox:
    """Cursors per destination over one journal's entries."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def cursor(self, destination: str) -> ForwardCursor:
        try:
            row = self.journal.conn.execute(
                f"SELECT {_FIELDS} FROM forward_state WHERE destination = ?", (destination,)
            ).fetchone()
        except sqlite3.OperationalError:  # a read-only journal from before schema 5
            row = None
        return ForwardCursor(*row) if row else ForwardCursor(destination)

    def pending(self, destination: str, limit: int) -> list[JournalEntry]:
        """The next entries this destination has not taken, oldest first."""
        last = self.cursor(destination).last_seq
        return self.journal.entries(limit=limit, after_seq=last, newest_first=False)

    def first_seq(self) -> int | None:
        first: int | None = self.journal.conn.execute("SELECT min(seq) FROM entries").fetchone()[0]
        return first

    def head_at(self, seq: int) -> Head | None:
        row = self.journal.conn.execute("SELECT seq, hash FROM entries WHERE seq = ?", (seq,))
        found = row.fetchone()
        return Head(found[0], found[1]) if found else None

    def _upsert(self, destination: str, assignments: str, params: tuple[Any, ...]) -> None:
        with self.journal.transaction() as tx:
            tx.execute(
                "INSERT INTO forward_state (destination) VALUES (?) "
                "ON CONFLICT (destination) DO NOTHING",
                (destination,),
            )
            tx.execute(
                f"UPDATE forward_state SET {assignments} WHERE destination = ?",
                (*params, destination),
            )

    def mark_sent(self, destination: str, seq: int) -> None:
        """The receiver took ``seq`` (and everything before it)."""
        now = timestamp()
        self._upsert(
            destination,
            "last_seq = max(last_seq, ?), last_sent_at = ?, last_attempt_at = ?, last_error = ''",
            (seq, now, now),
        )

    def mark_checkpoint(self, destination: str, head: Head, at: str) -> None:
        self._upsert(destination, "checkpoint_seq = ?, checkpoint_at = ?", (head.seq, at))

    def mark_error(self, destination: str, error: str) -> None:
        self._upsert(destination, "last_attempt_at = ?, last_error = ?", (timestamp(), error))

    def mark_skipped(self, destination: str, first: int, last: int) -> None:
        """Entries ``first..last`` are gone from this file (rotated): move past them, say so."""
        self._upsert(
            destination,
            "skipped_from = CASE WHEN skipped_from = 0 THEN ? ELSE skipped_from END, "
            "skipped_to = ?, last_seq = max(last_seq, ?)",
            (first, last, last),
        )

    def cursors(self) -> list[ForwardCursor]:
        try:
            rows = self.journal.conn.execute(
                f"SELECT {_FIELDS} FROM forward_state ORDER BY destination"
            ).fetchall()
        except sqlite3.OperationalError:
            return []
        return [ForwardCursor(*row) for row in rows]
