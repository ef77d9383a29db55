"""Offboarding a person: what their plans did, and whether it is all still gone.

``pamtui offboard`` stages a person plan through the one revocation path
(``services/revoke.py``, ``plan_person``); this module answers the questions
that come after, for ``pamtui offboard`` itself, ``pamtui offboard report``
(the certificate, ``services/offboarding_report.py``) and ``pamtui audit
recheck --person``:

- which queue items belong to the person: every item of their person plans
  (found through the ``offboard_plan`` journal entries, subject ``person:ID``)
  and every other item on one of their accounts (an earlier ``pamtui revoke``);
- for each item: what was done, when, by whom, its state, and the ``SEQ:HASH``
  of its latest journal entry (the ``verified`` entry once it is verified);
- what is still **open**: any step neither verified nor cancelled, per
  provider;
- whether it is still true: every revoked or verified item is asked again
  (``services/recheck.py``: ``still_gone``, ``came_back``, ``could_not_check``),
  and every account the person still has is read from the providers: an
  account that is active or has an active credential is **still live**. A
  provider that could not be read makes its part "could not be checked".

The certificate is ``ok`` only when nothing is open, nothing came back,
nothing is live and everything could be checked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pamtui.journal import EntryFilter, Head, Journal, timestamp
from pamtui.model import (
    AccountLink,
    Credential,
    CredentialStatus,
    JournalEntry,
    Person,
    QueueItem,
    QueueState,
)
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.offboarding_plan import PHASES, live, phase_of
from pamtui.services.queue_store import QueueStore
from pamtui.services.recheck import POINT_IN_TIME, RecheckReport, recheck
from pamtui.services.revoke import OFFBOARD_PLAN_ACTION
from pamtui.wording import plural

if TYPE_CHECKING:
    from pamtui.services.session import Session

SETTLED = (QueueState.VERIFIED, QueueState.CANCELLED)
NOT_CHECKED = "not_checked"
"""A step that is not revoked (open, cancelled) or ends a point in time (sessions)."""


@dataclass(frozen=True)
class StepRecord:
    """One queue item of the person's offboarding, with its journal evidence."""

    item: QueueItem
    executed_by: str = ""
    done_at: str = ""
    """When it was verified (or its latest transition, if it never was)."""
    entry: JournalEntry | None = None
    """The item's latest journal entry: its ``verified`` entry once verified."""
    check: str = NOT_CHECKED
    check_detail: str = ""

    @property
    def open(self) -> bool:
        return self.item.state not in SETTLED

    @property
    def phase(self) -> str:
        if self.item.action.order >= 100:
            return PHASES[phase_of(self.item.action)]
        return ""

    @property
    def entry_ref(self) -> str:
        return f"{self.entry.seq}:{self.entry.hash}" if self.entry else ""


@dataclass(frozen=True)
class AccountRecord:
    """An account the person has (or had) in one provider, as read now."""

    provider: str
    account_id: str
    name: str
    relation: str
    rule: str = ""
    evidence: str = ""
    status: str = ""
    credentials: tuple[Credential, ...] = ()
    live: bool = False
    listed: bool = True
    """False when the provider no longer lists it (deleted), or could not be read."""


@dataclass
class Certificate:
    """Everything an auditor asks about one person's offboarding."""

    person: Person
    plans: list[JournalEntry]
    steps: list[StepRecord]
    accounts: list[AccountRecord]
    unreadable: list[str]
    """Providers that could not be read: what the person has there is unknown."""
    head: Head | None = None
    generated: str = ""
    generated_by: str = ""
    recheck: RecheckReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def open_steps(self) -> list[StepRecord]:
        return [s for s in self.steps if s.open]

    @property
    def findings(self) -> list[str]:
        """Why the person is not (provably) offboarded; empty when they are."""
        out: list[str] = []
        for step in self.steps:
            a = step.item.action
            where = f"{a.provider}: #{step.item.id} {a.label}"
            if step.open:
                out.append(f"{where}: still open ({step.item.state})")
            elif step.check == "came_back":
                out.append(f"{where}: came back ({step.check_detail})")
            elif step.check == "could_not_check":
                out.append(f"{where}: could not be checked ({step.check_detail})")
        for acc in self.accounts:
            if acc.relation == "holder" and acc.live:
                live_creds = sum(1 for c in acc.credentials if c.status is CredentialStatus.ACTIVE)
                out.append(
                    f"{acc.provider}: {acc.name} is still live "
                    f"(account {acc.status}, {plural(live_creds, 'active credential')})"
                )
        out += [
            f"{name}: could not be read, its accounts could not be checked"
            for name in self.unreadable
        ]
        return out

    @property
    def ok(self) -> bool:
        return not self.findings

    def by_provider(self) -> dict[str, list[StepRecord]]:
        groups: dict[str, list[StepRecord]] = {}
        for step in self.steps:
            groups.setdefault(step.item.action.provider, []).append(step)
        return groups


# -- reading the journal and the queue ------------------------------------------------


def plan_entries(journal: Journal, person_id: str) -> list[JournalEntry]:
    """The person's ``offboard_plan`` entries, oldest first."""
    filt = EntryFilter(action=OFFBOARD_PLAN_ACTION, subject=f"person:{person_id}")
    return journal.entries(filt, limit=10_000, newest_first=False)


