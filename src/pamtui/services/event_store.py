"""The service's shared, bounded store of stream events (``<db>-events.sqlite``).

Under ``pamtui serve-ssh`` one writer (the service's hub) polls each
provider's stream once and appends what it hands out here; every operator
session tails the file instead of polling the providers itself, so the
provider call rate does not grow with the number of sessions.

- Ordered: each item gets a sequence number (``AUTOINCREMENT``: never reused,
  not even after the oldest rows are trimmed or the writer restarts); a
  reader asks for what follows the last number it saw.
- Bounded: at most ``retain`` items are kept; the oldest go first.
- No duplicates across a restart: a batch of events and the stream cursors it
  advances are committed in one transaction, so a writer that restarts
  resumes each stream exactly after the last event it stored.

WAL mode, so readers never block the writer nor each other. The file is
0600: events carry source addresses.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pamtui import kept_files
from pamtui.model import AccessEvent
from pamtui.services.stream import FeedItem, StreamProblem
from pamtui.sqlite_tx import immediate_transaction
from pamtui.sqlite_uri import sqlite_uri

RETAIN = 50_000
"""Items kept by default: minutes of a busy org's traffic, a few MB on disk."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    provider TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cursors (provider TEXT PRIMARY KEY, cursor TEXT NOT NULL);
"""

_EVENT_FIELDS = (
    "provider",
    "ts",
    "account_id",
    "credential_id",
    "method",
    "path",
    "status",
    "source_ip",
    "user_agent",
    "cursor",
)


def events_file(db_path: Path | str) -> Path:
    return kept_files.EVENTS.at(db_path)


def _encode(item: FeedItem) -> tuple[str, str, str]:
    if isinstance(item, StreamProblem):
        return item.provider, "problem", json.dumps(item.message)
    values = [getattr(item, name) for name in _EVENT_FIELDS]
    values[1] = item.ts.isoformat()
    return item.provider, "event", json.dumps(values, separators=(",", ":"))


def _decode(provider: str, kind: str, body: str) -> FeedItem:
    if kind == "problem":
        return StreamProblem(provider, str(json.loads(body)))
    values = dict(zip(_EVENT_FIELDS, json.loads(body), strict=True))
    values["ts"] = datetime.fromisoformat(values["ts"])
    values["provider"] = provider
    return AccessEvent(**values)


@dataclass(frozen=True)
class Stored:
    seq: int
    item: FeedItem


class EventStore:
    """One connection to the shared file: the hub appends, each session reads."""

    def __init__(self, path: Path, *, retain: int = RETAIN, writer: bool = False) -> None:
        if retain < 1:
            raise ValueError("retain must be at least 1")
        self.path = Path(path)
        self.retain = retain
        if writer:
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            self._conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._conn.executescript(_SCHEMA)
        else:
            self._conn = sqlite3.connect(sqlite_uri(self.path, mode="ro"), uri=True, timeout=10)

    @classmethod
    def beside(cls, db_path: Path | str, **options: object) -> EventStore:
        return cls(events_file(db_path), **options)  # type: ignore[arg-type]

    def close(self) -> None:
        self._conn.close()

    # -- the writer ---------------------------------------------------------------

    def cursors(self) -> dict[str, str]:
        """Where each provider's stream got to, as of the last batch stored."""
        return dict(self._conn.execute("SELECT provider, cursor FROM cursors"))

    def append(self, items: Sequence[FeedItem]) -> int:
        """Store a batch and the cursors it reaches, in one transaction; the last seq."""
        cursors = {i.provider: i.cursor for i in items if isinstance(i, AccessEvent) and i.cursor}
        with immediate_transaction(self._conn) as conn:
            conn.executemany(
                "INSERT INTO events (provider, kind, body) VALUES (?, ?, ?)",
                (_encode(i) for i in items),
            )
            conn.executemany(
                "INSERT INTO cursors VALUES (?, ?) ON CONFLICT (provider)"
                " DO UPDATE SET cursor = excluded.cursor",
                cursors.items(),
            )
            last = self._last(conn)
            conn.execute("DELETE FROM events WHERE seq <= ?", (last - self.retain,))
        return last

    # -- a reader -----------------------------------------------------------------

    @staticmethod
    def _last(conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
        return int(row[0]) if row else 0

    def last_seq(self) -> int:
        """The newest item's number (0: none stored yet)."""
        return self._last(self._conn)

    def after(self, seq: int, limit: int = 1000) -> list[Stored]:
        """Up to ``limit`` items that follow ``seq``, oldest first."""
        rows = self._conn.execute(
            "SELECT seq, provider, kind, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (seq, limit),
        ).fetchall()
        return [Stored(s, _decode(p, k, b)) for s, p, k, b in rows]


def items_of(stored: Iterable[Stored]) -> list[FeedItem]:
    return [s.item for s in stored]
