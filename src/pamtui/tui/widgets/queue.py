"""The queue pane: revocation items and the state of each step.

Rows can be *marked* (``space`` one row, ``m`` every step of the row's plan)
for a bulk act: ``y`` approves, ``Y`` approves and runs, ``x`` runs, ``c``
cancels the marked items, or the row under the cursor when none is marked.
A mark reads ``[x]`` (``[ ]`` unmarked) in its own column, so it shows
without colour too. Marks are the pane's state only: what may be done to the
marked items is the revocation service's decision (services/revoke_bulk.py).
"""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from pamtui.model import QueueItem
from pamtui.tui.safe import safe
from pamtui.tui.widgets.badges import state_badge
from pamtui.tui.widgets.table import KeyedDataTable


class QueueTable(KeyedDataTable):
    HELP_WHERE = "queue pane"

    # Screen actions: read-only hides them centrally (MainScreen.check_action).
    BINDINGS = [
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            id="queue.mark",
            tooltip="Mark or unmark the row for y, Y, x or c (shown as [x])",
        ),
        Binding(
            "m",
            "mark_plan",
            "Mark plan",
            show=False,
            id="queue.mark_plan",
            tooltip="Mark every step of the row's plan (again: unmark them)",
        ),
        Binding(
            "y",
            "screen.approve_item",
            "Approve",
            id="queue.approve",
            tooltip="Approve the marked items, or the selected one; nothing runs "
            "(four eyes: your own requests are skipped)",
        ),
        Binding(
            "Y",
            "screen.approve_and_run_item",
            "Approve+run",
            key_display="Y",
            id="queue.approve_and_run",
            tooltip="Approve the marked items (or the selected one), then run them in plan order",
        ),
        Binding(
            "x",
            "screen.execute_item",
            "Run",
            id="queue.execute",
            tooltip="Execute the marked approved items (or the selected one), or retry failed ones",
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
            tooltip="Cancel the marked pending items, or the selected one (undo before it runs)",
        ),
    ]

    class MarksChanged(Message):
        """The set of marked rows changed (the pane title counts them)."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._signature: tuple = ()
        self._items: dict[int, QueueItem] = {}
        self.marked: set[int] = set()

    def on_mount(self) -> None:
        # Text, not str: a str label is parsed as markup with emoji codes, and the first
        # such parse imports rich's emoji table (3 ms of the first frame).
        self.add_column(Text(" "), key="mark")
        for label in ("#", "State", "Step", "Target", "By", "Try", "Error"):
            self.add_column(Text(label), key=label.lower())

    def load(self, items: list[QueueItem]) -> None:
        signature = tuple((i.id, i.state, i.attempts) for i in items)
        if signature == self._signature:
            return
        self._signature = signature
        self._items = {item.id: item for item in items}
        if self.marked - self._items.keys():  # an item no longer listed keeps no mark
            self.marked &= self._items.keys()
            self.post_message(self.MarksChanged(len(self.marked)))
        row = self.cursor_row
        self.clear()
        theme = self.app.current_theme
        for item in items:
            self.add_row(
                _mark(item.id in self.marked),
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

    def chosen(self) -> list[int]:
        """What a queue key acts on: the marked items, else the selected one."""
        if self.marked:
            return sorted(self.marked)
        selected = self.selected_id
        return [] if selected is None else [selected]

    def clear_marks(self) -> None:
        self._set_marks(set())

    def _set_marks(self, marked: set[int]) -> None:
        changed = marked ^ self.marked
        self.marked = marked
        for item_id in changed:
            if item_id in self._items:
                self.update_cell(str(item_id), "mark", _mark(item_id in marked))
        if changed:
            self.post_message(self.MarksChanged(len(marked)))

    def action_toggle_mark(self) -> None:
        item_id = self.selected_id
        if item_id is None:
            return
        self._set_marks(self.marked ^ {item_id})
        if self.cursor_row < self.row_count - 1:  # on to the next row, as in a file manager
            self.move_cursor(row=self.cursor_row + 1)

    def action_mark_plan(self) -> None:
        item_id = self.selected_id
        if item_id is None or item_id not in self._items:
            return
        plan = self._items[item_id].plan_id
        steps = {i for i, item in self._items.items() if item.plan_id == plan}
        self._set_marks(self.marked - steps if steps <= self.marked else self.marked | steps)


def _mark(on: bool) -> Text:
    """``[x]`` or ``[ ]``: a mark that reads without colour (NO_COLOR, monochrome)."""
    return Text("[x]", style="bold") if on else Text("[ ]", style="dim")


def _requester(who: str, theme) -> Text:
    """Policy-staged items are marked, so operators see what no human asked for."""
    if who.startswith("policy:"):
        colour = theme.accent if theme else "magenta"
        return safe(f"⚙ {who}", colour, max_length=28)
    return safe(who, max_length=20)
