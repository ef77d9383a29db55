"""The one revocation path: plan, then submit under policy.

Every route that ends access (the TUI's ``r``/``R`` and queue keys, ``pamtui
revoke``, ``pamtui queue``, review decisions, policies, the SSH server) goes
through :class:`RevocationService`. It applies, in one place and in one order:

1. **read-only**: a read-only session is refused before anything is asked;
2. **step-up**: when policy requires TOTP, a valid code before a plan is
   staged (four eyes or not: the stricter of the two old behaviours), and
   before anything is approved, executed, retried or cancelled;
3. **four eyes**: a privileged target's plan is staged ``awaiting_approval``
   and only another operator's approval lets it run;
4. **plan order**: enforced by the queue itself (``RevocationQueue.claim``),
   so it holds for every caller, this one included;
5. **execution and verification** by the queue.

Callers collect input (a reason, a code) and show results; they decide none
of the above.

**A person** (:meth:`RevocationService.plan_person`, ``pamtui offboard``, the
``offboard`` policy action) gets one plan across every provider, in the order
of ``services/offboarding_plan.py``: block new logins at the identity
provider, end sessions, revoke tokens and keys, remove memberships, disable or
delete accounts. Accounts the person only owns (service accounts, bots) are
listed as "needs a new owner", never staged. On submission the plan is staged
as **one queue plan per provider**, all in one *plan group* (journal schema 7,
``queue_items.plan_group``), in one transaction with an ``offboard_plan``
journal entry (subject ``person:ID``) that lists the items:

- inside a provider, plan order holds as for any plan: a failed step holds
  only that provider's later steps;
- across providers, the identity provider's block-logins steps are *gates*
  (``queue_items.gate``): ``RevocationQueue.claim`` refuses any step of
  another plan of the group while a gate is not settled (verified,
  cancelled or failed), whoever asks: the CLI, the TUI, an approval, a
  second process, recovery;
- a provider that is down fails its own steps and holds nobody else's. An
  identity provider that is down fails its gate, which releases the others:
  a leaver's access elsewhere is ended rather than left live until the
  identity provider answers. Whatever is not verified is reported open
  (``services/offboarding.py``). A step-up is proven by a :class:`StepUp` token that only
:meth:`RevocationService.step_up` makes and that one submission consumes.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

from pamtui.config import OperatorConfig
from pamtui.journal import Transaction
from pamtui.model import (
    AccountLink,
    Credential,
    CredentialStatus,
    Person,
    QueueItem,
    QueueState,
    RevokeAction,
    RiskFlag,
)
from pamtui.providers.base import Provider
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.offboarding_plan import person_steps
from pamtui.services.plans import plan_for_account, plan_for_credential
from pamtui.services.queue import (
    Outcome,
    QueueError,
    ReadOnlyError,
    RevocationQueue,
    RunReport,
    requires_four_eyes,
)
from pamtui.services.queue_store import WrongState
from pamtui.services.roles import Act, RoleGuard

if TYPE_CHECKING:  # annotations only: the TUI's start does not import movers or people
    from pamtui.services.movers import AccessSteps
    from pamtui.services.people import Correlation
    from pamtui.services.revoke_bulk import BulkActs

OFFBOARD_PLAN_ACTION = "offboard_plan"
"""The journal entry that ties a person plan's queue items to the person."""

StepUpCheck = Callable[[str | None, str], None]
"""Checks an operator's TOTP code for a subject, or raises (and journals either way)."""


class RevokeError(QueueError):
    """A plan cannot be made or submitted; the message is for operators."""


class PlanKind(StrEnum):
    CREDENTIAL = "credential"
    ACCOUNT = "account"
    PERSON = "person"
    ACCESS = "access"
    """Single grants a mover or a person's excess access holds (``plan_access``)."""


