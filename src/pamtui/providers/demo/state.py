"""The demo's mutable state: one SQLite file shared by every demo provider.

The file is built from the organisation JSON the first time it is needed, with
the JSON's relative dates anchored to "now". Several provider instances and
several processes may use it at once: WAL mode, a busy timeout and short
transactions. Revocations are rows updated in place (with the time they took
effect, so the event stream can tell before from after); every revoke call is
appended to ``calls``.

Why one module of ~680 lines: it is the schema of ``demo.sqlite`` and every
statement that reads or writes it, kept together so the schema and its
queries change in one place (the provider, the event stream and the tests'
fault helpers all go through here).
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pamtui import kept_files
from pamtui.leftovers import remove_dead_leftovers
from pamtui.providers.base import ProviderError
from pamtui.providers.demo import grants
from pamtui.providers.demo.constants import DEFAULT_SEED, FORMAT
from pamtui.resources import sample_data_dir
from pamtui.sqlite_tx import immediate_transaction

STATE_FILE_NAME = kept_files.DEMO_STATE.name
SAMPLE_FILE_NAME = "demo-org.json"
SCHEMA_VERSION = "1"
BUSY_TIMEOUT_S = 10.0

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE people (
    id TEXT PRIMARY KEY, name TEXT, email TEXT, department TEXT, title TEXT,
    manager TEXT, location TEXT, status TEXT, hired REAL, terminated REAL,
    aliases TEXT NOT NULL DEFAULT '[]', worker_type TEXT NOT NULL DEFAULT 'employee'
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY, system TEXT NOT NULL, kind TEXT NOT NULL, name TEXT NOT NULL,
    display_name TEXT, email TEXT, status TEXT NOT NULL, privileged INTEGER NOT NULL,
    groups TEXT NOT NULL, owner TEXT, console INTEGER NOT NULL, created REAL,
    last_active REAL, disabled_at REAL, hr_id_known INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE credentials (
    id TEXT PRIMARY KEY, account_id TEXT NOT NULL, system TEXT NOT NULL, kind TEXT NOT NULL,
    status TEXT NOT NULL, label TEXT, scopes TEXT NOT NULL, fingerprint TEXT, created REAL,
    expires REAL, last_used REAL, traffic INTEGER NOT NULL, user_agent TEXT, disabled_at REAL
);
CREATE TABLE calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, provider TEXT NOT NULL,
    action TEXT NOT NULL, target_kind TEXT NOT NULL, target TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, result TEXT NOT NULL, detail TEXT NOT NULL
);
"""

_INDEXES = """
CREATE INDEX accounts_system ON accounts (system, id);
CREATE INDEX credentials_system ON credentials (system, id);
CREATE INDEX credentials_account ON credentials (account_id, id);
CREATE INDEX calls_key ON calls (idempotency_key);
CREATE INDEX credentials_disabled ON credentials (disabled_at, id) WHERE disabled_at IS NOT NULL;
CREATE INDEX accounts_disabled ON accounts (disabled_at, id) WHERE disabled_at IS NOT NULL;
"""
# The *_disabled indexes: a stream reloads what stopped working after each
# revocation (``Denials``); without them that read scans 300,000 credentials
# (a third of a second on the event loop at the largest demo).

TRAFFIC_MAX_IDLE_MINUTES = 7 * 24 * 60
"""A credential takes part in the simulated traffic if it was used this recently."""


def default_path(state_dir: Path) -> Path:
    return Path(state_dir) / STATE_FILE_NAME


def connect(path: Path) -> sqlite3.Connection:
    """A connection in autocommit mode: every statement is its own short transaction."""
    conn = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


# -- creation -----------------------------------------------------------------


def load_org(seed: int | None = None) -> dict[str, Any]:
    """The bundled organisation, or a freshly generated one for another seed."""
    try:
        sample = sample_data_dir() / SAMPLE_FILE_NAME
    except FileNotFoundError:
        sample = None
    if sample is not None and sample.is_file():
        org = json.loads(sample.read_text(encoding="utf-8"))
        if seed is None or org.get("seed") == seed:
            return org
    from pamtui.providers.demo.generate import generate

    return generate(seed=DEFAULT_SEED if seed is None else seed)


def ensure(path: Path, *, seed: int | None = None, now: float | None = None) -> Path:
    """Create the state file if it does not exist yet (safe against concurrent creators)."""
    stamp = time.time() if now is None else now
    return build_once(path, lambda tmp: build(tmp, load_org(seed), now=stamp))


