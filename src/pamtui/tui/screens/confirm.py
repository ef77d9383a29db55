"""Confirm a revocation: show the plan, let steps be deselected, require a reason.

A deselected step must read as deselected without colour (NO_COLOR, a
monochrome terminal): each step shows ``[x]`` or ``[ ]``, and the dialog's
title counts what will run ("3 of 5 steps"). Tab goes from the reason to the
steps, as the label says, then to the buttons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, SelectionList, Static
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import Selection

from pamtui.model import RevokeAction
from pamtui.tui.safe import join, safe


@dataclass(frozen=True)
class Confirmation:
    reason: str
    steps: tuple[RevokeAction, ...]


def _step_text(step: RevokeAction, *, provider: bool = False) -> Text:
    """One step; ``provider`` labels it with its provider (a person's plan spans several)."""
    text = join(
        safe(step.label, max_length=70),
        Text(f"[{step.name}]", style="dim"),
        Text("(reversible)" if step.reversible else "", style="dim"),
    )
    if provider:
        return join(safe(f"{step.provider}:", "bold", max_length=31), text)
    return text


SELECTED_MARK, DESELECTED_MARK = "[x] ", "[ ] "


DIALOG_CHROME = 18
"""Rows of the plan dialog besides its step list (borders, padding, title, labels,
the reason box, the buttons)."""
STEPS_MIN = 3
STEPS_MAX = 14


class StepList(SelectionList[int]):
    """A SelectionList whose rows say ``[x]``/``[ ]`` in text, not in colour only."""

    # The shared movement keys (ids of keymap.TABLE_BINDINGS, so a remap follows):
    # without them "Tab, j, space" toggled the first step, not the second.
    BINDINGS = [
        Binding("j,down", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k,up", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g,home", "first", "First row", show=False, id="table.first"),
        Binding("G,end", "last", "Last row", show=False, id="table.last"),
    ]

    def _get_left_gutter_width(self) -> int:
        return len(SELECTED_MARK)

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)
        index = self.scroll_offset.y + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        chosen = selection.value in self._selected
        base = next(iter(line)).style or self.rich_style
        mark_style = base + Style(bold=chosen, meta={"option": index})
        return Strip([Segment(SELECTED_MARK if chosen else DESELECTED_MARK, mark_style), *line])


class ConfirmRevoke(ModalScreen[Confirmation | None]):
    """Dismisses with the reason and the chosen steps, or None (cancelled)."""

    DEFAULT_CSS = """
    ConfirmRevoke {
        align: center middle;
    }

    ConfirmRevoke #confirm-dialog {
        width: 80;
        max-width: 95%;
        height: auto;
        max-height: 90%;
        overflow-y: auto; /* a long title on a small screen: scroll, never cut the buttons */
        border: thick $error;
        background: $surface;
        padding: 1 2;
    }

    ConfirmRevoke #confirm-title {
        margin-bottom: 1;
    }

    ConfirmRevoke #confirm-plan {
        height: auto;
        max-height: 16;
        margin-bottom: 1;
        overflow-y: auto;
    }

    ConfirmRevoke #confirm-error {
        height: auto;
    }

    ConfirmRevoke #confirm-buttons {
        height: auto;
        align-horizontal: right;
    }

    ConfirmRevoke #confirm-buttons Button {
        margin-left: 2;
    }

    ConfirmRevoke #confirm-steps {
        height: auto;
        max-height: 14;
        margin-bottom: 1;
    }

    ConfirmRevoke #confirm-dialog Input,
    ConfirmRevoke #confirm-dialog SelectionList,
    ConfirmRevoke #confirm-dialog Static {
        width: 100%;
    }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("tab", "cycle_focus(1)", "Next field", show=False, id="confirm.next"),
        Binding(
            "shift+tab", "cycle_focus(-1)", "Previous field", show=False, id="confirm.previous"
        ),
    ]

    def __init__(
        self, title: Text, steps: Sequence[RevokeAction], *, by_provider: bool = False
    ) -> None:
        super().__init__()
        self._by_provider = by_provider
        self._title = title
        self._steps = list(steps)

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-dialog"):
            yield Static(self._title, id="confirm-title")
            if len(self._steps) == 1:
                yield Static(
                    join(Text(" 1."), _step_text(self._steps[0], provider=self._by_provider)),
                    id="confirm-plan",
                )
            else:
                yield Label("Steps, run in this order (Tab here, space to deselect one):")
                yield StepList(
                    *(
                        Selection(_step_text(step, provider=self._by_provider), n, True)
                        for n, step in enumerate(self._steps)
                    ),
                    id="confirm-steps",
                )
            yield Label("Reason (journalled):")
            yield Input(placeholder="e.g. leaked token, INC-4211", id="confirm-reason")
            yield Static("", id="confirm-error")
            with Horizontal(id="confirm-buttons"):
                yield Button("Revoke", variant="error", id="confirm-ok")
                yield Button("Cancel", id="confirm-cancel")

    def on_mount(self) -> None:
        self._fit_steps(self.app.size.height)
        self.query_one("#confirm-reason", Input).focus()
        self._count_steps()

    def on_resize(self, event: events.Resize) -> None:
        self._fit_steps(event.size.height)

    def _fit_steps(self, height: int) -> None:
        """The step list scrolls within what the screen leaves it.

        At 80x24 an offboarding's 11 steps pushed the (focused, required) reason
        box and the buttons below the screen. The dialog is at most 90% of the
        screen; everything but the list takes ``DIALOG_CHROME`` rows.
        """
        for steps in self.query(StepList):
            room = int(height * 0.9) - DIALOG_CHROME
            steps.styles.max_height = max(STEPS_MIN, min(STEPS_MAX, room))

    def _chosen(self) -> tuple[RevokeAction, ...]:
        if len(self._steps) == 1:
            return tuple(self._steps)
        picked = set(self.query_one("#confirm-steps", SelectionList).selected)
        return tuple(step for n, step in enumerate(self._steps) if n in picked)

    @on(SelectionList.SelectedChanged, "#confirm-steps")
    def _count_steps(self) -> None:
        """The dialog's title counts the steps that will run, as they are toggled."""
        total = len(self._steps)
        chosen = len(self._chosen())
        noun = "step" if total == 1 else "steps"
        count = f"{total} {noun}" if chosen == total else f"{chosen} of {total} {noun}"
        self.query_one("#confirm-dialog").border_title = count

    def _focus_order(self) -> list[Widget]:
        """Reason, steps, then the buttons: what "Tab here" promises."""
        order: list[Widget] = [self.query_one("#confirm-reason", Input)]
        order.extend(self.query("#confirm-steps"))
        order.extend(self.query(Button))
        return order

    def action_cycle_focus(self, step: int) -> None:
        order = self._focus_order()
        current = order.index(self.focused) if self.focused in order else -1
        self.set_focus(order[(current + step) % len(order)])

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
