"""TOTP enrolment, only with permission.

An operator may enrol (``pamtui mfa enroll``, or the TUI's first-login
screen) on one of three grounds, checked when the enrolment begins and again,
in the store's writer lock, when it is confirmed:

- ``allowance``: an admin ran ``pamtui operators allow-enrol NAME``; the
  allowance is consumed by the enrolment it allowed;
- ``first_run``: the very first enrolment of a fresh database (the store has
  never held one and the journal records none), so a new installation can
  start without an admin who is already enrolled;
- ``current_code``: re-enrolment, with a code from the device enrolled now
  (checked as a step-up: journalled, counted towards the lockout, good once).

Anything else is refused and journalled (``mfa_enroll_refused``). Losing the
device means an admin's ``pamtui operators reset-totp NAME``
(``services/operators.py``), which leaves an allowance behind.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

import pyotp

from pamtui.journal import EntryFilter, Journal, JournalError
from pamtui.services.keyring_store import KeyringStore
from pamtui.services.mfa import (
    ISSUER,
    Clock,
    StepUp,
    matching_steps,
    migrate_from_keyring,
)
from pamtui.services.mfa_errors import EnrolmentRefused, MfaError
from pamtui.services.totp_store import TotpStore, TotpStoreError

_MINT = object()

GROUNDS = ("allowance", "first_run", "current_code")


def _fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class Enrollment:
    """A new secret, shown to the operator, stored only once a first code confirms it.

    Made only by :func:`begin_enrolment`, which checked the grounds.
    """

    operator: str
    secret: str = field(repr=False)
    uri: str = field(repr=False)
    grounds: str
    replacing: bool = False
    _replaces: str = field(default="", repr=False)
    _mint: object = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._mint is not _MINT:
            raise TypeError("an Enrollment is made only by enrolment.begin_enrolment")


def is_fresh(journal: Journal, store: TotpStore) -> bool:
    """True on the very first enrolment of a new database: nothing enrolled, ever."""
    if store.meta("enrolled_once") is not None or store.enrolments():
        return False
    for action in ("mfa_enrolled", "mfa_migrated"):
        if journal.count(EntryFilter(action=action)):
            return False
    return True


def grounds_for(journal: Journal, store: TotpStore, operator: str) -> str | None:
    """On what grounds ``operator`` may enrol now; None if only an admin can allow it."""
    if store.enrolment(operator) is not None:
        return "current_code"
    if store.allowance(operator) is not None:
        return "allowance"
    if is_fresh(journal, store):
        return "first_run"
    return None


def _refuse(journal: Journal, operator: str, result: str, message: str) -> EnrolmentRefused:
    try:
        journal.append(operator, "mfa_enroll_refused", subject=operator, detail={"result": result})
    except JournalError as exc:
        return EnrolmentRefused(f"{message} (and the journal cannot record it: {exc})")
    return EnrolmentRefused(message)


def begin_enrolment(
    journal: Journal,
    operator: str,
    *,
    current_code: str | None = None,
    store: TotpStore | None = None,
    principal: str | None = None,
    keyring: KeyringStore | None = None,
    clock: Clock = time.time,
) -> Enrollment:
    """A new secret for ``operator``, if they may enrol; nothing is stored yet.

    Re-enrolment checks ``current_code`` now, as a step-up; without it the
    refusal is journalled and raised (:class:`EnrolmentRefused`).
    """
    if not operator:
        raise MfaError("no operator name: cannot enrol")
    store = store or TotpStore.beside(journal.path)
    migrate_from_keyring(journal, store, operator, keyring, clock=clock)
    grounds = grounds_for(journal, store, operator)
    replaces = ""
    if grounds == "current_code":
        if not current_code:
            raise _refuse(
                journal,
                operator,
                "needs_current_code",
                f"operator {operator} is enrolled already: re-enrolment needs a code from "
                f"the current device, or an admin's `pamtui operators reset-totp {operator}`",
            )
        StepUp(journal, operator, store=store, principal=principal, clock=clock).check(
            current_code, subject=f"mfa:re-enrol:{operator}"
        )
        current = store.enrolment(operator)
        replaces = _fingerprint(current.secret) if current else ""
    elif grounds is None:
        raise _refuse(
            journal,
            operator,
            "not_allowed",
            f"operator {operator} may not enrol yet: an admin must allow it first "
            f"(pamtui operators allow-enrol {operator})",
        )
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=operator, issuer_name=ISSUER)
    return Enrollment(
        operator, secret, uri, grounds, grounds == "current_code", replaces, _mint=_MINT
    )


def confirm_enrollment(
    journal: Journal,
    enrollment: Enrollment,
    code: str,
    *,
    store: TotpStore | None = None,
    clock: Clock = time.time,
) -> None:
    """Store the new secret once ``code`` (from the authenticator) verifies; journal it.

    A wrong code stores nothing (MfaError, journalled as ``mfa_enroll_failed``).
    The grounds are checked again under the store's writer lock: an allowance
    is consumed, a fresh database is fresh no more, a re-enrolment replaces
    only the secret its code was checked against. The confirming code's step
    counts as used: it cannot be replayed for a step-up.
    """
    store = store or TotpStore.beside(journal.path)
    operator = enrollment.operator
    steps = matching_steps(enrollment.secret, code, clock())
    if not steps:
        try:
            journal.append(
                operator,
                "mfa_enroll_failed",
                subject=operator,
                detail={"result": "wrong_code", "grounds": enrollment.grounds},
            )
        except JournalError as exc:
            raise MfaError(f"cannot record the failed enrolment in the journal: {exc}") from exc
        raise MfaError(
            "that code does not match the new secret: nothing was stored. Check the "
            "phone's clock and enter the code currently shown"
        )
    now = clock()
    with store.transaction() as tx:
        current = store.enrolment(operator)
        if enrollment.grounds == "current_code":
            still = current is not None and _fingerprint(current.secret) == enrollment._replaces
        elif enrollment.grounds == "allowance":
            still = current is None and TotpStore.take_allowance(tx, operator)
        else:
            still = current is None and is_fresh(journal, store)
        if not still:
            raise _refuse(
                journal,
                operator,
                "changed_meanwhile",
                f"the enrolment of {operator} changed while this one was shown: nothing was "
                "stored; start again",
            )
        TotpStore.put_enrolment(tx, operator, enrollment.secret, at=now, source="enrolled")
        TotpStore.put_last_step(tx, operator, steps[0])
        TotpStore.mark_keyring_checked(tx, operator, at=now)
        try:
            journal.append(
                operator,
                "mfa_enrolled",
                subject=operator,
                detail={
                    "result": "replaced" if enrollment.replacing else "enrolled",
                    "grounds": enrollment.grounds,
                },
            )
        except JournalError as exc:
            raise MfaError(f"cannot record the enrolment in the journal: {exc}") from exc


def first_login_enrolment(
    journal: Journal, operator: str, *, require_totp: bool, read_only: bool = False
) -> Enrollment | None:
    """The enrolment the TUI shows at start: policy requires TOTP, an admin allowed it,
    and the operator has none yet. None otherwise (or when the store cannot be used:
    step-up then says why)."""
    if not require_totp or read_only or journal.read_only:
        return None
    store = TotpStore.beside(journal.path)
    try:
        if grounds_for(journal, store, operator) != "allowance":
            return None
        return begin_enrolment(journal, operator, store=store)
    except (MfaError, TotpStoreError):  # step-up says why, when it is asked for
        return None
    finally:
        store.close()