@dataclass(frozen=True)
class Plan:
    """What would end one target's access: steps in the order they must run."""

    kind: PlanKind
    steps: tuple[RevokeAction, ...]
    accounts: tuple[AccountKey, ...]
    """The accounts the plan touches (to refresh them afterwards)."""
    target: str
    """Who or what the plan is for, as an operator reads it (untrusted text)."""
    four_eyes: bool
    """A second operator must approve before anything runs."""
    person_id: str = ""
    """A person plan's HR id (``PlanKind.PERSON``)."""
    gates: frozenset[RevokeAction] = frozenset()
    """Steps every other provider's steps wait for (block logins at the identity provider)."""
    needs_owner: tuple[AccountLink, ...] = ()
    """Accounts the person owns (service accounts, bots): reported, not staged."""
    already_ended: tuple[AccountKey, ...] = ()
    unreadable: tuple[AccountKey, ...] = ()
    """A person's linked accounts that no provider view covers (not planned)."""
    manual: tuple[str, ...] = ()
    """Steps no provider can do (an access plan's grants): reported, never staged."""

    def by_provider(self) -> dict[str, list[RevokeAction]]:
        """The steps grouped by provider, each group in plan order."""
        groups: dict[str, list[RevokeAction]] = {}
        for step in self.steps:
            groups.setdefault(step.provider, []).append(step)
        return groups

    @property
    def subject(self) -> str:
        """The plan's subject for the journal's step-up entry (``provider:account``)."""
        return ",".join(f"{provider}:{account}" for provider, account in self.accounts)

    def describe(self) -> str:
        """What a step-up code unlocks, as the prompt and the journal name it."""
        n = len(self.steps)
        verb = "stage for approval" if self.four_eyes else "execute"
        return f"{verb} {n} step{'s' if n != 1 else ''} for {self.target}"


class StepUp:
    """Proof that the operator passed step-up (or that policy asks none) for one act.

    A bulk act's proof (``items``) serves the items it names, and only them,
    through the one-item methods (``approve``, ``cancel``, ``run``), so every
    check of theirs applies per item (revoke_bulk.py); it lives as long as
    that one act (approve, then run, the same items).
    """

    __slots__ = ("_items", "_used", "what")

    def __init__(self, what: str, _key: object, items: frozenset[int] = frozenset()) -> None:
        if _key is not _MINT:
            raise TypeError("a StepUp is made only by RevocationService.step_up")
        self.what = what
        self._used = False
        self._items = frozenset(items)

    def consume(self, *item_ids: int) -> None:
        if self._items and item_ids:  # a bulk act's proof: only the items it names
            if not set(item_ids) <= self._items:
                raise RevokeError("this step-up does not cover these items: enter a new code")
            return
        if self._used or self._items:
            raise RevokeError("this step-up was used already: enter a new code")
        self._used = True


_MINT = object()


@dataclass(frozen=True)
class Submission:
    """A submitted plan: its queue items and whether they may run now."""

    plan: Plan
    items: tuple[QueueItem, ...]
    _runnable: tuple[int, ...] = field(default=(), repr=False)

    @property
    def awaiting_approval(self) -> bool:
        return any(item.state is QueueState.AWAITING_APPROVAL for item in self.items)

    @property
    def runnable(self) -> tuple[int, ...]:
        """Items approved by this submission, to run now (none under four eyes)."""
        return self._runnable


