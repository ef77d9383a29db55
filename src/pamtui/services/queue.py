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
  ``executing`` (or ``revoked``) state; once its lease has expired, or at
  once when its holder is provably dead on this host (services/holder.py),
  :meth:`RevocationQueue.recover` re-drives it: verify first, revoke again
  (idempotently) only if the access is still there.
- *Plan order*: a step is never claimed while an earlier (lower order),
  non-cancelled step of its plan is not verified, whoever asks (run, approve, retry, recovery):
  the check sits in :meth:`RevocationQueue.claim`, inside the transaction
  that takes the item. Asking to run a later step runs the plan up to it.
  Across the plans of one group (a person's offboarding, one plan per
  provider) a step also waits for the group's unsettled *gate* steps (block
  new logins at the identity provider): see ``QueueStore.waits_for``.
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
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pamtui.journal import JournalError, JournalUnavailable, timestamp
from pamtui.journal.redact import redact
from pamtui.model import QueueItem
from pamtui.providers.base import ProviderError
from pamtui.services.holder import Holder, owner_is_dead
from pamtui.services.plans import plan_for_account, plan_for_credential
from pamtui.services.queue_store import (
    ALLOWED,
    DEFAULT_APPROVAL_TTL,
    DEFAULT_LEASE,
    PENDING,
    FourEyesError,
    PlanOrderError,
    QueueError,
    QueueStore,
    QueueTampered,
    ReadOnlyError,
    S,
)

