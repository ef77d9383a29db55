"""Operators' TOTP enrolment as an admin manages it: allow, reset, list.

- ``allow_enrol``: an admin lets an operator enrol for the first time
  (``pamtui operators allow-enrol NAME``); journalled as ``enrol_allowed``.
- ``reset_totp``: an admin removes an operator's enrolment after a lost
  device, clears their lockouts and leaves an allowance, so the operator
  enrols again (``pamtui operators reset-totp NAME``); journalled as
  ``totp_reset``, with the admin's own step-up.
- ``list_operators``: each operator's enrolment, lockout and allowance.

Who is an admin is decided by one function, :func:`is_admin`, so that the
roles of ``[[operators]]`` can answer it later. Every refusal is journalled.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.journal import Journal, JournalError
from pamtui.model import Actor
from pamtui.services import roles
from pamtui.services.mfa import Clock, StepUp, migrate_from_keyring
from pamtui.services.mfa_errors import MfaError, StepUpError
from pamtui.services.totp_store import TotpStore, local_principal

_MAX_NAME = 64


class NotAdmin(MfaError):
    """The operator asking is not an admin (exit 1: a rule refused who asked)."""


class BadOperatorName(PamtuiError):
    """The NAME given names no operator that could exist (exit 2)."""

    exit_code = EXIT_USAGE


class AlreadyEnrolled(PamtuiError):
    """``allow-enrol`` for an operator who is enrolled: reset-totp is the verb (exit 2)."""

    exit_code = EXIT_USAGE


def _owner(db_path: Path) -> tuple[int] | None:
    try:
        return (os.stat(db_path).st_uid,)
    except OSError:
        return None


def is_admin(actor: Actor, db_path: Path | str) -> bool:
    """May ``actor`` manage operators' enrolment on the database at ``db_path``?

    The ``admin`` role (``services/roles.py``: from ``[[operators]]``; in local
    mode without that table the OS account holds every role). A local actor
    must also run as the account that owns the database, or as root (its real
    uid): the store is that account's. An SSH actor was authenticated by the
    service, which owns the database.
    """
    if not roles.is_admin(actor):
        return False
    if actor.via == "ssh":
        return True
    owner = _owner(Path(db_path).expanduser())
    return owner is not None and os.getuid() in (owner[0], 0)


def check_name(name: str) -> str:
    if not name or len(name) > _MAX_NAME or not name.isprintable() or name != name.strip():
        raise BadOperatorName(
            f"{name!r} is not an operator name (1 to {_MAX_NAME} printable characters, "
            "no surrounding spaces)"
        )
    return name


@dataclass(frozen=True)
class OperatorState:
    name: str
    enrolled: bool
    enrolled_at: float | None
    source: str
    allowed: bool
    allowed_by: str
    failures: int
    locked_until: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "enrolled": self.enrolled,
            "enrolled_at": self.enrolled_at,
            "source": self.source,
            "allowed_to_enrol": self.allowed,
            "allowed_by": self.allowed_by,
            "failures": self.failures,
            "locked_until": self.locked_until,
        }


def list_operators(store: TotpStore, *, clock: Clock = time.time) -> list[OperatorState]:
    """Everyone the store knows: enrolled, allowed, or with failed codes.

    ``failures`` adds up every principal's; ``locked_until`` is the latest
    lockout still running for any of them.
    """
    now = clock()
    enrolments = {e.operator: e for e in store.enrolments()}
    allowances = {a.operator: a for a in store.allowances()}
    lockouts = store.lockouts()
    states = []
    for name in sorted(set(enrolments) | set(allowances) | set(lockouts)):
        enrolment, allowance = enrolments.get(name), allowances.get(name)
        locks = lockouts.get(name, {}).values()
        running = [lk.locked_until for lk in locks if lk.locked_until and lk.locked_until > now]
        states.append(
            OperatorState(
                name,
                enrolment is not None,
                enrolment.enrolled_at if enrolment else None,
                enrolment.source if enrolment else "",
                allowance is not None,
                allowance.allowed_by if allowance else "",
                sum(lk.failures for lk in locks),
                max(running) if running else None,
            )
        )
    return states


def _journal(
    journal: Journal, actor: str, action: str, subject: str, detail: dict[str, Any]
) -> None:
    try:
        journal.append(actor, action, subject=subject, detail=detail)
    except JournalError as exc:
        raise MfaError(f"refused: cannot write the journal: {exc}") from exc


def require_admin(journal: Journal, actor: Actor, verb: str, name: str) -> None:
    admin = actor.name
    if is_admin(actor, journal.path):
        return
    _journal(
        journal,
        admin,
        "operators_refused",
        f"operator:{name}",
        {"verb": verb, "result": "not_admin"},
    )
    raise NotAdmin(
        f"{verb} {name}: {admin} is not an admin of this database (it needs the admin "
        f"role, roles: {roles.role_names(actor)}; locally, also the account that owns "
        "the database, or root)"
    )


def _admin_step_up(
    journal: Journal,
    store: TotpStore,
    admin: str,
    code: str | None,
    subject: str,
    *,
    required: bool,
    principal: str | None,
    clock: Clock,
) -> None:
    """The admin's own step-up: always when enrolled; refused if ``required`` and not."""
    migrate_from_keyring(journal, store, admin, clock=clock)
    if store.enrolment(admin) is None:
        if not required:
            return
        _journal(journal, admin, "stepup_failed", subject, {"result": "not_enrolled"})
        raise StepUpError(
            f"{admin} is not enrolled for TOTP: an admin's step-up is required for this "
            "(enrol first: pamtui mfa enroll)"
        )
    if not code:
        raise StepUpError(f"a TOTP code from {admin} (the admin) is required for this")
    StepUp(journal, admin, store=store, principal=principal, clock=clock).check(
        code, subject=subject
    )


