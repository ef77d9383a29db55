"""Re-verification: is every access pamtui revoked still gone?

``pamtui audit recheck [--since DATE]`` takes the queue items that reached
``revoked`` or ``verified`` in the period (the time of their last transition)
and asks each provider again with :meth:`Provider.verify` on the stored
action. Each answer is one of:

- ``still_gone``: the provider confirms the access is still removed;
- ``came_back``: the provider says the access is there again (an account
  re-activated, a key re-enabled, a member re-added behind pamtui's back):
  a *finding*, journalled as ``recheck_came_back`` and flagged in the TUI;
- ``could_not_check``: the provider is not configured, cannot verify, timed
  out or failed. Never counted as "still gone".

The whole run is journalled as one ``recheck`` entry whose detail lists the
accounts with findings; the TUI flags those accounts (``RiskFlag.REGRESSED``)
until a later recheck finds them gone again.

Rate limits: at most ``concurrency`` checks run against one provider at a
time (the queue's ``concurrency_per_provider``); the providers' HTTP layer
honours ``Retry-After``; a provider that fails ``breaker`` times in a row is
not asked again in this run (its remaining items are "could not check"), so a
provider that is down costs a few timeouts, not thousands.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pamtui.journal import EntryFilter, Journal, JournalError
from pamtui.journal.redact import redact
from pamtui.model import Capability, QueueItem, QueueState, RevokeAction
from pamtui.providers.base import Provider
from pamtui.services.roles import Act, RoleGuard

STILL_GONE = "still_gone"
CAME_BACK = "came_back"
COULD_NOT_CHECK = "could_not_check"

POINT_IN_TIME = frozenset({"clear_sessions"})
"""Actions that end what existed then, not a standing grant: new sessions after a
``clear_sessions`` are normal (the account-level action in the same plan, e.g.
``deactivate_account``, is what recheck asks about), so they are not rechecked."""

RECHECK_ACTION = "recheck"
FINDING_ACTION = "recheck_came_back"
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_BREAKER = 3
_LISTED_FINDINGS = 1000
"""At most this many findings are listed in the summary entry (all are journalled)."""


@dataclass(frozen=True)
class Check:
    item: QueueItem
    status: str
    detail: str = ""
    provider_response: Mapping[str, Any] = field(default_factory=dict)

    @property
    def action(self) -> RevokeAction:
        return self.item.action

    def as_dict(self) -> dict[str, Any]:
        a = self.action
        return {
            "status": self.status,
            "item": self.item.id,
            "provider": a.provider,
            "action": a.name,
            "label": a.label,
            "target_kind": str(a.target_kind),
            "target_id": a.target_id,
            "account_id": a.account_id,
            "revoked_state": str(self.item.state),
            "revoked_at": self.item.updated.isoformat(),
            "detail": self.detail,
        }


@dataclass
class RecheckReport:
    since: str | None
    checks: list[Check]
    journalled: bool = False

    def _with(self, status: str) -> list[Check]:
        return [c for c in self.checks if c.status == status]

    @property
    def came_back(self) -> list[Check]:
        return self._with(CAME_BACK)

    @property
    def could_not_check(self) -> list[Check]:
        return self._with(COULD_NOT_CHECK)

    @property
    def still_gone(self) -> list[Check]:
        return self._with(STILL_GONE)

    @property
    def ok(self) -> bool:
        """True only when every revoked access was checked and is still gone."""
        return not self.came_back and not self.could_not_check

    def counts(self) -> dict[str, int]:
        return {
            "checked": len(self.checks),
            STILL_GONE: len(self.still_gone),
            CAME_BACK: len(self.came_back),
            COULD_NOT_CHECK: len(self.could_not_check),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": self.since,
            "ok": self.ok,
            "journalled": self.journalled,
            **self.counts(),
            "findings": [c.as_dict() for c in self.came_back],
            "unchecked": [c.as_dict() for c in self.could_not_check],
        }


def revoked_items(journal: Journal, since: str | None = None) -> list[QueueItem]:
    """Items revoked or verified in the period, one per distinct action, newest kept."""
    from pamtui.services.queue_store import _item_from_row

    sql = "SELECT * FROM queue_items WHERE state IN (?, ?)"
    params: list[Any] = [str(QueueState.REVOKED), str(QueueState.VERIFIED)]
    if since:
        sql += " AND updated >= ?"
        params.append(since)
    cursor = journal.conn.execute(sql + " ORDER BY id", params)
    names = [d[0] for d in cursor.description]
    latest: dict[tuple[str, str, str, str], QueueItem] = {}
    for row in cursor.fetchall():
        item = _item_from_row(dict(zip(names, row, strict=True)))
        a = item.action
        if a.name in POINT_IN_TIME:
            continue
        latest[(a.provider, a.name, str(a.target_kind), a.target_id)] = item
    return sorted(latest.values(), key=lambda it: it.id)


async def recheck(
    journal: Journal,
    providers: Mapping[str, Provider],
    *,
    since: str | None = None,
    concurrency: int = 4,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    breaker: int = DEFAULT_BREAKER,
    actor: str = "system",
    record: bool = True,
    items: Iterable[QueueItem] | None = None,
    person: str = "",
    guard: RoleGuard | None = None,
) -> RecheckReport:
    """Ask every provider again; journal the findings and a summary (``record``).

    ``items`` narrows the run to those items (one person's offboarding:
    ``pamtui audit recheck --person``; point-in-time actions are left out as
    always); its summary is then a ``recheck_person`` entry with subject
    ``person:ID``, so it does not replace the last full recheck that the TUI
    reads its REGRESSED flags from.

    A run that will journal needs ``guard``'s ``Act.RECHECK`` (services/roles.py),
    checked before any provider is asked; ``record=False`` is a read for anyone.
    """
    record = record and not journal.read_only
    if record and guard is not None:
        guard.require(Act.RECHECK, f"person:{person}" if person else RECHECK_ACTION)
    if items is None:
        items = revoked_items(journal, since)
    else:
        items = [
            it
            for it in items
            if it.state in (QueueState.REVOKED, QueueState.VERIFIED)
            and it.action.name not in POINT_IN_TIME
        ]
    limits: dict[str, asyncio.Semaphore] = defaultdict(
        lambda: asyncio.Semaphore(max(1, concurrency))
    )
    failures: dict[str, int] = defaultdict(int)

    async def check(item: QueueItem) -> Check:
        name = item.action.provider
        provider = providers.get(name)
        if provider is None:
            return Check(item, COULD_NOT_CHECK, f"provider {name!r} is not configured")
        if Capability.VERIFY not in provider.capabilities:
            return Check(item, COULD_NOT_CHECK, f"provider {name!r} cannot verify")
        async with limits[name]:
            if failures[name] >= breaker:
                return Check(
                    item,
                    COULD_NOT_CHECK,
                    f"not asked: provider {name!r} failed {failures[name]} times in a row",
                )
            try:
                result = await asyncio.wait_for(provider.verify(item.action), timeout_s)
            except TimeoutError:
                failures[name] += 1
                return Check(item, COULD_NOT_CHECK, f"no answer within {timeout_s:g} s")
            except Exception as exc:  # a provider that is down, or a plugin bug
                failures[name] += 1
                return Check(item, COULD_NOT_CHECK, str(exc) or type(exc).__name__)
            failures[name] = 0
        status = STILL_GONE if result.gone else CAME_BACK
        return Check(item, status, result.detail, result.provider_response)

    checks = list(await asyncio.gather(*(check(item) for item in items)))
    report = RecheckReport(since, checks)
    if record:
        _journal(journal, report, actor, person)
        report.journalled = True
    return report


PERSON_RECHECK_ACTION = "recheck_person"


def _journal(journal: Journal, report: RecheckReport, actor: str, person: str = "") -> None:
    with journal.transaction() as tx:
        for c in report.came_back:
            a = c.action
            tx.append(
                actor,
                FINDING_ACTION,
                provider=a.provider,
                subject=a.subject,
                detail={
                    **c.as_dict(),
                    "provider_response": redact(dict(c.provider_response)),
                },
            )
        tx.append(
            actor,
            PERSON_RECHECK_ACTION if person else RECHECK_ACTION,
            subject=f"person:{person}" if person else "",
            detail={
                **({"person": person} if person else {}),
                "since": report.since or "",
                **report.counts(),
                "came_back_accounts": sorted(
                    {(c.action.provider, c.action.account_id) for c in report.came_back}
                )[:_LISTED_FINDINGS],
                "unchecked_providers": sorted({c.action.provider for c in report.could_not_check}),
            },
        )


def regressed_accounts(journal: Journal) -> set[tuple[str, str]]:
    """Accounts whose revoked access came back, per the latest recheck."""
    try:
        last = journal.entries(EntryFilter(action=RECHECK_ACTION), limit=1)
    except (JournalError, sqlite3.Error):
        return set()
    if not last:
        return set()
    listed: Iterable[Any] = last[0].detail.get("came_back_accounts", ())
    return {(str(p), str(a)) for p, a in listed}
