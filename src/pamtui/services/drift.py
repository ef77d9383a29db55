"""Inventory snapshots and drift: what changed between two syncs.

Storage (``snapshots.sqlite`` beside the journal, created 0600):

- ``current``: one row per (provider, account) with the privilege-relevant
  part of the account as compact JSON and an 8-byte digest of it. Only the
  fields that matter for access are in it: name, kind, status, privileged,
  groups, owner and owner status, and per credential its kind, status and
  scopes. Timestamps such as "last used" are left out on purpose: they change
  on every sync and would make every account look changed. Sessions are left
  out too: they come and go by the minute and are not a grant.
- ``syncs``: one row per provider per sync (time, counts, changes found) and
  whether its ``drift`` journal entry is written (``journalled``: the outbox
  ``services/drift_recorder.py`` empties; 1 for a sync with nothing notable).
- ``changes``: the deltas only, one row per change, with the sync it was
  found in.

A sync costs one digest per account and a dictionary lookup; only accounts
whose digest changed are read back and diffed. An unchanged 100k-account
sync writes one ``syncs`` row and nothing else, so the file grows with what
changes, not with how often pamtui syncs. The first sync of a provider is a
baseline: it fills ``current`` and reports nothing.

Change kinds (``KINDS``), most important first: a new privileged account, a
privilege granted (privileged flag or a new group), an admin scope added to a
credential, a credential created, an account re-activated, an owner who left;
then the less urgent ones (new unprivileged account, account or credential
gone, privilege removed).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pamtui import foreground, kept_files
from pamtui.model import (
    AccountStatus,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RiskFlag,
)
from pamtui.services import risk
from pamtui.services.inventory import AccountView
from pamtui.sqlite_tx import immediate_transaction
from pamtui.sqlite_uri import sqlite_uri

SNAPSHOT_FILE_NAME = kept_files.DRIFT_SNAPSHOTS.name

NEW_PRIVILEGED_ACCOUNT = "new_privileged_account"
PRIVILEGE_GRANTED = "privilege_granted"
ADMIN_SCOPE_ADDED = "admin_scope_added"
CREDENTIAL_CREATED = "credential_created"
ACCOUNT_REACTIVATED = "account_reactivated"
OWNER_LEFT = "owner_left"
NEW_ACCOUNT = "new_account"
ACCOUNT_REMOVED = "account_removed"
CREDENTIAL_REMOVED = "credential_removed"
PRIVILEGE_REMOVED = "privilege_removed"

KINDS = (
    NEW_PRIVILEGED_ACCOUNT,
    PRIVILEGE_GRANTED,
    ADMIN_SCOPE_ADDED,
    CREDENTIAL_CREATED,
    ACCOUNT_REACTIVATED,
    OWNER_LEFT,
    NEW_ACCOUNT,
    ACCOUNT_REMOVED,
    CREDENTIAL_REMOVED,
    PRIVILEGE_REMOVED,
)
KIND_LABEL = {
    NEW_PRIVILEGED_ACCOUNT: "New privileged account",
    PRIVILEGE_GRANTED: "Privilege granted",
    ADMIN_SCOPE_ADDED: "Admin scope added",
    CREDENTIAL_CREATED: "Credential created",
    ACCOUNT_REACTIVATED: "Account re-activated",
    OWNER_LEFT: "Owner left",
    NEW_ACCOUNT: "New account",
    ACCOUNT_REMOVED: "Account gone",
    CREDENTIAL_REMOVED: "Credential gone",
    PRIVILEGE_REMOVED: "Privilege removed",
}
NOTABLE = frozenset(KINDS[:6])
"""Kinds worth an alert (and a ``drift`` journal entry): access that grew."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY, provider TEXT NOT NULL, ts TEXT NOT NULL,
    accounts INTEGER NOT NULL, baseline INTEGER NOT NULL, changes INTEGER NOT NULL,
    journalled INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS syncs_provider ON syncs (provider, id);
