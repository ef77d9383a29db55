"""The append-only, hash-chained audit journal.

Every append runs inside ``BEGIN IMMEDIATE``: the writer lock is taken before
the last hash is read, so appends from several processes form one linear
chain. A failure to commit raises :class:`JournalUnavailable`; callers must
then not perform the side effect the entry announces (fail closed).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pamtui.journal import canonical
from pamtui.journal.canonical import canonical_json
from pamtui.journal.chain import GENESIS_HASH, body_text, entry_hash
from pamtui.journal.database import connect
from pamtui.journal.errors import JournalError, JournalUnavailable, SecretInJournal
from pamtui.journal.heads import Head, VerifyReport
from pamtui.journal.redact import looks_secret
from pamtui.journal.segments import (
    SEGMENT_START,
    default_archive_dir,
    default_archive_path,
    verify_segments,
)
from pamtui.model import JournalEntry
from pamtui.sqlite_tx import immediate_transaction

if TYPE_CHECKING:  # sqlite-utils costs ~100 ms to import and nothing at start needs it
    import sqlite_utils

# A key that looks like it holds a secret (pamtui.journal.redact.looks_secret)
# is refused at any depth: secrets are journalled as ``*_fingerprint`` only.

_COLUMNS = "seq, ts, actor, action, provider, subject, detail, prev_hash, hash"
_ROW_KEYS = frozenset({"actor", "action", "provider", "subject", "detail", "ts"})
_INSERT = f"INSERT INTO entries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

_canonical_encode = canonical.encode


def timestamp(now: datetime | None = None) -> str:
    """UTC ISO 8601 with microseconds and a ``Z``: sorts as text."""
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Values that cannot hold a key: the secret check does not descend into them.
_SCALAR_TYPES = frozenset({str, int, float, bool, type(None)})


def _check_no_secrets(value: Any, path: str = "detail") -> None:
    # Descends only into containers, and builds the path only for them: it
    # runs on every entry (and every row of ``append_many``).
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if looks_secret(str(key)):
                raise SecretInJournal(f"refusing to journal {path}.{key}: it looks like a secret")
            if type(inner) not in _SCALAR_TYPES:
                _check_no_secrets(inner, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for inner in value:
            if type(inner) not in _SCALAR_TYPES:
                _check_no_secrets(inner, path)


def _row_to_entry(row: tuple[Any, ...]) -> JournalEntry:
    seq, ts, actor, action, provider, subject, detail, prev_hash, hash_ = row
    return JournalEntry(
        seq, ts, actor, action, provider, subject, json.loads(detail), prev_hash, hash_
    )


@dataclass(frozen=True)
class EntryFilter:
    """Which journal entries to list: each field set narrows the search."""

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

    def __init__(
        self, conn: sqlite3.Connection, actor_keys: Mapping[str, str] | None = None
    ) -> None:
        self.conn = conn
        self._last: tuple[int, str] | None = None
        self._actor_keys = actor_keys or {}

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
        key = self._actor_keys.get(actor)
        if key and "key" not in detail:
            detail["key"] = key  # who signed in with which key (a bastion operator's)
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
            _INSERT, (seq, ts, actor, action, provider, subject, detail_json, prev_hash, hash_)
        )
        self._last = (seq, hash_)
        return JournalEntry(seq, ts, actor, action, provider, subject, detail, prev_hash, hash_)

    def execute(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)


class Journal:
    def __init__(self, conn: sqlite3.Connection, path: Path, *, read_only: bool = False) -> None:
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self._db: sqlite_utils.Database | None = None
        self.actor_keys: dict[str, str] = {}
        """actor -> SSH key fingerprint: entries by that actor carry ``"key"`` in detail."""

    @property
    def db(self) -> sqlite_utils.Database:
        """A ``sqlite_utils.Database`` on the journal's connection, made on first use."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

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
        # Beginning, the block and the COMMIT alike: rolled back, then mapped.
        try:
            with immediate_transaction(self.conn):
                yield Transaction(self.conn, self.actor_keys)
        except sqlite3.Error as exc:
            raise JournalUnavailable(f"cannot write to the journal {self.path}: {exc}") from exc

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

    def append_many(self, rows: Iterable[Mapping[str, Any] | Sequence[Any]]) -> Head | None:
        """Append many entries in one ``BEGIN IMMEDIATE`` transaction: all or none.

        Each row is a mapping with the keys ``actor`` and ``action`` and
        optionally ``provider``, ``subject``, ``detail`` and ``ts``, or a
        tuple ``(actor, action, provider, subject, detail)`` with an optional
        sixth item ``ts``; the text fields must be strings. The chain is the
        one :meth:`append` builds entry by entry; rows without a ``ts`` share
        one timestamp, taken once the writer lock is held. Every row is
        checked for secrets and encoded before the lock is taken, so a
        :class:`SecretInJournal` (or a malformed row) anywhere writes nothing.
        Returns the head after the batch.
        """
        if self.read_only:
            raise JournalUnavailable("the journal is open read-only")
        # Outside the lock: check, encode, and pre-assemble each body around
        # the three parts only the lock can tell (prev_hash, seq, default ts).
        # The body is chain.body_text's, spelled out in pieces;
        # tests/journal/test_journal_concurrency.py checks both give the same hashes.
        quote = encode_basestring  # what chain._dump does for a str
        check = _check_no_secrets
        encode = _canonical_encode
        prepared: list[tuple[str, str, str, str, str, str, str, str, str | None, str | None]] = []
        add = prepared.append
        for row in rows:
            if type(row) is tuple or not isinstance(row, Mapping):
                actor, action, provider, subject, detail, *rest = row
                if len(rest) > 1:
                    raise ValueError(
                        "an append_many row is (actor, action, provider, subject, detail[, ts])"
                    )
                ts = rest[0] if rest else None
            else:
                if not _ROW_KEYS.issuperset(row):
                    unknown = sorted(map(str, set(row) - _ROW_KEYS))
                    raise ValueError(f"unknown append_many keys: {unknown}")
                actor = row["actor"]
                action = row["action"]
                provider = row.get("provider", "")
                subject = row.get("subject", "")
                detail = row.get("detail")
                ts = row.get("ts")
            if type(detail) is not dict:
                detail = dict(detail or {})
            if self.actor_keys and actor in self.actor_keys and "key" not in detail:
                detail = {**detail, "key": self.actor_keys[actor]}
            check(detail)
            detail_json = encode(detail)
            try:  # quote() takes only strings: a non-string field fails here
                add(
                    (
                        actor,
                        action,
                        provider,
                        subject,
                        detail_json,
                        f'{{"action":{quote(action)},"actor":{quote(actor)},"detail":{detail_json},'
                        '"prev_hash":',
                        f',"provider":{quote(provider)},"seq":',
                        f',"subject":{quote(subject)},"ts":',
                        ts or None,
                        f"{quote(ts)}}}" if ts else None,
                    )
                )
            except TypeError:
                raise TypeError(
                    "append_many: actor, action, provider, subject and ts must be strings, "
                    f"got {(actor, action, provider, subject, ts)!r}"
                ) from None
        if not prepared:
            return self.head()
        sha256 = hashlib.sha256
        with self.transaction() as tx:
            seq, prev_hash = tx._tail()
            now = timestamp()
            now_end = f"{quote(now)}}}"
            values: list[tuple[Any, ...]] = []
            push = values.append
            for row_fields in prepared:
                actor, action, provider, subject, detail_json, head, mid, tail, ts, end = row_fields
                seq += 1
                hash_ = sha256(
                    f"{prev_hash}{head}{quote(prev_hash)}{mid}{seq}{tail}{end or now_end}".encode()
                ).hexdigest()
                push(
                    (
                        seq,
                        ts or now,
                        actor,
                        action,
                        provider,
                        subject,
                        detail_json,
                        prev_hash,
                        hash_,
                    )
                )
                prev_hash = hash_
            tx.conn.executemany(_INSERT, values)
        return Head(seq, prev_hash)

    # -- reading -----------------------------------------------------------

    def head(self) -> Head | None:
        row = self.conn.execute(
            "SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return Head(row[0], row[1]) if row else None

    def count(self, filt: EntryFilter | None = None) -> int:
        where, params = (filt or EntryFilter()).where()
        row = self.conn.execute(f"SELECT count(*) FROM entries WHERE {where}", params).fetchone()
        return int(row[0])

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
        filt = filt or EntryFilter()
        where, params = filt.where()
        if before_seq is not None:
            where += " AND seq < ?"
            params.append(before_seq)
        if after_seq is not None:
            where += " AND seq > ?"
            params.append(after_seq)
        order = "DESC" if newest_first else "ASC"
        sql = f"SELECT {_COLUMNS} FROM entries WHERE {where} ORDER BY seq {order} LIMIT ?"
        if (filt.since or filt.until) and not (
            filt.actor or filt.provider or filt.subject or filt.action or filt.text
        ):
            if self._walk_seq_for_window(filt, before_seq, after_seq, newest_first):
                sql = sql.replace("FROM entries", "FROM entries NOT INDEXED", 1)
            else:
                sql = (
                    f"SELECT {_COLUMNS} FROM entries WHERE seq IN (SELECT seq FROM entries "
                    f"INDEXED BY entries_ts WHERE {where} ORDER BY seq {order} LIMIT ?) "
                    f"ORDER BY seq {order}"
                )
        rows = self.conn.execute(sql, [*params, limit]).fetchall()
        return [_row_to_entry(row) for row in rows]

    def _walk_seq_for_window(
        self,
        filt: EntryFilter,
        before_seq: int | None,
        after_seq: int | None,
        newest_first: bool,
    ) -> bool:
        """For a time window alone: walk entries in seq order (else: the ts index)?

        Walking in seq order from the newest (oldest) end costs the entries
        newer (older) than the window, which for an old (recent) window is
        most of the journal; the ts index costs the whole window, fetched and
        sorted, which for a wide window is as bad (SQLite, left alone, sorted
        all of a six-month window of a million entries: a second). Timestamps
        normally grow with seq, so the seqs at the window's ends, read from
        the ts index, say which is smaller. They only choose the plan: the
        result is the same either way.
        """
        if filt.since:
            row = self.conn.execute(
                "SELECT seq FROM entries WHERE ts >= ? ORDER BY ts, seq LIMIT 1", (filt.since,)
            ).fetchone()
            if row is None:
                return False  # nothing that recent: the index says so at once
            first = row[0]
        else:
            first = 1
        if filt.until:
            row = self.conn.execute(
                "SELECT seq FROM entries WHERE ts < ? ORDER BY ts DESC, seq DESC LIMIT 1",
                (filt.until,),
            ).fetchone()
            if row is None:
                return False  # nothing that old
            last = row[0]
        else:
            last = self._max_seq()
        window = last - first + 1
        if newest_first:
            end = before_seq - 1 if before_seq is not None else self._max_seq()
            outside = end - last
        else:
            outside = first - (after_seq + 1 if after_seq is not None else 1)
        # Per entry, the index (a lookup and a sort) costs about 1.5 walked rows.
        return bool(outside <= 1.5 * window)

    def _max_seq(self) -> int:
        return int(self.conn.execute("SELECT max(seq) FROM entries").fetchone()[0] or 0)

    def get(self, seq: int) -> JournalEntry | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM entries WHERE seq = ?", (seq,)).fetchone()
        return _row_to_entry(row) if row else None

    # -- verifying ---------------------------------------------------------

    def archive_dir(self) -> Path:
        """Where :meth:`rotate` keeps archives and :meth:`verify` looks for them."""
        return default_archive_dir(self.path)

    def rotate(
        self, archive: Path | str | None = None, *, actor: str = "system"
    ) -> tuple[Head, JournalEntry, Path]:
        """Archive the entries and continue the chain in this file.

        The archive (``archive``, else a new file in :meth:`archive_dir`,
        where :meth:`verify` finds it) is a complete copy (SQLite's backup
        API, created 0600). Then, under the writer lock, this journal's
        entries are removed and a ``segment_start`` entry is written whose
        ``seq`` continues, whose ``prev_hash`` is the archived head and whose
        detail names the archive file, so the chain runs unbroken across
        files. Queue tables stay here. Refuses to rotate a broken chain (this
        file's own: earlier archives were checked when they were made, and
        are checked again by every :meth:`verify`).
        """
        report = verify_segments(self.conn, self.path, live_only=True)
        if not report.ok or report.head is None:
            raise JournalError(f"not rotating: {report.problem or 'the journal is empty'}")
        first = self.conn.execute("SELECT min(seq) FROM entries").fetchone()[0]
        if archive is None:
            target_path = default_archive_path(self.path, first, report.head.seq)
            target_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            target_path = Path(archive).expanduser()
        if target_path.exists():
            raise JournalError(f"{target_path} exists already; choose a new archive file")
        fd = os.open(target_path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)
        target = sqlite3.connect(target_path)
        try:
            self.conn.backup(target)
        finally:
            target.close()
        with self.transaction() as tx:
            if self.head() != report.head:
                raise JournalError("the journal changed while rotating; try again")
            tx.execute("DELETE FROM entries WHERE seq <= ?", (report.head.seq,))
            tx._last = (report.head.seq, report.head.hash)
            start = tx.append(
                actor,
                SEGMENT_START,
                detail={
                    "previous_head": str(report.head),
                    "previous_entries": report.entries,
                    "archive": target_path.name,
                },
            )
        return report.head, start, target_path

    def verify(
        self,
        expect_head: Head | None = None,
        *,
        archives: Sequence[Path | str] = (),
        archive_dir: Path | None = None,
    ) -> VerifyReport:
        """Recompute the chain, archives included; name the first entry that does not fit.

        Without ``expect_head`` this detects edited, inserted, deleted and
        reordered entries. A truncated journal, or a tail rewritten with
        freshly computed hashes, is only detectable against a head witnessed
        earlier: pass it as ``expect_head``. A rotated journal verifies only
        with the archives that hold its earlier entries (``archives``, and
        those in ``archive_dir``, by default :meth:`archive_dir`): see
        :mod:`pamtui.journal.segments`.
        """
        return verify_segments(
            self.conn,
            self.path,
            expect_head,
            archives=[Path(a) for a in archives],
            archive_dir=archive_dir if archive_dir is not None else self.archive_dir(),
        )
