"""Access review campaigns: snapshot who has access, decide each, prove it.

A campaign is started over a scope (``privileged``, ``all`` or
``provider:NAME``); the accounts in scope are copied, with their credentials
and risk flags, into ``review_items`` so that every reviewer, and later the
auditor, sees the evidence as it was when the review began. Each item is then
kept (with a justification), revoked (its revocation plan is staged in the
queue) or deferred.

Guarantees, and how:

- *Every decision is journalled*: the item's row changes and the
  ``review_decision`` entry (and, for a revocation, the staged queue items and
  their own entries) commit in one ``BEGIN IMMEDIATE`` transaction, or not
  at all. The item remembers the entry's ``seq`` so a report can be checked
  against the journal.
- *No silent overwrite*: each item has a ``version``; a decision names the
  version the reviewer saw, and the update only applies if it is still
  current. A final decision (keep, revoke) by someone else is never replaced
  without the reviewer having seen it; a revocation is final (cancel its queue
  items instead).
- *Progress survives restarts*: everything is in the database; several
  reviewers (processes) can work on one campaign at once.

Nothing here knows about the UI.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pamtui.journal import EntryFilter, Head, Journal, timestamp
from pamtui.journal.canonical import canonical_json
from pamtui.model import JournalEntry, QueueItem, QueueState
from pamtui.services.inventory import AccountView
from pamtui.services.queue import RevocationQueue
from pamtui.services.review_model import (  # re-exported: the review's public names
    FINAL,
    JOURNAL_DECISION,
    JOURNAL_START,
    AlreadyDecided,
    Campaign,
    Decision,
    DecisionCheck,
    Evidence,
    NoSuchReview,
    Progress,
    ReviewConflict,
    ReviewError,
    ReviewItem,
    Revocation,
    Scope,
    _item_from_row,
    parse_due,
    parse_id,
    snapshot,
)
from pamtui.services.revoke import Plan, RevocationService, RevokeError, StepUp
from pamtui.services.roles import Act, RoleGuard

__all__ = [
    "FINAL",
    "JOURNAL_DECISION",
    "JOURNAL_START",
    "AlreadyDecided",
    "Campaign",
    "Decision",
    "DecisionCheck",
    "Evidence",
    "NoSuchReview",
    "Progress",
    "ReviewConflict",
    "ReviewError",
    "ReviewItem",
    "ReviewService",
    "Revocation",
    "Scope",
    "parse_due",
    "parse_id",
    "snapshot",
]


# -- the service ---------------------------------------------------------------------


class ReviewService:
    def __init__(
        self,
        journal: Journal,
        revocations: RevocationService | None = None,
        *,
        queue: RevocationQueue | None = None,
        read_only: bool = False,
        guard: RoleGuard | None = None,
    ) -> None:
        """``revocations`` stages the plans of revoke decisions; ``queue`` alone
        (a read-only report) only reads what was staged. ``guard``: the actor's
        roles (services/roles.py), by default the revocation service's; starting
        a campaign is ``Act.REVIEW``, deciding an item ``Act.STAGE``."""
        self.journal = journal
        self._revoke = revocations
        self.queue = revocations.queue if revocations is not None else queue
        self.read_only = read_only or journal.read_only
        self.guard = guard if guard is not None or revocations is None else revocations.guard

    def _may(self, act: Act, subject: str) -> None:
        if self.guard is not None:
            self.guard.require(act, subject)

    @classmethod
    def for_session(cls, session: Any) -> ReviewService:
        return cls(
            session.journal,
            session.revocations,
            read_only=session.read_only,
            guard=session.guard,
        )

    def _require_writable(self) -> None:
        if self.read_only:
            raise ReviewError("this session is read-only: review decisions are disabled")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.journal.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    # -- starting ------------------------------------------------------------------

    def start(
        self,
        scope: Scope | str,
        views: Iterable[AccountView],
        *,
        actor: str,
        due: str | None = None,
        limit: int | None = None,
        providers: Iterable[str] | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> Campaign:
        """Snapshot the accounts in scope into a new campaign (one journal entry).

        ``detail`` adds keys to the ``review_start`` entry (e.g. why a policy
        started it); it cannot replace the standard ones.
        """
        self._may(Act.REVIEW, f"review:{scope}")
        self._require_writable()
        if isinstance(scope, str):
            scope = Scope.parse(scope, providers)
        due = parse_due(due)
        if limit is not None and limit < 1:
            raise ReviewError("--limit must be at least 1")
        chosen = sorted(
            (v for v in views if scope.includes(v)),
            key=lambda v: (v.account.provider, v.account.name.casefold(), v.account.id),
        )
        if limit is not None:
            chosen = chosen[:limit]
        if not chosen:
            raise ReviewError(f"nothing to review: no account is in scope {scope}")
        snaps = [snapshot(v) for v in chosen]
        digest = hashlib.sha256(
            canonical_json(
                [[v.account.provider, s] for v, s in zip(chosen, snaps, strict=True)]
            ).encode()
        ).hexdigest()
        now = timestamp()
        with self.journal.transaction() as tx:
            cursor = tx.execute(
                "INSERT INTO review_campaigns (scope, created_by, created, due, item_count)"
                " VALUES (?, ?, ?, ?, ?)",
                (str(scope), actor, now, due, len(chosen)),
            )
            assert cursor.lastrowid is not None  # an INSERT sets it
            campaign_id = int(cursor.lastrowid)
            tx.conn.executemany(
                "INSERT INTO review_items (campaign_id, position, provider, account_id,"
                " account_name, snapshot) VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        campaign_id,
                        n,
                        v.account.provider,
                        v.account.id,
                        v.account.name,
                        canonical_json(s),
                    )
                    for n, (v, s) in enumerate(zip(chosen, snaps, strict=True), 1)
                ],
            )
            entry = tx.append(
                actor,
                JOURNAL_START,
                subject=f"review:{campaign_id}",
                detail={
                    **(detail or {}),
                    "campaign": campaign_id,
                    "scope": str(scope),
                    "due": due,
                    "items": len(chosen),
                    "limit": limit,
                    "snapshot_sha256": digest,
                },
            )
            tx.execute(
                "UPDATE review_campaigns SET start_seq = ? WHERE id = ?", (entry.seq, campaign_id)
            )
        return self.get(campaign_id)

    # -- reading -------------------------------------------------------------------

    def _progress(self, campaign_id: int, total: int) -> Progress:
        counts = dict(
            self.journal.conn.execute(
                "SELECT decision, count(*) FROM review_items WHERE campaign_id = ?"
                " GROUP BY decision",
                (campaign_id,),
            ).fetchall()
        )
        return Progress(
            total,
            kept=counts.get(Decision.KEEP.value, 0),
            revoked=counts.get(Decision.REVOKE.value, 0),
            deferred=counts.get(Decision.DEFER.value, 0),
        )

    def _campaign(self, row: Mapping[str, Any]) -> Campaign:
        reviewers = tuple(
            r
            for (r,) in self.journal.conn.execute(
                "SELECT DISTINCT reviewer FROM review_items WHERE campaign_id = ?"
                " AND reviewer != '' ORDER BY reviewer",
                (row["id"],),
            ).fetchall()
        )
        return Campaign(
            id=row["id"],
            scope=row["scope"],
            created_by=row["created_by"],
            created=row["created"],
            due=row["due"],
            item_count=row["item_count"],
            start_seq=row["start_seq"],
            progress=self._progress(row["id"], row["item_count"]),
            reviewers=reviewers,
        )

    def campaigns(self) -> list[Campaign]:
        return [
            self._campaign(r) for r in self._query("SELECT * FROM review_campaigns ORDER BY id")
        ]

    def get(self, campaign_id: int) -> Campaign:
        rows = self._query("SELECT * FROM review_campaigns WHERE id = ?", (campaign_id,))
        if not rows:
            raise NoSuchReview(f"no review campaign {campaign_id} (see: pamtui review list)")
        return self._campaign(rows[0])

    def items(self, campaign_id: int) -> list[ReviewItem]:
        self.get(campaign_id)
        return [
            _item_from_row(r)
            for r in self._query(
                "SELECT * FROM review_items WHERE campaign_id = ? ORDER BY position",
                (campaign_id,),
            )
        ]

    def item(self, campaign_id: int, position: int) -> ReviewItem:
        rows = self._query(
            "SELECT * FROM review_items WHERE campaign_id = ? AND position = ?",
            (campaign_id, position),
        )
        if not rows:
            self.get(campaign_id)
            raise NoSuchReview(f"campaign {campaign_id} has no item {position}")
        return _item_from_row(rows[0])

    def progress(self, campaign_id: int) -> Progress:
        return self.get(campaign_id).progress

    def revocations(self, item: ReviewItem) -> list[Revocation]:
        """The queue items a revoke decision caused, as they are now."""
        if self.queue is None or not item.queue_item_ids:
            return []
        out = []
        for queue_id in item.queue_item_ids:
            queued = self.queue.get(queue_id)
            out.append(Revocation(queued, self._result_seq(queued)))
        return out

    def _result_seq(self, queued: QueueItem) -> int:
        if queued.state not in (QueueState.VERIFIED, QueueState.FAILED):
            return 0
        action = "verified" if queued.state is QueueState.VERIFIED else None
        for entry in self.journal.entries(
            EntryFilter(provider=queued.action.provider, subject=queued.action.subject),
            limit=50,
        ):
            if entry.detail.get("item") != queued.id:
                continue
            if action is None and entry.action in ("failed", "verify_failed"):
                return entry.seq
            if entry.action == action:
                return entry.seq
        return 0

    def evidence(self, item: ReviewItem, *, events: int = 8) -> Evidence:
        """The item plus its recent journal history and any revocations it caused."""
        subjects = [item.subject] + [f"credential:{c.get('id', '')}" for c in item.credentials]
        found: dict[int, JournalEntry] = {}
        for subject in subjects:
            for entry in self.journal.entries(
                EntryFilter(provider=item.provider, subject=subject), limit=events
            ):
                found[entry.seq] = entry
        recent = sorted(found.values(), key=lambda e: e.seq, reverse=True)[:events]
        return Evidence(item, recent, self.revocations(item))

    # -- deciding ------------------------------------------------------------------

    def decide(
        self,
        campaign_id: int,
        position: int,
        decision: Decision | str,
        justification: str = "",
        *,
        reviewer: str,
        expected_version: int | None = None,
        view: AccountView | None = None,
        code: str | None = None,
        proof: StepUp | None = None,
    ) -> ReviewItem:
        """Record one decision, journalled in the same transaction.

        ``expected_version`` is the item's version as the reviewer saw it; if
        the item changed since, :class:`ReviewConflict` is raised and nothing
        is written. Without it the reviewer claims to have seen the item
        undecided (or deferred): a keep or revoke already there is not
        replaced. ``revoke`` stages the plan for ``view`` (the account as the
        providers report it now) exactly as ``pamtui revoke`` would, approved
        by the reviewer (four eyes when asked), without executing it.
        """
        self._may(Act.STAGE, f"review:{campaign_id}:{position}")  # an operator's
        self._require_writable()
        try:
            decision = Decision(decision)
        except ValueError:
            raise ReviewError(
                f"decision must be keep, revoke or defer, not {str(decision)!r}"
            ) from None
        justification = justification.strip()
        if decision is Decision.KEEP and not justification:
            raise ReviewError("keeping access needs a justification")
        plan: Plan | None = None
        if decision is Decision.REVOKE:
            if self._revoke is None:
                raise ReviewError("no revocation queue: cannot stage a revocation")
            current = self.item(campaign_id, position)
            if view is None or view.key != (current.provider, current.account_id):
                raise ReviewError(
                    f"account {current.account_name!r} ({current.provider}) is no longer "
                    "reported by its provider: nothing to revoke"
                )
            try:
                plan = self._revoke.plan_account(view)
            except RevokeError as exc:
                raise ReviewError(str(exc)) from None
            if proof is None:  # the step-up journals itself: before the decision's transaction
                proof = self._revoke.step_up(
                    code, what=f"review: {plan.describe()}", subject=plan.subject
                )
        with self.journal.transaction() as tx:
            item = self.item(campaign_id, position)
            self._check_not_stale(item, expected_version)
            queued: list[QueueItem] = []
            if plan is not None and self._revoke is not None:
                reason = (
                    f"access review #{campaign_id} item {position}: "
                    f"{justification or 'revoked in review'}"
                )
                submission = self._revoke.submit(plan, reason, proof=proof, actor=reviewer, tx=tx)
                queued = list(submission.items)
            now = timestamp()
            queue_ids = [q.id for q in queued]
            entry = tx.append(
                reviewer,
                JOURNAL_DECISION,
                provider=item.provider,
                subject=item.subject,
                detail={
                    "campaign": campaign_id,
                    "item": position,
                    "account": item.account_name,
                    "decision": str(decision),
                    "justification": justification,
                    "previous": item.decision,
                    "queue_items": queue_ids,
                    **({"plan": queued[0].plan_id} if queued else {}),
                },
                ts=now,
            )
            cursor = tx.execute(
                "UPDATE review_items SET decision = ?, justification = ?, reviewer = ?,"
                " decided_at = ?, decision_seq = ?, queue_item_ids = ?, version = version + 1"
                " WHERE id = ? AND version = ?",
                (
                    str(decision),
                    justification,
                    reviewer,
                    now,
                    entry.seq,
                    json.dumps(queue_ids),
                    item.id,
                    item.version,
                ),
            )
            if cursor.rowcount != 1:  # pragma: no cover - BEGIN IMMEDIATE serialises writers
                raise ReviewConflict(f"item {position} changed meanwhile; reload and decide again")
        return self.item(campaign_id, position)

    def _check_not_stale(self, item: ReviewItem, expected_version: int | None) -> None:
        who = f"{item.decision} by {item.reviewer} at {item.decided_at}"
        if expected_version is not None and expected_version != item.version:
            raise ReviewConflict(
                f"item {item.position} was decided meanwhile ({who}); "
                "nothing overwritten: reload and decide again"
            )
        if item.decision == Decision.REVOKE:
            ids = " ".join(str(i) for i in item.queue_item_ids)
            raise AlreadyDecided(
                f"item {item.position} is decided already ({who}): revocation staged as "
                f"queue {'item' if len(item.queue_item_ids) == 1 else 'items'} {ids}; "
                "cancel them in the queue to undo it"
            )
        if expected_version is None and item.decision == Decision.KEEP:
            raise AlreadyDecided(
                f"item {item.position} is decided already ({who}); nothing overwritten"
            )

    # -- checking ----------------------------------------------------------------------

    def check_against_journal(self, campaign_id: int) -> list[DecisionCheck]:
        """For every decided item: does the journal entry it names say the same?"""
        checks = []
        for item in self.items(campaign_id):
            if not item.decision:
                continue
            entry = self.journal.get(item.decision_seq) if item.decision_seq else None
            problem = ""
            if entry is None:
                problem = f"journal entry {item.decision_seq} is missing"
            elif entry.action != JOURNAL_DECISION:
                problem = f"journal entry {entry.seq} is a {entry.action}, not a decision"
            else:
                d = entry.detail
                expected = {
                    "campaign": campaign_id,
                    "item": item.position,
                    "decision": item.decision,
                    "justification": item.justification,
                    "queue_items": list(item.queue_item_ids),
                }
                wrong = [k for k, v in expected.items() if d.get(k) != v]
                if entry.actor != item.reviewer:
                    wrong.append("actor")
                if entry.subject != item.subject or entry.provider != item.provider:
                    wrong.append("subject")
                if wrong:
                    problem = f"journal entry {entry.seq} disagrees on {', '.join(wrong)}"
            checks.append(DecisionCheck(item, entry, problem))
        return checks

    def head(self) -> Head | None:
        return self.journal.head()
