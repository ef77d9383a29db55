"""Bulk acts on the revocation queue: approve, run, approve-and-run, cancel many items.

Reached as ``session.revocations.bulk`` (:class:`BulkActs`): part of the one
revocation path, under the same rules as the one-item acts, in the same order:

1. **read-only**, then **roles** (services/roles.py): refused before anything
   is asked or looked at;
2. **an ID that names nothing** is a usage mistake (exit 2) before anything
   is done: a typo never leaves half a selection approved;
3. **step-up once per bulk act**: one code covers the whole selection, and
   the journal's step-up entry names every item it covered;
4. **four eyes per item**: an item that waits for a second operator and that
   this operator requested is *skipped*, with the reason, never approved;
   the queue's own check (``QueueStore.approve``) refuses it again inside
   the transaction, so no race gets one through;
5. **plan order per item**: running is the queue's ``run``, whose claim
   refuses a step while an earlier one of its plan is not verified (a later
   step runs its plan up to it, as for one item).

**Approving does not run.** :meth:`BulkActs.approve` only approves;
:meth:`BulkActs.approve_and_run` approves, then runs what it approved (and
what was approved already among the items asked for) in plan order.

Every act returns one :class:`BulkReport`: what was done, what was skipped
and why, and what ran. Items the act does not apply to are *skipped* when the
operator named them, and *left alone* when they came with a whole plan
(``plan=``): approving a plan whose first step is verified already is not a
refusal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from pamtui.errors import EXIT_FALSE, EXIT_OK, EXIT_USAGE
from pamtui.model import QueueItem, QueueState
from pamtui.services.queue import (
    ALLOWED,
    PENDING,
    Outcome,
    QueueError,
    ReadOnlyError,
    RevocationQueue,
)
from pamtui.services.queue_store import NoSuchItem
from pamtui.services.roles import Act
from pamtui.wording import plural

if TYPE_CHECKING:
    from pamtui.services.revoke import RevocationService, StepUp

S = QueueState


class BulkAct(StrEnum):
    APPROVE = "approve"
    RUN = "run"
    APPROVE_AND_RUN = "approve_and_run"
    CANCEL = "cancel"

    @property
    def verb(self) -> str:
        """The act as a prompt and the journal name it."""
        return {
            BulkAct.APPROVE: "approve",
            BulkAct.RUN: "execute",
            BulkAct.APPROVE_AND_RUN: "approve and run",
            BulkAct.CANCEL: "cancel",
        }[self]


ROLE_ACTS: dict[BulkAct, tuple[Act, ...]] = {
    BulkAct.APPROVE: (Act.APPROVE,),
    BulkAct.RUN: (Act.EXECUTE,),
    BulkAct.APPROVE_AND_RUN: (Act.APPROVE, Act.EXECUTE),
    BulkAct.CANCEL: (Act.CANCEL,),
}
"""The roles each act needs (services/roles.py); each item is checked again by the
service's one-item method."""


class NoSuchPlan(QueueError):
    """``--plan`` names no plan in the queue: a usage mistake (exit 2)."""

    exit_code = EXIT_USAGE


class NothingApplies(QueueError):
    """A bulk act changed nothing because it applies to none of the items: exit 2."""

    exit_code = EXIT_USAGE


class NothingDone(QueueError):
    """A bulk act changed nothing because a rule refused every item (four eyes): exit 1."""


@dataclass(frozen=True)
class Skipped:
    """An item the act did not touch, and why (the message is for operators)."""

    item: QueueItem
    why: str
    exit_code: int = EXIT_FALSE
    """2 when the act does not apply to the item's state (as typed, it fails again)."""


