"""Staging proposals in the revocation queue (``pamtui sweep``), without duplicates.

The sweep reads the queue once (what is already there) and writes to it in
one place, :func:`_stage_plan`: the only code that turns a policy's
proposals into queue items.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from pamtui.journal import JournalError
from pamtui.model import QueueItem, QueueState
from pamtui.services.policy.matching import Proposal, _action_key
from pamtui.services.policy.report import (
    DUPLICATE,
    FAILED,
    STAGED,
    UNSUPPORTED,
    SweepEntry,
    SweepReport,
)
from pamtui.services.queue import QueueError
from pamtui.services.revoke import RevocationService

# A target with an item in one of these states is not staged again. FAILED is
# included: a failed item is still in the queue, waiting for `queue retry`.
BLOCKING_STATES = (
    QueueState.STAGED,
    QueueState.AWAITING_APPROVAL,
    QueueState.APPROVED,
    QueueState.EXECUTING,
    QueueState.REVOKED,
    QueueState.VERIFIED,
    QueueState.FAILED,
)


def sweep(
    revocations: RevocationService, proposals: Iterable[Proposal], *, dry_run: bool
) -> SweepReport:
    """Stage the proposals in the queue, as their policies say; never raises for one.

    Staging goes through the one revocation path (services/revoke.py), as
    ``policy:NAME`` and without an operator's step-up.

    Each target already in the queue (see ``BLOCKING_STATES``) or staged
    earlier in this sweep is skipped as a duplicate. Proposals of one plan
    are staged together, as one plan. A staging failure is recorded and the
    sweep goes on with the next. With ``dry_run`` nothing is staged or
    journalled. The ``skipped`` matches of :func:`evaluate`'s result are
    reported as unsupported (or failed, when a provider failed).
    """
    report = SweepReport(dry_run=dry_run)
    for skip in getattr(proposals, "skipped", ()):
        report.entries.append(
            SweepEntry(
                FAILED if skip.error else UNSUPPORTED,
                skip.policy.name,
                skip.provider,
                "" if skip.policy.is_plan else skip.policy.action,
                skip.subject,
                skip.why,
            )
        )

    groups: dict[tuple[str, int | str], list[Proposal]] = {}
    for n, proposal in enumerate(proposals):
        plan = proposal.plan or n  # one group per plan; a lone proposal is its own group
        groups.setdefault((proposal.policy.name, plan), []).append(proposal)

    def entry(outcome: str, proposal: Proposal, message: str, item: int | None = None) -> None:
        report.entries.append(
            SweepEntry(
                outcome,
                proposal.policy.name,
                proposal.action.provider,
                proposal.action.name,
                proposal.action.subject,
                message,
                item,
            )
        )

    try:
        queued = {_action_key(i.action) for i in revocations.queue.items(BLOCKING_STATES, limit=-1)}
    except (QueueError, JournalError, sqlite3.Error) as exc:
        for group in groups.values():
            for proposal in group:
                entry(FAILED, proposal, f"not staged: cannot read the queue: {exc}")
        return report

    for group in groups.values():
        fresh: list[Proposal] = []
        for proposal in group:
            if proposal.key in queued:
                entry(DUPLICATE, proposal, "already in the queue")
            else:
                fresh.append(proposal)
        if not fresh:
            continue
        if dry_run:
            for proposal in fresh:
                queued.add(proposal.key)
                entry(STAGED, proposal, proposal.why)
            continue
        try:
            items = _stage_plan(revocations, fresh)
        except (QueueError, JournalError, sqlite3.Error) as exc:
            for proposal in fresh:
                entry(FAILED, proposal, f"not staged: {exc}")
            continue
        report.items.extend(items)
        for proposal, item in zip(fresh, items, strict=True):
            queued.add(proposal.key)
            state = " (approved)" if item.state is QueueState.APPROVED else ""
            entry(STAGED, proposal, f"{proposal.why}{state}", item.id)
    return report


def _stage_plan(revocations: RevocationService, fresh: Sequence[Proposal]) -> list[QueueItem]:
    """Stage one group's new proposals in the queue, as one plan: the sweep's only write.

    Attributed to ``policy:NAME``, with the reason ``policy NAME: why`` (the
    first proposal's) and approved at once when the policy says ``approve =
    true``. Returns the items in proposal order; raises what the queue raises
    (``sweep`` records it as ``failed`` and goes on). Kept apart so that the
    staging path can change without touching the duplicate bookkeeping.
    """
    policy = fresh[0].policy
    return revocations.stage_for_policy(
        [p.action for p in fresh],
        f"policy {policy.name}: {fresh[0].why}",
        actor=policy.actor,
        approve=policy.approve,
        privileged=any(p.privileged for p in fresh),
    )
