"""Confirm a revocation: show the plan, let steps be deselected, require a reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from pamtui.model import RevokeAction
from pamtui.tui.safe import join, safe


@dataclass(frozen=True)
class Confirmation:
    reason: str
    steps: tuple[RevokeAction, ...]


def _step_text(step: RevokeAction) -> Text:
    return join(
        safe(step.label, max_length=70),
        Text(f"[{step.name}]", style="dim"),
        Text("(reversible)" if step.reversible else "", style="dim"),
    )


class ConfirmRevoke(ModalScreen[Confirmation | None]):
    """Dismisses with the reason and the chosen steps, or None (cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="confirm.cancel")]

    def __init__(self, title: Text, steps: Sequence[RevokeAction]) -> None:
        super().__init__()
        self._title = title
        self._steps = list(steps)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self._title, id="confirm-title")
            if len(self._steps) == 1:
                yield Static(join(Text(" 1."), _step_text(self._steps[0])), id="confirm-plan")
            else:
                yield Label("Steps, run in this order (Tab here, space to deselect one):")
                yield SelectionList[int](
                    *(Selection(_step_text(step), n, True) for n, step in enumerate(self._steps)),
                    id="confirm-steps",
                )
            yield Label("Reason (journalled):")
            yield Input(placeholder="e.g. leaked token, INC-4211", id="confirm-reason")
            yield Static("", id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield Button("Revoke", variant="error", id="confirm-ok")
                yield Button("Cancel", id="confirm-cancel")

    def on_mount(self) -> None:
        self.query_one("#confirm-reason", Input).focus()

    def _chosen(self) -> tuple[RevokeAction, ...]:
        if len(self._steps) == 1:
            return tuple(self._steps)
        picked = set(self.query_one("#confirm-steps", SelectionList).selected)
        return tuple(step for n, step in enumerate(self._steps) if n in picked)

    def _submit(self) -> None:
        error = self.query_one("#confirm-error", Static)
        reason = self.query_one("#confirm-reason", Input).value.strip()
        steps = self._chosen()
        if not reason:
            error.update(Text("A reason is required.", style="bold red"))
            return
        if not steps:
            error.update(Text("Every step is deselected: nothing to revoke.", style="bold red"))
            return
        self.dismiss(Confirmation(reason, steps))

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
