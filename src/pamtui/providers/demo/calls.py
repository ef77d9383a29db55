"""A count of the demo provider's calls, kept in a small SQLite file (opt-in).

``call_log = "demo-calls.sqlite"`` in a demo provider's settings makes every
instance, in every process, add its calls to that file: pages of
``list_accounts`` and ``list_credentials``, ``list_people``, each
``stream_events`` opened, and each second of live traffic a stream polled.
It is how ``benchmarks/bench_bastion.py`` and the bastion tests see how often
the providers are asked, however many processes ask: a real count, read from
the file, not an estimate. Counts are buffered and written at most once a
second (and when the provider closes), so the file costs a stream nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections import Counter
from pathlib import Path

from pamtui.sqlite_uri import sqlite_uri

FLUSH_EVERY = 1.0
"""Seconds between writes of the buffered counts."""

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS calls"
    " (provider TEXT, kind TEXT, n INTEGER NOT NULL, PRIMARY KEY (provider, kind))"
)


class CallLog:
    def __init__(self, path: Path, provider: str) -> None:
        self.path = Path(path)
        self.provider = provider
        self._pending: Counter[str] = Counter()
        self._last_flush = time.monotonic()

    def count(self, kind: str, n: int = 1) -> None:
        self._pending[kind] += n
        if time.monotonic() - self._last_flush >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        pending, self._pending = self._pending, Counter()
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        try:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute(_SCHEMA)
                conn.executemany(
                    "INSERT INTO calls VALUES (?, ?, ?) ON CONFLICT (provider, kind)"
                    " DO UPDATE SET n = n + excluded.n",
                    [(self.provider, kind, n) for kind, n in pending.items()],
                )
            finally:
                conn.close()
        except sqlite3.Error:  # a count is not worth failing a listing for
            self._pending.update(pending)


def read_calls(path: Path) -> dict[tuple[str, str], int]:
    """(provider, kind) -> calls so far; empty when nothing was counted yet."""
    if not Path(path).exists():
        return {}
    conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=10)
    try:
        return {(p, k): n for p, k, n in conn.execute("SELECT provider, kind, n FROM calls")}
    except sqlite3.OperationalError:  # created, no table yet
        return {}
    finally:
        conn.close()
