"""The accounts pane: every provider's accounts with their risk flags.

A ``VirtualTable`` over an ``AccountIndex``: only the rows on screen are
rendered, so 100,000 accounts open, scroll, sort and filter as fast as 250.
Every provider string goes through ``tui.safe`` (Text objects, never markup).

Keys (besides the table's arrows, page up/down, home/end, enter):
``s`` sorts by the next column, ``S`` reverses the sort; the sorted column's
header carries ▲ (ascending) or ▼ (descending). Clicking a header sorts by it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from pamtui import heap
from pamtui.services.account_index import AccountIndex
from pamtui.services.account_rows import AccountRow
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.tui.safe import safe, safe_width
from pamtui.tui.widgets.badges import flag_badges, flag_badges_width
from pamtui.tui.widgets.table import Column, VirtualTable

_SEP = "\x1f"
RISK_MAX_WIDTH = 35
"""Every badge at once ("CAME BACK ORPHAN ANOMALY PRIV STALE"): risk is never cut."""
ACCOUNT_WIDTH = 28
"""Characters of a name kept in its cell (what tests and the copy key see)."""
ACCOUNT_COLUMN_WIDTH = 24
"""Cells the name column takes at most: at 120 columns the risk badges, the
live count and the provider then fit whole beside it."""
# What triage needs first comes first: narrow terminals cut the right side.
TABLE_COLUMNS = (
    Column("account", "Account", max_width=ACCOUNT_COLUMN_WIDTH),
    # Fitted to the badges shown, and widened when the stream adds one (update_view).
    Column("risk", "Risk", max_width=RISK_MAX_WIDTH),
    Column("creds", "Live", justify="right"),
    Column("provider", "Provider", max_width=16),
    Column("status", "Status"),
    Column("kind", "Kind"),
)
COLUMNS = tuple((c.label, c.key) for c in TABLE_COLUMNS)
ASCENDING_MARK, DESCENDING_MARK = "▲", "▼"
RESORT_DELAY = 0.5
"""Seconds an update waits for others before the rows are re-sorted (one sort per burst)."""
PREPARE_DELAY = 0.2
"""Seconds after a load before the filter's haystacks are built (the rows are drawn first)."""


def row_key(key: AccountKey) -> str:
    return f"{key[0]}{_SEP}{key[1]}"


def parse_row_key(value: str) -> AccountKey:
    provider, _, account_id = value.partition(_SEP)
    return provider, account_id


class _RowKeys:
    """``row_key(key) in table.rows``, as with a DataTable."""

    def __init__(self, index: AccountIndex) -> None:
        self._index = index

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and self._index.position(parse_row_key(value)) is not None

    def __len__(self) -> int:
        return len(self._index)