class RevocationService:
    def __init__(
        self,
        queue: RevocationQueue,
        providers: dict[str, Provider],
        policy: OperatorConfig,
        check_step_up: StepUpCheck,
        guard: RoleGuard | None = None,
    ) -> None:
        self.queue = queue
        self.providers = providers
        self.policy = policy
        self._check_step_up = check_step_up
        self.guard = guard
        """Roles (services/roles.py); None: every act is allowed (a bare in-process service)."""

    def _may(self, act: Act, subject: str = "") -> None:
        if self.guard is not None:
            self.guard.require(act, subject)

    require = _may
    """For the other use cases that decide about access (review decisions)."""

    # -- policy ---------------------------------------------------------------

    @property
    def operator(self) -> str:
        return self.queue.operator

    @property
    def read_only(self) -> bool:
        return self.queue.read_only

    @property
    def step_up_required(self) -> bool:
        """Whether staging, approving, running and cancelling need a TOTP code."""
        return self.policy.require_totp

    def four_eyes_for(self, view: AccountView) -> bool:
        return requires_four_eyes(
            self.policy.four_eyes_for_privileged, RiskFlag.PRIVILEGED in view.flags
        )

    def _writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError("this session is read-only: revocations are disabled")

    def step_up(
        self, code: str | None, *, what: str, subject: str = "", items: Iterable[int] = ()
    ) -> StepUp:
        """Check a code when policy requires one; the proof a submission consumes.

        Read-only sessions are refused first, so nobody is asked for a code
        for an act that cannot happen. ``items``: a bulk act's queue items.
        """
        self._writable()
        if self.step_up_required:
            self._check_step_up(code, subject or what)
        return StepUp(what, _MINT, frozenset(items))

    # -- plans ------------------------------------------------------------------

    def _provider(self, name: str) -> Provider:
        provider = self.providers.get(name)
        if provider is None:
            raise RevokeError(f"provider {name!r} is not configured")
        return provider

    @staticmethod
    def _complete(view: AccountView) -> None:
        if not view.credentials_read:
            raise RevokeError(
                "this account's credentials are still being read, and a plan needs every "
                "one of them: try again when the accounts have loaded"
            )

    def plan_credential(
        self, view: AccountView, credential: Credential, *, action: str | None = None
    ) -> Plan:
        """The plan that revokes one credential (the provider's preferred action)."""
        self._complete(view)
        if credential.status is not CredentialStatus.ACTIVE:
            raise RevokeError(
                f"credential {credential.id} is {credential.status}: nothing to revoke"
            )
        provider = self._provider(credential.provider)
        if action is None:
            steps = plan_for_credential(provider, credential)
        else:
            steps = _only(provider.revoke_actions(credential), action)
        return self._plan(PlanKind.CREDENTIAL, view, steps)

    def plan_account(self, view: AccountView, *, action: str | None = None) -> Plan:
        """Every live credential first, then the account-level actions."""
        self._complete(view)
        provider = self._provider(view.account.provider)
        steps = plan_for_account(provider, view.account, view.credentials)
        if action is not None:
            steps = _only(steps, action)
        return self._plan(PlanKind.ACCOUNT, view, steps)

    def plan_person(
        self, person: Person, correlation: Correlation, views: Iterable[AccountView]
    ) -> Plan:
        """Every account the person holds, in every provider, in the offboarding order.

        ``views`` are the inventory's (``session.inventory.rows()``) after the
        sync that ``correlation`` was made from. Accounts the person owns
        (relation ``owner``) are listed in ``needs_owner``; accounts with no
        live access in ``already_ended``. Four eyes when any target is
        privileged.
        """
        by_key = {v.key: v for v in views}
        found = person_steps(correlation.accounts_of(person.id), by_key, self.providers)
        for view in found.views:
            self._complete(view)
        return Plan(
            kind=PlanKind.PERSON,
            steps=found.steps,
            accounts=found.accounts,
            target=f"{person.name} ({person.id})",
            four_eyes=any(self.four_eyes_for(v) for v in found.views),
            person_id=person.id,
            gates=found.gates,
            needs_owner=found.needs_owner,
            already_ended=found.already_ended,
            unreadable=found.unreadable,
        )

    def plan_access(self, person: Person, found: AccessSteps, *, what: str) -> Plan:
        """Remove single grants (a mover's old access, excess): ``services/movers.py`` finds them.

        Staged, ordered and verified like any plan; four eyes when any account is
        privileged. Grants no provider can remove are in ``plan.manual``.
        """
        if not found.steps:
            hint = f": {found.manual[0]}" if found.manual else ""
            raise RevokeError(f"nothing pamtui can remove for {person.name}{hint}")
        for view in found.views:
            self._complete(view)
        return Plan(
            kind=PlanKind.ACCESS,
            steps=found.steps,
            accounts=found.accounts,
            target=f"{person.name} ({person.id}): {what}",
            four_eyes=any(self.four_eyes_for(v) for v in found.views),
            person_id=person.id,
            manual=found.manual,
        )

    def _plan(self, kind: PlanKind, view: AccountView, steps: Sequence[RevokeAction]) -> Plan:
        if not steps:
            raise RevokeError("nothing left to revoke: the provider offers no action for this")
        return Plan(
            kind=kind,
            steps=tuple(steps),
            accounts=(view.key,),
            target=view.account.name,
            four_eyes=self.four_eyes_for(view),
        )

    # -- submitting -------------------------------------------------------------

    def submit(
        self,
        plan: Plan,
        reason: str,
        *,
        proof: StepUp | None = None,
        code: str | None = None,
        steps: Sequence[RevokeAction] | None = None,
        actor: str | None = None,
        tx: Transaction | None = None,
    ) -> Submission:
        """Stage a plan, confirmed by its requester: approved, or awaiting four eyes.

        ``steps`` (a subset of the plan's, e.g. after deselecting some in the
        dialog) keep the plan's order whatever order they come in. The
        step-up is ``proof`` from :meth:`step_up`, or ``code`` checked here;
        inside an open transaction (``tx``) only a proof will do, because a
        step-up journals its own entry.
        """
        self._writable()
        self._may(Act.STAGE, plan.subject)
        chosen = _subset(plan.steps, steps)
        if proof is None:
            if tx is not None:
                raise RevokeError("a step-up must be checked before the transaction opens")
            proof = self.step_up(code, what=plan.describe(), subject=plan.subject)
        proof.consume()
        if plan.kind is PlanKind.PERSON:
            items = self._stage_person(plan, chosen, reason, actor=actor, approve=True, tx=tx)
        else:
            items = self.queue.stage(
                chosen, reason, actor=actor, approve=True, four_eyes=plan.four_eyes, tx=tx
            )
        runnable = tuple(item.id for item in items if item.state is QueueState.APPROVED)
        return Submission(plan, tuple(items), runnable)

    def stage_for_policy(
        self,
        actions: Sequence[RevokeAction],
        reason: str,
        *,
        actor: str,
        approve: bool,
        privileged: bool,
    ) -> list[QueueItem]:
        """A policy stages what it matched (``pamtui sweep``): no operator, no step-up.

        Plan order holds, and four eyes for a ``privileged`` target: ``approve`` is
        the policy's own confirmation, never a second operator's."""
        self._writable()
        self._may(Act.STAGE, "policy")
        four_eyes = requires_four_eyes(self.policy.four_eyes_for_privileged, privileged)
        return self.queue.stage(actions, reason, actor=actor, approve=approve, four_eyes=four_eyes)

    def stage_person_for_policy(
        self, plan: Plan, reason: str, *, actor: str, approve: bool
    ) -> list[QueueItem]:
        """A policy's person-level plan (the ``offboard`` action): as :meth:`stage_for_policy`."""
        self._writable()
        self._may(Act.STAGE, f"person:{plan.person_id}")
        if plan.kind is not PlanKind.PERSON:
            raise RevokeError("only a person plan is staged this way")
        return self._stage_person(plan, list(plan.steps), reason, actor=actor, approve=approve)

    def stage_access_for_policy(
        self, plan: Plan, reason: str, *, actor: str, approve: bool
    ) -> list[QueueItem]:
        """A policy's access plan (``remove_excess``): as :meth:`stage_for_policy`, four eyes kept."""
        self._writable()
        self._may(Act.STAGE, f"person:{plan.person_id}")
        if plan.kind is not PlanKind.ACCESS:
            raise RevokeError("only an access plan is staged this way")
        return self.queue.stage(
            plan.steps, reason, actor=actor, approve=approve, four_eyes=plan.four_eyes
        )

    def _stage_person(
        self,
        plan: Plan,
        chosen: Sequence[RevokeAction],
        reason: str,
        *,
        actor: str | None,
        approve: bool,
        tx: Transaction | None = None,
    ) -> list[QueueItem]:
        """One queue plan per provider in one group, and the ``offboard_plan`` entry."""
        if not chosen:
            raise RevokeError("nothing left to revoke for this person")
        if tx is None:
            with self.queue.journal.transaction() as own:
                return self._stage_person(
                    plan, chosen, reason, actor=actor, approve=approve, tx=own
                )
        group = "person-" + uuid.uuid4().hex[:12]
        by_provider: dict[str, list[RevokeAction]] = {}
        for step in chosen:
            by_provider.setdefault(step.provider, []).append(step)
        items: list[QueueItem] = []
        for steps in by_provider.values():
            items += self.queue.stage(
                steps,
                reason,
                actor=actor,
                approve=approve,
                four_eyes=plan.four_eyes,
                tx=tx,
                group=group,
                gates=[s for s in steps if s in plan.gates],
            )
        tx.append(
            actor or self.operator,
            OFFBOARD_PLAN_ACTION,
            subject=f"person:{plan.person_id}",
            detail={
                "person": plan.person_id,
                "target": plan.target,
                "group": group,
                "reason": reason.strip(),
                "items": [item.id for item in items],
                "four_eyes": plan.four_eyes,
                "accounts": [f"{p}:{a}" for p, a in plan.accounts],
                "needs_new_owner": [f"{lk.account[0]}:{lk.account[1]}" for lk in plan.needs_owner],
                "deselected": len(plan.steps) - len(chosen),
            },
        )
        return items

    async def execute(
        self, submission: Submission, *, on_outcome: Callable[[Outcome], None] | None = None
    ) -> list[Outcome]:
        """Run what a submission approved, in plan order (its step-up covered it)."""
        if not submission.runnable:
            return []
        self._may(Act.EXECUTE, submission.plan.subject)
        return await self.queue.run(submission.runnable, on_outcome=on_outcome)

    # -- the queue's items ------------------------------------------------------------

    def approve(
        self, item_id: int, *, code: str | None = None, proof: StepUp | None = None
    ) -> QueueItem:
        """Approve an item (four eyes: someone else's request); nothing runs yet."""
        self._may(Act.APPROVE, f"queue:{item_id}")
        if proof is None:
            proof = self.step_up(code, what=f"approve #{item_id}", subject=f"queue:{item_id}")
        proof.consume(item_id)
        return self.queue.approve(item_id)

    async def approve_and_run(
        self,
        item_id: int,
        *,
        code: str | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> tuple[QueueItem, list[Outcome]]:
        """Approve, then (if it is approved now) run its plan up to it; one step-up."""
        what = f"approve and run #{item_id}"
        self._may(Act.APPROVE, f"queue:{item_id}")
        self._may(Act.EXECUTE, f"queue:{item_id}")  # running is an operator's, as in bulk
        self.step_up(code, what=what, subject=f"queue:{item_id}").consume()
        item = self.queue.approve(item_id)
        if item.state is not QueueState.APPROVED:
            return item, []
        return item, await self.queue.run([item.id], on_outcome=on_outcome)

    async def run(
        self,
        item_ids: Iterable[int],
        *,
        code: str | None = None,
        proof: StepUp | None = None,
        on_outcome: Callable[[Outcome], None] | None = None,
    ) -> list[Outcome]:
        """Execute items; a later step runs its plan up to it, in order."""
        ids = list(item_ids)
        self._may(Act.EXECUTE, "queue:" + ",".join(map(str, ids)))
        if proof is None:
            what = "execute " + " ".join(f"#{i}" for i in ids)
            proof = self.step_up(code, what=what, subject="queue:" + ",".join(map(str, ids)))
        proof.consume(*ids)
        for item_id in ids:
            item = self.queue.get(item_id)
            if item.state not in (QueueState.APPROVED, QueueState.FAILED):
                raise WrongState(f"#{item.id} is {item.state}: only approved or failed items run")
        return await self.queue.run(ids, on_outcome=on_outcome)

    async def retry(self, item_id: int, *, code: str | None = None) -> list[Outcome]:
        item = self.queue.get(item_id)
        if item.state is not QueueState.FAILED:
            raise WrongState(f"item {item.id} is {item.state}; only failed items are retried")
        return await self.run([item_id], code=code)

    async def run_pending(self, *, code: str | None = None) -> RunReport:
        """``pamtui queue run``: expire, recover, run every approved item in plan order."""
        self._may(Act.EXECUTE, "queue:run")
        self.step_up(code, what="run the queue", subject="queue:run").consume()
        return await self.queue.run_pending()

    def cancel(
        self, item_id: int, *, code: str | None = None, why: str = "", proof: StepUp | None = None
    ) -> QueueItem:
        self._may(Act.CANCEL, f"queue:{item_id}")
        if proof is None:
            proof = self.step_up(code, what=f"cancel #{item_id}", subject=f"queue:{item_id}")
        proof.consume(item_id)
        return self.queue.cancel(item_id, why=why)

    @property
    def bulk(self) -> BulkActs:
        """Approve, run, approve-and-run or cancel many items: one step-up (revoke_bulk.py)."""
        from pamtui.services.revoke_bulk import BulkActs

        return BulkActs(self)

    def edit(self, item_id: int, *, reason: str) -> QueueItem:
        """Change a staged item's reason (nothing runs, so no step-up)."""
        self._may(Act.STAGE, f"queue:{item_id}")
        return self.queue.edit(item_id, reason=reason)


def _only(actions: Sequence[RevokeAction], name: str) -> list[RevokeAction]:
    chosen = [a for a in actions if a.name == name]
    if not chosen:
        names = ", ".join(sorted({a.name for a in actions})) or "none"
        raise RevokeError(f"action {name!r} does not apply here (choose from: {names})")
    return chosen


def _subset(
    steps: Sequence[RevokeAction], chosen: Sequence[RevokeAction] | None
) -> list[RevokeAction]:
    if chosen is None:
        return list(steps)
    unknown = [a for a in chosen if a not in steps]
    if unknown:
        raise RevokeError(f"{unknown[0].label!r} is not a step of this plan")
    if not chosen:
        raise RevokeError("no step selected: nothing to revoke")
    wanted = set(chosen)
    return [a for a in steps if a in wanted]
