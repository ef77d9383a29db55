"""The accounts pane fits its columns from ``row_widths``, which must measure what
``row_cells`` draws: a column narrower than its widest cell would cut it.

Rows are generated from hostile fragments (markup, ESC/OSC sequences, C0/C1
controls, bidi overrides), wide characters and long strings, with every mix of
risk flags, in a real app (the badges take the theme's colours).
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult

from pamtui.model import RiskFlag
from pamtui.services.account_rows import AccountRow
from pamtui.tui.widgets.accounts import AccountsTable

FRAGMENTS = ["[bold]", "\x1b]0;t\x07", "\x9b31m", "\x00", "\t", "\u202e", "\u200b", "é", "名", "😀"]
text = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=6), min_size=0, max_size=12).map(
    "".join
) | st.text(min_size=190, max_size=260)
rows = st.lists(
    st.builds(
        AccountRow,
        provider=text,
        id=st.text(max_size=4),
        name=text,
        display_name=st.just(""),
        email=st.just(""),
        system=st.just(""),
        kind=text,
        status=text,
        flags=st.frozensets(st.sampled_from(list(RiskFlag))),
        live=st.none() | st.integers(min_value=0, max_value=10**6),
    ),
    min_size=1,
    max_size=40,
)


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield AccountsTable()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows)
async def test_row_widths_are_the_cell_lengths_of_row_cells(rows: list[AccountRow]) -> None:
    app = TableApp()
    async with app.run_test(size=(120, 30)):
        table = app.query_one(AccountsTable)
        table.load(rows)
        for row in range(table.row_count):
            drawn = [cell.cell_len for cell in table.row_cells(row)]
            assert list(table.row_widths(row)) == drawn, table.index[row]
