"""The server-held TOTP store: operators' secrets, allowances and lockouts.

TOTP secrets used to live in each operator's OS keyring, so whoever ran
pamtui under a name (``USER=alice``) could replace that name's enrolment
and lock it out. They now live in one SQLite file beside the database,
``<db>-totp``, which only the account that owns the database may read:

- created on first use with mode 0600 (``O_EXCL | O_NOFOLLOW``, whatever the
  umask), its own schema, never part of the journal (no secret ever enters
  the journal);
- refused, with one line naming the file, when it is a symbolic link, not a
  regular file, readable or writable by group or others, or owned by another
  account: a secret store anyone can read is worse than none;
- ``enrolments``: one secret per operator; ``allowances``: an admin's
  permission for an operator's first enrolment; ``replay``: the last step
  accepted per operator (a code is good once, whoever sends it);
  ``failures``: failed codes and lockouts per operator *and* principal (the
  real uid of the process that sent them), so a name typed by someone else
  never locks out the person it names; ``keyring_checked``: operators whose
  keyring enrolment has been looked for (and migrated) once.

This module only keeps rows; the rules (who may enrol, what a step-up
accepts, what is journalled) are in ``services/mfa.py`` and
``services/enrolment.py``.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from pamtui import kept_files
from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.sqlite_tx import immediate_transaction

SUFFIX = "-totp"
FILE_MODE = 0o600
SCHEMA_VERSION = 1

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS enrolments (
    operator TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    source TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS allowances (
    operator TEXT PRIMARY KEY,
    allowed_by TEXT NOT NULL,
    allowed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS replay (operator TEXT PRIMARY KEY, last_step INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
    operator TEXT NOT NULL,
    principal TEXT NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL,
    PRIMARY KEY (operator, principal)
);
CREATE TABLE IF NOT EXISTS keyring_checked (operator TEXT PRIMARY KEY, checked_at REAL NOT NULL);
"""


class TotpStoreError(PamtuiError):
    """The TOTP store cannot be used safely; one line naming the file (exit 2)."""

    exit_code = EXIT_USAGE


def local_principal() -> str:
    """Who this process really is: its real uid (never ``USER`` or ``LOGNAME``)."""
    return f"uid:{os.getuid()}"


def store_path(db_path: Path | str) -> Path:
    return kept_files.TOTP.at(db_path)


@dataclass(frozen=True)
class Lockout:
    failures: int = 0
    locked_until: float | None = None


@dataclass(frozen=True)
class Allowance:
    operator: str
    allowed_by: str
    allowed_at: float


@dataclass(frozen=True)
class Enrolment:
    operator: str
    secret: str = field(repr=False)
    enrolled_at: float
    source: str
    """``enrolled`` (confirmed with a code) or ``keyring`` (migrated once)."""


