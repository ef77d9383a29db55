"""Person-level policies: ``action = "offboard"`` turns leavers into offboarding plans.

::

    [[policies]]
    name = "leavers"
    match = { owner_status = "terminated", terminated_days_over = 0 }
    action = "offboard"
    approve = true          # optional: approved at once (pamtui queue run executes it)

``pamtui sweep`` reads the rosters and correlates (``services/people.py``),
and for every person on the roster who matches, stages the person's plan
(``RevocationService.plan_person``: every provider, in the offboarding order,
gates first) through ``RevocationService.stage_person_for_policy``, as
``policy:NAME``. Conditions: ``owner_status`` (only ``"terminated"``) and
``terminated_days_over = N``: the person left more than N days ago (0: at
any time before now; a terminated person without a date counts as 0 days).
``providers`` and ``target`` are not allowed: a person is offboarded in
every provider.

No duplicates: a step whose target already has an item in the queue
(``BLOCKING_STATES``) is left out, and a person with no fresh step is
reported as a duplicate, so a cron sweep stages each leaver once. Accounts
the person only owns are reported, not staged ("needs a new owner").
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from pamtui.journal import JournalError
from pamtui.model import Person, PersonStatus, QueueState
from pamtui.services.inventory import AccountView
from pamtui.services.people import Correlation, PeopleService
from pamtui.services.policy.config import Policy
from pamtui.services.policy.matching import _action_key
from pamtui.services.policy.report import (
    DUPLICATE,
    FAILED,
    STAGED,
    UNSUPPORTED,
    SweepEntry,
    SweepReport,
)
from pamtui.services.policy.staging import BLOCKING_STATES
from pamtui.services.queue import QueueError
from pamtui.services.revoke import RevocationService, RevokeError


@dataclass(frozen=True)
class PersonProposal:
    policy: Policy
    person: Person
    why: str


def _days_since(when: datetime | None, now: datetime) -> int:
    if when is None:
        return 0
    if when.tzinfo is None:  # a roster date without a zone is UTC
        when = when.replace(tzinfo=UTC)
    return (now - when).days


def evaluate_people(
    policies: Iterable[Policy], people: Iterable[Person], now: datetime
) -> list[PersonProposal]:
    """Which people the enabled offboard policies select (pure), in policy then id order."""
    people = sorted(people, key=lambda p: p.id)
    out: list[PersonProposal] = []
    for policy in policies:
        if not policy.enabled or not policy.is_offboard:
            continue
        days = policy.match.terminated_days_over
        for person in people:
            if person.status is not PersonStatus.TERMINATED:
                continue
            left = _days_since(person.terminated, now)
            if days is not None and not (left > days or (days == 0 and left >= 0)):
                continue
            when = f" on {person.terminated.date()}" if person.terminated else ""
            out.append(PersonProposal(policy, person, f"{person.name} ({person.id}) left{when}"))
    return out


def sweep_people(
    revocations: RevocationService,
    proposals: Sequence[PersonProposal],
    corr: Correlation,
    views: Sequence[AccountView],
    report: SweepReport,
    *,
    dry_run: bool,
) -> None:
    """Stage each selected person's plan (fresh steps only); entries go into ``report``."""
    subject = "person:{}".format

    def entry(
        outcome: str,
        p: PersonProposal,
        provider: str,
        action: str,
        msg: str,
        item: int | None = None,
    ) -> None:
        report.entries.append(
            SweepEntry(outcome, p.policy.name, provider, action, subject(p.person.id), msg, item)
        )

    try:
        queued = {_action_key(i.action) for i in revocations.queue.items(BLOCKING_STATES, limit=-1)}
    except (QueueError, JournalError, sqlite3.Error) as exc:
        for p in proposals:
            entry(FAILED, p, "", "offboard", f"not staged: cannot read the queue: {exc}")
        return
    for p in proposals:
        try:
            plan = revocations.plan_person(p.person, corr, views)
        except RevokeError as exc:
            entry(FAILED, p, "", "offboard", f"no plan: {exc}")
            continue
        for link in plan.needs_owner:
            entry(
                UNSUPPORTED,
                p,
                link.account[0],
                "needs_new_owner",
                f"{link.account[1]} is owned by {p.person.name}: needs a new owner "
                "(not deprovisioned)",
            )
        fresh = [s for s in plan.steps if _action_key(s) not in queued]
        if not fresh:
            if plan.steps:
                entry(DUPLICATE, p, "", "offboard", "every step is already in the queue")
            continue
        sub = dataclasses.replace(
            plan, steps=tuple(fresh), gates=frozenset(g for g in plan.gates if g in fresh)
        )
        why = f"policy {p.policy.name}: {p.why}"
        if dry_run:
            for step in fresh:
                queued.add(_action_key(step))
                entry(STAGED, p, step.provider, step.name, p.why)
            continue
        try:
            items = revocations.stage_person_for_policy(
                sub, why, actor=p.policy.actor, approve=p.policy.approve
            )
        except (QueueError, JournalError, sqlite3.Error) as exc:
            entry(FAILED, p, "", "offboard", f"not staged: {exc}")
            continue
        report.items.extend(items)
        for item in items:
            queued.add(_action_key(item.action))
            state = " (approved)" if item.state is QueueState.APPROVED else ""
            entry(STAGED, p, item.action.provider, item.action.name, f"{p.why}{state}", item.id)


async def offboard_sweep(
    policies: Iterable[Policy],
    revocations: RevocationService,
    people: PeopleService,
    views: Sequence[AccountView],
    report: SweepReport,
    *,
    now: datetime,
    dry_run: bool,
) -> list[str]:
    """``pamtui sweep``'s person-level part; returns the roster problems met (to report)."""
    chosen = [p for p in policies if p.enabled and p.is_offboard]
    if not chosen:
        return []
    if not people.sources:
        return ["an offboard policy is configured but no roster source is (see docs/people.md)"]
    corr = await people.refresh(views)
    proposals = evaluate_people(chosen, corr.people.values(), now)
    sweep_people(revocations, proposals, corr, views, report, dry_run=dry_run)
    return [f"roster {problem}" for problem in people.roster.problems]
