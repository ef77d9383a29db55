"""Which role may do what, enforced in the services (never only in a UI).

- ``operator``: triage, stage plans, execute, retry and cancel queue items,
  decide review items; link or unlink a person's accounts (``pamtui people
  link``/``unlink``: a manual link decides whose accounts an offboarding
  takes, so it is triage, not reading); start an access review campaign
  (``pamtui review start``, the TUI's ``V``: it decides what gets reviewed);
  journal a recheck of revoked access (``pamtui audit recheck``, with or
  without ``--person``, and ``offboard report``'s re-check): the last recheck
  sets and clears the REGRESSED flags triage works from (one ``--since``
  tomorrow cleared them all), so it is triage, like the queue's own verify.
  A session that cannot write (an auditor's, ``--read-only``) rechecks as a
  read: it asks the providers and reports, journalling nothing;
- ``approver``: approve someone else's four-eyes item (and triage);
- ``admin``: change the recorded policy, administer operators' enrolment,
  rotate the journal (``audit rotate``) and reset the demo (``demo --reset``,
  which rotates it and forgets the queue, the reviews and the drift; beside
  real providers, or with ``--scale N``, it rebuilds only the demo's state
  file, which still brings back every access revoked there).

Forwarding the journal to its ``[[forward]]`` receivers (``pamtui audit
forward``, the TUI's background forwarder) needs **any** role: each pass marks
entries sent on a receiver's cursor, and what is marked is never sent again
(an auditor's config with a receiver of the same name on its own host kept
them from the SIEM), so it is a write, not a read; but every role writes the
journal and must see its entries leave the host, and the forwarder is the
plumbing that does it (``--status`` only reads the cursors: open to all).

An actor with no role is an **auditor**: it reads, nothing else. Every
refusal is journalled (action ``refused``) and raised as :class:`RoleRefused`,
whose message is one line for the operator. In local mode with no
``[[operators]]`` table the OS account holds every role (services/identity.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from enum import StrEnum

from pamtui.errors import PamtuiError
from pamtui.journal import Journal, JournalError
from pamtui.model import Actor

REFUSED_ACTION = "refused"


class Act(StrEnum):
    """An act that needs a role; its value is what the refusal names."""

    STAGE = "stage a revocation"
    EXECUTE = "execute revocations"
    CANCEL = "cancel a queue item"
    APPROVE = "approve a four-eyes item"
    POLICY = "change the recorded policy"
    ENROL = "administer operators' enrolment"
    ROTATE = "rotate the journal or reset the demo"
    LINK = "link or unlink a person's accounts"
    REVIEW = "start an access review"
    RECHECK = "journal a recheck of revoked access"
    FORWARD = "forward the journal to its receivers"


ROLES_FOR: dict[Act, frozenset[str]] = {
    Act.STAGE: frozenset({"operator"}),
    Act.EXECUTE: frozenset({"operator"}),
    Act.CANCEL: frozenset({"operator"}),
    Act.APPROVE: frozenset({"approver"}),
    Act.POLICY: frozenset({"admin"}),
    Act.ENROL: frozenset({"admin"}),
    Act.LINK: frozenset({"operator"}),
    Act.REVIEW: frozenset({"operator"}),
    Act.ROTATE: frozenset({"admin"}),
    Act.RECHECK: frozenset({"operator"}),
    Act.FORWARD: frozenset({"operator", "approver", "admin"}),
}
"""Each act and the roles that allow it (any one of them)."""


class RoleRefused(PamtuiError):
    """The actor's roles do not allow the act (journalled before it is raised)."""

    label = "refused"


def allows(actor: Actor, act: Act) -> bool:
    return bool(actor.roles & ROLES_FOR[act])


def is_admin(actor: Actor) -> bool:
    """For the operators' administration (allow-enrol, reset-totp)."""
    return allows(actor, Act.ENROL)


def role_names(actor: Actor) -> str:
    return ", ".join(sorted(actor.roles)) or "none (auditor)"


JournalRefusal = Callable[[str, str, dict[str, object]], None]
"""(actor, subject, detail): appends the ``refused`` entry."""


class RoleGuard:
    """Checks an actor's roles for an act; journals and raises a refusal."""

    def __init__(self, actor: Actor, journal_refusal: JournalRefusal | None) -> None:
        self.actor = actor
        self._journal_refusal = journal_refusal

    def allows(self, act: Act) -> bool:
        return allows(self.actor, act)

    def require(self, act: Act, subject: str = "") -> None:
        if allows(self.actor, act):
            return
        needed = " or ".join(sorted(ROLES_FOR[act]))
        message = (
            f"{self.actor.name} may not {act.value}: it needs the {needed} role "
            f"(roles: {role_names(self.actor)})"
        )
        if self._journal_refusal is not None:
            self._journal_refusal(
                self.actor.name,
                subject,
                {"act": act.name.lower(), "roles": sorted(self.actor.roles), "via": self.actor.via},
            )
        raise RoleRefused(message)


def journal_refusals(journal: Journal) -> JournalRefusal:
    """A refusal writer onto ``journal`` (best effort: a dead journal refuses anyway)."""

    def write(actor: str, subject: str, detail: dict[str, object]) -> None:
        with contextlib.suppress(JournalError):
            journal.append(actor, REFUSED_ACTION, subject=subject, detail=detail)

    return write


def require_in(journal: Journal, actor: Actor, act: Act, subject: str = "") -> None:
    """One check outside a session (a session's ``guard`` does this for its acts):
    a refusal is journalled in ``journal`` and raised as :class:`RoleRefused`."""
    RoleGuard(actor, journal_refusals(journal)).require(act, subject)
