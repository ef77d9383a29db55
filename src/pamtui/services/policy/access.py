"""Mover and excess policies: ``action = "remove_excess"`` removes grants beyond a role.

::

    [[policies]]
    name = "movers"
    match = { access = "mover" }        # "mover", "excess", or both in a list
    action = "remove_excess"
    providers = ["corp-okta"]           # optional: only grants in these providers
    approve = false                     # optional: true approves at once

``pamtui sweep`` reads the rosters, correlates, records roster history and
assesses every person against the role baselines (``services/movers.py``).
For each person with grants of the chosen kinds it builds the access plan
(one step per grant, the provider's ``grant_action``) and stages it through
``RevocationService.stage_access_for_policy`` as ``policy:NAME``: four eyes
still applies when an account is privileged (a second operator approves),
and approving or running the items later asks for step-up as usual. Grants
no provider can remove are reported ``unsupported`` (manual), never staged.
A step already in the queue is not staged again, so a cron sweep stages each
grant once.
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pamtui.journal import JournalError
from pamtui.model import QueueState
from pamtui.services.inventory import AccountView
from pamtui.services.movers import KINDS, GrantFinding, Movers, MoversService, access_steps
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
class AccessProposal:
    policy: Policy
    person_id: str
    findings: tuple[GrantFinding, ...]


def evaluate_access(policies: Iterable[Policy], movers: Movers) -> list[AccessProposal]:
    """Which people's grants the enabled ``remove_excess`` policies select (pure)."""
    out: list[AccessProposal] = []
    for policy in policies:
        if not policy.enabled or not policy.is_access:
            continue
        wanted = [KINDS[k] for k in sorted(policy.match.access or ())]
        for person_id in sorted(movers.people):
            chosen = tuple(
                f for f in movers.people[person_id].of(wanted) if policy.applies_to(f.account[0])
            )
            if chosen:
                out.append(AccessProposal(policy, person_id, chosen))
    return out


def sweep_access(
    revocations: RevocationService,
    proposals: Sequence[AccessProposal],
    corr: Correlation,
    views: Sequence[AccountView],
    report: SweepReport,
    *,
    dry_run: bool,
) -> None:
    """Stage each proposal's fresh grant removals; entries go into ``report``."""

    def entry(
        outcome: str, p: AccessProposal, provider: str, action: str, msg: str, item: int = 0
    ) -> None:
        report.entries.append(
            SweepEntry(
                outcome, p.policy.name, provider, action, f"person:{p.person_id}", msg, item or None
            )
        )

    try:
        queued = {_action_key(i.action) for i in revocations.queue.items(BLOCKING_STATES, limit=-1)}
    except (QueueError, JournalError, sqlite3.Error) as exc:
        for p in proposals:
            entry(FAILED, p, "", "remove_excess", f"not staged: cannot read the queue: {exc}")
        return
    by_key = {v.key: v for v in views}
    for p in proposals:
        person = corr.people[p.person_id]
        kinds = sorted({str(f.flag) for f in p.findings})
        why = f"{person.name} ({person.id}): {' and '.join(kinds)} access"
        found = access_steps(p.findings, by_key, revocations.providers)
        for line in found.manual:
            provider, _, text = line.partition(": ")
            entry(UNSUPPORTED, p, provider, "manual", text)
        fresh = tuple(s for s in found.steps if _action_key(s) not in queued)
        if not fresh:
            if found.steps:
                entry(DUPLICATE, p, "", "remove_excess", "every step is already in the queue")
            continue
        found = dataclasses.replace(
            found,
            steps=fresh,
            accounts=tuple(dict.fromkeys((s.provider, s.account_id) for s in fresh)),
        )
        if dry_run:
            for step in fresh:
                queued.add(_action_key(step))
                entry(STAGED, p, step.provider, step.name, f"{why}: {step.label}")
            continue
        try:
            plan = revocations.plan_access(person, found, what=" and ".join(kinds) + " access")
            items = revocations.stage_access_for_policy(
                plan,
                f"policy {p.policy.name}: {why}",
                actor=p.policy.actor,
                approve=p.policy.approve,
            )
        except (RevokeError, QueueError, JournalError, sqlite3.Error) as exc:
            entry(FAILED, p, "", "remove_excess", f"not staged: {exc}")
            continue
        report.items.extend(items)
        for item in items:
            queued.add(_action_key(item.action))
            state = f" ({item.state})" if item.state is not QueueState.STAGED else ""
            entry(
                STAGED,
                p,
                item.action.provider,
                item.action.name,
                f"{why}: {item.action.label}{state}",
                item.id,
            )


async def access_sweep(
    policies: Iterable[Policy],
    revocations: RevocationService,
    people: PeopleService,
    movers: MoversService,
    views: Sequence[AccountView],
    report: SweepReport,
    *,
    dry_run: bool,
) -> list[str]:
    """``pamtui sweep``'s mover/excess part; returns the problems met (to report)."""
    chosen = [p for p in policies if p.enabled and p.is_access]
    if not chosen:
        return []
    if not people.sources:
        return ["a remove_excess policy is configured but no roster source is (see docs/people.md)"]
    if not movers.baselines:
        return ["a remove_excess policy is configured but no [[baselines]] are"]
    problems: list[str] = []
    corr = people.last
    if corr is None:
        corr = await people.refresh(views)
        problems += people.roster.problems
    assessed = await movers.assess(corr, views)
    sweep_access(
        revocations, evaluate_access(chosen, assessed), corr, views, report, dry_run=dry_run
    )
    return [f"roster {p}" for p in [*problems, *movers.problems]]
