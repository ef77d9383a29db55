"""The people list: a ``VirtualTable`` over a ``PeopleIndex``.

Only the rows on screen are rendered, so 80,000 people open and filter as fast
as the accounts pane's 100,000 accounts. How a row looks (its cells, the risk
text) is the people screen's business: it hands the table a ``cells`` function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.text import Text

from pamtui.services.people_index import PeopleIndex, Row, fold
from pamtui.tui.widgets.table import Column, VirtualTable

PEOPLE_COLUMNS = (
    Column("name", "Name", max_width=40),
    Column("id", "HR id", max_width=20),
    Column("status", "Status", max_width=12),
    Column("terminated", "Left", max_width=10),
    Column("systems", "Systems", justify="right"),
    Column("accounts", "Accounts", justify="right"),
    Column("live", "Live creds", justify="right"),
    Column("risk", "Risk", max_width=40),
)


class PeopleTable(VirtualTable):
    """People, in the index's order. ``selected_id`` is the person under the cursor."""

    HELP_WHERE = "people list"
    columns = PEOPLE_COLUMNS

    def __init__(self, cells: Callable[[Row], Sequence[Text]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = PeopleIndex()
        self._cells = cells

    @property
    def row_count(self) -> int:
        return len(self.index)

    def row_cells(self, row: int) -> Sequence[Text]:
        return self._cells(self.index[row])

    @property
    def selected_id(self) -> str | None:
        row = self.cursor_row
        if row < 0 or row >= len(self.index):
            return None
        return str(self.index[row]["id"])

    def load(self, index: PeopleIndex) -> None:
        """Show ``index`` (already filtered); the cursor stays on its person if shown."""
        selected = self.selected_id
        self.index = index
        self._rows_changed(selected, measure=True)

    def set_filter(self, query: str) -> None:
        if fold(query.strip()) == self.index.needle:
            return  # a space typed, or the title refreshed: nothing moves
        selected = self.selected_id
        self.index.filter(query)
        self._rows_changed(selected)

    def _rows_changed(self, selected: str | None, *, measure: bool = False) -> None:
        position = self.index.position(selected) if selected is not None else None
        self.data_changed(measure=measure)
        if position is None:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.move_cursor(row=position or 0)
