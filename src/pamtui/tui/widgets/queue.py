"""The queue pane: revocation items and the state of each step."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from pamtui.model import QueueItem
from pamtui.tui.safe import safe
from pamtui.tui.widgets.badges import state_badge
from pamtui.tui.widgets.table import KeyedDataTable


class QueueTable(KeyedDataTable):
    HELP_WHERE = "queue pane"

    # Screen actions: read-only hides them centrally (MainScreen.check_action).
    BINDINGS = [
        Binding(
            "y",
            "screen.approve_item",
            "Approve",
            id="queue.approve",
            tooltip="Approve the selected item (four eyes: not your own request)",
        ),
        Binding(
            "x",
            "screen.execute_item",
            "Run",
            id="queue.execute",
            tooltip="Execute an approved item, or retry a failed one",
        ),
        Binding(
            "e",
            "screen.edit_item",
            "Edit",
            id="queue.edit",
            tooltip="Edit the reason of a staged item",
        ),
        Binding(
            "c",
            "screen.cancel_item",
            "Cancel item",
            id="queue.cancel",
            tooltip="Cancel a pending item (undo before it runs)",
        ),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._signature: tuple = ()

    def on_mount(self) -> None:
        for label in ("#", "State", "Step", "Target", "By", "Try", "Last error"):
            self.add_column(label, key=label.lower())

    def load(self, items: list[QueueItem]) -> None:
        signature = tuple((i.id, i.state, i.attempts) for i in items)
        if signature == self._signature:
            return
        self._signature = signature
        row = self.cursor_row
        self.clear()
        theme = self.app.current_theme
        for item in items:
            self.add_row(
                safe(item.id),
                state_badge(item.state, theme),
                safe(item.action.label, max_length=40),
                safe(f"{item.action.provider}/{item.action.target_id}", max_length=40),
                _requester(item.requested_by, theme),
                safe(item.attempts),
                safe(item.last_error, "bold red" if item.last_error else "", max_length=80),
                key=str(item.id),
            )
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))

    @property
    def selected_id(self) -> int | None:
        if not self.row_count:
            return None
        row_key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        return int(row_key.value) if row_key.value else None


def _requester(who: str, theme) -> Text:
    """Policy-staged items are marked, so operators see what no human asked for."""
    if who.startswith("policy:"):
        colour = theme.accent if theme else "magenta"
        return safe(f"⚙ {who}", colour, max_length=28)
    return safe(who, max_length=20)