CREATE TABLE IF NOT EXISTS current (
    provider TEXT NOT NULL, account_id TEXT NOT NULL, digest BLOB NOT NULL,
    record TEXT NOT NULL, PRIMARY KEY (provider, account_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY, sync_id INTEGER NOT NULL, ts TEXT NOT NULL,
    provider TEXT NOT NULL, account_id TEXT NOT NULL, account_name TEXT NOT NULL,
    kind TEXT NOT NULL, detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS changes_ts ON changes (ts);
CREATE INDEX IF NOT EXISTS changes_sync ON changes (sync_id);
"""
_VERSION = 1
"""``PRAGMA user_version``; 1: ``syncs.journalled`` and its index."""


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring a file from an older pamtui up to ``_VERSION``, once, under the write lock.

    A file from before the outbox gets ``journalled`` with the default 1 for
    every past sync: the pamtui that recorded them journalled them (or lost
    them for good then), so an upgrade re-journals nothing. An older pamtui
    still writing the file leaves the default too, and journals its own.
    """
    if conn.execute("PRAGMA user_version").fetchone()[0] >= _VERSION:
        return
    with immediate_transaction(conn):
        columns = {row[1] for row in conn.execute("PRAGMA table_info(syncs)")}
        if "journalled" not in columns:
            conn.execute("ALTER TABLE syncs ADD COLUMN journalled INTEGER NOT NULL DEFAULT 1")
        conn.execute(
            "CREATE INDEX IF NOT EXISTS syncs_unjournalled ON syncs (id) WHERE journalled = 0"
        )
        conn.execute(f"PRAGMA user_version = {_VERSION}")


def timestamp(now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def snapshot_path(db_path: Path) -> Path:
    return kept_files.DRIFT_SNAPSHOTS.at(db_path)


@dataclass(frozen=True)
class Change:
    ts: str
    provider: str
    account_id: str
    account_name: str
    kind: str
    detail: dict[str, Any]
    sync_id: int = 0

    @property
    def notable(self) -> bool:
        return self.kind in NOTABLE

    @property
    def summary(self) -> str:
        """One line, from provider data: clean it before display."""
        d = self.detail
        if self.kind in (PRIVILEGE_GRANTED, PRIVILEGE_REMOVED):
            parts = []
            if "privileged" in d:
                parts.append("privileged" if d["privileged"] else "no longer privileged")
            if d.get("groups"):
                parts.append(
                    ("+" if self.kind == PRIVILEGE_GRANTED else "-") + ", ".join(d["groups"])
                )
            return "; ".join(parts)
        if self.kind in (CREDENTIAL_CREATED, CREDENTIAL_REMOVED, ADMIN_SCOPE_ADDED):
            scopes = ", ".join(d.get("scopes", ()))
            return f"{d.get('credential', '')} ({d.get('credential_kind', '')})" + (
                f" scopes {scopes}" if scopes else ""
            )
        if self.kind == ACCOUNT_REACTIVATED:
            return f"{d.get('before', '')} -> {d.get('after', '')}"
        if self.kind == OWNER_LEFT:
            return f"owner {d.get('owner', '')} is {d.get('owner_status', '')}"
        if self.kind in (NEW_ACCOUNT, NEW_PRIVILEGED_ACCOUNT):
            groups = ", ".join(d.get("groups", ()))
            return f"{d.get('account_kind', '')} account" + (f" in {groups}" if groups else "")
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "ts": self.ts,
            "provider": self.provider,
            "account_id": self.account_id,
            "account": self.account_name,
            "kind": self.kind,
            "notable": self.notable,
            "summary": self.summary,
            "detail": self.detail,
        }


@dataclass
class SyncRecord:
    sync_id: int
    provider: str
    accounts: int
    baseline: bool
    changes: list[Change] = field(default_factory=list)

    @property
    def notable(self) -> list[Change]:
        return [c for c in self.changes if c.notable]


# -- the compact record -----------------------------------------------------


def record_of(view: AccountView) -> dict[str, Any]:
    """The privilege-relevant part of an account: what the digest covers."""
    a = view.account
    creds = {
        c.id: [str(c.kind), str(c.status), sorted(c.scopes)]
        for c in view.credentials
        if c.kind is not CredentialKind.SESSION
    }
    return {
        "n": a.name,
        "k": str(a.kind),
        "s": str(a.status),
        "p": bool(a.privileged or RiskFlag.PRIVILEGED in view.flags),
        "g": sorted(a.groups),
        "o": a.owner,
        "os": str(a.owner_status),
        "c": creds,
    }


def _encode(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _digest(text: str) -> bytes:
    return hashlib.blake2b(text.encode(), digest_size=8).digest()


def _admin(scopes: Sequence[str]) -> bool:
    return any(m in s.lower() for s in scopes for m in risk.ADMIN_SCOPE_MARKERS)


def _live(cred: Sequence[Any]) -> bool:
    return bool(cred[1] == str(CredentialStatus.ACTIVE))


def diff(
    account_id: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The changes between two records of one account, as (kind, detail) pairs."""
    if old is None and new is not None:
        kind = NEW_PRIVILEGED_ACCOUNT if new["p"] else NEW_ACCOUNT
        yield kind, {"account_kind": new["k"], "status": new["s"], "groups": new["g"]}
        return
    if new is None:
        if old is not None:
            yield ACCOUNT_REMOVED, {"status": old["s"]}
        return
    assert old is not None
    live = str(AccountStatus.ACTIVE)
    if old["s"] != live and new["s"] == live:
        yield ACCOUNT_REACTIVATED, {"before": old["s"], "after": new["s"]}
    added = sorted(set(new["g"]) - set(old["g"]))
    removed = sorted(set(old["g"]) - set(new["g"]))
    if (not old["p"] and new["p"]) or added:
        detail: dict[str, Any] = {"groups": added}
        if not old["p"] and new["p"]:
            detail["privileged"] = True
        yield PRIVILEGE_GRANTED, detail
    if (old["p"] and not new["p"]) or removed:
        detail = {"groups": removed}
        if old["p"] and not new["p"]:
            detail["privileged"] = False
        yield PRIVILEGE_REMOVED, detail
    terminated = str(OwnerStatus.TERMINATED)
    if new["os"] == terminated and (old["os"] != terminated or old["o"] != new["o"]):
        yield OWNER_LEFT, {"owner": new["o"], "owner_status": new["os"]}
    old_c, new_c = old["c"], new["c"]
    for cid, cred in new_c.items():
        before = old_c.get(cid)
        if before is None:
            yield (
                CREDENTIAL_CREATED,
                {
                    "credential": cid,
                    "credential_kind": cred[0],
                    "status": cred[1],
                    "scopes": cred[2],
                },
            )
            if _live(cred) and _admin(cred[2]):
                yield (
                    ADMIN_SCOPE_ADDED,
                    {
                        "credential": cid,
                        "credential_kind": cred[0],
                        "scopes": [s for s in cred[2] if _admin([s])],
                    },
                )
            continue
        gained = sorted(set(cred[2]) - set(before[2]))
        revived = _live(cred) and not _live(before)
        admin_now = [s for s in cred[2] if _admin([s])]
        if _live(cred) and admin_now and ([s for s in gained if _admin([s])] or revived):
            yield (
                ADMIN_SCOPE_ADDED,
                {
                    "credential": cid,
                    "credential_kind": cred[0],
                    "scopes": [s for s in gained if _admin([s])] or admin_now,
                },
            )
    for cid, cred in old_c.items():
        if cid not in new_c:
            yield CREDENTIAL_REMOVED, {"credential": cid, "credential_kind": cred[0], "scopes": []}


# -- the store ----------------------------------------------------------------


class SnapshotStore:
    """``snapshots.sqlite``: the latest record per account and every change.

    One short-lived connection per call, so it may be used from a worker
    thread; several processes may share the file (WAL, busy timeout).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def beside(cls, db_path: Path) -> SnapshotStore:
        return cls(snapshot_path(db_path))

    def connect(self, *, create: bool = True, timeout: float = 10) -> sqlite3.Connection:
        """A connection in autocommit mode; ``create`` makes, and migrates, the file."""
        if not self.path.exists():
            if not create:
                raise FileNotFoundError(self.path)
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with contextlib.suppress(FileExistsError):
                os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        if create:
            conn.executescript(_SCHEMA)
            _migrate(conn)
        return conn

    def record(
        self,
        provider: str,
        views: Iterable[AccountView],
        *,
        now: datetime | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> SyncRecord:
        """Store one provider's sync; return the changes since its previous one.

        ``stop``: asked between chunks while the records are encoded, before
        anything is written; true abandons the sync (``foreground.Abandoned``)
        and the next one records what changed.
        """
        ts = timestamp(now)
        encoded: dict[str, tuple[bytes, str, str]] = {}
        # Run in a thread by the TUI: it gives way while the operator types.
        for view in foreground.paced(views, stop=stop):
            text = _encode(record_of(view))
            encoded[view.account.id] = (_digest(text), text, view.account.name)
        conn = self.connect()
        try:
            with immediate_transaction(conn):
                known = dict(
                    conn.execute(
                        "SELECT account_id, digest FROM current WHERE provider = ?", (provider,)
                    )
                )
                baseline = (
                    not known
                    and conn.execute(
                        "SELECT 1 FROM syncs WHERE provider = ? LIMIT 1", (provider,)
                    ).fetchone()
                    is None
                )
                changed = [aid for aid, (d, _, _) in encoded.items() if known.get(aid) != d]
                gone = [aid for aid in known if aid not in encoded]
                cursor = conn.execute(
                    "INSERT INTO syncs (provider, ts, accounts, baseline, changes)"
                    " VALUES (?, ?, ?, ?, 0)",
                    (provider, ts, len(encoded), int(baseline)),
                )
                sync_id = int(cursor.lastrowid or 0)
                result = SyncRecord(sync_id, provider, len(encoded), baseline)
                old_records = self._records(conn, provider, [a for a in changed if a in known])
                old_records.update(self._records(conn, provider, gone))
                names = {aid: name for aid, (_, _, name) in encoded.items()}
                for aid in [*changed, *gone]:
                    new = json.loads(encoded[aid][1]) if aid in encoded else None
                    old = old_records.get(aid)
                    name = names.get(aid) or (old or {}).get("n", aid)
                    if baseline:
                        continue
                    for kind, detail in diff(aid, old, new):
                        result.changes.append(
                            Change(ts, provider, aid, name, kind, detail, sync_id)
                        )
                conn.executemany(
                    "INSERT OR REPLACE INTO current VALUES (?, ?, ?, ?)",
                    ((provider, aid, encoded[aid][0], encoded[aid][1]) for aid in changed),
                )
                conn.executemany(
                    "DELETE FROM current WHERE provider = ? AND account_id = ?",
                    ((provider, aid) for aid in gone),
                )
                conn.executemany(
                    "INSERT INTO changes (sync_id, ts, provider, account_id, account_name, kind,"
                    " detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        (
                            sync_id,
                            c.ts,
                            c.provider,
                            c.account_id,
                            c.account_name,
                            c.kind,
                            _encode(c.detail),
                        )
                        for c in result.changes
                    ),
                )
                # Notable: owed a journal entry, written by the recorder once committed.
                conn.execute(
                    "UPDATE syncs SET changes = ?, journalled = ? WHERE id = ?",
                    (len(result.changes), int(not result.notable), sync_id),
                )
        finally:
            conn.close()
        return result

    @staticmethod
    def _records(
        conn: sqlite3.Connection, provider: str, account_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(account_ids), 500):
            chunk = account_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for aid, text in conn.execute(
                f"SELECT account_id, record FROM current WHERE provider = ? AND account_id IN"
                f" ({marks})",
                (provider, *chunk),
            ):
                out[aid] = json.loads(text)
        return out

    # -- reading -------------------------------------------------------------

    def changes(
        self,
        *,
        since: str | None = None,
        provider: str | None = None,
        notable_only: bool = False,
        limit: int = 10_000,
    ) -> list[Change]:
        """Changes recorded at or after ``since``; without it, each provider's latest sync's."""
        if not self.path.exists():
            return []
        conn = self.connect(create=False)
        try:
            clauses, params = [], []
            if since:
                clauses.append("c.ts >= ?")
                params.append(since)
            else:
                clauses.append(
                    "c.sync_id IN (SELECT max(id) FROM syncs WHERE baseline = 0 GROUP BY provider)"
                )
            if provider:
                clauses.append("c.provider = ?")
                params.append(provider)
            if notable_only:
                clauses.append(f"c.kind IN ({','.join('?' * len(NOTABLE))})")
                params.extend(sorted(NOTABLE))
            rows = conn.execute(
                "SELECT c.sync_id, c.ts, c.provider, c.account_id, c.account_name, c.kind, c.detail"
                f" FROM changes c WHERE {' AND '.join(clauses)} ORDER BY c.id LIMIT ?",
                (*params, limit),
            ).fetchall()
        except sqlite3.Error:
            return []
        finally:
            conn.close()
        return [
            Change(ts, prov, aid, name, kind, json.loads(detail), sync_id)
            for sync_id, ts, prov, aid, name, kind, detail in rows
        ]

    def stored(self, provider: str) -> tuple[dict[str, dict[str, Any]], bool]:
        """One provider's stored records (account id: ``record_of``) and whether it ever synced.

        Through a read-only connection: a dry run (``sweep --dry-run``) must not
        create or change the file. No file reads as never synced.
        """
        if not self.path.exists():
            return {}, False
        conn = sqlite3.connect(sqlite_uri(self.path, mode="ro"), uri=True, timeout=10)
        try:
            known = {
                aid: json.loads(text)
                for aid, text in conn.execute(
                    "SELECT account_id, record FROM current WHERE provider = ?", (provider,)
                )
            }
            synced = conn.execute(
                "SELECT 1 FROM syncs WHERE provider = ? LIMIT 1", (provider,)
            ).fetchone()
        finally:
            conn.close()
        return known, synced is not None

    def last_syncs(self) -> dict[str, tuple[str, int, bool]]:
        """Per provider: time, account count and whether it was a baseline."""
        if not self.path.exists():
            return {}
        conn = self.connect(create=False)
        try:
            rows = conn.execute(
                "SELECT provider, ts, accounts, baseline FROM syncs WHERE id IN"
                " (SELECT max(id) FROM syncs GROUP BY provider) ORDER BY provider"
            ).fetchall()
        except sqlite3.Error:
            return {}
        finally:
            conn.close()
        return {p: (ts, n, bool(b)) for p, ts, n, b in rows}


def group_by_kind(changes: Iterable[Change]) -> dict[str, list[Change]]:
    """Changes by kind, in ``KINDS`` order (most important first)."""
    grouped: dict[str, list[Change]] = {kind: [] for kind in KINDS}
    for change in changes:
        grouped.setdefault(change.kind, []).append(change)
    return {kind: items for kind, items in grouped.items() if items}


def journal_detail(record: SyncRecord, limit: int = 50) -> dict[str, Any]:
    """What a ``drift`` journal entry says: counts, and the notable changes (capped)."""
    counts: dict[str, int] = {}
    for change in record.changes:
        counts[change.kind] = counts.get(change.kind, 0) + 1
    notable = record.notable
    return {
        "sync": record.sync_id,
        "accounts": record.accounts,
        "counts": counts,
        "notable": [
            {"account_id": c.account_id, "account": c.account_name, "kind": c.kind, **c.detail}
            for c in notable[:limit]
        ],
        "notable_total": len(notable),
    }


DRIFT_ACTION = "drift"