def allow_enrol(
    journal: Journal,
    actor: Actor,
    name: str,
    *,
    code: str | None = None,
    store: TotpStore | None = None,
    principal: str | None = None,
    clock: Clock = time.time,
) -> None:
    """Let ``name`` enrol once; the admin steps up when enrolled themselves."""
    name = check_name(name)
    store = store or TotpStore.beside(journal.path)
    admin = actor.name
    require_admin(journal, actor, "allow-enrol", name)
    if store.enrolment(name) is not None:
        raise AlreadyEnrolled(
            f"{name} is enrolled already: a lost device is reset with "
            f"pamtui operators reset-totp {name}"
        )
    subject = f"operator:{name}"
    _admin_step_up(
        journal, store, admin, code, subject, required=False, principal=principal, clock=clock
    )
    with store.transaction() as tx:
        TotpStore.put_allowance(tx, name, admin, at=clock())
        _journal(journal, admin, "enrol_allowed", subject, {"operator": name})


def reset_totp(
    journal: Journal,
    actor: Actor,
    name: str,
    *,
    code: str | None = None,
    store: TotpStore | None = None,
    principal: str | None = None,
    clock: Clock = time.time,
) -> bool:
    """Remove ``name``'s enrolment and lockouts and allow a new enrolment.

    Needs the admin's step-up (so the admin must be enrolled), and another
    admin than the operator reset: whoever has lost their device cannot
    prove who they are with it. Returns whether there was an enrolment.
    """
    name = check_name(name)
    store = store or TotpStore.beside(journal.path)
    admin = actor.name
    require_admin(journal, actor, "reset-totp", name)
    subject = f"operator:{name}"
    if name == admin:
        _journal(
            journal, admin, "operators_refused", subject, {"verb": "reset-totp", "result": "self"}
        )
        raise NotAdmin(
            f"reset-totp {name}: an admin cannot reset their own TOTP; re-enrol with a code "
            "from the current device (pamtui mfa enroll) or ask another admin "
            "(docs/bastion.md, 'Recovering a lost TOTP device')"
        )
    _admin_step_up(
        journal, store, admin, code, subject, required=True, principal=principal, clock=clock
    )
    now = clock()
    with store.transaction() as tx:
        had = TotpStore.delete_enrolment(tx, name)
        TotpStore.clear_lockouts(tx, name)
        TotpStore.put_allowance(tx, name, admin, at=now)
        TotpStore.mark_keyring_checked(tx, name, at=now)  # an old keyring copy never returns
        _journal(
            journal,
            admin,
            "totp_reset",
            subject,
            {"operator": name, "had_enrolment": had, "principal": principal or local_principal()},
        )
    return had


def admin_is_enrolled(journal: Journal, admin: str, *, store: TotpStore | None = None) -> bool:
    """Will the admin be asked for a code (they are enrolled, after the keyring migration)?"""
    store = store or TotpStore.beside(journal.path)
    migrate_from_keyring(journal, store, admin)
    return store.enrolment(admin) is not None
