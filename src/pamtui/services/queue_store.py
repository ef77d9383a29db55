"""The revocation queue's rows and their journalled transitions.

:class:`QueueStore` reads and writes ``queue_items``: staging a plan,
approving, editing, cancelling, expiring approvals, and the one guarded
transition that every state change goes through (conditional on the state
and the lease it read, journalled in the same transaction). The check that a
row is what its journal entries say is :mod:`pamtui.services.queue_journal_check`'s;
the errors are :mod:`pamtui.services.queue_errors`'s. Execution, and the
guarantees that go with it, are :class:`pamtui.services.queue.RevocationQueue`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pamtui.journal import Journal, Transaction, timestamp
from pamtui.model import QueueItem, QueueState, RevokeAction, TargetKind
from pamtui.providers.base import Provider
from pamtui.services.holder import Holder
from pamtui.services.queue_errors import FourEyesError as FourEyesError
from pamtui.services.queue_errors import NoSuchItem as NoSuchItem
from pamtui.services.queue_errors import PlanOrderError as PlanOrderError
from pamtui.services.queue_errors import QueueError as QueueError
from pamtui.services.queue_errors import QueueTampered as QueueTampered
from pamtui.services.queue_errors import ReadOnlyError as ReadOnlyError
from pamtui.services.queue_errors import WrongState as WrongState
from pamtui.services.queue_journal_check import check_journalled

S = QueueState

ALLOWED: dict[QueueState, frozenset[QueueState]] = {
    S.STAGED: frozenset({S.AWAITING_APPROVAL, S.APPROVED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.EXECUTING, S.CANCELLED}),
    # executing -> executing: a lease expired (its process died) and another claims it.
    S.EXECUTING: frozenset({S.EXECUTING, S.REVOKED, S.FAILED}),
    S.REVOKED: frozenset({S.VERIFIED, S.FAILED}),
    S.FAILED: frozenset({S.EXECUTING, S.CANCELLED}),
    S.VERIFIED: frozenset(),
    S.CANCELLED: frozenset(),
}

PENDING = (S.STAGED, S.AWAITING_APPROVAL, S.APPROVED, S.FAILED)
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_APPROVAL_TTL = timedelta(hours=24)


def _parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _item_from_row(row: Mapping[str, Any]) -> QueueItem:
    action = RevokeAction(
        provider=row["provider"],
        name=row["action_name"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        account_id=row["account_id"],
        label=row["label"],
        reversible=bool(row["reversible"]),
        order=row["step_order"],
    )
    return QueueItem(
        id=row["id"],
        state=QueueState(row["state"]),
        action=action,
        reason=row["reason"],
        requested_by=row["requested_by"],
        idempotency_key=row["idempotency_key"],
        created=_parse_ts(row["created"]),
        updated=_parse_ts(row["updated"]),
        plan_id=row["plan_id"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        approved_by=row["approved_by"],
        four_eyes=bool(row["four_eyes"]),
        lease_owner=row["lease_owner"],
        lease_until=row["lease_until"],
    )


def _action_detail(action: RevokeAction) -> dict[str, Any]:
    return {
        "action": action.name,
        "label": action.label,
        "target_kind": str(action.target_kind),
        "target_id": action.target_id,
        "account_id": action.account_id,
        "reversible": action.reversible,
    }


class QueueStore:
    def __init__(
        self,
        journal: Journal,
        providers: Mapping[str, Provider],
        operator: str,
        *,
        read_only: bool = False,
        lease: timedelta = DEFAULT_LEASE,
        approval_ttl: timedelta = DEFAULT_APPROVAL_TTL,
        concurrency_per_provider: int = 4,
    ) -> None:
        self.journal = journal
        self.providers = providers
        self.operator = operator
        self.read_only = read_only
        self.lease = lease
        self.approval_ttl = approval_ttl
        self.concurrency_per_provider = max(1, concurrency_per_provider)
        self.instance = Holder.current().lease_owner()

    def _require_writable(self) -> None:
        # The one place read-only is enforced: every mutation passes here.
        if self.read_only:
            raise ReadOnlyError("this session is read-only: revocations are disabled")

    # -- reading -----------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[QueueItem]:
        cursor = self.journal.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [_item_from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def items(
        self, states: Iterable[QueueState] | None = None, limit: int = 1000
    ) -> list[QueueItem]:
        if states is None:
            return self._rows("SELECT * FROM queue_items ORDER BY id DESC LIMIT ?", (limit,))
        wanted = [str(s) for s in states]
        marks = ",".join("?" * len(wanted))
        return self._rows(
            f"SELECT * FROM queue_items WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*wanted, limit),
        )

    def get(self, item_id: int) -> QueueItem:
        found = self._rows("SELECT * FROM queue_items WHERE id = ?", (item_id,))
        if not found:
            raise NoSuchItem(f"no queue item {item_id} (see: pamtui queue list)")
        return found[0]

    def counts(self) -> dict[QueueState, int]:
        rows = self.journal.conn.execute(
            "SELECT state, count(*) FROM queue_items GROUP BY state"
        ).fetchall()
        return {QueueState(state): n for state, n in rows}

    # -- transitions -------------------------------------------------------

    def _transition(
        self,
        tx: Transaction,
        item: QueueItem,
        to: QueueState,
        journal_action: str,
        *,
        actor: str | None = None,
        detail: Mapping[str, Any] | None = None,
        attempts: int | None = None,
        last_error: str | None = None,
        approved_by: str | None = None,
        lease: tuple[str, str] | None = None,
    ) -> QueueItem:
        self._require_writable()
        if to not in ALLOWED[item.state]:
            raise WrongState(f"item {item.id} is {item.state}; it cannot become {to}")
        # Read again: an item another process has moved on since is not a forgery
        # (the conditional update below then refuses it as before).
        check_journalled(self.journal, self.get(item.id))
        lease_owner, lease_until = lease if lease is not None else ("", "")
        cursor = tx.execute(
            "UPDATE queue_items SET state = ?, updated = ?, attempts = ?, last_error = ?,"
            " approved_by = ?, lease_owner = ?, lease_until = ?"
            " WHERE id = ? AND state = ? AND lease_owner = ?",
            (
                str(to),
                timestamp(),
                item.attempts if attempts is None else attempts,
                item.last_error if last_error is None else last_error,
                item.approved_by if approved_by is None else approved_by,
                lease_owner,
                lease_until,
                item.id,
                str(item.state),
                item.lease_owner,
            ),
        )
        if cursor.rowcount != 1:
            raise QueueError(f"item {item.id} was changed by someone else; reload the queue")
        tx.append(
            actor or self.operator,
            journal_action,
            provider=item.action.provider,
            subject=item.action.subject,
            detail={
                "item": item.id,
                "from": str(item.state),
                "to": str(to),
                **_action_detail(item.action),
                **(dict(detail) if detail else {}),
            },
        )
        return self.get(item.id)

    def stage(
        self,
        actions: Sequence[RevokeAction],
        reason: str,
        *,
        actor: str | None = None,
        approve: bool = False,
        four_eyes: bool = False,
        tx: Transaction | None = None,
        group: str = "",
        gates: Collection[RevokeAction] = (),
    ) -> list[QueueItem]:
        """Put actions in the queue as one plan.

        With ``approve`` the requester's confirmation is recorded too: the
        items become ``approved``, or ``awaiting_approval`` when ``four_eyes``
        asks for a second operator. Everything is journalled in the same
        transaction as the rows it creates: ``tx`` when the caller has one
        open (a review decision commits with the plan it stages).

        ``group`` ties this plan to others (a person's offboarding stages one
        plan per provider); ``gates`` are this plan's steps that every other
        plan of the group waits for (see :meth:`waits_for`).
        """
        self._require_writable()
        reason = reason.strip()
        if not reason:
            raise QueueError("a reason is required")
        if not actions:
            raise QueueError("nothing to revoke")
        for action in actions:
            if action.provider not in self.providers:
                raise QueueError(f"unknown provider {action.provider!r}")
        actor = actor or self.operator
        unknown_gates = [g for g in gates if g not in actions]
        if unknown_gates:
            raise QueueError(f"{unknown_gates[0].label!r} is a gate but not a step of the plan")
        if gates and not group:
            raise QueueError("gate steps need a plan group")
        if tx is None:
            with self.journal.transaction() as own:
                return self._stage(
                    own, actions, reason, actor, approve, four_eyes, group, frozenset(gates)
                )
        return self._stage(tx, actions, reason, actor, approve, four_eyes, group, frozenset(gates))

    def _stage(
        self,
        tx: Transaction,
        actions: Sequence[RevokeAction],
        reason: str,
        actor: str,
        approve: bool,
        four_eyes: bool,
        group: str = "",
        gates: frozenset[RevokeAction] = frozenset(),
    ) -> list[QueueItem]:
        plan_id = uuid.uuid4().hex[:12]
        staged: list[QueueItem] = []
        for action in actions:
            now = timestamp()
            key = f"{plan_id}-{uuid.uuid4().hex[:12]}"
            cursor = tx.execute(
                "INSERT INTO queue_items (state, provider, action_name, target_kind,"
                " target_id, account_id, label, reversible, step_order, reason,"
                " requested_by, idempotency_key, plan_id, created, updated, four_eyes,"
                " plan_group, gate)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    str(S.STAGED),
                    action.provider,
                    action.name,
                    str(action.target_kind),
                    action.target_id,
                    action.account_id,
                    action.label,
                    int(action.reversible),
                    action.order,
                    reason,
                    actor,
                    key,
                    plan_id,
                    now,
                    now,
                    int(four_eyes),
                    group,
                    int(action in gates),
                ),
            )
            item_id = cursor.lastrowid
            assert item_id is not None  # an INSERT sets it
            tx.append(
                actor,
                "stage",
                provider=action.provider,
                subject=action.subject,
                detail={
                    "item": item_id,
                    "plan": plan_id,
                    "reason": reason,
                    "idempotency_key": key,
                    "four_eyes": four_eyes,
                    "order": action.order,
                    **({"group": group, "gate": action in gates} if group else {}),
                    **_action_detail(action),
                },
            )
            item = self.get(item_id)
            if approve:
                item = self._confirm(tx, item, actor)
            staged.append(item)
        return staged

    def _confirm(self, tx: Transaction, item: QueueItem, actor: str) -> QueueItem:
        if item.four_eyes and actor == item.requested_by:
            return self._transition(tx, item, S.AWAITING_APPROVAL, "request_approval", actor=actor)
        return self._transition(tx, item, S.APPROVED, "approve", actor=actor, approved_by=actor)

    def approve(self, item_id: int, *, actor: str | None = None) -> QueueItem:
        """Approve a staged item, or (four eyes) someone else's pending request."""
        actor = actor or self.operator
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            if item.state is S.AWAITING_APPROVAL and actor == item.requested_by:
                raise FourEyesError(
                    f"four eyes: item {item_id} needs a second operator; {actor} requested "
                    "it and cannot approve it too"
                )
            if item.state is S.STAGED:
                return self._confirm(tx, item, actor)
            return self._transition(tx, item, S.APPROVED, "approve", actor=actor, approved_by=actor)

    def edit(self, item_id: int, *, reason: str, actor: str | None = None) -> QueueItem:
        """Change a staged item's reason, before anyone approved or ran it."""
        self._require_writable()
        reason = reason.strip()
        if not reason:
            raise QueueError("a reason is required")
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            if item.state is not S.STAGED:
                raise WrongState(f"item {item_id} is {item.state}: only staged items can be edited")
            cursor = tx.execute(
                "UPDATE queue_items SET reason = ?, updated = ? WHERE id = ? AND state = ?",
                (reason, timestamp(), item.id, str(S.STAGED)),
            )
            if cursor.rowcount != 1:
                raise QueueError(f"item {item.id} was changed by someone else; reload the queue")
            tx.append(
                actor or self.operator,
                "edit",
                provider=item.action.provider,
                subject=item.action.subject,
                detail={
                    "item": item.id,
                    "reason_before": item.reason,
                    "reason": reason,
                    **_action_detail(item.action),
                },
            )
        return self.get(item_id)

    def cancel(self, item_id: int, *, actor: str | None = None, why: str = "") -> QueueItem:
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            if item.state not in PENDING:
                raise WrongState(
                    f"item {item_id} is {item.state}: only pending items can be cancelled"
                )
            return self._transition(
                tx, item, S.CANCELLED, "cancel", actor=actor, detail={"why": why} if why else None
            )

    def expire_approvals(self, now: datetime | None = None) -> list[QueueItem]:
        """Cancel requests that waited longer than the approval TTL."""
        now = now or datetime.now(UTC)
        cutoff = timestamp(now - self.approval_ttl)
        expired = []
        for item in self._rows(
            "SELECT * FROM queue_items WHERE state = ? AND updated < ?",
            (str(S.AWAITING_APPROVAL), cutoff),
        ):
            try:
                with self.journal.transaction() as tx:
                    expired.append(
                        self._transition(
                            tx,
                            item,
                            S.CANCELLED,
                            "approval_expired",
                            actor="system",
                            detail={"waited_since": timestamp(item.updated)},
                        )
                    )
            except QueueError:
                continue  # someone approved or cancelled it meanwhile
        return expired

    # -- execution ---------------------------------------------------------

    def waits_for(self, item: QueueItem) -> list[QueueItem]:
        """The steps that must be settled before ``item`` may start.

        1. The earlier steps of ``item``'s plan that are neither verified nor
           cancelled. "Earlier" is a lower step order: every token, key and
           session (one order) before the account itself (a later one). Steps
           of one order are peers and may run side by side.
        2. In a plan group (a person's offboarding: one plan per provider),
           the *gate* steps of the group's other plans (block new logins at
           the identity provider) that are not settled yet: settled is
           verified, cancelled, or failed. Gates do not wait for each other
           (two identity providers block logins side by side). A failed gate (the identity
           provider is down) releases the other providers' steps, because
           leaving a leaver's access live elsewhere until the identity
           provider answers is worse than ending it out of order; the gate
           stays open in the plan's report.

        While this is not empty the item must not start (the queue's
        plan-order invariant).
        """
        if not item.plan_id:
            return []
        blockers = self._rows(
            "SELECT * FROM queue_items WHERE plan_id = ? AND step_order < ?"
            " AND state NOT IN (?, ?) ORDER BY step_order, id",
            (item.plan_id, item.action.order, str(S.VERIFIED), str(S.CANCELLED)),
        )
        return blockers + self._rows(
            "SELECT g.* FROM queue_items AS i JOIN queue_items AS g"
            " ON g.plan_group = i.plan_group AND g.plan_id != i.plan_id"
            " WHERE i.id = ? AND i.plan_group != '' AND i.gate = 0 AND g.gate = 1"
            " AND g.state NOT IN (?, ?, ?) ORDER BY g.step_order, g.id",
            (item.id, str(S.VERIFIED), str(S.CANCELLED), str(S.FAILED)),
        )

    def group_items(self, group: str) -> list[QueueItem]:
        """Every step of a plan group (a person's offboarding), by provider then order."""
        if not group:
            return []
        return self._rows(
            "SELECT * FROM queue_items WHERE plan_group = ? ORDER BY provider, step_order, id",
            (group,),
        )

    def account_items(self, provider: str, account_id: str) -> list[QueueItem]:
        """Every item on one account (its credentials' too), oldest first."""
        return self._rows(
            "SELECT * FROM queue_items WHERE provider = ? AND account_id = ? ORDER BY id",
            (provider, account_id),
        )

    def group_of(self, item_id: int) -> str:
        row = self.journal.conn.execute(
            "SELECT plan_group FROM queue_items WHERE id = ?", (item_id,)
        ).fetchone()
        return str(row[0]) if row else ""

    def plan_items(self, plan_id: str) -> list[QueueItem]:
        """Every step of a plan, in the order they run."""
        return self._rows(
            "SELECT * FROM queue_items WHERE plan_id = ? ORDER BY step_order, id", (plan_id,)
        )
