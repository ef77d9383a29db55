"""Operator security: TOTP step-up for dangerous actions, against the server-held store.

- Operators' TOTP secrets live in the TOTP store beside the database
  (``services/totp_store.py``, ``<db>-totp``, 0600), not in each operator's
  keyring: whoever runs pamtui under a name can no longer replace that name's
  enrolment. Enrolment (who may, with what) is in ``services/enrolment.py``;
  admins' allowances and resets in ``services/operators.py``.
- A secret still found in the operator's OS keyring (the old home,
  ``services/keyring_store.py``) is moved into the store once, journalled as
  ``mfa_migrated`` (:func:`migrate_from_keyring`), so nobody enrolled before
  is locked out.
- :class:`StepUp` checks a code before a revocation is executed or approved:
  one step either side of now is accepted, a step is accepted once only for
  its operator (whoever sends it; kept in the store, so replay protection
  survives a restart and is shared by every process), and ``max_failures``
  consecutive failures lock step-up for ``lockout``. Failures are counted per
  operator *and* principal (the real uid of the process), so a name typed by
  someone else never locks out the person it names. Every success and
  failure is journalled - the code and the secret never are.
"""

from __future__ import annotations

import contextlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp

from pamtui.journal import Journal, JournalError, timestamp
from pamtui.services.keyring_store import SAFER_CHOICES as SAFER_CHOICES
from pamtui.services.keyring_store import SERVICE as SERVICE
from pamtui.services.keyring_store import KeyringStore as KeyringStore
from pamtui.services.mfa_errors import EnrolmentRefused as EnrolmentRefused
from pamtui.services.mfa_errors import MfaError as MfaError
from pamtui.services.mfa_errors import StepUpError as StepUpError
from pamtui.services.totp_store import Lockout, TotpStore, TotpStoreError, local_principal

ISSUER = "pamtui"
STEP_SECONDS = 30
VALID_WINDOW = 1
DEFAULT_MAX_FAILURES = 5
DEFAULT_LOCKOUT = timedelta(minutes=5)

Clock = Callable[[], float]


def _clock_time(epoch: float) -> str:
    """HH:MM in the operator's local time."""
    return datetime.fromtimestamp(epoch).astimezone().strftime("%H:%M")


def _iso(epoch: float) -> str:
    return timestamp(datetime.fromtimestamp(epoch, UTC))


def _normalise(code: str) -> str:
    return "".join(str(code).split())


def matching_steps(secret: str, code: str, now: float) -> list[int]:
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


def _old_last_step(journal: Journal, operator: str) -> int:
    """The last accepted step kept by earlier versions in the journal's ``mfa_state``."""
    try:
        row = journal.conn.execute(
            "SELECT last_step FROM mfa_state WHERE operator = ?", (operator,)
        ).fetchone()
    except Exception:  # no such table: nothing to carry over
        return -1
    return int(row[0]) if row else -1


# -- the keyring, once -----------------------------------------------------------


def migrate_from_keyring(
    journal: Journal,
    store: TotpStore,
    operator: str,
    keyring: KeyringStore | None = None,
    *,
    clock: Clock = time.time,
) -> bool:
    """Move ``operator``'s keyring enrolment into the store, once; True if one moved.

    Looked for once per operator (even when none is found), never after an
    admin's reset, and never over an enrolment the store already holds. The
    keyring copy is deleted once the move is committed and journalled.
    """
    if journal.read_only or store.enrolment(operator) is not None:
        return False
    if store.keyring_checked(operator):
        return False
    keyring = keyring or KeyringStore()
    try:
        secret = keyring.get(operator)
    except MfaError:
        return False  # no usable keyring now: look again next time
    now = clock()
    with store.transaction() as tx:
        if store.keyring_checked(operator) or store.enrolment(operator) is not None:
            return False  # another process was first
        TotpStore.mark_keyring_checked(tx, operator, at=now)
        if secret is None:
            return False
        TotpStore.put_enrolment(tx, operator, secret, at=now, source="keyring")
        TotpStore.put_last_step(tx, operator, _old_last_step(journal, operator))
        try:
            journal.append(
                operator,
                "mfa_migrated",
                subject=operator,
                detail={"from": "keyring", "backend": keyring.backend_name},
            )
        except JournalError as exc:
            raise MfaError(f"cannot record the TOTP migration in the journal: {exc}") from exc
    with contextlib.suppress(MfaError):  # the store is authoritative; the copy is never read
        keyring.delete(operator)
    return True


# -- status ----------------------------------------------------------------------


@dataclass(frozen=True)
class MfaStatus:
    operator: str
    enrolled: bool
    store: str
    source: str = ""
    allowed: bool = False
    failures: int = 0
    locked_until: float | None = None

    def describe(self) -> str:
        lines = [
            f"operator {self.operator}: "
            + ("enrolled for TOTP step-up" if self.enrolled else "NOT enrolled for TOTP"),
            f"TOTP store: {self.store}",
        ]
        if not self.enrolled:
            lines.append(
                "allowed to enrol: run `pamtui mfa enroll`"
                if self.allowed
                else f"an admin must allow the enrolment: pamtui operators allow-enrol "
                f"{self.operator}"
            )
        if self.locked_until is not None:
            lines.append(f"step-up locked until {_clock_time(self.locked_until)}")
        elif self.failures:
            attempts = "attempt" if self.failures == 1 else "attempts"
            lines.append(f"{self.failures} failed step-up {attempts} since the last success")
        return "\n".join(lines)


