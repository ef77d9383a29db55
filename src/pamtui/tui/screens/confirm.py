"""Confirm a revocation: show the plan, require a reason."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from pamtui.model import RevokeAction
from pamtui.tui.safe import join, safe


class ConfirmRevoke(ModalScreen[str | None]):
    """Dismisses with the reason (confirmed) or None (cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: Text, steps: Sequence[RevokeAction]) -> None:
        super().__init__()
        self._title = title
        self._steps = list(steps)

    def compose(self) -> ComposeResult:
        plan = Text(end="")
        for n, step in enumerate(self._steps, 1):
            if n > 1:
                plan.append("\n")
            plan.append(f"{n:>2}. ")
            plan.append(
                join(
                    safe(step.label, max_length=70),
                    Text(f"[{step.name}]", style="dim"),
                    Text("(reversible)" if step.reversible else "", style="dim"),
                )
            )
        with Vertical(id="confirm-dialog"):
            yield Static(self._title, id="confirm-title")
            yield Static(plan, id="confirm-plan")
            yield Label("Reason (journalled):")
            yield Input(placeholder="e.g. leaked token, INC-4211", id="confirm-reason")
            yield Static("", id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield Button("Revoke", variant="error", id="confirm-ok")
                yield Button("Cancel", id="confirm-cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm-reason", Input).focus()

    def _submit(self) -> None:
        reason = self.query_one("#confirm-reason", Input).value.strip()
        if not reason:
            self.query_one("#confirm-error", Static).update(
                Text("A reason is required.", style="bold red")
            )
            return
        self.dismiss(reason)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "confirm-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)