def build_once(path: Path, build_into: Callable[[Path], None]) -> Path:
    """Create ``path`` with ``build_into`` unless it exists, safe against concurrent creators.

    The file is built aside under a unique name, then linked into place
    atomically: a second process that raced us keeps the first file, and a
    reader never sees a half-built one.
    """
    path = Path(path)
    # A killed build's half-built org (hundreds of MB at scale): at every start, not
    # only the next build, or one killed just before a successful build stays forever.
    remove_dead_leftovers(path, hidden=True)
    if path.exists():
        return path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            build_into(tmp)
        except OSError as exc:  # a read-only data dir: one line, not an internal error
            raise ProviderError(
                f"cannot create the demo organisation's state at {path}: {exc.strerror or exc}"
            ) from None
        try:
            os.link(tmp, path)  # atomic: fails if another process got there first
        except FileExistsError:
            pass
        except OSError:  # a filesystem without hard links
            if not path.exists():
                os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
    return path


def remove(path: Path) -> None:
    for p in (Path(path), Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def build(path: Path, org: dict[str, Any], *, now: float) -> None:
    """Write a complete state file for ``org`` with its relative dates anchored at ``now``."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)
    day, minute = 86400.0, 60.0

    def ago_days(v: float | None) -> float | None:
        return None if v is None else now - v * day

    def ago_minutes(v: float | None) -> float | None:
        return None if v is None else now - v * minute

    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")  # a private temporary file until linked
        conn.executescript(_SCHEMA)
        conn.execute("BEGIN")
        meta = {
            "schema": SCHEMA_VERSION,
            "format": str(org.get("format", FORMAT)),
            "seed": str(org.get("seed", DEFAULT_SEED)),
            "anchor": repr(now),
            "org": json.dumps(org.get("org", {})),
            "incidents": json.dumps(org.get("incidents", [])),
            "role_history": json.dumps(org.get("role_history", [])),
        }
        conn.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        people = {p["id"]: p for p in org["people"]}
        conn.executemany(
            "INSERT INTO people VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    p["id"],
                    p["name"],
                    p["email"],
                    p["department"],
                    p["title"],
                    p["manager"],
                    p["location"],
                    p["status"],
                    ago_days(p["hired_days_ago"]),
                    ago_days(p.get("terminated_days_ago")),
                    json.dumps(p.get("aliases", [])),
                    p.get("worker_type", "employee"),
                )
                for p in org["people"]
            ),
        )
        accounts = {a["id"]: a for a in org["accounts"]}
        conn.executemany(
            "INSERT INTO accounts VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    a["id"],
                    a["system"],
                    a["kind"],
                    a["name"],
                    a.get("display_name", ""),
                    a.get("email", ""),
                    a["status"],
                    int(bool(a.get("privileged"))),
                    json.dumps(a.get("groups", [])),
                    a.get("owner", ""),
                    int(bool(a.get("console"))),
                    ago_days(a.get("created_days_ago")),
                    ago_minutes(a.get("last_active_minutes_ago")),
                    None if a["status"] == "active" else now,
                    int(a.get("hr_id_known", True)),
                )
                for a in org["accounts"]
            ),
        )
        incident_creds = {i["credential_id"] for i in org.get("incidents", [])}

        def in_traffic(c: dict[str, Any]) -> bool:
            acct = accounts[c["account_id"]]
            owner = people.get(acct.get("owner", ""), {})
            if c["id"] in incident_creds or c["status"] != "active" or acct["status"] != "active":
                return False
            if acct["kind"] == "human" and owner.get("status") != "employed":
                return False
            expires = c.get("expires_in_minutes")
            if c["kind"] == "session" and expires is not None and expires <= 0:
                return False
            last = c.get("last_used_minutes_ago")
            return last is not None and last <= TRAFFIC_MAX_IDLE_MINUTES

        conn.executemany(
            "INSERT INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                (
                    c["id"],
                    c["account_id"],
                    accounts[c["account_id"]]["system"],
                    c["kind"],
                    c["status"],
                    c.get("label", ""),
                    json.dumps(c.get("scopes", [])),
                    c.get("fingerprint", ""),
                    ago_minutes(c.get("created_minutes_ago")),
                    None
                    if c.get("expires_in_minutes") is None
                    else now + c["expires_in_minutes"] * minute,
                    ago_minutes(c.get("last_used_minutes_ago")),
                    int(in_traffic(c)),
                    c.get("user_agent"),
                    None if c["status"] == "active" else now,
                )
                for c in org["credentials"]
            ),
        )
        conn.executescript(_INDEXES)  # commits; indexing once is faster than row by row
    finally:
        conn.close()


def read_meta(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        rows = conn.execute("SELECT key, value FROM meta").fetchall()
    except sqlite3.DatabaseError as exc:
        raise ProviderError(
            f"the demo state file is unreadable ({exc}); recreate it with `pamtui demo --reset`"
        ) from exc
    meta = {r[0]: r[1] for r in rows}
    if meta.get("schema") != SCHEMA_VERSION:
        raise ProviderError(
            "the demo state file was made by another pamtui version; "
            "recreate it with `pamtui demo --reset`"
        )
    return meta


# -- revocation ----------------------------------------------------------------

CREDENTIAL_ACTIONS: dict[str, frozenset[str]] = {
    "revoke_token": frozenset({"api_token", "personal_access_token", "ssh_key"}),
    "deactivate_access_key": frozenset({"access_key"}),
    "delete_access_key": frozenset({"access_key"}),
    "end_session": frozenset({"session"}),
}
ACCOUNT_ACTIONS: dict[str, frozenset[str]] = {
    "clear_sessions": frozenset({"idp", "cloud"}),
    "suspend_account": frozenset({"idp"}),
    "deactivate_account": frozenset({"idp", "cloud"}),
    "remove_member": frozenset({"git"}),
    "delete_login_profile": frozenset({"cloud"}),
}


@dataclass(frozen=True)
class Outcome:
    already_done: bool
    detail: str
    response: dict[str, Any]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def apply_revoke(
    path: Path,
    *,
    provider: str,
    systems: Iterable[str],
    action: str,
    target_kind: str,
    target_id: str,
    idempotency_key: str,
    now: float,
) -> Outcome:
    """Perform one revoke action in one short write transaction, and log the call."""
    systems = tuple(systems)
    conn = connect(path)
    try:
        with immediate_transaction(conn):
            try:
                outcome = _apply(
                    conn, systems, action, target_kind, target_id, idempotency_key, now
                )
            except ProviderError as exc:
                _log_call(
                    conn,
                    now,
                    provider,
                    action,
                    target_kind,
                    target_id,
                    idempotency_key,
                    "error",
                    str(exc),
                )
                error = exc
            else:
                _log_call(
                    conn,
                    now,
                    provider,
                    action,
                    target_kind,
                    target_id,
                    idempotency_key,
                    "already_done" if outcome.already_done else "ok",
                    outcome.detail,
                )
                return outcome
        raise error
    finally:
        conn.close()


def _log_call(
    conn: sqlite3.Connection,
    now: float,
    provider: str,
    action: str,
    target_kind: str,
    target: str,
    key: str,
    result: str,
    detail: str,
) -> None:
    conn.execute(
        "INSERT INTO calls (ts, provider, action, target_kind, target, idempotency_key, result,"
        " detail) VALUES (?,?,?,?,?,?,?,?)",
        (_iso(now), provider, action, target_kind, target, key, result, detail),
    )


def _apply(
    conn: sqlite3.Connection,
    systems: tuple[str, ...],
    action: str,
    target_kind: str,
    target_id: str,
    key: str,
    now: float,
) -> Outcome:
    marks = ",".join("?" * len(systems))
    response = {
        "http_status": 204,
        "request_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key}:{action}:{target_id}")),
    }
    if key:
        prev = conn.execute(
            "SELECT action, target FROM calls WHERE idempotency_key = ? "
            "AND result IN ('ok', 'already_done') LIMIT 1",
            (key,),
        ).fetchone()
        if prev is not None and (prev["action"], prev["target"]) != (action, target_id):
            raise ProviderError(
                f"idempotency key {key!r} was already used for {prev['action']} on "
                f"{prev['target']}; refusing to reuse it for {action} on {target_id}"
            )
    if target_kind == "credential":
        if action not in CREDENTIAL_ACTIONS:
            raise ProviderError(f"unknown credential action {action!r}")
        row = conn.execute(
            f"SELECT kind, status FROM credentials WHERE id = ? AND system IN ({marks})",
            (target_id, *systems),
        ).fetchone()
        if row is None:
            raise ProviderError(f"no credential {target_id!r} in this demo provider")
        if row["kind"] not in CREDENTIAL_ACTIONS[action]:
            raise ProviderError(f"{action} does not apply to a {row['kind']} ({target_id})")
        new = "inactive" if action == "deactivate_access_key" else "revoked"
        done = {"revoked"} if new == "revoked" else {"revoked", "inactive"}
        if row["status"] in done:
            return Outcome(True, f"credential {target_id} is already {row['status']}", response)
        conn.execute(
            "UPDATE credentials SET status = ?, disabled_at = COALESCE(disabled_at, ?) "
            "WHERE id = ?",
            (new, now, target_id),
        )
        return Outcome(False, f"credential {target_id} is now {new}", response)
    if target_kind == "grant":
        held, detail = grants.apply(conn, systems, action, target_id)
        return Outcome(held, detail, response)
    if target_kind != "account":
        raise ProviderError(f"unknown target kind {target_kind!r}")
    if action not in ACCOUNT_ACTIONS:
        raise ProviderError(f"unknown account action {action!r}")
    row = conn.execute(
        f"SELECT system, status, console FROM accounts WHERE id = ? AND system IN ({marks})",
        (target_id, *systems),
    ).fetchone()
    if row is None:
        raise ProviderError(f"no account {target_id!r} in this demo provider")
    if row["system"] not in ACCOUNT_ACTIONS[action]:
        raise ProviderError(f"{action} does not apply to a {row['system']} account")
    status = row["status"]
    if action == "clear_sessions":
        cur = conn.execute(
            "UPDATE credentials SET status = 'revoked', disabled_at = COALESCE(disabled_at, ?) "
            "WHERE account_id = ? AND kind = 'session' AND status = 'active'",
            (now, target_id),
        )
        if cur.rowcount == 0:
            return Outcome(True, "no active sessions", response)
        return Outcome(False, f"ended {cur.rowcount} session(s)", response)
    if action == "delete_login_profile":
        if not row["console"]:
            return Outcome(True, "no console password (login profile) to delete", response)
        conn.execute("UPDATE accounts SET console = 0 WHERE id = ?", (target_id,))
        return Outcome(False, "console password (login profile) deleted", response)
    new, done = {
        "suspend_account": ("suspended", {"suspended", "deactivated", "deleted"}),
        "deactivate_account": ("deactivated", {"deactivated", "deleted"}),
        "remove_member": ("deleted", {"deleted"}),
    }[action]
    if status in done:
        return Outcome(True, f"account {target_id} is already {status}", response)
    conn.execute(
        "UPDATE accounts SET status = ?, disabled_at = COALESCE(disabled_at, ?) WHERE id = ?",
        (new, now, target_id),
    )
    return Outcome(False, f"account {target_id} is now {new}", response)


def check_gone(
    conn: sqlite3.Connection,
    systems: tuple[str, ...],
    action: str,
    target_kind: str,
    target_id: str,
) -> tuple[bool, str]:
    """Read the state back: is the access the action removes really gone?"""
    marks = ",".join("?" * len(systems))
    if target_kind == "credential":
        row = conn.execute(
            f"SELECT status FROM credentials WHERE id = ? AND system IN ({marks})",
            (target_id, *systems),
        ).fetchone()
        if row is None:
            raise ProviderError(f"no credential {target_id!r} in this demo provider")
        gone = {"inactive", "revoked"} if action == "deactivate_access_key" else {"revoked"}
        return row["status"] in gone, f"credential status: {row['status']}"
    if target_kind == "grant":
        return grants.check(conn, systems, action, target_id)
    row = conn.execute(
        f"SELECT status, console FROM accounts WHERE id = ? AND system IN ({marks})",
        (target_id, *systems),
    ).fetchone()
    if row is None:
        raise ProviderError(f"no account {target_id!r} in this demo provider")
    if action == "clear_sessions":
        (n,) = conn.execute(
            "SELECT count(*) FROM credentials WHERE account_id = ? AND kind = 'session' "
            "AND status = 'active'",
            (target_id,),
        ).fetchone()
        return n == 0, f"{n} active session(s)"
    if action == "delete_login_profile":
        return not row["console"], "login profile present" if row["console"] else "no login profile"
    gone_states = {
        "suspend_account": {"suspended", "deactivated", "deleted"},
        "deactivate_account": {"deactivated", "deleted"},
        "remove_member": {"deleted"},
    }.get(action)
    if gone_states is None:
        raise ProviderError(f"unknown account action {action!r}")
    return row["status"] in gone_states, f"account status: {row['status']}"


def calls(path: Path) -> list[dict[str, Any]]:
    """Every revoke call recorded in the state file, oldest first."""
    conn = connect(path)
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
    finally:
        conn.close()


# -- what the event stream needs ---------------------------------------------


DISABLED_CREDENTIALS = "SELECT id, disabled_at FROM credentials WHERE disabled_at IS NOT NULL"
DISABLED_ACCOUNTS = "SELECT id, disabled_at FROM accounts WHERE disabled_at IS NOT NULL"
"""What ``Denials`` reads (after each revocation): answered by the *_disabled indexes."""


class Denials:
    """Which credentials and accounts stopped working, and since when.

    Reloaded only when another connection committed (``PRAGMA data_version``),
    and that is checked at most every ``interval`` seconds, so a stream notices
    a revocation made by another provider or process within about a second.
    """

    def __init__(self, conn: sqlite3.Connection, interval: float = 0.25) -> None:
        self._conn = conn
        self._interval = interval
        self._checked = float("-inf")
        self._version: int | None = None
        self.credentials: dict[str, float] = {}
        self.accounts: dict[str, float] = {}
        self.refresh()

    def refresh(self) -> None:
        (self._version,) = self._conn.execute("PRAGMA data_version").fetchone()
        self.credentials = dict(self._conn.execute(DISABLED_CREDENTIALS).fetchall())
        self.accounts = dict(self._conn.execute(DISABLED_ACCOUNTS).fetchall())
        self._checked = time.monotonic()

    def maybe_refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._interval:
            return
        self._checked = now
        (version,) = self._conn.execute("PRAGMA data_version").fetchone()
        if version != self._version:
            self.refresh()

    def status(self, credential_id: str, account_id: str, ts: float, base: int) -> int:
        revoked = self.credentials.get(credential_id)
        if revoked is not None and ts >= revoked:
            return 401
        disabled = self.accounts.get(account_id)
        if disabled is not None and ts >= disabled:
            return 403
        return base


# -- changes "behind pamtui's back" (tests, demos of recheck and drift) ------
#
# What an administrator with console access could do to the simulated org
# without going through pamtui: undo a revocation, grant a privilege, mint a
# credential, or let HR mark someone as gone. ``pamtui audit recheck`` and
# ``pamtui drift`` are there to notice exactly this.


def _tamper(path: Path, sql: str, params: tuple[Any, ...], what: str) -> None:
    conn = connect(path)
    try:
        with immediate_transaction(conn):
            if conn.execute(sql, params).rowcount != 1:
                raise ProviderError(f"no {what} in the demo state file")
    finally:
        conn.close()


def reactivate_account(path: Path, account_id: str) -> None:
    """An account deactivated, suspended or removed comes back to active."""
    _tamper(
        path,
        "UPDATE accounts SET status = 'active', disabled_at = NULL WHERE id = ?",
        (account_id,),
        f"account {account_id!r}",
    )


def restore_login_profile(path: Path, account_id: str) -> None:
    """A deleted console password is created again."""
    _tamper(
        path,
        "UPDATE accounts SET console = 1 WHERE id = ?",
        (account_id,),
        f"account {account_id!r}",
    )


def reenable_credential(path: Path, credential_id: str) -> None:
    """A revoked token or deactivated key works again."""
    _tamper(
        path,
        "UPDATE credentials SET status = 'active', disabled_at = NULL WHERE id = ?",
        (credential_id,),
        f"credential {credential_id!r}",
    )


def grant_privilege(path: Path, account_id: str, group: str = "") -> None:
    """Make an account privileged, optionally adding it to an (admin) group."""
    conn = connect(path)
    try:
        with immediate_transaction(conn):
            row = conn.execute("SELECT groups FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise ProviderError(f"no account {account_id!r} in the demo state file")
            groups = json.loads(row["groups"])
            if group and group not in groups:
                groups.append(group)
            conn.execute(
                "UPDATE accounts SET privileged = 1, groups = ? WHERE id = ?",
                (json.dumps(groups), account_id),
            )
    finally:
        conn.close()


def add_credential(
    path: Path,
    account_id: str,
    credential_id: str,
    *,
    kind: str = "api_token",
    scopes: Iterable[str] = (),
    label: str = "",
    now: float | None = None,
) -> None:
    """A credential minted outside pamtui (it takes no part in the simulated traffic)."""
    now = time.time() if now is None else now
    conn = connect(path)
    try:
        with immediate_transaction(conn):
            row = conn.execute("SELECT system FROM accounts WHERE id = ?", (account_id,)).fetchone()
            if row is None:
                raise ProviderError(f"no account {account_id!r} in the demo state file")
            conn.execute(
                "INSERT INTO credentials VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    credential_id,
                    account_id,
                    row["system"],
                    kind,
                    "active",
                    label,
                    json.dumps(list(scopes)),
                    f"…{credential_id[-4:]} sha256:00000000",
                    now,
                    None,
                    None,
                    0,
                    None,
                    None,
                ),
            )
    finally:
        conn.close()


def set_person_status(path: Path, person_id: str, status: str) -> None:
    """HR roster change: ``terminated`` makes the person's accounts orphaned."""
    _tamper(
        path,
        "UPDATE people SET status = ?, terminated = ? WHERE id = ?",
        (status, time.time() if status == "terminated" else None, person_id),
        f"person {person_id!r}",
    )
