"""Operator security: TOTP enrollment and step-up for dangerous actions.

- The operator's TOTP secret lives in the OS keyring (service ``pamtui-totp``,
  username = the operator's login), never in the journal or the config.
  :meth:`KeyringStore.backend_warning` says loudly when the active keyring
  backend keeps secrets in plain text, or when there is no backend at all.
- :func:`enroll` makes a secret and its ``otpauth://`` URI (:func:`qr_text`
  draws it for a phone); :func:`confirm_enrollment` stores the secret only
  once a first code from the authenticator verifies.
- :class:`StepUp` checks a code before a revocation is executed or approved:
  one step either side of now is accepted, a step is accepted once only
  (the last accepted step is kept in the ``mfa_state`` table of the journal's
  database, so replay protection survives a restart and is shared by every
  process on that database), and ``max_failures`` consecutive failures lock
  step-up for ``lockout``. Every success and failure is journalled - the code
  and the secret never are.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pyotp

from pamtui.errors import PamtuiError

if TYPE_CHECKING:  # keyring costs ~100 ms to import: only when a secret is touched
    import keyring.backend
from pamtui.journal import Journal, JournalError, Transaction, timestamp

SERVICE = "pamtui-totp"
ISSUER = "pamtui"
STEP_SECONDS = 30
VALID_WINDOW = 1
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCKOUT = timedelta(minutes=5)

Clock = Callable[[], float]

_STATE_TABLE = """
    CREATE TABLE IF NOT EXISTS mfa_state (
        operator TEXT PRIMARY KEY,
        last_step INTEGER NOT NULL DEFAULT -1,
        failures INTEGER NOT NULL DEFAULT 0,
        locked_until TEXT NOT NULL DEFAULT ''
    )
