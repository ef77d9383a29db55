"""Review policies: this sync's drift puts accounts into an access review.

:func:`evaluate_drift` matches review policies against this sync's
:class:`~pamtui.services.drift.SyncRecord`; :func:`review_drift` starts the
campaigns; :func:`preview_drift` is the dry run's diff (the drift store reads,
nothing is written).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pamtui.journal import JournalError
from pamtui.services import drift
from pamtui.services.inventory import AccountView
from pamtui.services.policy.config import Policy
from pamtui.services.policy.report import (
    DUPLICATE,
    FAILED,
    REVIEWED,
    UNSUPPORTED,
    ReviewEntry,
    SweepReport,
)
from pamtui.services.roles import RoleRefused


@dataclass(frozen=True)
class ReviewProposal:
    """An account whose changes in this sync meet a review policy's ``drift``."""

    policy: Policy
    provider: str
    account_id: str
    account_name: str
    changes: tuple[drift.Change, ...]
    view: AccountView | None
    """The account as this sync reported it; None if it is gone (nothing to review)."""

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(c.kind for c in self.changes))

    @property
    def why(self) -> str:
        parts = []
        for change in self.changes:
            summary = change.summary
            label = drift.KIND_LABEL.get(change.kind, change.kind).lower()
            parts.append(f"{label}: {summary}" if summary else label)
        return "; ".join(dict.fromkeys(parts))


def evaluate_drift(
    policies: Iterable[Policy],
    records: Iterable[drift.SyncRecord],
    views: Iterable[AccountView],
) -> list[ReviewProposal]:
    """Which accounts the enabled review policies put into review, for this sync's records.

    Pure. ``records`` must be the :class:`~pamtui.services.drift.SyncRecord`
    of this sync only (a baseline has no changes, so proposes nothing).
    """
    by_key = {v.key: v for v in views}
    records = list(records)
    out: list[ReviewProposal] = []
    for policy in policies:
        mine: list[ReviewProposal] = []
        if not policy.enabled or not policy.is_review or not policy.match.drift:
            continue
        wanted = policy.match.drift
        for record in sorted(records, key=lambda r: r.provider):
            if record.baseline or not policy.applies_to(record.provider):
                continue
            grouped: dict[str, list[drift.Change]] = {}
            for change in record.changes:
                if change.kind in wanted:
                    grouped.setdefault(change.account_id, []).append(change)
            for account_id, changes in grouped.items():
                view = by_key.get((record.provider, account_id))
                name = view.account.name if view is not None else changes[0].account_name
                mine.append(
                    ReviewProposal(policy, record.provider, account_id, name, tuple(changes), view)
                )
        mine.sort(key=lambda p: (p.provider, p.account_name.casefold(), p.account_id))
        out.extend(mine)
    return out


def preview_drift(
    store: drift.SnapshotStore, by_provider: Mapping[str, Sequence[AccountView]]
) -> list[drift.SyncRecord]:
    """The changes these views would record, without storing anything (``--dry-run``).

    Returns one :class:`~pamtui.services.drift.SyncRecord` per provider with a
    stored snapshot; a provider never synced before would be a baseline. The
    store is only read (``SnapshotStore.stored``), so the drift is not consumed.
    """
    records: list[drift.SyncRecord] = []
    for provider, views in by_provider.items():
        known, synced = store.stored(provider)
        record = drift.SyncRecord(0, provider, len(views), not known and not synced)
        records.append(record)
        if record.baseline:
            continue
        ts = drift.timestamp()
        seen = set()
        for view in views:
            aid = view.account.id
            seen.add(aid)
            new = json.loads(json.dumps(drift.record_of(view), sort_keys=True))
            old = known.get(aid)
            if old == new:
                continue
            for kind, detail in drift.diff(aid, old, new):
                record.changes.append(
                    drift.Change(ts, provider, aid, view.account.name, kind, detail)
                )
        for aid, old in known.items():
            if aid not in seen:
                for kind, detail in drift.diff(aid, old, None):
                    record.changes.append(
                        drift.Change(ts, provider, aid, old.get("n", aid), kind, detail)
                    )
    return records


def review_drift(reviews: Any, proposals: Iterable[ReviewProposal], report: SweepReport) -> None:
    """Put the proposals into review campaigns (``reviews``: a ReviewService); never raises.

    One campaign per policy, scope ``drift:NAME``, actor ``policy:NAME``. An
    account already in an open campaign of the same policy is a duplicate. In
    a dry run (``report.dry_run``) nothing is written.
    """
    from pamtui.services.review import ReviewError, Scope

    by_policy: dict[str, list[ReviewProposal]] = {}
    for proposal in proposals:
        by_policy.setdefault(proposal.policy.name, []).append(proposal)

    def entry(outcome: str, p: ReviewProposal, message: str, campaign: int | None = None) -> None:
        report.reviews.append(
            ReviewEntry(
                outcome,
                p.policy.name,
                p.provider,
                p.account_id,
                p.account_name,
                tuple(p.kinds),
                message,
                campaign,
            )
        )

    for name, group in by_policy.items():
        policy = group[0].policy
        scope = Scope("drift", label=name)
        try:
            open_items: dict[tuple[str, str], int] = {}
            for campaign in reviews.campaigns():
                if campaign.scope != str(scope) or campaign.status != "open":
                    continue
                for item in reviews.items(campaign.id):
                    open_items.setdefault((item.provider, item.account_id), campaign.id)
        except (ReviewError, JournalError, sqlite3.Error) as exc:
            for p in group:
                entry(FAILED, p, f"not put into review: cannot read the campaigns: {exc}")
            continue
        fresh: list[ReviewProposal] = []
        for p in group:
            if p.view is None:
                entry(UNSUPPORTED, p, f"{p.why}; the account is gone: nothing to review")
            elif (p.provider, p.account_id) in open_items:
                campaign_id = open_items[(p.provider, p.account_id)]
                entry(DUPLICATE, p, f"already in open review #{campaign_id}", campaign_id)
            else:
                fresh.append(p)
        if not fresh:
            continue
        if report.dry_run:
            for p in fresh:
                entry(REVIEWED, p, p.why)
            continue
        try:
            campaign = reviews.start(
                scope,
                [p.view for p in fresh],
                actor=policy.actor,
                detail={
                    "policy": name,
                    "drift": {f"{p.provider}/{p.account_id}": p.kinds for p in fresh},
                },
            )
        except (ReviewError, RoleRefused, JournalError, sqlite3.Error) as exc:
            for p in fresh:
                entry(FAILED, p, f"not put into review: {exc}")
            continue
        report.campaigns.append(campaign.id)
        for p in fresh:
            entry(REVIEWED, p, p.why, campaign.id)
