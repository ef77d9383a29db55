"""The last complete inventory, in a file beside the database: start from it.

At 100,000 accounts the providers take seconds to list every account and
credential. The TUI does not wait for them: it shows the last inventory a
complete sync left here (light rows, ``services/account_rows``), marked as a
snapshot, and replaces it when the providers answer (reconciliation: an
account removed since then disappears, a new one appears).

The file (``<db name>-inventory.sqlite``, 0600) holds one row per account: what
the accounts pane shows (read whole at start), and apart from it the account
and its credentials as compact JSON, read only for the one account the
operator selects (the credentials pane). It is a
cache, never evidence: nothing plans a revocation from it (a snapshot view has
``credentials_read`` False), and it is used only when its fingerprint (the
provider set and their settings, the risk settings, the format) matches the
current config. A file that cannot be read is ignored with a one-line notice.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sqlite3
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pamtui import foreground, kept_files
from pamtui.errors import PamtuiError
from pamtui.leftovers import remove_dead_leftovers
from pamtui.model import Account, Credential, RiskFlag, utcnow
from pamtui.services.account_rows import AccountRow, BaseOrderedRows, base_order_key, live_count
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.sqlite_uri import sqlite_uri

if TYPE_CHECKING:
    from pamtui.services.session import Session

FORMAT = 2
"""Bumped when the file's layout or the rows' meaning changes: older files are not used."""

ROW_ORDER = "provider,name,id"
"""The ``order`` meta value of a file whose rows are in ``base_order_key`` order;
a file without it (an older pamtui's) is read and sorted as before."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    provider TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    display_name TEXT NOT NULL, email TEXT NOT NULL, system TEXT NOT NULL,
    kind TEXT NOT NULL, status TEXT NOT NULL, flags TEXT NOT NULL, live INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS details (
    provider TEXT NOT NULL, id TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (provider, id)
) WITHOUT ROWID;
"""


class SnapshotUnusable(PamtuiError):
    """The snapshot file exists but cannot be read: the start goes on without it."""


def snapshot_file(db_path: Path | str) -> Path:
    return kept_files.INVENTORY_SNAPSHOT.at(db_path)


def fingerprint(providers: Iterable[tuple[str, str, Any]], *, stale_days: int) -> str:
    """What the snapshot must have been taken under: providers (name, type, settings)."""
    body = {
        "format": FORMAT,
        "stale_days": stale_days,
        "providers": sorted([str(name), str(kind), settings] for name, kind, settings in providers),
    }
    text = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Snapshot:
    """A saved inventory: the rows of the last complete sync, for the next start."""

    rows: list[AccountRow]
    taken: str
    """When the sync it holds ended (ISO 8601, UTC)."""
    providers: tuple[str, ...]
    meta: dict[str, str] = dataclasses.field(default_factory=dict)
    """Everything the file's meta table holds (the hub adds ``started`` and ``health``)."""


# -- JSON for one account and its credentials (no pickle: the file is data) ----------
# Positional lists under the field names recorded in meta: a third of the size of
# objects with keys, and json encodes them in C (StrEnums are strings already).

_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _detail(view: AccountView) -> str:
    a_names, c_names = _field_names(Account), _field_names(Credential)
    body = [
        [getattr(view.account, n) for n in a_names],
        [[getattr(c, n) for n in c_names] for c in view.credentials],
    ]
    return json.dumps(body, separators=(",", ":"), default=_iso)


def _convert(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if arg is not type(None):
                return _convert(arg, value)
    if origin is tuple:
        (inner, *_rest) = typing.get_args(tp) or (Any,)
        return tuple(_convert(inner, v) for v in value)
    if tp is datetime:
        return datetime.fromisoformat(value)
    if isinstance(tp, type) and issubclass(tp, Enum):
        return tp(value)
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _decode(cls: type, data: dict[str, Any]) -> Any:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: _convert(hints[k], v) for k, v in data.items() if k in known})


# -- the file ---------------------------------------------------------------------


def _check(conn: sqlite3.Connection, expected: str) -> dict[str, str] | None:
    """The file's meta if it was written for ``expected``, else None."""
    meta = dict(conn.execute("SELECT key, value FROM meta"))
    if meta.get("format") != str(FORMAT) or meta.get("fingerprint") != expected:
        return None
    return meta