def item_entries(journal: Journal, item: QueueItem) -> list[JournalEntry]:
    """Every journal entry of one queue item, oldest first."""
    rows = journal.conn.execute(
        "SELECT seq FROM entries WHERE provider = ? AND subject = ?"
        " AND json_extract(detail, '$.item') = ? ORDER BY seq",
        (item.action.provider, item.action.subject, item.id),
    ).fetchall()
    found = [journal.get(int(seq)) for (seq,) in rows]
    return [e for e in found if e is not None]


def person_items(
    queue: QueueStore, journal: Journal, person_id: str, accounts: Iterable[AccountKey] = ()
) -> list[QueueItem]:
    """Items of the person's plans, and any other item on one of their accounts."""
    found: dict[int, QueueItem] = {}
    for entry in plan_entries(journal, person_id):
        group = str(entry.detail.get("group", ""))
        for item in queue.group_items(group):
            found[item.id] = item
        for item_id in entry.detail.get("items", ()):
            if isinstance(item_id, int) and item_id not in found:
                found[item_id] = queue.get(item_id)
    keys = set(accounts) | {(it.action.provider, it.action.account_id) for it in found.values()}
    for provider, account_id in sorted(keys):
        for item in queue.account_items(provider, account_id):
            found.setdefault(item.id, item)
    return sorted(found.values(), key=lambda it: (it.action.provider, it.action.order, it.id))


def step_record(
    journal: Journal, item: QueueItem, check: str = NOT_CHECKED, why: str = ""
) -> StepRecord:
    entries = item_entries(journal, item)
    executed = [e.actor for e in entries if e.action in ("execute", "reclaim")]
    verified = [e for e in entries if e.action == "verified"]
    last = verified[-1] if verified else (entries[-1] if entries else None)
    return StepRecord(
        item=item,
        executed_by=executed[-1] if executed else "",
        done_at=last.ts if last else "",
        entry=last,
        check=check,
        check_detail=why,
    )


# -- the certificate -----------------------------------------------------------------


def _account_records(
    links: Sequence[AccountLink], views: dict[AccountKey, AccountView], corr: Any
) -> list[AccountRecord]:
    out = []
    for link in links:
        view = views.get(link.account)
        account = corr.accounts.get(link.account)
        out.append(
            AccountRecord(
                provider=link.account[0],
                account_id=link.account[1],
                name=account.name if account is not None else link.account[1],
                relation=str(link.relation),
                rule=str(link.rule),
                evidence=link.evidence,
                status=str(view.account.status) if view else "",
                credentials=view.credentials if view else (),
                live=live(view) if view else False,
                listed=view is not None,
            )
        )
    return out


async def certify(
    session: Session,
    person_ref: str,
    *,
    record: bool = True,
) -> Certificate:
    """Sync, correlate, and ask every provider again about the person's access.

    ``record`` journals the re-check (``recheck_person``, and a
    ``recheck_came_back`` entry per finding) when the session can write.
    """
    views = await session.inventory.sync()
    corr = await session.people.refresh(views)
    person = corr.find(person_ref)
    by_key = {v.key: v for v in views}
    links = corr.accounts_of(person.id)
    accounts = _account_records(links, by_key, corr)
    items = person_items(session.queue, session.journal, person.id, (lk.account for lk in links))
    known = {(a.provider, a.account_id) for a in accounts}
    for item in items:  # accounts the providers no longer list (deleted): from the queue
        key = (item.action.provider, item.action.account_id)
        if key not in known:
            known.add(key)
            accounts.append(
                AccountRecord(key[0], key[1], key[1], "holder", status="not listed", listed=False)
            )
    # A provider that could not be read may hold accounts of the person we cannot see.
    unreadable = sorted(name for name, h in session.inventory.health.items() if not h.ok)
    report = await recheck(
        session.journal,
        session.providers,
        items=items,
        person=person.id,
        actor=session.operator,
        record=record and not session.read_only,
        guard=session.guard,
    )
    checks = {c.item.id: c for c in report.checks}
    steps = []
    for item in items:
        c = checks.get(item.id)
        if c is not None:
            steps.append(step_record(session.journal, item, c.status, c.detail))
        elif item.action.name in POINT_IN_TIME and item.state is QueueState.VERIFIED:
            steps.append(step_record(session.journal, item, NOT_CHECKED, "point in time"))
        else:
            steps.append(step_record(session.journal, item))
    return Certificate(
        person=person,
        plans=plan_entries(session.journal, person.id),
        steps=steps,
        accounts=sorted(accounts, key=lambda a: (a.provider, a.name)),
        unreadable=unreadable,
        head=session.journal.head(),
        generated=timestamp(),
        generated_by=session.operator,
        recheck=report,
    )


def plan_detail(entry: JournalEntry) -> str:
    """One line for an ``offboard_plan`` entry: when, who, why, how many steps."""
    d = entry.detail
    return (
        f"{entry.ts} by {entry.actor}: {plural(len(d.get('items', ())), 'step')}, "
        f"reason {json.dumps(str(d.get('reason', '')), ensure_ascii=False)}"
    )
