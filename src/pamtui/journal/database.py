"""Open pamtui's SQLite database: owner-only files, WAL, schema migrations.

One file holds the audit journal and the persisted revocation queue, so a
queue transition and the journal entry announcing it commit together.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from pamtui.journal.errors import JournalError, JournalUnavailable
from pamtui.sqlite_uri import sqlite_uri

SCHEMA_VERSION = 10


_SCHEMA_1 = """
        CREATE TABLE IF NOT EXISTS meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE IF NOT EXISTS entries (
            seq INTEGER PRIMARY KEY,
            ts TEXT NOT NULL,
            actor TEXT NOT NULL,
            action TEXT NOT NULL,
            provider TEXT NOT NULL DEFAULT '',
            subject TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS entries_ts ON entries (ts);
        CREATE INDEX IF NOT EXISTS entries_actor ON entries (actor, seq);
        CREATE INDEX IF NOT EXISTS entries_action ON entries (action, seq);
        CREATE INDEX IF NOT EXISTS entries_provider ON entries (provider, seq);
        CREATE INDEX IF NOT EXISTS entries_subject ON entries (subject, seq);

        CREATE TABLE IF NOT EXISTS queue_items (
            id INTEGER PRIMARY KEY,
            state TEXT NOT NULL,
            provider TEXT NOT NULL,
            action_name TEXT NOT NULL,
            target_kind TEXT NOT NULL,
            target_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            label TEXT NOT NULL,
            reversible INTEGER NOT NULL DEFAULT 0,
            step_order INTEGER NOT NULL DEFAULT 50,
            reason TEXT NOT NULL,
            requested_by TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            plan_id TEXT NOT NULL DEFAULT '',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            approved_by TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            lease_owner TEXT NOT NULL DEFAULT '',
            lease_until TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS queue_items_state ON queue_items (state, id);
"""


def _run_statements(conn: sqlite3.Connection, script: str) -> None:
    # Not executescript(): it would COMMIT the migration's open transaction.
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migrate_to_1(conn: sqlite3.Connection) -> None:
    _run_statements(conn, _SCHEMA_1)


def _migrate_to_2(conn: sqlite3.Connection) -> None:
    # ``audit list --provider P --action X``: with one index per column SQLite
    # walks every entry of P looking for X (a rare pair over a million entries
    # took ~120 ms); the pair index finds them directly, newest first.
    conn.execute(
        "CREATE INDEX IF NOT EXISTS entries_provider_action ON entries (provider, action, seq)"
    )


def _migrate_to_3(conn: sqlite3.Connection) -> None:
    # Four-eyes approval is decided when an item is staged and kept with it.
    conn.execute("ALTER TABLE queue_items ADD COLUMN four_eyes INTEGER NOT NULL DEFAULT 0")
    conn.execute("CREATE INDEX IF NOT EXISTS queue_items_lease ON queue_items (state, lease_until)")


_SCHEMA_4 = """
        CREATE TABLE IF NOT EXISTS review_campaigns (
            id INTEGER PRIMARY KEY,
            scope TEXT NOT NULL,
            created_by TEXT NOT NULL,
            created TEXT NOT NULL,
            due TEXT NOT NULL DEFAULT '',
            item_count INTEGER NOT NULL DEFAULT 0,
            start_seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS review_items (
            id INTEGER PRIMARY KEY,
            campaign_id INTEGER NOT NULL REFERENCES review_campaigns (id),
            position INTEGER NOT NULL,
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            account_name TEXT NOT NULL,
            snapshot TEXT NOT NULL,
            decision TEXT NOT NULL DEFAULT '',
            justification TEXT NOT NULL DEFAULT '',
            reviewer TEXT NOT NULL DEFAULT '',
            decided_at TEXT NOT NULL DEFAULT '',
            decision_seq INTEGER NOT NULL DEFAULT 0,
            queue_item_ids TEXT NOT NULL DEFAULT '[]',
            version INTEGER NOT NULL DEFAULT 0,
            UNIQUE (campaign_id, position)
        );
        CREATE INDEX IF NOT EXISTS review_items_decision ON review_items (campaign_id, decision)
"""


def _migrate_to_4(conn: sqlite3.Connection) -> None:
    # Access review campaigns: a snapshot of the accounts in scope, one row per
    # item, and each item's decision with the seq of the journal entry for it.
    # ``version`` makes concurrent reviewers' decisions optimistic, not lost.
    _run_statements(conn, _SCHEMA_4)


_SCHEMA_5 = """
        CREATE TABLE IF NOT EXISTS forward_state (
            destination TEXT PRIMARY KEY,
            last_seq INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT NOT NULL DEFAULT '',
            checkpoint_seq INTEGER NOT NULL DEFAULT 0,
            checkpoint_at TEXT NOT NULL DEFAULT '',
            last_attempt_at TEXT NOT NULL DEFAULT '',
            last_error TEXT NOT NULL DEFAULT '',
            skipped_from INTEGER NOT NULL DEFAULT 0,
            skipped_to INTEGER NOT NULL DEFAULT 0
        )
"""


def _migrate_to_5(conn: sqlite3.Connection) -> None:
    # The forwarding outbox: the entries table is the outbox itself (append
    # only, ordered by seq); this table holds, per [[forward]] destination,
    # the last seq the receiver took and the last head checkpoint, so a
    # restart resumes where it stopped and sends nothing twice.
    _run_statements(conn, _SCHEMA_5)


_SCHEMA_6 = """
        CREATE TABLE IF NOT EXISTS person_links (
            provider TEXT NOT NULL,
            account_id TEXT NOT NULL,
            person_id TEXT NOT NULL,
            op TEXT NOT NULL CHECK (op IN ('link', 'unlink')),
            reason TEXT NOT NULL,
            actor TEXT NOT NULL,
            created TEXT NOT NULL,
            seq INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (provider, account_id, person_id)
        );
        CREATE INDEX IF NOT EXISTS person_links_person ON person_links (person_id)
"""


def _migrate_to_6(conn: sqlite3.Connection) -> None:
    # Manual correlation overrides (services/people.py): an operator's
    # ``people link``/``unlink`` of one account to one person, with the seq of
    # the journal entry that records it. At most one 'link' row per account.
    _run_statements(conn, _SCHEMA_6)


def _migrate_to_7(conn: sqlite3.Connection) -> None:
    # Person-level offboarding plans (services/revoke.py, ``plan_person``): one
    # queue plan per provider, tied by ``plan_group``. A ``gate`` step (block
    # new logins at the identity provider) must be settled before any step of
    # another plan of its group may start; the queue's claim checks it.
    conn.execute("ALTER TABLE queue_items ADD COLUMN plan_group TEXT NOT NULL DEFAULT ''")
    conn.execute("ALTER TABLE queue_items ADD COLUMN gate INTEGER NOT NULL DEFAULT 0")
    conn.execute(
        "CREATE INDEX IF NOT EXISTS queue_items_group ON queue_items (plan_group, gate)"
        " WHERE plan_group != ''"
    )


_SCHEMA_8 = """
        CREATE TABLE IF NOT EXISTS policy (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL CHECK (value IN ('true', 'false')),
            seq INTEGER NOT NULL
        )
"""


def _migrate_to_8(conn: sqlite3.Connection) -> None:
    # The operator policy recorded with the data (services/policy_store.py):
    # require_totp, four_eyes_for_privileged, read_only, each with the seq of
    # the operator_policy_change journal entry that set it, so the journal covers it.
    _run_statements(conn, _SCHEMA_8)


def _migrate_to_9(conn: sqlite3.Connection) -> None:
    # Plan order (RevocationQueue.claim, waits_for) asks for a plan's earlier
    # steps on every claim: without this index that is a scan of the whole queue.
    conn.execute("CREATE INDEX IF NOT EXISTS queue_items_plan ON queue_items (plan_id, step_order)")


_SCHEMA_10 = """
        CREATE TABLE IF NOT EXISTS people_history (
            person_id TEXT NOT NULL,
            role TEXT NOT NULL,
            department TEXT NOT NULL DEFAULT '',
            title TEXT NOT NULL DEFAULT '',
            since TEXT NOT NULL,
            until TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX IF NOT EXISTS people_history_person ON people_history (person_id)
"""


def _migrate_to_10(conn: sqlite3.Connection) -> None:
    # Roster history (services/people_history.py): one row each time a person's
    # role (department, title, ...: canonical JSON in ``role``) is seen to change,
    # so a mover's old role is known and their old access can be found. ``source``
    # is 'observed' (pamtui saw it) or the roster source whose job history seeded it.
    _run_statements(conn, _SCHEMA_10)


MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    1: _migrate_to_1,
    2: _migrate_to_2,
    3: _migrate_to_3,
    4: _migrate_to_4,
    5: _migrate_to_5,
    6: _migrate_to_6,
    7: _migrate_to_7,
    8: _migrate_to_8,
    9: _migrate_to_9,
    10: _migrate_to_10,
}


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 inside a 0700 directory, if it is new."""
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        os.close(fd)


SIDECARS = ("-wal", "-shm")
"""SQLite's write-ahead log and its index: whoever can write them can rewrite entries."""


def check_modes(path: Path) -> None:
    """Refuse a journal that anyone on this machine could rewrite.

    The database file, its ``-wal`` and ``-shm`` (SQLite replays the WAL into
    the database, so writing it is writing the journal), and the directory
    holding them (anyone who can write it can replace or remove the files, or
    plant a WAL before pamtui opens the database; the sticky bit does not
    stop the planting) must not be world-writable.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if directory.exists() and directory.stat().st_mode & 0o002:
        raise JournalError(
            f"{directory}: the journal's directory is world-writable, so anyone on this "
            f"machine could replace the journal; move it or fix with: chmod o-w {directory}"
        )
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDECARS)):
        if candidate.exists() and candidate.stat().st_mode & 0o002:
            what = "the journal" if candidate == path else f"the journal's {candidate.name}"
            raise JournalError(
                f"{candidate}: {what} is world-writable, so anyone on this machine could "
                f"rewrite it; fix with: chmod o-w {candidate}"
            )


def connect(
    path: Path, *, read_only: bool = False, busy_timeout_s: float = 5.0
) -> sqlite3.Connection:
    """Open (and for writers, create and migrate) the database at ``path``.

    The connection is in autocommit mode (``isolation_level=None``): callers
    open their own ``BEGIN IMMEDIATE`` transactions so appends from several
    processes serialise into one chain.
    """
    path = Path(path).expanduser()
    check_modes(path)
    for candidate in (path, *(path.with_name(path.name + s) for s in SIDECARS)):
        if candidate.is_dir():  # SQLite says only "disk I/O error"
            raise JournalUnavailable(f"{candidate} is a directory, not the journal's file")
    try:
        if read_only:
            if not path.exists():
                raise JournalError(f"no journal at {path}")
            conn = _open_read_only(path, busy_timeout_s)
        else:
            try:
                _create_private_file(path)
            except OSError as exc:  # a read-only data dir, a file where a directory goes
                raise JournalUnavailable(
                    f"cannot create the journal at {path}: {exc.strerror or exc}"
                ) from None
            conn = sqlite3.connect(
                path, isolation_level=None, timeout=busy_timeout_s, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _migrate(conn)
        conn.execute("PRAGMA foreign_keys=ON")
    except sqlite3.OperationalError as exc:
        raise JournalUnavailable(f"cannot open the journal at {path}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path} is not a pamtui journal: {exc}") from exc
    return conn


_NO_SIDE_FILES = (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN)
"""What SQLite answers a read-only open that needs a ``-shm`` it cannot create."""


def _open_read_only(path: Path, busy_timeout_s: float) -> sqlite3.Connection:
    """A read-only connection, also to a copy in a directory this account cannot write.

    SQLite reads a WAL-mode file (every journal and archive) through its
    ``-shm``, creating it (and ``-wal``) when missing: impossible in a
    read-only directory, such as an auditor's read-only copy. The file alone
    is then complete only when no ``-wal`` holds entries not yet checkpointed
    into it; then a file that cannot change (:func:`_unchanging`) is read as
    it is (``immutable=1``: no side files, no locks). A non-empty ``-wal`` is
    never ignored: the open is refused.
    """
    try:
        return _probe(_sqlite_ro(path, {"mode": "ro"}, busy_timeout_s), path)
    except sqlite3.OperationalError as exc:
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
        if code not in _NO_SIDE_FILES or not os.access(path, os.R_OK):
            raise
    wal = path.with_name(path.name + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise JournalUnavailable(
            f"{wal} holds entries not yet in {path.name}, and SQLite can read them only by "
            f"creating {path.name}-shm in {path.parent}, which cannot be written here: copy "
            f"{path.name} and {wal.name} to a writable directory, or checkpoint the journal "
            "(close every pamtui using it) before copying it"
        )
    if not _unchanging(path):
        raise JournalUnavailable(
            f"cannot read {path} here: SQLite needs to create {path.name}-shm in "
            f"{path.parent}, which cannot be written; if it is a copy, make it read-only "
            f"(chmod a-w {path}) or copy it to a writable directory"
        )
    return _probe(_sqlite_ro(path, {"mode": "ro", "immutable": "1"}, busy_timeout_s), path)


def _unchanging(path: Path) -> bool:
    """Whether no writer could change ``path`` while it is read without locks.

    ``immutable=1`` takes no locks: a writer checkpointing into the file
    meanwhile (a live journal in a directory this account cannot write)
    could be read half-written, a false "edited" verdict at best. A file
    nobody may write (no write bit: a copy made read-only), or one on a
    read-only file system, stays as it is.
    """
    if not path.stat().st_mode & 0o222:
        return True
    return bool(os.statvfs(path).f_flag & os.ST_RDONLY)


def _sqlite_ro(path: Path, options: dict[str, str], busy_timeout_s: float) -> sqlite3.Connection:
    return sqlite3.connect(
        sqlite_uri(path, **options),
        uri=True,
        isolation_level=None,
        timeout=busy_timeout_s,
        check_same_thread=False,
    )


def _probe(conn: sqlite3.Connection, path: Path) -> sqlite3.Connection:
    """Read the header now (SQLite reads the file only at the first query).

    So a --db that is no database, or not a pamtui one, fails here, in one line.
    """
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    except BaseException:
        conn.close()
        raise
    if version == 0:
        conn.close()
        raise JournalError(f"{path} is not a pamtui journal (no journal schema)")
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise JournalError(
            f"the journal's schema version {current} is newer than this pamtui "
            f"understands ({SCHEMA_VERSION}); upgrade pamtui"
        )
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Read again under the lock: another process opening the journal at the same
            # time may have run this step since; running it twice failed the open.
            if conn.execute("PRAGMA user_version").fetchone()[0] >= version:
                conn.execute("COMMIT")
                continue
            MIGRATIONS[version](conn)
            conn.execute(f"PRAGMA user_version={version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
