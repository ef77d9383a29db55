"""The revocation queue: a persisted state machine, journalled at every step.

``staged -> (awaiting_approval ->) approved -> executing -> revoked -> verified``
with ``failed`` (retryable) and ``cancelled``.

Guarantees, and how:

- *Nothing is done unannounced*: every transition and the journal entry
  announcing it commit in one SQLite transaction, *before* the provider is
  called. If the journal cannot be written, the provider is never called.
- *Nothing is done twice*: an item is claimed with a conditional UPDATE inside
  ``BEGIN IMMEDIATE`` and carries a lease (owner, expiry). Two processes on one
  database never both hold it, and every provider call carries the item's
  idempotency key.
- *Nothing is lost*: an item whose process died mid-execution keeps its
  ``executing`` (or ``revoked``) state; once its lease has expired,
  :meth:`RevocationQueue.recover` re-drives it: verify first, revoke again
  (idempotently) only if the access is still there.
- *Nothing is faked*: only the provider's own answer to ``verify`` makes an
  item ``verified``; a revocation the provider accepted but verification
  contradicts fails loudly as ``verify_failed``.
- *Four eyes*: an item flagged ``four_eyes`` waits in ``awaiting_approval``
  until an operator other than the requester approves it; pending approvals
  expire.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from pamtui.errors import PamtuiError
from pamtui.journal import Journal, JournalError, JournalUnavailable, Transaction, timestamp
from pamtui.journal.redact import redact
from pamtui.model import (
    Account,
    Credential,
    CredentialStatus,
    QueueItem,
    QueueState,
    RevokeAction,
    TargetKind,
)
from pamtui.providers.base import Provider, ProviderError

S = QueueState
T = TypeVar("T")

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


class QueueError(PamtuiError):
    """A queue operation was refused; the message is for operators."""


class ReadOnlyError(QueueError):
    """The session is read-only: no mutating action is available."""


class FourEyesError(QueueError):
    """The requester tried to approve their own request."""


@dataclass(frozen=True)
class Outcome:
    item: QueueItem
    ok: bool
    message: str
    skipped: bool = False
    """Another runner had it (claimed or finished): not a failure of ours."""

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped


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


def plan_for_account(
    provider: Provider, account: Account, credentials: Iterable[Credential]
) -> list[RevokeAction]:
    """Every step that removes an account's access, in execution order.

    Deactivating an account does not end its tokens, keys or sessions, so a
    plan revokes each live credential first (the provider's first proposed
    action for it) and ends with the account-level actions.
    """
    steps = [a for c in credentials for a in plan_for_credential(provider, c)]
    steps.extend(provider.revoke_actions(account))
    return sorted(steps, key=lambda a: a.order)


def plan_for_credential(provider: Provider, credential: Credential) -> list[RevokeAction]:
    """The provider's preferred action for one credential (its first proposal)."""
    if credential.status is not CredentialStatus.ACTIVE:
        return []
    return provider.revoke_actions(credential)[:1]