def check_file(path: Path) -> None:
    """Refuse a store that is a link, not a file, shared with others, or not ours."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise TotpStoreError(f"TOTP store {path}: {exc.strerror}") from None
    _check_stat(path, info)


def _check_stat(path: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode):
        raise TotpStoreError(
            f"TOTP store {path} is a symbolic link: refusing to use it "
            "(the store must be a regular file beside the database)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise TotpStoreError(f"TOTP store {path} is not a regular file: refusing to use it")
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise TotpStoreError(
            f"TOTP store {path} is readable or writable by group or others "
            f"(mode {mode:04o}): refusing to use it; fix with: chmod 600 {path}"
        )
    if info.st_uid != os.geteuid():
        raise TotpStoreError(
            f"TOTP store {path} belongs to uid {info.st_uid}, not to this account "
            f"(uid {os.geteuid()}): refusing to use it"
        )


def _create(path: Path) -> None:
    """Create the empty file 0600; a file that appeared meanwhile is checked instead."""
    if not path.parent.is_dir():
        raise TotpStoreError(f"TOTP store {path}: directory {path.parent} does not exist")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    except FileExistsError:
        check_file(path)
        return
    except OSError as exc:
        raise TotpStoreError(f"cannot create the TOTP store {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
    finally:
        os.close(fd)


class TotpStore:
    """The ``<db>-totp`` file; opened (and created, 0600) on first use."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 5.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._conn: sqlite3.Connection | None = None

    @classmethod
    def beside(cls, db_path: Path | str) -> TotpStore:
        """The store of the database at ``db_path``; nothing is opened yet."""
        return cls(store_path(db_path))

    def exists(self) -> bool:
        return os.path.lexists(self.path)

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        if not self.exists():
            _create(self.path)
        check_file(self.path)
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
        except OSError as exc:
            raise TotpStoreError(f"TOTP store {self.path}: {exc.strerror}") from None
        try:
            before = os.fstat(fd)
            _check_stat(self.path, before)
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        finally:
            os.close(fd)
        # The name still leads to the file that was checked (no swap in between).
        try:
            after = os.lstat(self.path)
        except OSError:
            after = None
        if after is None or not os.path.samestat(before, after):
            conn.close()
            raise TotpStoreError(f"TOTP store {self.path} changed while it was opened: refusing")
        try:
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.Error as exc:
            conn.close()
            raise TotpStoreError(f"TOTP store {self.path} is not usable: {exc}") from exc
        return conn

    def close(self) -> None:
        if self._conn is not None:
            with suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: one writer at a time, across processes.

        Only a failure to begin is a :class:`TotpStoreError`; anything raised
        later rolls back and propagates unchanged.
        """
        conn = self.conn
        with ExitStack() as stack:
            try:
                stack.enter_context(immediate_transaction(conn))
            except sqlite3.Error as exc:
                raise TotpStoreError(f"cannot write the TOTP store {self.path}: {exc}") from exc
            yield conn

    # -- reading ---------------------------------------------------------------

    def enrolment(self, operator: str) -> Enrolment | None:
        row = self.conn.execute(
            "SELECT operator, secret, enrolled_at, source FROM enrolments WHERE operator = ?",
            (operator,),
        ).fetchone()
        return Enrolment(*row) if row else None

    def enrolments(self) -> list[Enrolment]:
        rows = self.conn.execute(
            "SELECT operator, secret, enrolled_at, source FROM enrolments ORDER BY operator"
        )
        return [Enrolment(*row) for row in rows]

    def allowance(self, operator: str) -> Allowance | None:
        row = self.conn.execute(
            "SELECT operator, allowed_by, allowed_at FROM allowances WHERE operator = ?",
            (operator,),
        ).fetchone()
        return Allowance(*row) if row else None

    def allowances(self) -> list[Allowance]:
        rows = self.conn.execute(
            "SELECT operator, allowed_by, allowed_at FROM allowances ORDER BY operator"
        )
        return [Allowance(*row) for row in rows]

    def last_step(self, operator: str) -> int:
        row = self.conn.execute(
            "SELECT last_step FROM replay WHERE operator = ?", (operator,)
        ).fetchone()
        return int(row[0]) if row else -1

    def lockout(self, operator: str, principal: str) -> Lockout:
        row = self.conn.execute(
            "SELECT failures, locked_until FROM failures WHERE operator = ? AND principal = ?",
            (operator, principal),
        ).fetchone()
        return Lockout(int(row[0]), row[1]) if row else Lockout()

    def lockouts(self) -> dict[str, dict[str, Lockout]]:
        """Operator -> principal -> failures and lockout."""
        found: dict[str, dict[str, Lockout]] = {}
        for operator, principal, failures, until in self.conn.execute(
            "SELECT operator, principal, failures, locked_until FROM failures"
        ):
            found.setdefault(operator, {})[principal] = Lockout(int(failures), until)
        return found

    def keyring_checked(self, operator: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM keyring_checked WHERE operator = ?", (operator,)
        ).fetchone()
        return row is not None

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    # -- writing (inside ``transaction()``) ---------------------------------------

    @staticmethod
    def put_enrolment(
        tx: sqlite3.Connection, operator: str, secret: str, *, at: float, source: str
    ) -> None:
        tx.execute(
            "INSERT INTO enrolments (operator, secret, enrolled_at, source) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (operator) DO UPDATE SET secret = excluded.secret, "
            "enrolled_at = excluded.enrolled_at, source = excluded.source",
            (operator, secret, at, source),
        )
        tx.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('enrolled_once', '1')")

    @staticmethod
    def delete_enrolment(tx: sqlite3.Connection, operator: str) -> bool:
        return tx.execute("DELETE FROM enrolments WHERE operator = ?", (operator,)).rowcount > 0

    @staticmethod
    def put_allowance(tx: sqlite3.Connection, operator: str, by: str, *, at: float) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO allowances (operator, allowed_by, allowed_at) VALUES (?, ?, ?)",
            (operator, by, at),
        )

    @staticmethod
    def take_allowance(tx: sqlite3.Connection, operator: str) -> bool:
        """Consume the allowance; False when there was none (any more)."""
        return tx.execute("DELETE FROM allowances WHERE operator = ?", (operator,)).rowcount > 0

    @staticmethod
    def put_last_step(tx: sqlite3.Connection, operator: str, step: int) -> None:
        tx.execute(
            "INSERT INTO replay (operator, last_step) VALUES (?, ?) ON CONFLICT (operator) "
            "DO UPDATE SET last_step = MAX(last_step, excluded.last_step)",
            (operator, step),
        )

    @staticmethod
    def put_lockout(tx: sqlite3.Connection, operator: str, principal: str, state: Lockout) -> None:
        tx.execute(
            "INSERT INTO failures (operator, principal, failures, locked_until) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (operator, principal) DO UPDATE SET "
            "failures = excluded.failures, locked_until = excluded.locked_until",
            (operator, principal, state.failures, state.locked_until),
        )

    @staticmethod
    def clear_lockouts(tx: sqlite3.Connection, operator: str) -> None:
        tx.execute("DELETE FROM failures WHERE operator = ?", (operator,))

    @staticmethod
    def mark_keyring_checked(tx: sqlite3.Connection, operator: str, *, at: float) -> None:
        tx.execute(
            "INSERT OR IGNORE INTO keyring_checked (operator, checked_at) VALUES (?, ?)",
            (operator, at),
        )