class AccountsTable(VirtualTable):
    """Accounts, riskiest first. Posts ``AccountSelected`` when the cursor moves."""

    HELP_WHERE = "accounts pane"
    columns = TABLE_COLUMNS
    header_reserve = 2  # " ▲"

    BINDINGS = [
        Binding(
            "enter",
            "open_account",
            "Credentials",
            show=False,
            id="accounts.open",
            tooltip="Open the account's credentials",
        ),
        Binding(
            "s",
            "sort_next",
            "Sort",
            show=False,
            id="accounts.sort",
            tooltip="Sort the accounts by the next column (the header shows ▲/▼)",
        ),
        Binding(
            "S",
            "sort_reverse",
            "Reverse sort",
            key_display="S",
            show=False,
            id="accounts.sort_reverse",
            tooltip="Reverse the accounts' sort order",
        ),
    ]

    class AccountSelected(Message):
        def __init__(self, key: AccountKey | None) -> None:
            super().__init__()
            self.key = key

    class AccountOpened(Message):
        def __init__(self, key: AccountKey) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = AccountIndex()
        self._filter = ""
        self._measured = False
        self._resort_pending = False

    # -- rows -------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.index)

    @property
    def shown(self) -> int:
        return len(self.index)

    @property
    def rows(self) -> _RowKeys:
        return _RowKeys(self.index)

    def get_row_index(self, key: str) -> int:
        position = self.index.position(parse_row_key(key))
        if position is None:
            raise KeyError(key)
        return position

    def row_cells(self, row: int) -> Sequence[Text]:
        r = self.index[row]
        return (
            safe(r.name, max_length=ACCOUNT_WIDTH),
            flag_badges(r.flags, self.app.current_theme),
            safe(r.live) if r.live is not None else Text("…", style="dim"),
            safe(r.provider, max_length=16),
            safe(r.status, "dim" if r.status != "active" else ""),
            safe(r.kind),
        )

    def row_widths(self, row: int) -> Sequence[int]:
        # What row_cells' cells measure, without building them: fitting the columns
        # to 250 rows is part of the first frame (tests/tui check they agree).
        r = self.index[row]
        return (
            safe_width(r.name, max_length=ACCOUNT_WIDTH),
            flag_badges_width(r.flags),
            safe_width(r.live) if r.live is not None else 1,  # "…"
            safe_width(r.provider, max_length=16),
            safe_width(r.status),
            safe_width(r.kind),
        )

    def header_cells(self) -> Sequence[Text]:
        cells = []
        for column in self.columns:
            label = Text(column.label, end="")
            if column.key == self.index.sort_column:
                mark = DESCENDING_MARK if self.index.descending else ASCENDING_MARK
                label.append(f" {mark}")
            cells.append(label)
        return cells

    # -- data in ------------------------------------------------------------------

    def load(self, views: Iterable[AccountView | AccountRow]) -> None:
        selected = self.selected_key
        self.index.load(views)
        # Every load (provisional rows first, then with credentials): flags read
        # later (STALE) widen the risk column rather than being cut off.
        self._rows_changed(selected, measure=True, grow_only=self._measured)
        self._measured = True
        # The filter's haystacks: after the rows are on screen, not before them,
        # and (usually) before the operator's first keystroke needs them.
        self.set_timer(PREPARE_DELAY, self._prepare_filter)

    def _prepare_filter(self) -> None:
        # Long-lived like the rows (see MainScreen.show_accounts and pamtui/heap.py).
        with heap.long_lived():
            self.index.prepare()

    def set_filter(self, needle: str) -> None:
        self._filter = needle.strip()
        selected = self.selected_key
        self.index.filter(self._filter)
        self._rows_changed(selected)

    def sort_by(self, column: str, descending: bool | None = None) -> None:
        selected = self.selected_key
        self.index.sort(column, descending)
        self._rows_changed(selected)

    def update_view(self, view: AccountView) -> None:
        """Redraw the account; if what it sorts by changed, re-sort soon after.

        The pane promises "riskiest first": an account the stream flags
        ANOMALY must rise above plain ORPHAN rows, not wait for the operator's
        next sort. Re-sorting costs O(n log n), so bursts of updates share one
        re-sort (``RESORT_DELAY``); the cursor stays on its account.
        """
        self.index.update(view)
        self.fit_cell("risk", flag_badges(view.flags, self.app.current_theme).cell_len)
        self.data_changed()
        # The sort is stable: rows whose sort key did not change keep their order.
        self._schedule_resort()

    def update_views(self, views: Sequence[AccountView]) -> None:
        """``update_view`` for many accounts at once: one redraw, one re-sort soon after."""
        if not views:
            return
        widest = 0
        for view in views:
            self.index.update(view)
            widest = max(widest, flag_badges(view.flags, self.app.current_theme).cell_len)
        self.fit_cell("risk", widest)
        self.data_changed()
        self._schedule_resort()

    def _schedule_resort(self) -> None:
        if self._resort_pending or not self.is_mounted:
            return
        self._resort_pending = True
        self.set_timer(RESORT_DELAY, self._resort)

    def _resort(self) -> None:
        self._resort_pending = False
        selected = self.selected_key
        self.index.sort(self.index.sort_column, self.index.descending)
        self._rows_changed(selected)

    def _rows_changed(
        self, selected: AccountKey | None, *, measure: bool = False, grow_only: bool = False
    ) -> None:
        position = self.index.position(selected) if selected is not None else None
        self.data_changed(measure=measure, grow_only=grow_only)
        if position is None:
            self.scroll_to(y=0, animate=False, immediate=True)
        self.move_cursor(row=position or 0)

    # -- selection ----------------------------------------------------------------

    @property
    def selected_key(self) -> AccountKey | None:
        row = self.cursor_row
        if row < 0 or row >= len(self.index):
            return None
        return self.index[row].key

    def on_virtual_table_row_highlighted(self, event: VirtualTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.AccountSelected(self.selected_key))

    def on_virtual_table_row_selected(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        if self.selected_key is not None:
            self.post_message(self.AccountOpened(self.selected_key))

    def on_virtual_table_header_clicked(self, event: VirtualTable.HeaderClicked) -> None:
        event.stop()
        if event.column.key == self.index.sort_column:
            self.action_sort_reverse()
        else:
            self.sort_by(event.column.key)

    def action_open_account(self) -> None:
        if self.selected_key is not None:
            self.post_message(self.AccountOpened(self.selected_key))

    def action_sort_next(self) -> None:
        selected = self.selected_key
        self.index.next_column()
        self._rows_changed(selected)

    def action_sort_reverse(self) -> None:
        selected = self.selected_key
        self.index.reverse()
        self._rows_changed(selected)