class RevocationQueue:
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
        self.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"

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
            raise QueueError(f"no queue item {item_id}")
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
            raise QueueError(f"item {item.id} is {item.state}; it cannot become {to}")
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
    ) -> list[QueueItem]:
        """Put actions in the queue as one plan.

        With ``approve`` the requester's confirmation is recorded too: the
        items become ``approved``, or ``awaiting_approval`` when ``four_eyes``
        asks for a second operator. Everything is journalled in the same
        transaction as the rows it creates.
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
        plan_id = uuid.uuid4().hex[:12]
        staged: list[QueueItem] = []
        with self.journal.transaction() as tx:
            for action in actions:
                now = timestamp()
                key = f"{plan_id}-{uuid.uuid4().hex[:12]}"
                cursor = tx.execute(
                    "INSERT INTO queue_items (state, provider, action_name, target_kind,"
                    " target_id, account_id, label, reversible, step_order, reason,"
                    " requested_by, idempotency_key, plan_id, created, updated, four_eyes)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                    ),
                )
                item_id = cursor.lastrowid
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
                raise QueueError(f"item {item_id} is {item.state}: only staged items can be edited")
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
                raise QueueError(
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

    def _lease(self, now: datetime) -> tuple[str, str]:
        return self.instance, timestamp(now + self.lease)

    def claim(self, item_id: int, *, now: datetime | None = None) -> QueueItem | None:
        """Atomically take an item for execution; None if it is not ours to run.

        Approved and failed items can be claimed; an ``executing`` item only
        once its lease has expired (the process that held it is gone).
        """
        now = now or datetime.now(UTC)
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            stale = item.state is S.EXECUTING and item.lease_until < timestamp(now)
            if item.state not in (S.APPROVED, S.FAILED) and not stale:
                return None
            return self._transition(
                tx,
                item,
                S.EXECUTING,
                "reclaim" if stale else "execute",
                attempts=item.attempts + 1,
                lease=self._lease(now),
                detail={
                    "attempt": item.attempts + 1,
                    "idempotency_key": item.idempotency_key,
                    **({"previous_lease": item.lease_owner} if stale else {}),
                },
            )

    async def execute(self, item_id: int) -> Outcome:
        """Revoke, then ask the provider again; only a confirmed check is ``verified``."""
        try:
            item = self.claim(item_id)
        except (JournalUnavailable, ReadOnlyError) as exc:
            return Outcome(self.get(item_id), False, f"not executed: {exc}")
        except QueueError as exc:  # another process claimed it first
            return Outcome(self.get(item_id), False, str(exc), skipped=True)
        if item is None:
            current = self.get(item_id)
            taken = current.state in (S.EXECUTING, S.REVOKED, S.VERIFIED)
            why = {
                S.VERIFIED: "verified already",
                S.EXECUTING: "taken by another runner",
                S.REVOKED: "taken by another runner",
            }.get(current.state, "not executable")
            return Outcome(
                current, False, f"item {item_id} is {current.state}: {why}", skipped=taken
            )
        return await self._drive_safely(item)

    async def _under_lease(self, item: QueueItem, call: Awaitable[T]) -> T:
        """Await a provider call while a heartbeat keeps our lease alive.

        A call (with its retries and rate-limit waits) may outlast the lease;
        without the heartbeat another runner would reclaim a live item. It
        renews every third of the lease, so quick calls cost no extra commit.
        """

        async def heartbeat() -> None:
            while True:
                await asyncio.sleep(self.lease.total_seconds() / 3)
                with contextlib.suppress(JournalError):
                    self._renew_lease(item)

        beat = asyncio.create_task(heartbeat())
        try:
            return await call
        finally:
            beat.cancel()

    def _renew_lease(self, item: QueueItem) -> None:
        with self.journal.transaction() as tx:
            tx.execute(
                "UPDATE queue_items SET lease_until = ? WHERE id = ? AND lease_owner = ?",
                (timestamp(datetime.now(UTC) + self.lease), item.id, self.instance),
            )

    async def _drive_safely(self, item: QueueItem) -> Outcome:
        try:
            return await self._drive(item)
        except QueueError as exc:  # our lease expired and another process took over
            return Outcome(self.get(item.id), False, str(exc))
        except JournalError as exc:
            # The provider may have acted but the journal could not say so: the
            # item stays executing and recover() re-drives it (verify first).
            return Outcome(
                self.get(item.id),
                False,
                f"journal unavailable mid-execution, will be re-driven: {exc}",
            )

    async def _drive(self, item: QueueItem) -> Outcome:
        provider = self.providers.get(item.action.provider)
        if provider is None:
            return self._fail(item, f"provider {item.action.provider!r} is not configured")
        if item.attempts > 1:
            # A retry or a recovery: the earlier attempt may have worked. Ask
            # first, so a revocation the provider can tell about is not repeated.
            try:
                check = await self._under_lease(item, provider.verify(item.action))
            except Exception:
                check = None
            if check is not None and check.gone:
                item = self._record_revoked(
                    item, already_done=True, detail="found revoked", response={}, recovered=True
                )
                return await self.verify(item)
        try:
            result = await self._under_lease(
                item, provider.revoke(item.action, item.idempotency_key)
            )
        except ProviderError as exc:
            return self._fail(item, str(exc))
        except Exception as exc:  # a plugin bug must not leave the item executing
            return self._fail(item, f"{type(exc).__name__}: {exc}")
        if not result.ok:
            return self._fail(
                item, result.detail or "the provider refused", result.provider_response
            )
        item = self._record_revoked(
            item,
            already_done=result.already_done,
            detail=result.detail,
            response=result.provider_response,
        )
        return await self.verify(item)

    def _record_revoked(
        self,
        item: QueueItem,
        *,
        already_done: bool,
        detail: str,
        response: Mapping[str, Any],
        recovered: bool = False,
    ) -> QueueItem:
        with self.journal.transaction() as tx:
            return self._transition(
                tx,
                item,
                S.REVOKED,
                "revoked",
                detail={
                    "already_done": already_done,
                    "provider_detail": detail,
                    "provider_response": redact(dict(response)),
                    **({"recovered": True} if recovered else {}),
                },
            )

    async def verify(self, item: QueueItem) -> Outcome:
        provider = self.providers[item.action.provider]
        try:
            check = await provider.verify(item.action)
        except Exception as exc:
            return self._fail(item, f"verification could not run: {exc}")
        if not check.gone:
            return self._fail(
                item,
                "VERIFICATION FAILED: the provider accepted the revocation but the access "
                f"is still there ({check.detail or 'no detail'})",
                check.provider_response,
                journal_action="verify_failed",
            )
        with self.journal.transaction() as tx:
            item = self._transition(
                tx,
                item,
                S.VERIFIED,
                "verified",
                detail={
                    "provider_detail": check.detail,
                    "provider_response": redact(check.provider_response),
                },
            )
        return Outcome(item, True, f"{item.action.label}: verified")

    def _fail(
        self,
        item: QueueItem,
        message: str,
        response: Mapping[str, Any] | None = None,
        *,
        journal_action: str = "failed",
    ) -> Outcome:
        with self.journal.transaction() as tx:
            item = self._transition(
                tx,
                item,
                S.FAILED,
                journal_action,
                last_error=message,
                detail={"error": message, "provider_response": redact(dict(response or {}))},
            )
        return Outcome(item, False, message)

    # -- batches -------------------------------------------------------------

    async def recover(self, *, now: datetime | None = None) -> list[Outcome]:
        """Re-drive what a dead process left behind.

        ``executing`` items whose lease expired are claimed again and driven
        (verify first, then revoke if needed); ``revoked`` items that were
        never verified (older than a lease) are verified.
        """
        now = now or datetime.now(UTC)
        cutoff = timestamp(now)
        outcomes: list[Outcome] = []
        for item in self._rows(
            "SELECT * FROM queue_items WHERE state = ? AND lease_until < ? ORDER BY id",
            (str(S.EXECUTING), cutoff),
        ):
            claimed = None
            with contextlib.suppress(QueueError):  # another process recovered it first
                claimed = self.claim(item.id, now=now)
            if claimed is not None:
                outcomes.append(await self._drive_safely(claimed))
        stale_revoked = timestamp(now - self.lease)
        for item in self._rows(
            "SELECT * FROM queue_items WHERE state = ? AND updated < ? ORDER BY id",
            (str(S.REVOKED), stale_revoked),
        ):
            with contextlib.suppress(QueueError, JournalError):  # verified by someone else
                outcomes.append(await self.verify(item))
        return outcomes

    async def run(self, item_ids: Iterable[int]) -> list[Outcome]:
        """Execute items: each plan's steps in order, plans side by side.

        At most ``concurrency_per_provider`` calls run against one provider at
        a time, so a slow or failing provider holds up only its own items.
        """
        plans: dict[str, list[QueueItem]] = defaultdict(list)
        for item_id in item_ids:
            item = self.get(item_id)
            plans[item.plan_id or f"item-{item.id}"].append(item)
        limits: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.concurrency_per_provider)
        )

        async def run_plan(steps: list[QueueItem]) -> list[Outcome]:
            results = []
            for step in sorted(steps, key=lambda it: (it.action.order, it.id)):
                async with limits[step.action.provider]:
                    results.append(await self.execute(step.id))
            return results

        batches = await asyncio.gather(*(run_plan(steps) for steps in plans.values()))
        return [outcome for batch in batches for outcome in batch]

    async def run_pending(self) -> tuple[list[QueueItem], list[Outcome]]:
        """What ``pamtui queue run`` does: expire, recover, then run the approved.

        Returns the approvals that expired and the outcome of every item run.
        """
        self._require_writable()
        expired = self.expire_approvals()
        outcomes = await self.recover()
        approved = [item.id for item in self.items([S.APPROVED], limit=100_000)]
        return expired, outcomes + await self.run(reversed(approved))


def requires_four_eyes(four_eyes_for_privileged: bool, privileged: bool) -> bool:
    """The policy rule, in one place: privileged targets need a second operator."""
    return four_eyes_for_privileged and privileged