@dataclass(frozen=True)
class BulkReport:
    """One summary of a bulk act: done, skipped (why), left alone, and what ran."""

    act: BulkAct
    done: tuple[QueueItem, ...] = ()
    """Items this act changed (approved, cancelled, or confirmed for a second operator)."""
    skipped: tuple[Skipped, ...] = ()
    """Items asked for and refused: four eyes, wrong state, changed meanwhile."""
    left_alone: tuple[Skipped, ...] = ()
    """A plan's steps the act does not apply to (verified already, say): not refusals."""
    outcomes: tuple[Outcome, ...] = ()
    """What ran (approve-and-run, run), in the order it happened."""

    @property
    def approved(self) -> tuple[QueueItem, ...]:
        return tuple(i for i in self.done if i.state is not S.AWAITING_APPROVAL)

    @property
    def awaiting(self) -> tuple[QueueItem, ...]:
        """Items confirmed by their requester: they now wait for a second operator."""
        return tuple(i for i in self.done if i.state is S.AWAITING_APPROVAL)

    @property
    def failed(self) -> bool:
        return any(o.failed for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        """The command-line contract: 0 all done, 2 nothing applied as typed, else 1."""
        # A step held by plan order is not a failure (as for one item, and queue run).
        if not self.skipped and not self.failed:
            return EXIT_OK
        if (
            not self.done
            and not self.outcomes
            and all(s.exit_code == EXIT_USAGE for s in self.skipped)
        ):
            return EXIT_USAGE
        return EXIT_FALSE

    def raise_if_nothing_done(self) -> None:
        """One error line when every item was refused (the one-item acts raise the same)."""
        if self.done or self.outcomes or not self.skipped:
            return
        why = "; ".join(s.why for s in self.skipped[:3])
        if len(self.skipped) > 3:
            why += f"; and {len(self.skipped) - 3} more"
        if self.exit_code == EXIT_USAGE:
            raise NothingApplies(why)
        raise NothingDone(why)

    def summary(self) -> str:
        """One line: what was done and what was not, with counts."""
        parts: list[str] = []
        if self.act is BulkAct.CANCEL:
            parts.append(f"cancelled {plural(len(self.done), 'item')}")
        elif self.act is not BulkAct.RUN:
            parts.append(f"approved {plural(len(self.approved), 'item')}")
            if self.awaiting:
                parts.append(f"{len(self.awaiting)} now awaiting a second operator")
        if self.act in (BulkAct.RUN, BulkAct.APPROVE_AND_RUN):
            verified = sum(o.ok for o in self.outcomes)
            failed = sum(o.failed for o in self.outcomes)
            waiting = sum(o.waiting for o in self.outcomes)
            parts.append(f"ran {plural(len(self.outcomes), 'step')}: {verified} verified")
            if failed:
                parts.append(f"{failed} failed")
            if waiting:
                parts.append(f"{waiting} waiting for earlier steps")
        elif self.act is BulkAct.APPROVE and self.approved:
            parts.append("nothing ran")
        if self.skipped:
            parts.append(f"skipped {len(self.skipped)}")
        if self.left_alone:
            parts.append(f"left {len(self.left_alone)} alone")
        return "; ".join(parts)


class BulkActs:
    """The bulk acts of one :class:`~pamtui.services.revoke.RevocationService`."""

    def __init__(self, service: RevocationService) -> None:
        self.service = service

    @property
    def queue(self) -> RevocationQueue:
        return self.service.queue

    # -- choosing the items ---------------------------------------------------------

    def items(self, item_ids: Iterable[int] = (), *, plan: str | None = None) -> list[QueueItem]:
        """The items named, then a plan's steps, each once, in plan order.

        Raises :class:`NoSuchItem` / :class:`NoSuchPlan` before anything is done.
        """
        chosen: dict[int, QueueItem] = {}
        for item_id in item_ids:
            chosen.setdefault(item_id, self.queue.get(item_id))
        if plan is not None:
            steps = self.queue.plan_items(plan)
            if not steps:
                raise NoSuchPlan(f"no queue plan {plan!r} (see: pamtui queue list --json)")
            for step in steps:
                chosen.setdefault(step.id, step)
        first: dict[str, int] = {}  # plans in the order they were queued
        for item in chosen.values():
            first[item.plan_id] = min(first.get(item.plan_id, item.id), item.id)
        return sorted(
            chosen.values(), key=lambda i: (first[i.plan_id], i.plan_id, i.action.order, i.id)
        )

    def preview(
        self, act: BulkAct, item_ids: Iterable[int] = (), *, plan: str | None = None
    ) -> BulkReport:
        """What the act would do, without doing it (no step-up, nothing journalled).

        A front end asks this first, so that a selection nothing applies to is
        refused at once, not after a TOTP code was typed. ``done`` holds the
        items the act would change. The actor's roles come first, as in the act
        itself: a key that may not act learns nothing of the items, and its
        attempt is journalled as ``refused``.
        """
        self._writable()
        self._require_roles(act)
        named = set(item_ids)
        todo, skipped, alone = self._sort(act, self.items(named, plan=plan), named)
        return BulkReport(act, done=tuple(todo), skipped=tuple(skipped), left_alone=tuple(alone))

    def _require_roles(self, act: BulkAct) -> None:
        for needed in ROLE_ACTS[act]:
            self.service.require(needed, f"queue:bulk {act}")

    def _writable(self) -> None:
        if self.service.read_only:
            raise ReadOnlyError("this session is read-only: revocations are disabled")

    def _sort(
        self, act: BulkAct, items: Sequence[QueueItem], named: set[int]
    ) -> tuple[list[QueueItem], list[Skipped], list[Skipped]]:
        """Split into (to act on, skipped, left alone) by state and four eyes."""
        todo: list[QueueItem] = []
        skipped: list[Skipped] = []
        alone: list[Skipped] = []
        for item in items:
            why = self._refusal(act, item)
            if why is None:
                todo.append(item)
            elif item.id in named or why.exit_code != EXIT_USAGE:
                skipped.append(why)
            else:
                alone.append(why)
        return todo, skipped, alone

    def _refusal(self, act: BulkAct, item: QueueItem) -> Skipped | None:
        """Why ``act`` does not apply to ``item``, or None when it does."""
        state = item.state
        if act is BulkAct.CANCEL:
            if state in PENDING:
                return None
            return Skipped(
                item,
                f"#{item.id} is {state}: it cannot be cancelled; only pending items can be",
                EXIT_USAGE,
            )
        if act is BulkAct.RUN:
            if state in (S.APPROVED, S.FAILED):
                return None
            return Skipped(
                item,
                f"#{item.id} is {state}: it cannot be run; only approved or failed items run",
                EXIT_USAGE,
            )
        if act is BulkAct.APPROVE_AND_RUN and state is S.APPROVED:
            return None  # approved already: it runs with the rest
        if S.APPROVED not in ALLOWED[state]:
            return Skipped(item, f"#{item.id} is {state}: it cannot become approved", EXIT_USAGE)
        if state is S.AWAITING_APPROVAL and item.requested_by == self.service.operator:
            return Skipped(
                item,
                f"four eyes: item {item.id} needs a second operator; {item.requested_by} "
                "requested it and cannot approve it too",
            )
        return None

    # -- the acts ------------------------------------------------------------------------

    def _begin(
        self, act: BulkAct, item_ids: Iterable[int], plan: str | None, code: str | None
    ) -> tuple[list[QueueItem], list[Skipped], list[Skipped], StepUp | None]:
        """Read-only, the items, then one step-up for all of them (when any applies).

        The proof names the items, and each is then handled by the service's
        one-item method with it, so every check of theirs applies per item.
        """
        self._writable()
        self._require_roles(act)  # before a code is asked for, as for one item
        named = set(item_ids)
        todo, skipped, alone = self._sort(act, self.items(named, plan=plan), named)
        if not todo:
            return todo, skipped, alone, None
        ids = [i.id for i in todo]
        shown = " ".join(f"#{i.id}" for i in todo[:20]) + (" …" if len(todo) > 20 else "")
        proof = self.service.step_up(
            code,
            what=f"{act.verb} {plural(len(todo), 'item')}: {shown}",
            subject="queue:" + ",".join(str(i.id) for i in todo),
            items=ids,
        )
        return todo, skipped, alone, proof

    def _approve_each(
        self, items: Sequence[QueueItem], skipped: list[Skipped], proof: StepUp
    ) -> tuple[list[QueueItem], list[QueueItem]]:
        """Approve one by one; (changed by this act, approved already)."""
        done: list[QueueItem] = []
        already: list[QueueItem] = []
        for item in items:
            if item.state is S.APPROVED:
                already.append(item)
                continue
            try:
                done.append(self.service.approve(item.id, proof=proof))
            except QueueError as exc:  # four eyes, a wrong state, changed meanwhile
                # The queue's own check, inside its transaction: a race (another
                # operator, another process) is refused here, item by item.
                skipped.append(Skipped(self.queue.get(item.id), str(exc)))
        return done, already

    def approve(
        self, item_ids: Iterable[int] = (), *, plan: str | None = None, code: str | None = None
    ) -> BulkReport:
        """Approve every item that may be; nothing runs."""
        todo, skipped, alone, proof = self._begin(BulkAct.APPROVE, item_ids, plan, code)
        done = self._approve_each(todo, skipped, proof)[0] if proof else []
        return BulkReport(BulkAct.APPROVE, tuple(done), tuple(skipped), tuple(alone))

    async def approve_and_run(
        self,
        item_ids: Iterable[int] = (),
        *,
        plan: str | None = None,
        code: str | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> BulkReport:
        """Approve, then run what is approved now, in plan order; one step-up."""
        act = BulkAct.APPROVE_AND_RUN
        todo, skipped, alone, proof = self._begin(act, item_ids, plan, code)
        if proof is None:
            return BulkReport(act, (), tuple(skipped), tuple(alone))
        done, already = self._approve_each(todo, skipped, proof)
        runnable = [i.id for i in (*already, *done) if i.state is S.APPROVED]
        outcomes = (
            await self.service.run(runnable, proof=proof, on_outcome=on_outcome) if runnable else []
        )
        return BulkReport(act, tuple(done), tuple(skipped), tuple(alone), tuple(outcomes))

    async def run(
        self,
        item_ids: Iterable[int] = (),
        *,
        plan: str | None = None,
        code: str | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> BulkReport:
        """Execute approved (or retry failed) items: each plan in order, plans side by side."""
        todo, skipped, alone, proof = self._begin(BulkAct.RUN, item_ids, plan, code)
        ids = [i.id for i in todo]
        outcomes = await self.service.run(ids, proof=proof, on_outcome=on_outcome) if proof else []
        return BulkReport(BulkAct.RUN, (), tuple(skipped), tuple(alone), tuple(outcomes))

    def cancel(
        self,
        item_ids: Iterable[int] = (),
        *,
        plan: str | None = None,
        code: str | None = None,
        why: str = "",
    ) -> BulkReport:
        """Cancel every pending item asked for (undo before it runs)."""
        todo, skipped, alone, proof = self._begin(BulkAct.CANCEL, item_ids, plan, code)
        done: list[QueueItem] = []
        for item in todo:
            assert proof is not None  # made whenever there is an item to act on
            try:
                done.append(self.service.cancel(item.id, why=why, proof=proof))
            except QueueError as exc:  # ran or was cancelled meanwhile
                skipped.append(Skipped(self.queue.get(item.id), str(exc)))
        return BulkReport(BulkAct.CANCEL, tuple(done), tuple(skipped), tuple(alone))


__all__ = [
    "BulkAct",
    "BulkActs",
    "BulkReport",
    "NoSuchItem",
    "NoSuchPlan",
    "NothingApplies",
    "NothingDone",
    "Skipped",
]