def status(
    operator: str,
    journal: Journal,
    *,
    store: TotpStore | None = None,
    principal: str | None = None,
    keyring: KeyringStore | None = None,
    clock: Clock = time.time,
) -> MfaStatus:
    """Is ``operator`` enrolled (after the keyring migration), allowed, locked out.

    A read-only reader (an auditor) never creates the store: without one,
    nobody is enrolled, allowed or locked out, so that is the answer.
    """
    store = store or TotpStore.beside(journal.path)
    if journal.read_only and not store.exists():
        return MfaStatus(operator, False, str(store.path))
    migrate_from_keyring(journal, store, operator, keyring, clock=clock)
    enrolment = store.enrolment(operator)
    lock = store.lockout(operator, principal or local_principal())
    until = lock.locked_until if lock.locked_until and lock.locked_until > clock() else None
    return MfaStatus(
        operator,
        enrolment is not None,
        str(store.path),
        source=enrolment.source if enrolment else "",
        allowed=store.allowance(operator) is not None,
        failures=lock.failures,
        locked_until=until,
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
    """Asks for a current TOTP code before a revocation is executed or approved.

    ``principal`` is who really sends the code (default: this process's real
    uid); failures and lockouts are counted per operator and principal.
    """

    def __init__(
        self,
        journal: Journal,
        operator: str,
        *,
        store: TotpStore | None = None,
        principal: str | None = None,
        keyring: KeyringStore | None = None,
        max_failures: int = DEFAULT_MAX_FAILURES,
        lockout: timedelta = DEFAULT_LOCKOUT,
        clock: Clock = time.time,
    ) -> None:
        self.journal = journal
        self.store = store or TotpStore.beside(journal.path)
        self.operator = operator
        self.principal = principal or local_principal()
        self.keyring = keyring
        self.max_failures = max(1, max_failures)
        self.lockout = lockout
        self.clock = clock

    def _secret(self) -> str | None:
        migrate_from_keyring(
            self.journal, self.store, self.operator, self.keyring, clock=self.clock
        )
        enrolment = self.store.enrolment(self.operator)
        return enrolment.secret if enrolment else None

    def enrolled(self) -> bool:
        return self._secret() is not None

    def locked_until(self) -> float | None:
        """Epoch seconds until which step-up is locked for this principal, or None."""
        state = self.store.lockout(self.operator, self.principal)
        if state.locked_until is not None and state.locked_until > self.clock():
            return state.locked_until
        return None

    def check(self, code: str, *, subject: str = "") -> None:
        """Accept ``code`` or raise StepUpError; either way the attempt is journalled.

        ``subject`` (e.g. ``queue:12``) names what the step-up is for.
        """
        try:
            secret = self._secret()
        except (TotpStoreError, MfaError) as exc:
            self._journal_only(subject, "store_error")
            raise StepUpError(f"step-up failed: {exc}") from exc
        if secret is None:
            self._journal_only(subject, "not_enrolled")
            raise StepUpError(
                f"operator {self.operator} is not enrolled for TOTP: an admin allows it "
                f"(pamtui operators allow-enrol {self.operator}), then run `pamtui mfa enroll`"
            )
        now = self.clock()
        steps = matching_steps(secret, code, now)
        try:
            with self.store.transaction() as tx, self.journal.transaction() as jtx:
                error = self._decide(tx, jtx, steps, now, subject)
        except JournalError as exc:
            raise StepUpError(f"step-up refused: cannot write the journal: {exc}") from exc
        except TotpStoreError as exc:
            raise StepUpError(f"step-up refused: {exc}") from exc
        if error is not None:
            raise StepUpError(error)

    def _decide(self, tx: Any, jtx: Any, steps: list[int], now: float, subject: str) -> str | None:
        """Inside both writer locks: update the store, journal, and return the refusal."""
        state = self.store.lockout(self.operator, self.principal)
        detail: dict[str, Any] = {"principal": self.principal}
        if state.locked_until is not None and state.locked_until > now:
            jtx.append(
                self.operator,
                "stepup_locked",
                subject=subject,
                detail={
                    **detail,
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
            state = Lockout()
        last_step = self.store.last_step(self.operator)
        fresh = [s for s in steps if s > last_step]
        if fresh:
            TotpStore.put_last_step(tx, self.operator, fresh[0])
            TotpStore.put_lockout(tx, self.operator, self.principal, Lockout())
            jtx.append(
                self.operator,
                "stepup_ok",
                subject=subject,
                detail={**detail, "result": "ok", "failures": 0},
            )
            return None
        result = "replayed" if steps else "wrong_code"
        failures = state.failures + 1
        locked = failures >= self.max_failures
        until = now + self.lockout.total_seconds() if locked else None
        TotpStore.put_lockout(tx, self.operator, self.principal, Lockout(failures, until))
        jtx.append(
            self.operator,
            "stepup_failed",
            subject=subject,
            detail={**detail, "result": result, "failures": failures},
        )
        reason = "that code was already used: wait for the next one" if steps else "wrong code"
        if locked:
            assert until is not None
            jtx.append(
                self.operator,
                "stepup_locked",
                subject=subject,
                detail={
                    **detail,
                    "result": "locked",
                    "failures": failures,
                    "locked_until": _iso(until),
                },
            )
            return (
                f"{reason}; {failures} failures in a row: step-up is locked until "
                f"{_clock_time(until)}"
            )
        return f"{reason} ({failures} of {self.max_failures} attempts before a lockout)"

    def _journal_only(self, subject: str, result: str) -> None:
        detail: dict[str, Any] = {"principal": self.principal, "result": result}
        try:
            self.journal.append(self.operator, "stepup_failed", subject=subject, detail=detail)
        except JournalError as exc:
            raise StepUpError(f"step-up refused: cannot write the journal: {exc}") from exc
