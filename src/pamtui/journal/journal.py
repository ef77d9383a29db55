"""The append-only, hash-chained audit journal.

Every append runs inside ``BEGIN IMMEDIATE``: the writer lock is taken before
the last hash is read, so appends from several processes form one linear
chain. A failure to commit raises :class:`JournalUnavailable`; callers must
then not perform the side effect the entry announces (fail closed).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from pamtui.journal.canonical import canonical_json
from pamtui.journal.chain import GENESIS_HASH, body_text, entry_hash
from pamtui.journal.database import connect
from pamtui.journal.errors import JournalError, JournalUnavailable, SecretInJournal
from pamtui.model import JournalEntry

# Keys that must never appear in an entry's detail, at any depth. Secrets are
# journalled as fingerprints under other names (``fingerprint``).
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "totp",
        "totp_code",
        "otp",
        "private_key",
        "secret_access_key",
        "client_secret",
        "authorization",
        "api_key",
    }
)

_COLUMNS = "seq, ts, actor, action, provider, subject, detail, prev_hash, hash"


def timestamp(now: datetime | None = None) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: sorts as text."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _check_no_secrets(value: Any, path: str = "detail") -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if str(key).lower() in FORBIDDEN_DETAIL_KEYS:
                raise SecretInJournal(f"refusing to journal {path}.{key}: it looks like a secret")
            _check_no_secrets(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for inner in value:
            _check_no_secrets(inner, path)


def _row_to_entry(row: tuple) -> JournalEntry:
    seq, ts, actor, action, provider, subject, detail, prev_hash, hash_ = row
    return JournalEntry(
        seq, ts, actor, action, provider, subject, json.loads(detail), prev_hash, hash_
    )


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, sep, hash_ = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(hash_) != 64:
            raise ValueError(f"expected SEQ:HASH (a number, a colon, 64 hex digits), got {text!r}")
        return cls(int(seq), hash_.lower())


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    entries: int
    head: Head | None
    bad_seq: int | None = None
    problem: str = ""


@dataclass(frozen=True)
class EntryFilter:
    since: str | None = None
    until: str | None = None
    actor: str | None = None
    provider: str | None = None
    subject: str | None = None
    action: str | None = None
    text: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("actor", self.actor),
            ("provider", self.provider),
            ("subject", self.subject),
            ("action", self.action),
        ):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.since:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until:
            clauses.append("ts < ?")
            params.append(self.until)
        if self.text:
            clauses.append("(subject LIKE ? OR detail LIKE ? OR actor LIKE ? OR action LIKE ?)")
            like = f"%{self.text}%"
            params.extend([like] * 4)
        return (" AND ".join(clauses) or "1"), params


class Transaction:
    """Appends (and other writes) that commit together, or not at all."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._last: tuple[int, str] | None = None

    def _tail(self) -> tuple[int, str]:
        if self._last is None:
            row = self.conn.execute(
                "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            self._last = (row[0], row[1]) if row else (0, GENESIS_HASH)
        return self._last

    def append(
        self,
        actor: str,
        action: str,
        *,
        provider: str = "",
        subject: str = "",
        detail: Mapping[str, Any] | None = None,
        ts: str | None = None,
    ) -> JournalEntry:
        detail = dict(detail or {})
        _check_no_secrets(detail)
        detail_json = canonical_json(detail)
        last_seq, prev_hash = self._tail()
        seq = last_seq + 1
        ts = ts or timestamp()
        body = body_text(
            seq=seq,
            ts=ts,
            actor=actor,
            action=action,
            provider=provider,
            subject=subject,
            detail_json=detail_json,
            prev_hash=prev_hash,
        )
        hash_ = entry_hash(prev_hash, body)
        self.conn.execute(
            f"INSERT INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, ts, actor, action, provider, subject, detail_json, prev_hash, hash_),
        )
        self._last = (seq, hash_)
        return JournalEntry(seq, ts, actor, action, provider, subject, detail, prev_hash, hash_)

    def execute(self, sql: str, params: tuple | list = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)


class Journal:
    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self.db = sqlite_utils.Database(conn)

    @classmethod
    def open(
        cls, path: Path | str, *, read_only: bool = False, busy_timeout_s: float = 5.0
    ) -> Journal:
        path = Path(path).expanduser()
        return cls(
            connect(path, read_only=read_only, busy_timeout_s=busy_timeout_s),
            path,
            read_only=read_only,
        )

    def close(self) -> None:
        self.conn.close()

    # -- writing -----------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``; any SQLite failure is JournalUnavailable."""
        if self.read_only:
            raise JournalUnavailable("the journal is open read-only")
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"cannot write to the journal {self.path}: {exc}") from exc
        try:
            yield Transaction(self.conn)
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise JournalUnavailable(f"cannot write to the journal {self.path}: {exc}") from exc
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        with suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")

    def append(
        self,
        actor: str,
        action: str,
        *,
        provider: str = "",
        subject: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> JournalEntry:
        with self.transaction() as tx:
            return tx.append(actor, action, provider=provider, subject=subject, detail=detail)

    # -- reading -----------------------------------------------------------

    def head(self) -> Head | None:
        row = self.conn.execute(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Head(row[0], row[1]) if row else None

    def count(self, filt: EntryFilter | None = None) -> int:
        where, params = (filt or EntryFilter()).where()
        return self.conn.execute(f"SELECT count(*) FROM entries WHERE {where}", params).fetchone()[
            0
        ]

    def entries(
        self,
        filt: EntryFilter | None = None,
        *,
        limit: int = 100,
        before_seq: int | None = None,
        after_seq: int | None = None,
        newest_first: bool = True,
    ) -> list[JournalEntry]:
        """One page of entries; page with ``before_seq``/``after_seq`` (keyset paging)."""
        where, params = (filt or EntryFilter()).where()
        if before_seq is not None:
            where += " AND seq < ?"
            params.append(before_seq)
        if after_seq is not None:
            where += " AND seq > ?"
            params.append(after_seq)
        order = "DESC" if newest_first else "ASC"
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM entries WHERE {where} ORDER BY seq {order} LIMIT ?",
            [*params, limit],
        ).fetchall()
        return [_row_to_entry(row) for row in rows]

    def get(self, seq: int) -> JournalEntry | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq = ?", (seq,)).fetchone()
        return _row_to_entry(row) if row else None

    # -- verifying ---------------------------------------------------------

    def verify(self, expect_head: Head | None = None) -> VerifyReport:
        """Recompute the chain; name the first entry that does not fit.

        Without ``expect_head`` this detects edited, inserted, deleted and
        reordered entries. A truncated journal, or a tail rewritten with
        freshly computed hashes, is only detectable against a head witnessed
        earlier: pass it as ``expect_head``.
        """
        try:
            cursor = self.conn.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY seq")
        except sqlite3.Error as exc:
            raise JournalError(f"cannot read the journal {self.path}: {exc}") from exc
        expected_prev = GENESIS_HASH
        expected_seq = 1
        count = 0
        last: Head | None = None
        expect_seen = False
        while rows := cursor.fetchmany(4096):
            for seq, ts, actor, action, provider, subject, detail, prev_hash, hash_ in rows:
                if seq != expected_seq:
                    problem = (
                        f"entry {expected_seq} is missing (deleted?)"
                        if seq > expected_seq
                        else f"entry {seq} is out of order"
                    )
                    return VerifyReport(False, count, last, expected_seq, problem)
                if prev_hash != expected_prev:
                    return VerifyReport(
                        False,
                        count,
                        last,
                        seq,
                        f"entry {seq} does not follow entry {seq - 1} "
                        "(an entry was inserted, deleted or reordered, or its prev_hash edited)",
                    )
                body = body_text(
                    seq=seq,
                    ts=ts,
                    actor=actor,
                    action=action,
                    provider=provider,
                    subject=subject,
                    detail_json=detail,
                    prev_hash=prev_hash,
                )
                if entry_hash(prev_hash, body) != hash_:
                    return VerifyReport(False, count, last, seq, f"entry {seq} was edited")
                if expect_head is not None and seq == expect_head.seq:
                    expect_seen = True
                    if hash_ != expect_head.hash:
                        return VerifyReport(
                            False,
                            count,
                            last,
                            seq,
                            f"entry {seq} differs from the expected head "
                            "(the history up to it was rewritten)",
                        )
                expected_prev = hash_
                expected_seq = seq + 1
                count += 1
                last = Head(seq, hash_)
        if expect_head is not None and not expect_seen:
            return VerifyReport(
                False,
                count,
                last,
                expect_head.seq,
                f"entry {expect_head.seq} of the expected head is gone "
                f"(the journal ends at {last.seq if last else 0}: truncated)",
            )
        return VerifyReport(True, count, last)