def read_meta(path: Path, expected: str) -> dict[str, str] | None:
    """The file's meta alone (no rows), or None when there is none for this config.

    Raises ``SnapshotUnusable`` as ``load`` does.
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=5)
        try:
            return _check(conn, expected)
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise SnapshotUnusable(f"inventory snapshot {path.name} not used: {exc}") from exc


def load(path: Path, expected: str, *, snapshot: bool = True) -> Snapshot | None:
    """The rows of the last snapshot, or None when there is none for this config.

    ``snapshot=False``: the rows are the service's shared inventory (bastion
    mode, services/shared_inventory.py), not a stand-in until the providers answer.

    Raises ``SnapshotUnusable`` (with a one-line reason) when the file exists
    and is not a snapshot pamtui can read: a corrupt or foreign file.
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=5)
        try:
            meta = _check(conn, expected)
            if meta is None:
                return None
            flag = {str(f): f for f in RiskFlag}
            flag_sets: dict[str, frozenset[RiskFlag]] = {}
            # Saved in the pane's base order (``save``): the index need not sort them.
            rows = BaseOrderedRows() if meta.get("order") == ROW_ORDER else []
            # Provider, system, kind and status repeat on every row: one string each
            # (400,000 fewer objects at 100,000 accounts; it counts per SSH session).
            same: dict[str, str] = {}
            one = same.setdefault
            for p, i, n, d, e, s, k, st, flags, live in conn.execute(
                "SELECT provider, id, name, display_name, email, system, kind, status, flags,"
                " live FROM accounts ORDER BY rowid"
            ):
                fs = flag_sets.get(flags)
                if fs is None:  # a handful of distinct sets: built once each
                    fs = flag_sets[flags] = frozenset(
                        flag[f] for f in flags.split(",") if f in flag
                    )
                rows.append(
                    AccountRow(
                        one(p, p), i, n, d, e, one(s, s), one(k, k), one(st, st), fs, live, snapshot
                    )
                )
        finally:
            conn.close()
    except (sqlite3.Error, ValueError, TypeError) as exc:
        raise SnapshotUnusable(f"inventory snapshot {path.name} not used: {exc}") from exc
    providers = tuple(json.loads(meta.get("providers", "[]")))
    return Snapshot(rows, meta.get("taken", ""), providers, meta)


def account_view(
    path: Path, expected: str, key: AccountKey, *, shared: bool = False
) -> AccountView | None:
    """One account of the snapshot with its credentials, for display only.

    ``shared=True``: the service's own complete sync (bastion mode), a view as
    good as a session's own sync of the same age, so it may be planned from.
    """
    try:
        conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=5)
        try:
            meta = _check(conn, expected)
            if meta is None:
                return None
            found = conn.execute(
                "SELECT a.flags, d.detail FROM details d JOIN accounts a"
                " ON a.provider = d.provider AND a.id = d.id"
                " WHERE d.provider = ? AND d.id = ?",
                key,
            ).fetchone()
        finally:
            conn.close()
        if found is None:
            return None
        flags = frozenset(RiskFlag(f) for f in found[0].split(",") if f)
        names = json.loads(meta["fields"])
        account_values, credential_values = json.loads(found[1])
        account = _decode(Account, dict(zip(names["account"], account_values, strict=True)))
        credentials = tuple(
            _decode(Credential, dict(zip(names["credential"], values, strict=True)))
            for values in credential_values
        )
    except (sqlite3.Error, ValueError, TypeError, KeyError):  # a damaged row: nothing shown
        return None
    if shared:
        return AccountView(account, credentials, flags)
    # credentials_read False: shown, never planned from (revoking refuses such a view).
    return AccountView(
        account, credentials, flags, credentials_read=False, snapshot=meta.get("taken") or "?"
    )


def all_views(path: Path, expected: str) -> list[AccountView]:
    """Every account of a shared snapshot with its credentials (the people view's input).

    Decoded on demand, not held: at 100,000 accounts they are 400,000 objects.
    A damaged row is skipped; an unreadable file raises ``SnapshotUnusable``.
    """
    try:
        conn = sqlite3.connect(sqlite_uri(path, mode="ro"), uri=True, timeout=5)
        try:
            meta = _check(conn, expected)
            if meta is None:
                return []
            found = conn.execute(
                "SELECT a.flags, d.detail FROM accounts a JOIN details d"
                " ON a.provider = d.provider AND a.id = d.id"
            ).fetchall()
        finally:
            conn.close()
        names = json.loads(meta["fields"])
    except (sqlite3.Error, ValueError, KeyError) as exc:
        raise SnapshotUnusable(f"inventory snapshot {path.name} not used: {exc}") from exc
    flag = {str(f): f for f in RiskFlag}
    views = []
    for flags, detail in found:
        try:
            account_values, credential_values = json.loads(detail)
            account = _decode(Account, dict(zip(names["account"], account_values, strict=True)))
            credentials = tuple(
                _decode(Credential, dict(zip(names["credential"], values, strict=True)))
                for values in credential_values
            )
        except (ValueError, TypeError, KeyError):
            continue
        views.append(
            AccountView(
                account, credentials, frozenset(flag[f] for f in flags.split(",") if f in flag)
            )
        )
    return views