"""

# Fragments of a backend's module.Class name that mean "not a safe place for a secret".
_PLAINTEXT_MARKS = ("plaintext", "uncrypted", "unencrypted")
_NO_BACKEND_MARKS = ("fail", "null")

SAFER_CHOICES = (
    "Use a backend that encrypts: Secret Service (gnome-keyring or KWallet) on a desktop; "
    "on a headless server run pamtui under `dbus-run-session` after "
    "`gnome-keyring-daemon --unlock`, or install keyrings.cryptfile and protect it with "
    "a passphrase; macOS Keychain and Windows Credential Locker are used automatically. "
    "Select it with PYTHON_KEYRING_BACKEND or keyringrc.cfg "
    "(`python -m keyring diagnose` shows where that file goes)."
)


class MfaError(PamtuiError):
    """Enrollment or the keyring failed; the message is for operators."""


class StepUpError(MfaError):
    """A step-up code was refused; the message is for operators."""


# -- the keyring -------------------------------------------------------------


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _weakness(backend: keyring.backend.KeyringBackend) -> tuple[str, str] | None:
    """``("plaintext"|"none", name)`` for a backend unfit for a secret, else None."""
    chained = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend" and chained is not None:
        chained = list(chained)
        if not chained:
            return "none", _backend_name(backend)
        # Writes land in the first backend of the chain.
        return _weakness(chained[0])
    name = _backend_name(backend)
    lowered = name.lower()
    if any(mark in lowered for mark in _PLAINTEXT_MARKS):
        return "plaintext", name
    if any(mark in lowered for mark in _NO_BACKEND_MARKS):
        return "none", name
    return None


class KeyringStore:
    """The operator's TOTP secret in the OS keyring (service ``pamtui-totp``).

    ``backend`` defaults to keyring's configured backend, looked up at each
    call (``PYTHON_KEYRING_BACKEND``, keyringrc.cfg, or auto-detection).
    """

    def __init__(
        self,
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        service: str = SERVICE,
    ) -> None:
        self._backend = backend
        self.service = service

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        if self._backend is not None:
            return self._backend
        import keyring

        return keyring.get_keyring()

    @property
    def backend_name(self) -> str:
        return _backend_name(self.backend)

    def backend_warning(self, what: str = "the TOTP secret") -> str | None:
        """A loud warning (starting ``WARNING:``) when ``what`` would be kept in plain text
        or nowhere: ``what`` names the secret (the TOTP secret, a provider's secret)."""
        try:
            weakness = _weakness(self.backend)
        except Exception as exc:
            return (
                f"WARNING: the keyring could not be initialised ({exc}): pamtui cannot "
                f"store {what}. {SAFER_CHOICES}"
            )
        if weakness is None:
            return None
        kind, name = weakness
        if kind == "plaintext":
            harm = "generate your step-up codes" if what == "the TOTP secret" else f"read {what}"
            return (
                f"WARNING: the keyring backend {name} stores secrets in PLAIN TEXT "
                f"(at best base64-encoded) in a file: anyone who can read it can {harm}. "
                f"{SAFER_CHOICES}"
            )
        return (
            f"WARNING: no usable keyring backend ({name}): pamtui cannot store {what}. "
            f"{SAFER_CHOICES}"
        )

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        import keyring.errors

        try:
            return fn()
        except MfaError:
            raise
        except keyring.errors.NoKeyringError as exc:
            raise MfaError(
                f"cannot {what}: no keyring backend is available. {SAFER_CHOICES}"
            ) from exc
        except keyring.errors.KeyringLocked as exc:
            raise MfaError(f"cannot {what}: the keyring is locked ({exc}); unlock it") from exc
        except Exception as exc:
            raise MfaError(
                f"cannot {what} in the keyring ({self._safe_name()}): {type(exc).__name__}: {exc}"
            ) from exc

    def _safe_name(self) -> str:
        try:
            return self.backend_name
        except Exception:
            return "unknown backend"

    @staticmethod
    def _check_operator(operator: str) -> None:
        if not operator:
            raise MfaError("no operator login: cannot look up a TOTP secret")

    def get(self, operator: str) -> str | None:
        self._check_operator(operator)
        secret: str | None = self._call(
            "read the TOTP secret", lambda: self.backend.get_password(self.service, operator)
        )
        return secret

    def set(self, operator: str, secret: str) -> None:
        self._check_operator(operator)
        self._call(
            "store the TOTP secret",
            lambda: self.backend.set_password(self.service, operator, secret),
        )

    def delete(self, operator: str) -> bool:
        """Remove the secret; False if there was none."""
        self._check_operator(operator)
        if self.get(operator) is None:
            return False
        try:
            self._call(
                "delete the TOTP secret",
                lambda: self.backend.delete_password(self.service, operator),
            )
        except MfaError as exc:
            import keyring.errors

            if isinstance(exc.__cause__, keyring.errors.PasswordDeleteError):
                return False
            raise
        return True


# -- shared state in the journal's database ------------------------------------


@dataclass(frozen=True)
class _State:
    last_step: int = -1
    failures: int = 0
    locked_until: float | None = None


def _ensure_table(journal: Journal) -> None:
    if not journal.read_only:
        journal.conn.execute(_STATE_TABLE)


def _read_state(conn: Any, operator: str) -> _State:
    try:
        row = conn.execute(
            "SELECT last_step, failures, locked_until FROM mfa_state WHERE operator = ?",
            (operator,),
        ).fetchone()
    except Exception as exc:  # no table yet (a read-only journal never created it)
        if "no such table" in str(exc):
            return _State()
        raise
    if row is None:
        return _State()
    last_step, failures, locked_until = row
    until = (
        datetime.fromisoformat(locked_until.replace("Z", "+00:00")).timestamp()
        if locked_until
        else None
    )
    return _State(last_step, failures, until)


def _write_state(tx: Transaction, operator: str, state: _State) -> None:
    until = (
        timestamp(datetime.fromtimestamp(state.locked_until, UTC))
        if state.locked_until is not None
        else ""
    )
    tx.execute(
        "INSERT INTO mfa_state (operator, last_step, failures, locked_until) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (operator) DO UPDATE SET "
        "last_step = excluded.last_step, failures = excluded.failures, "
        "locked_until = excluded.locked_until",
        (operator, state.last_step, state.failures, until),
    )


def _clock_time(epoch: float) -> str:
    """HH:MM in the operator's local time."""
    return datetime.fromtimestamp(epoch).astimezone().strftime("%H:%M")


def _normalise(code: str) -> str:
    return "".join(str(code).split())


def _matching_steps(secret: str, code: str, now: float) -> list[int]:
    """The steps within the window (now-1 .. now+1) whose code equals ``code``."""
    code = _normalise(code)
    if not code.isdigit():
        return []
    totp = pyotp.TOTP(secret)
    step = int(now // STEP_SECONDS)
    found = []
    for candidate in range(step - VALID_WINDOW, step + VALID_WINDOW + 1):
        expected = totp.at(candidate * STEP_SECONDS)
        if hmac.compare_digest(expected.encode(), code.encode()):
            found.append(candidate)
    return found


# -- enrollment --------------------------------------------------------------


@dataclass(frozen=True)
class Enrollment:
    secret: str = field(repr=False)
    uri: str = field(repr=False)
    warning: str | None = None
    """The keyring backend warning, if any: show it before the QR code."""
    replacing: bool = False
    """The operator is already enrolled: confirming replaces the old secret."""


@dataclass(frozen=True)
class MfaStatus:
    operator: str
    enrolled: bool
    backend: str
    warning: str | None
    failures: int = 0
    locked_until: float | None = None

    def describe(self) -> str:
        lines = [
            f"operator {self.operator}: "
            + ("enrolled for TOTP step-up" if self.enrolled else "NOT enrolled for TOTP"),
            f"keyring backend: {self.backend}",
        ]
        if self.locked_until is not None:
            lines.append(f"step-up locked until {_clock_time(self.locked_until)}")
        elif self.failures:
            attempts = "attempt" if self.failures == 1 else "attempts"
            lines.append(f"{self.failures} failed step-up {attempts} since the last success")
        if self.warning:
            lines.append(self.warning)
        return "\n".join(lines)


def enroll(operator: str, store: KeyringStore) -> Enrollment:
    """A new secret and its otpauth:// URI; nothing is stored yet.

    Fails (MfaError) before showing anything when the keyring cannot be used,
    so an operator never scans a secret that cannot be kept.
    """
    existing = store.get(operator)  # raises MfaError if there is no backend
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=operator, issuer_name=ISSUER)
    return Enrollment(secret, uri, store.backend_warning(), existing is not None)


def confirm_enrollment(
    operator: str,
    secret: str,
    code: str,
    store: KeyringStore,
    journal: Journal,
    *,
    clock: Clock = time.time,
) -> None:
    """Store ``secret`` once ``code`` (from the authenticator) verifies; journal it.

    A wrong code stores nothing (MfaError) and is journalled as
    ``mfa_enroll_failed``. The confirming code's step counts as used: it
    cannot be replayed for a step-up.
    """
    now = clock()
    steps = _matching_steps(secret, code, now)
    _ensure_table(journal)
    if not steps:
        journal.append(
            operator,
            "mfa_enroll_failed",
            subject=operator,
            detail={"result": "wrong_code", "backend": store.backend_name},
        )
        raise MfaError(
            "that code does not match the new secret: nothing was stored. Check the "
            "phone's clock and enter the code currently shown"
        )
    previous = store.get(operator)
    stored = False
    try:
        with journal.transaction() as tx:
            state = _read_state(tx.conn, operator)
            tx.append(
                operator,
                "mfa_enrolled",
                subject=operator,
                detail={
                    "result": "replaced" if previous is not None else "enrolled",
                    "backend": store.backend_name,
                    "plaintext_backend": store.backend_warning() is not None,
                },
            )
            _write_state(
                tx,
                operator,
                _State(max(state.last_step, steps[0]), state.failures, state.locked_until),
            )
            # Last inside the transaction: a keyring failure rolls the entry back.
            store.set(operator, secret)
            stored = True
    except JournalError as exc:
        if stored:  # the secret is in but unannounced: put the old one back
            _restore(store, operator, previous)
        raise MfaError(f"cannot record the enrollment in the journal: {exc}") from exc


def _restore(store: KeyringStore, operator: str, previous: str | None) -> None:
    try:
        if previous is None:
            store.delete(operator)
        else:
            store.set(operator, previous)
    except MfaError:
        pass


def status(operator: str, store: KeyringStore, journal: Journal | None = None) -> MfaStatus:
    """Is ``operator`` enrolled; which backend; lockout state if a journal is given."""
    state = _read_state(journal.conn, operator) if journal is not None else _State()
    try:
        enrolled = store.get(operator) is not None
    except MfaError:
        enrolled = False
    try:
        backend = store.backend_name
    except Exception as exc:
        backend = f"unavailable ({exc})"
    return MfaStatus(
        operator,
        enrolled,
        backend,
        store.backend_warning(),
        failures=state.failures,
        locked_until=state.locked_until,
    )


# -- QR code -------------------------------------------------------------------


def qr_text(uri: str, *, border: int = 2, dark_terminal: bool = True) -> str:
    """``uri`` as a QR code drawn with Unicode half blocks, two rows per line.

    ``dark_terminal`` (the usual case) draws the *light* modules with blocks so
    the code reads dark-on-light once the terminal's background fills the
    dark modules; pass False for light-background terminals.
    Raises MfaError when the ``qrcode`` package is not installed.
    """
    try:
        import qrcode
    except ImportError as exc:
        raise MfaError(
            "cannot draw a QR code: the qrcode package is not installed "
            "(pip install qrcode); enter the otpauth:// URI by hand instead"
        ) from exc
    qr = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(uri)
    qr.make(fit=True)
    matrix = [[bool(cell) != dark_terminal for cell in row] for row in qr.get_matrix()]
    # ``True`` now means "draw a block here".
    width = len(matrix[0]) if matrix else 0
    if len(matrix) % 2:
        matrix.append([False] * width)
    glyphs = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    lines = []
    for top, bottom in zip(matrix[0::2], matrix[1::2], strict=True):
        lines.append("".join(glyphs[pair] for pair in zip(top, bottom, strict=True)))
    return "\n".join(lines)


# -- step-up -----------------------------------------------------------------


class StepUp:
    """Asks for a current TOTP code before a revocation is executed or approved."""

    def __init__(
        self,
        journal: Journal,
        store: KeyringStore,
        operator: str,
        *,
        max_failures: int = DEFAULT_MAX_FAILURES,
        lockout: timedelta = DEFAULT_LOCKOUT,
        clock: Clock = time.time,
    ) -> None:
        self.journal = journal
        self.store = store
        self.operator = operator
        self.max_failures = max(1, max_failures)
        self.lockout = lockout
        self.clock = clock
        _ensure_table(journal)

    def enrolled(self) -> bool:
        return self.store.get(self.operator) is not None

    def locked_until(self) -> float | None:
        """Epoch seconds until which step-up is locked, or None."""
        state = _read_state(self.journal.conn, self.operator)
        if state.locked_until is not None and state.locked_until > self.clock():
            return state.locked_until
        return None

    def check(self, code: str, *, subject: str = "") -> None:
        """Accept ``code`` or raise StepUpError; either way the attempt is journalled.

        ``subject`` (e.g. ``queue:12``) names what the step-up is for.
        """
        try:
            secret = self.store.get(self.operator)
        except MfaError as exc:
            self._journal_only("stepup_failed", subject, "keyring_error", None)
            raise StepUpError(f"step-up failed: {exc}") from exc
        if secret is None:
            self._journal_only("stepup_failed", subject, "not_enrolled", None)
            raise StepUpError(
                f"operator {self.operator} is not enrolled for TOTP: run `pamtui mfa enroll`"
            )
        now = self.clock()
        steps = _matching_steps(secret, code, now)
        try:
            with self.journal.transaction() as tx:
                error = self._decide(tx, steps, now, subject)
        except JournalError as exc:
            raise StepUpError(f"step-up refused: cannot write the journal: {exc}") from exc
        if error is not None:
            raise StepUpError(error)

    def _decide(self, tx: Transaction, steps: list[int], now: float, subject: str) -> str | None:
        """Inside the writer lock: update the state, journal, and return the refusal."""
        state = _read_state(tx.conn, self.operator)
        if state.locked_until is not None and state.locked_until > now:
            tx.append(
                self.operator,
                "stepup_locked",
                subject=subject,
                detail={
                    "result": "refused_while_locked",
                    "failures": state.failures,
                    "locked_until": _iso(state.locked_until),
                },
            )
            return (
                f"step-up is locked after {self.max_failures} failed codes: try again "
                f"after {_clock_time(state.locked_until)}"
            )
        if state.locked_until is not None:  # the lockout has passed: a fresh start
            state = _State(state.last_step, 0, None)
        fresh = [s for s in steps if s > state.last_step]
        if fresh:
            _write_state(tx, self.operator, _State(fresh[0], 0, None))
            tx.append(
                self.operator,
                "stepup_ok",
                subject=subject,
                detail={"result": "ok", "failures": 0},
            )
            return None
        result = "replayed" if steps else "wrong_code"
        failures = state.failures + 1
        locked = failures >= self.max_failures
        until = now + self.lockout.total_seconds() if locked else None
        _write_state(tx, self.operator, _State(state.last_step, failures, until))
        tx.append(
            self.operator,
            "stepup_failed",
            subject=subject,
            detail={"result": result, "failures": failures},
        )
        reason = "that code was already used: wait for the next one" if steps else "wrong code"
        if locked:
            assert until is not None
            tx.append(
                self.operator,
                "stepup_locked",
                subject=subject,
                detail={"result": "locked", "failures": failures, "locked_until": _iso(until)},
            )
            return (
                f"{reason}; {failures} failures in a row: step-up is locked until "
                f"{_clock_time(until)}"
            )
        return f"{reason} ({failures} of {self.max_failures} attempts before a lockout)"

    def _journal_only(self, action: str, subject: str, result: str, failures: int | None) -> None:
        detail: dict[str, Any] = {"result": result}
        if failures is not None:
            detail["failures"] = failures
        try:
            self.journal.append(self.operator, action, subject=subject, detail=detail)
        except JournalError as exc:
            raise StepUpError(f"step-up refused: cannot write the journal: {exc}") from exc


def _iso(epoch: float) -> str:
    return timestamp(datetime.fromtimestamp(epoch, UTC))
