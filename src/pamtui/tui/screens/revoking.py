"""The triage screen's revocation keys: plans from the accounts, acts on the queue.

A mixin of :class:`pamtui.tui.screens.main.MainScreen`. It only collects
input (which target, which steps, a reason, a code) and shows results: every
decision (read-only, step-up, four eyes, plan order) is the revocation
service's (services/revoke.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.notifications import SeverityLevel
from textual.widgets import ProgressBar

from pamtui.model import CredentialStatus, QueueState
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.journal import JournalError
from pamtui.services.mfa_errors import MfaError  # not mfa: pyotp waits for a step-up
from pamtui.services.queue_errors import QueueError
from pamtui.services.roles import RoleRefused
from pamtui.tui.safe import join, safe
from pamtui.tui.screens.stepup import refused, with_step_up
from pamtui.tui.widgets.credentials import CredentialsTable
from pamtui.tui.widgets.queue import QueueTable
from pamtui.wording import plural

if TYPE_CHECKING:
    from textual.screen import Screen

    from pamtui.services.queue import Outcome
    from pamtui.services.revoke import Plan
    from pamtui.services.revoke_bulk import BulkAct, BulkReport
    from pamtui.services.session import Session

    _Base = Screen
else:
    _Base = object

REFUSALS = (QueueError, MfaError, JournalError, RoleRefused)
"""What the revocation service refuses with a message for the operator."""
CANCEL_WHY = "cancelled from the queue pane"


class RevokeActions(_Base):
    if TYPE_CHECKING:  # what the screen it is mixed into provides

        @property
        def session(self) -> Session: ...
        def refresh_queue(self) -> None: ...
        def update_account(self, view: AccountView) -> None: ...
        def _selected_view(self) -> AccountView | None: ...
    # -- queue actions (the queue decides what is allowed) ------------------------

    def _queue_item(self):
        item_id = self.query_one(QueueTable).selected_id
        if item_id is None:
            self.notify("Select a queue item first (4 focuses the queue).", severity="warning")
        return item_id

    # -- bulk acts: the marked items, else the selected one ---------------------------

    def _bulk(self, act: BulkAct) -> None:
        """Approve, approve-and-run, run or cancel what the pane has chosen.

        The service previews first: a selection the act applies to none of is
        refused at once, before any TOTP prompt (the misfire issue 15 describes:
        a code typed only to hear the item is verified already).
        """
        from pamtui.services.revoke_bulk import BulkAct  # on first use: not before a frame

        table = self.query_one(QueueTable)
        ids = table.chosen()
        if not ids:
            self.notify("Select a queue item first (4 focuses the queue).", severity="warning")
            return
        try:
            preview = self.session.revocations.bulk.preview(act, ids)
        except REFUSALS as exc:
            refused(self, exc)
            return
        if not preview.done:
            self.notify(
                "\n".join(skip.why for skip in preview.skipped[:3]) or "Nothing to do.",
                title="Nothing done",
                severity="warning",
                markup=False,
            )
            return
        n = len(preview.done)
        what = f"{act.verb} {plural(n, 'item')}: " + " ".join(f"#{i.id}" for i in preview.done)

        def go(code: str | None) -> None:
            bulk = self.session.revocations.bulk
            if act is BulkAct.APPROVE:
                self._bulk_sync(lambda: bulk.approve(ids, code=code))
            elif act is BulkAct.CANCEL:
                self._bulk_sync(lambda: bulk.cancel(ids, code=code, why=CANCEL_WHY))
            else:
                start = bulk.approve_and_run if act is BulkAct.APPROVE_AND_RUN else bulk.run
                self._run_items(
                    lambda on_outcome: start(ids, code=code, on_outcome=on_outcome),
                    count=self._steps_to_run(preview),
                )

        nothing = "nothing cancelled" if act is BulkAct.CANCEL else "nothing done"
        with_step_up(self, what, go, cancelled=nothing)

    def _steps_to_run(self, preview: BulkReport) -> int:
        """How many steps a run will take: the items, and the approved steps before them."""
        queue = self.session.queue
        steps = {item.id for item in preview.done}
        for item in preview.done:
            steps |= {i.id for i in queue.waits_for(item) if i.state is QueueState.APPROVED}
        return len(steps)

    def _bulk_sync(self, act: Callable[[], BulkReport]) -> None:
        try:
            report = act()
        except REFUSALS as exc:
            refused(self, exc)
            return
        finally:
            self.refresh_queue()
        self._tell_bulk(report)

    def _tell_bulk(self, report: BulkReport) -> None:
        """One notification: what was done, and each skip with its reason.

        The marks go once the act is done (a refused step-up code keeps them).
        """
        self.query_one(QueueTable).clear_marks()
        lines = [report.summary()]
        lines += [skip.why for skip in report.skipped[:5]]
        if len(report.skipped) > 5:
            lines.append(f"and {len(report.skipped) - 5} more skipped")
        severity: SeverityLevel = (
            "error" if report.failed else "warning" if report.skipped else "information"
        )
        self.notify("\n".join(lines), title="Queue", severity=severity, markup=False, timeout=10)

    def action_approve_item(self) -> None:
        """``y``: approve only; nothing runs (``Y`` approves and runs)."""
        from pamtui.services.revoke_bulk import BulkAct

        self._bulk(BulkAct.APPROVE)

    def action_approve_and_run_item(self) -> None:
        from pamtui.services.revoke_bulk import BulkAct

        self._bulk(BulkAct.APPROVE_AND_RUN)

    def action_execute_item(self) -> None:
        from pamtui.services.revoke_bulk import BulkAct

        self._bulk(BulkAct.RUN)

    def action_cancel_item(self) -> None:
        from pamtui.services.revoke_bulk import BulkAct

        self._bulk(BulkAct.CANCEL)

    def action_edit_item(self) -> None:
        from pamtui.tui.screens.prompt import PromptScreen

        item_id = self._queue_item()
        if item_id is None:
            return
        item = self.session.queue.get(item_id)
        if item.state is not QueueState.STAGED:
            # Refused at once, not after the operator typed a new reason. The rule is
            # the queue's (queue_store.edit refuses the same): this only saves a dialog.
            self.notify(
                f"#{item.id} is {item.state}: only staged items can be edited.",
                severity="warning",
            )
            return

        def edited(reason: str | None) -> None:
            if reason is None:
                return
            try:
                self.session.revocations.edit(item_id, reason=reason)
            except QueueError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.refresh_queue()
            self.notify(f"#{item_id}: reason updated (journalled).")

        title = join(
            Text(f"New reason for #{item.id}:", style="bold"),
            safe(item.action.label, max_length=50),
        )
        self.app.push_screen(PromptScreen(title, item.reason), callback=edited)

    # -- revocation ----------------------------------------------------------

    def _view_to_plan(self, missing: str) -> AccountView | None:
        """The selected account with every credential read, or None (and the operator told)."""
        view = self._selected_view()
        if view is not None and not view.credentials_read:
            self.notify(
                "Still reading this account's credentials, and a plan needs every one of "
                "them. Try again when the accounts pane has loaded.",
                severity="warning",
            )
            return None
        if view is None:
            self.notify(missing, severity="warning")
        return view

    def action_revoke_credential(self) -> None:
        table = self.query_one(CredentialsTable)
        if self.focused is not table:
            # Never revoke a credential the operator has not pointed at.
            table.focus()
            self.notify("Choose the credential, then press r again.")
            return
        missing = "Select an account and one of its credentials first."
        view = self._view_to_plan(missing)
        if view is None:
            return
        credential = table.selected
        if credential is None:
            self.notify(missing, severity="warning")
            return
        if credential.status is not CredentialStatus.ACTIVE:
            self.notify("That credential is not active: nothing to revoke.", severity="warning")
            return
        try:
            plan = self.session.revocations.plan_credential(view, credential)
        except QueueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        title = join(
            Text("Revoke credential", style="bold"),
            safe(credential.label or credential.id, "bold"),
            Text("of"),
            safe(view.account.name, "bold"),
        )
        self._confirm_then_run(title, plan)

    def action_revoke_account(self) -> None:
        view = self._view_to_plan("Select an account first.")
        if view is None:
            return
        try:
            plan = self.session.revocations.plan_account(view)
        except QueueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        title = join(
            Text("De-provision account", style="bold"),
            safe(view.account.name, "bold"),
            # The dialog counts the steps itself ("3 of 5 steps"), live as they are toggled.
        )
        self._confirm_then_run(title, plan)

    def _confirm_then_run(self, title: Text, plan: Plan) -> None:
        from pamtui.services.revoke import PlanKind
        from pamtui.tui.screens.confirm import Confirmation, ConfirmRevoke

        if plan.four_eyes:
            title = join(title, Text("· four eyes: a second operator approves", style="bold"))

        def confirmed(answer: Confirmation | None) -> None:
            if answer is None:
                self.notify("Cancelled: nothing staged.")
                return
            # The code (when policy asks) comes before anything is staged: a refused
            # code leaves no trace in the queue (the refusal itself is journalled).
            with_step_up(
                self,
                plan.describe(),
                lambda code: submit(answer, code),
                cancelled="nothing staged",
            )

        def submit(answer: Confirmation, code: str | None) -> None:
            try:
                submission = self.session.revocations.submit(
                    plan, answer.reason, code=code, steps=answer.steps
                )
            except REFUSALS as exc:
                refused(self, exc, title="Not staged")
                return
            self.refresh_queue()
            if submission.awaiting_approval:
                n = len(submission.items)
                self.notify(
                    f"{n} step{'s' if n != 1 else ''} staged, awaiting a second operator's "
                    "approval (y on the queue pane, or pamtui queue approve ID).",
                    title="Four eyes",
                    timeout=10,
                )
                return
            self._run_items(
                lambda on_outcome: self.session.revocations.execute(
                    submission, on_outcome=on_outcome
                ),
                count=len(submission.runnable),
                accounts=plan.accounts,
            )

        # A person's plan spans providers: each step says which one (the plan keeps them grouped).
        dialog = ConfirmRevoke(
            title, list(plan.steps), by_provider=plan.kind in (PlanKind.PERSON, PlanKind.ACCESS)
        )
        self.app.push_screen(dialog, callback=confirmed)

    def _run_items(
        self,
        start: Callable[[Callable[[Outcome], None]], Awaitable[Any]],
        *,
        count: int,
        accounts: Sequence[AccountKey] = (),
    ) -> None:
        """Run what the service starts (with a progress bar), then refresh the accounts."""
        self._run_worker(start, count, tuple(accounts))

    @work(group="revoke")
    async def _run_worker(
        self,
        start: Callable[[Callable[[Outcome], None]], Awaitable[Any]],
        count: int,
        accounts: tuple[AccountKey, ...],
    ) -> None:
        pane = self.query_one("#queue-pane")
        bar = self.query_one("#queue-progress", ProgressBar)
        seen: list[Outcome] = []

        def on_outcome(outcome: Outcome) -> None:
            seen.append(outcome)
            if count > 1:
                pane.border_title = f"Revocation queue · running {len(seen)}/{count}"
                bar.advance(1)
            self.refresh_queue()

        if count > 1:
            bar.update(total=count, progress=0)
            bar.remove_class("hidden")
        try:
            result = await start(on_outcome)
        except REFUSALS as exc:
            refused(self, exc)
            return
        finally:
            pane.border_title = "Revocation queue"
            bar.add_class("hidden")
            self.refresh_queue()
        from pamtui.services.revoke_bulk import BulkReport

        report = result if isinstance(result, BulkReport) else None
        outcomes = list(report.outcomes) if report is not None else result
        keys = set(accounts) or {
            (o.item.action.provider, o.item.action.account_id) for o in outcomes
        }
        for account_key in keys:
            view = await self.session.inventory.refresh_account(account_key)
            if view is not None:
                self.update_account(view)
        if report is not None:
            self._tell_bulk(report)
        else:
            self._report(outcomes)

    def _report(self, outcomes: Sequence[Outcome]) -> None:
        failures = [o.message for o in outcomes if o.failed]
        waiting = [o.message for o in outcomes if o.waiting]
        verified = sum(1 for o in outcomes if o.ok)
        if failures:
            self.notify(
                "\n".join(failures[:3]),
                title="Revocation failed",
                severity="error",
                markup=False,
                timeout=15,
            )
        elif waiting:
            self.notify(
                "\n".join(waiting[:3]), title="Waiting for earlier steps", markup=False, timeout=10
            )
        else:
            self.notify(
                f"{verified} step{'s' if verified != 1 else ''} revoked and verified.",
                title="Verified",
            )