__all__ = [
    "ALLOWED",
    "DEFAULT_APPROVAL_TTL",
    "DEFAULT_LEASE",
    "PENDING",
    "FourEyesError",
    "Held",
    "Outcome",
    "PlanOrderError",
    "QueueError",
    "QueueTampered",
    "ReadOnlyError",
    "RevocationQueue",
    "RunReport",
    "plan_for_account",
    "plan_for_credential",
    "requires_four_eyes",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome:
    """What running one queue item came to, for the operator's report."""

    item: QueueItem
    ok: bool
    message: str
    skipped: bool = False
    """Another runner had it (claimed or finished): not a failure of ours."""
    waiting: bool = False
    """Plan order held it back: an earlier step is not verified yet."""

    @property
    def failed(self) -> bool:
        return not self.ok and not self.skipped and not self.waiting


@dataclass(frozen=True)
class Held:
    """An item that a live process elsewhere is executing (its lease is current)."""

    item: QueueItem
    holder: str
    until: str


@dataclass(frozen=True)
class RunReport:
    """What ``pamtui queue run`` did: expiries, outcomes, and what others hold."""

    expired: list[QueueItem]
    outcomes: list[Outcome]
    held: list[Held]


class RevocationQueue(QueueStore):
    """The queue that executes: claims under a lease, in plan order, verified."""

    def _lease(self, now: datetime) -> tuple[str, str]:
        return self.instance, timestamp(now + self.lease)

    def lease_is_stale(self, item: QueueItem, now: datetime | None = None) -> bool:
        """An in-flight item's holder is gone: its lease expired or it provably died."""
        if item.state not in (S.EXECUTING, S.REVOKED):
            return False
        now = now or datetime.now(UTC)
        if not item.lease_owner:  # revoked before holders kept their lease through verify
            return item.state is S.REVOKED and timestamp(item.updated) < timestamp(now - self.lease)
        return item.lease_until < timestamp(now) or owner_is_dead(item.lease_owner)

    def claim(self, item_id: int, *, now: datetime | None = None) -> QueueItem | None:
        """Atomically take an item for execution; None if it is not ours to run.

        Approved and failed items can be claimed; an ``executing`` item only
        once its holder is gone (lease expired, or the process provably dead).
        Raises :class:`PlanOrderError` while an earlier step of the plan is not
        verified: the check and the claim are one transaction, so no route
        (run, approve, retry, recovery, a second process) can start a step
        out of order.
        """
        now = now or datetime.now(UTC)
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            stale = item.state is S.EXECUTING and self.lease_is_stale(item, now)
            if item.state not in (S.APPROVED, S.FAILED) and not stale:
                return None
            blockers = self.waits_for(item)
            if blockers:
                raise PlanOrderError(describe_wait(item, blockers))
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
        except PlanOrderError as exc:
            return Outcome(self.get(item_id), False, str(exc), waiting=True)
        except QueueTampered as exc:  # a failure to report, not another runner's item
            return Outcome(self.get(item_id), False, str(exc))
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
                # The holder keeps its lease until verified: if it dies now, a
                # recovery can tell at once (services/holder.py).
                lease=self._lease(datetime.now(UTC)),
                detail={
                    "already_done": already_done,
                    "provider_detail": detail,
                    "provider_response": redact(dict(response)),
                    **({"recovered": True} if recovered else {}),
                },
            )

    async def verify(self, item: QueueItem) -> Outcome:
        provider = self.providers[item.action.provider]
        if item.lease_owner and item.lease_owner != self.instance:
            # A recovery verifies a dead holder's item: take its lease first.
            with self.journal.transaction() as tx:
                cursor = tx.execute(
                    "UPDATE queue_items SET lease_owner = ?, lease_until = ?"
                    " WHERE id = ? AND state = ? AND lease_owner = ?",
                    (*self._lease(datetime.now(UTC)), item.id, str(S.REVOKED), item.lease_owner),
                )
                if cursor.rowcount != 1:
                    raise QueueError(f"item {item.id} was changed by someone else")
            item = self.get(item.id)
        try:
            check = await self._under_lease(item, provider.verify(item.action))
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

        ``executing`` items whose holder is gone (lease expired, or provably
        dead on this host) are claimed again and driven: verify first, then
        revoke if needed. ``revoked`` items whose holder is gone are verified.
        Items are taken in plan order, so a plan's earlier step in doubt is
        settled before anything after it can start.
        """
        now = now or datetime.now(UTC)
        outcomes: list[Outcome] = []
        in_flight = self._rows(
            "SELECT * FROM queue_items WHERE state IN (?, ?) ORDER BY plan_id, step_order, id",
            (str(S.EXECUTING), str(S.REVOKED)),
        )
        for item in in_flight:
            if not self.lease_is_stale(item, now):
                continue
            if item.state is S.REVOKED:
                with contextlib.suppress(QueueError, JournalError):  # verified by someone else
                    outcomes.append(await self.verify(item))
                continue
            claimed = None
            try:
                claimed = self.claim(item.id, now=now)
            except PlanOrderError as exc:
                outcomes.append(Outcome(self.get(item.id), False, str(exc), waiting=True))
            except QueueTampered as exc:
                outcomes.append(Outcome(self.get(item.id), False, str(exc)))
            except QueueError:  # another process recovered it first
                pass
            if claimed is not None:
                outcomes.append(await self._drive_safely(claimed))
        return outcomes

    def is_gate(self, item: QueueItem) -> bool:
        row = self.journal.conn.execute(
            "SELECT gate FROM queue_items WHERE id = ?", (item.id,)
        ).fetchone()
        return bool(row and row[0])

    def held_elsewhere(self, now: datetime | None = None) -> list[Held]:
        """In-flight items that a live process holds: not ours to touch until it ends."""
        now = now or datetime.now(UTC)
        return [
            Held(item, _holder_text(item.lease_owner), item.lease_until)
            for item in self.items([S.EXECUTING, S.REVOKED], limit=100_000)
            if item.lease_owner
            and item.lease_owner != self.instance
            and not self.lease_is_stale(item, now)
        ]

    def _with_earlier_steps(self, item_ids: Iterable[int]) -> dict[str, list[QueueItem]]:
        """The asked-for items, each with the approved steps before it in its plan.

        In a plan group the approved gate steps of the other plans come too
        (with the steps before them in their own plan), so asking for a
        person's step in one provider blocks logins at the identity provider
        first.
        """
        plans: dict[str, dict[int, QueueItem]] = defaultdict(dict)
        todo = [self.get(item_id) for item_id in item_ids]
        seen: set[int] = set()
        while todo:
            item = todo.pop()
            if item.id in seen:
                continue
            seen.add(item.id)
            plan = plans[item.plan_id or f"item-{item.id}"]
            plan[item.id] = item
            for earlier in self.waits_for(item):
                if earlier.state is not S.APPROVED:
                    continue
                if earlier.plan_id == item.plan_id:
                    plan.setdefault(earlier.id, earlier)
                else:  # another plan's gate: it brings its own earlier steps
                    todo.append(earlier)
        return {
            key: sorted(steps.values(), key=lambda it: (it.action.order, it.id))
            for key, steps in plans.items()
        }

    async def run(
        self,
        item_ids: Iterable[int],
        *,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Execute items: each plan's steps in order, plans side by side.

        Asking for a later step runs its plan up to it: the approved steps
        before it run first. Once a step does not end verified, the steps
        after it are reported as waiting. At most
        ``concurrency_per_provider`` calls run against one provider at a time,
        so a slow or failing provider holds up only its own items.
        ``on_outcome`` hears each outcome as it happens (a progress bar).
        """
        plans = self._with_earlier_steps(item_ids)
        limits: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(self.concurrency_per_provider)
        )

        def heard(outcome: Outcome) -> Outcome:
            if on_outcome is not None:
                on_outcome(outcome)
            return outcome

        async def run_plan(steps: list[QueueItem]) -> list[Outcome]:
            # execute() refuses a step whose earlier steps are not verified
            # (the claim checks plan order), so a failed step holds the rest.
            results = []
            for step in steps:
                async with limits[step.action.provider]:
                    results.append(heard(await self.execute(step.id)))
            return results

        # Gates first (block new logins at the identity provider): every plan
        # of a group waits for them in claim(), so run them before the rest.
        first = {k: [s for s in v if self.is_gate(s)] for k, v in plans.items()}
        first = {k: v for k, v in first.items() if v}
        if first:
            upto = {k: max(v, key=lambda it: (it.action.order, it.id)) for k, v in first.items()}
            early = {
                k: [s for s in plans[k] if (s.action.order, s.id) <= (g.action.order, g.id)]
                for k, g in upto.items()
            }
            rest = {k: [s for s in v if s not in early.get(k, [])] for k, v in plans.items()}
            batches = list(await asyncio.gather(*(run_plan(steps) for steps in early.values())))
        else:
            rest, batches = plans, []
        batches += await asyncio.gather(*(run_plan(steps) for steps in rest.values() if steps))
        return [outcome for batch in batches for outcome in batch]

    async def run_pending(self) -> RunReport:
        """What ``pamtui queue run`` does: expire, recover, then run the approved.

        Returns the approvals that expired, the outcome of every item run, and
        the items a live process elsewhere is executing (with holder and lease).
        """
        self._require_writable()
        expired = self.expire_approvals()
        outcomes = await self.recover()
        approved = [item.id for item in self.items([S.APPROVED], limit=100_000)]
        outcomes += await self.run(reversed(approved))
        return RunReport(expired, outcomes, self.held_elsewhere())


def describe_wait(item: QueueItem, blockers: Sequence[QueueItem]) -> str:
    """Why a step may not start yet, naming what it waits for."""
    shown = ", ".join(f"#{b.id} ({b.state})" for b in blockers[:5])
    more = f" and {len(blockers) - 5} more" if len(blockers) > 5 else ""
    return (
        f"#{item.id} waits for {shown}{more}: a plan's steps run in order, each only "
        "after the ones before it are verified"
    )


def _holder_text(owner: str) -> str:
    holder = Holder.parse(owner)
    return holder.describe() if holder is not None else owner


def requires_four_eyes(four_eyes_for_privileged: bool, privileged: bool) -> bool:
    """The policy rule, in one place: privileged targets need a second operator."""
    return four_eyes_for_privileged and privileged