def save(
    path: Path,
    stamp: str,
    views: Sequence[AccountView],
    providers: Iterable[str],
    extra: Mapping[str, str] | None = None,
    *,
    stop: Callable[[], bool] | None = None,
) -> None:
    """Replace the snapshot with ``views`` (a complete sync), atomically.

    ``extra``: more meta (the hub's ``started`` and ``health``). ``stop``: asked
    between chunks of rows; true abandons the save (``foreground.Abandoned``),
    the old snapshot staying as it was (the TUI's quit: see ``tui/snapshot_start.py``).

    Written to a temporary file beside it and renamed over it, so a reader
    sees the old snapshot or the new one, and a crash leaves the old one.
    The rows are written in the accounts pane's base order (``ROW_ORDER``),
    so that a start from the file does not sort 100,000 rows again.
    """
    views = sorted(
        views, key=lambda v: base_order_key(v.account.provider, v.account.name, v.account.id)
    )
    remove_dead_leftovers(path)  # a killed save's temporary file, up to ~200 MB
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = OFF")
            conn.execute("PRAGMA synchronous = OFF")
            conn.executescript(_SCHEMA)
            conn.execute("BEGIN")
            # Saved from a thread in the TUI: it gives way while the operator types.
            conn.executemany(
                "INSERT INTO accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (_row(view) for view in foreground.paced(views, stop=stop)),
            )
            conn.executemany(
                "INSERT OR REPLACE INTO details VALUES (?, ?, ?)",
                (
                    (v.account.provider, v.account.id, _detail(v))
                    for v in foreground.paced(views, stop=stop)
                ),
            )
            # One account's flags by its key (selecting it, planning from it): without
            # this index each lookup scanned every row (100,000 at the largest demo).
            conn.execute("CREATE INDEX IF NOT EXISTS accounts_key ON accounts (provider, id)")
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("format", str(FORMAT)),
                    ("fingerprint", stamp),
                    ("taken", utcnow().isoformat(timespec="seconds")),
                    ("providers", json.dumps(sorted(providers))),
                    ("order", ROW_ORDER),
                    *(extra or {}).items(),
                    (
                        "fields",
                        json.dumps(
                            {
                                "account": _field_names(Account),
                                "credential": _field_names(Credential),
                            }
                        ),
                    ),
                ],
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _row(view: AccountView) -> tuple[Any, ...]:
    a = view.account
    return (
        a.provider,
        a.id,
        a.name,
        a.display_name,
        a.email,
        a.system,
        str(a.kind),
        str(a.status),
        ",".join(sorted(str(f) for f in view.flags)),
        live_count(view),
    )


class InventorySnapshots:
    """A session's snapshot file: load it at start, save each complete sync."""

    def __init__(
        self,
        db_path: Path | str,
        providers: Iterable[tuple[str, str, Any]],
        *,
        stale_days: int,
        read_only: bool,
    ) -> None:
        self.path = snapshot_file(db_path)
        self.stamp = fingerprint(providers, stale_days=stale_days)
        self.read_only = read_only
        """A read-only session writes no file (it still starts from one)."""

    @classmethod
    def for_session(cls, session: Session) -> InventorySnapshots:
        """The session's snapshot: its providers as configured (name, type, settings)."""
        settings = {pc.name: dict(pc.settings) for pc in session.config.providers}
        described = [
            (name, str(getattr(provider, "type", "")), settings.get(name, {}))
            for name, provider in session.providers.items()
        ]
        return cls(
            session.db_path,
            described,
            stale_days=session.config.risk.stale_days,
            read_only=session.read_only,
        )

    def load(self) -> Snapshot | None:
        return load(self.path, self.stamp)

    def view(self, key: AccountKey) -> AccountView | None:
        return account_view(self.path, self.stamp, key)

    def save(
        self,
        views: Sequence[AccountView],
        providers: Iterable[str],
        *,
        stop: Callable[[], bool] | None = None,
    ) -> bool:
        """Store a complete sync; False (nothing written) in a read-only session.

        ``stop``: see :func:`save` (raises ``foreground.Abandoned``).
        """
        if self.read_only:
            return False
        save(self.path, self.stamp, views, providers, stop=stop)
        return True
