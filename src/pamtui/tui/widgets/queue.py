"""The queue pane: revocation items and the state of each step."""

from __future__ import annotations

from textual.widgets import DataTable

from pamtui.model import QueueItem
from pamtui.tui.safe import safe
from pamtui.tui.widgets.badges import state_badge


class QueueTable(DataTable):
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
                safe(item.requested_by),
                safe(item.attempts),
                safe(item.last_error, "bold red" if item.last_error else "", max_length=80),
                key=str(item.id),
            )
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1))
