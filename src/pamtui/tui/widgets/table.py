"""A virtualised, read-only table on Textual's line API.

Only the lines on screen are ever rendered: ``render_line(y)`` asks the
subclass for one row's cells (``row_cells``) and draws them into a strip, so
100,000 rows cost what 40 do. Subclasses supply ``row_count`` and
``row_cells``; cells are ``rich.text.Text`` objects (never markup strings).

Keys: j/k or up/down, g/G or home/end, page up/down move the row cursor; left/right scroll
sideways; enter posts ``RowSelected``. The mouse is optional: a click moves
the cursor (a second click on the same row selects it), a click on a header
posts ``HeaderClicked``, the wheel scrolls.

Column widths are fixed, or fitted once (``measure``) to the header and a
sample of at most ``SAMPLE_ROWS`` rows, so they never depend on every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import DataTable

from pamtui.tui.keymap import TABLE_BINDINGS

SAMPLE_ROWS = 500
CELL_PADDING = 1


@dataclass(frozen=True)
class Column:
    """A column of a VirtualTable: its key, header and width."""

    key: str
    label: str
    width: int | None = None
    """Fixed width in cells; None fits the header and a sample of rows."""
    max_width: int = 40
    justify: Literal["left", "right"] = "left"


class VirtualTable(ScrollView, can_focus=True):
    """A table that renders only the rows on screen. Row 0 is the first data row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *TABLE_BINDINGS,  # j/k/g/G and the arrows, home, end: the shared key map
        Binding("pageup", "page_up", "Page up", show=False, id="table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="table.page_down"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="table.scroll_left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="table.scroll_right"),
        Binding("enter", "select_row", "Select", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "virtual-table--header",
        "virtual-table--cursor",
        "virtual-table--hover",
    }

    DEFAULT_CSS = """
    VirtualTable {
        background: $surface;
        color: $foreground;
        height: 1fr;
        &:focus {
            background-tint: $foreground 5%;
            & > .virtual-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .virtual-table--header {
                background-tint: $foreground 5%;
            }
        }
        & > .virtual-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .virtual-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .virtual-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .virtual-table--hover {
            background: $block-hover-background;
        }
    }
    """

    HELP_WHERE = "table"
    """What the help screen calls this widget when it has the focus."""
    columns: tuple[Column, ...] = ()
    header_reserve: int = 0
    """Extra header cells every fitted column keeps free (say, for a sort arrow)."""

    class RowHighlighted(Message):
        """The cursor moved to ``row`` (None: the table is empty)."""

        def __init__(self, table: VirtualTable, row: int | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class RowSelected(Message):
        """Enter (or a second click) on ``row``."""

        def __init__(self, table: VirtualTable, row: int) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> VirtualTable:
            return self.table

    class HeaderClicked(Message):
        def __init__(self, table: VirtualTable, column: Column) -> None:
            super().__init__()
            self.table = table
            self.column = column

        @property
        def control(self) -> VirtualTable:
            return self.table

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._cursor_row = 0
        self._hover_row: int | None = None
        self._widths: list[int] = [c.width or len(c.label) for c in self.columns]
        self._generation = 0
        self._line_cache: LRUCache[tuple, Strip] = LRUCache(1024)

    # -- what subclasses provide ----------------------------------------------------

    @property
    def row_count(self) -> int:
        return 0

    def row_cells(self, row: int) -> Sequence[Text]:
        """The cells of ``row`` (0 <= row < row_count), one per column."""
        raise NotImplementedError

    def row_widths(self, row: int) -> Sequence[int]:
        """The cell lengths of ``row_cells(row)``: a subclass may know them for less."""
        return [cell.cell_len for cell in self.row_cells(row)]

    def header_cells(self) -> Sequence[Text]:
        return [Text(c.label) for c in self.columns]

    # -- data changes ------------------------------------------------------------------

    def data_changed(self, *, measure: bool = False, grow_only: bool = False) -> None:
        """Call after the rows changed: redraws, keeps the cursor in range."""
        if measure:
            self.measure(grow_only=grow_only)
        self._generation += 1
        self._line_cache.clear()
        self._update_virtual_size()
        self._cursor_row = max(0, min(self._cursor_row, self.row_count - 1))
        self.refresh()

    def row_changed(self, row: int) -> None:
        """Call after one row's content changed: redraws that line only."""
        self._generation += 1
        self._line_cache.clear()
        if self.is_mounted:
            self.refresh(Region(0, row + 1 - round(self.scroll_y), self.size.width, 1))

    def measure(self, *, grow_only: bool = False) -> None:
        """Fit the widths of the unfixed columns to the header and a sample of rows.

        ``grow_only``: a column never gets narrower (rows reloaded while the
        operator reads them should not make the columns jump left).
        """
        widths = [len(c.label) + self.header_reserve for c in self.columns]
        count = self.row_count
        if count <= SAMPLE_ROWS:
            sample: Sequence[int] = range(count)
        else:  # the first rows (what is seen first) and an even spread of the rest
            step = count / (SAMPLE_ROWS // 2)
            sample = sorted(
                set(range(SAMPLE_ROWS // 2)) | {int(n * step) for n in range(SAMPLE_ROWS // 2)}
            )
        unfixed = [n for n, c in enumerate(self.columns) if c.width is None]
        for row in sample:
            cells = self.row_widths(row)
            for n in unfixed:
                widths[n] = max(widths[n], cells[n])
        if grow_only:
            widths = [max(w, old) for w, old in zip(widths, self._widths, strict=True)]
        self._widths = [
            c.width if c.width is not None else min(w, c.max_width)
            for c, w in zip(self.columns, widths, strict=True)
        ]
        self._update_virtual_size()

    def fit_cell(self, column_key: str, cell_len: int) -> None:
        """Widen a fitted column (up to its ``max_width``) so a new cell is not cut."""
        for n, column in enumerate(self.columns):
            if column.key == column_key and column.width is None:
                wanted = min(cell_len, column.max_width)
                if wanted > self._widths[n]:
                    self._widths[n] = wanted
                    self._update_virtual_size()
                return

    def _update_virtual_size(self) -> None:
        width = sum(self._widths) + 2 * CELL_PADDING * len(self._widths)
        size = Size(width, self.row_count + 1)  # + the header line
        if size == self.virtual_size:
            return
        if not self.is_mounted:
            self.virtual_size = size
            return
        # Not ``self.virtual_size = size``: that reactive lays out the whole screen
        # (about 30 ms at 120x40), and a filter keystroke changes the row count
        # each time. The table's own size does not depend on its rows; only the
        # scrollbars do, and a scrollbar that appears or goes away still asks for
        # a layout (its own reactive, set in ``_scroll_update``).
        self.set_reactive(ScrollView.virtual_size, size)
        self._scroll_update(size)
        self.refresh()

    # -- DataTable-like API ---------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        return self._cursor_row if self.row_count else -1

    def get_row_at(self, row: int) -> list[Text]:
        if not 0 <= row < self.row_count:
            raise IndexError(f"row {row} out of range (0..{self.row_count - 1})")
        return list(self.row_cells(row))

    def move_cursor(self, *, row: int, scroll: bool = True, animate: bool = False) -> None:
        count = self.row_count
        old = self._cursor_row
        self._cursor_row = max(0, min(row, count - 1)) if count else 0
        if scroll and count:
            self.scroll_to_row(self._cursor_row, animate=animate)
        if old != self._cursor_row:
            self._refresh_row(old)
            self._refresh_row(self._cursor_row)
        self.post_message(self.RowHighlighted(self, self.cursor_row if count else None))

    def scroll_to_row(self, row: int, *, animate: bool = False) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=animate, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=animate, immediate=True)

    def _refresh_row(self, row: int) -> None:
        if not self.is_mounted:
            return
        y = row + 1 - round(self.scroll_y)
        if 0 < y < self.size.height:
            self.refresh(Region(0, y, self.size.width, 1))

    # -- actions ----------------------------------------------------------------------

    @property
    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor_row + 1)

    def action_page_up(self) -> None:
        self.scroll_to(y=self.scroll_y - self._page, animate=False, immediate=True)
        self.move_cursor(row=self._cursor_row - self._page)

    def action_page_down(self) -> None:
        self.scroll_to(y=self.scroll_y + self._page, animate=False, immediate=True)
        self.move_cursor(row=self._cursor_row + self._page)

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=self.row_count - 1)

    def action_select_row(self) -> None:
        if self.row_count:
            self.post_message(self.RowSelected(self, self._cursor_row))

    # -- mouse ------------------------------------------------------------------------

    def _row_at(self, y: int) -> int | None:
        if y < 1:
            return None
        row = y - 1 + round(self.scroll_y)
        return row if row < self.row_count else None

    def _column_at(self, x: int) -> Column | None:
        x += round(self.scroll_x)
        for column, width in zip(self.columns, self._widths, strict=True):
            x -= width + 2 * CELL_PADDING
            if x < 0:
                return column
        return None

    async def _on_click(self, event: events.Click) -> None:
        if event.y == 0:
            column = self._column_at(event.x)
            if column is not None:
                self.post_message(self.HeaderClicked(self, column))
            return
        row = self._row_at(event.y)
        if row is None:
            return
        if row == self._cursor_row and event.chain > 1:
            self.post_message(self.RowSelected(self, row))
        else:
            self.move_cursor(row=row)

    def _on_mouse_move(self, event: events.MouseMove) -> None:
        row = self._row_at(event.y)
        if row != self._hover_row:
            old, self._hover_row = self._hover_row, row
            for r in (old, row):
                if r is not None:
                    self._refresh_row(r)

    def _on_leave(self, event: events.Leave) -> None:
        if self._hover_row is not None:
            old, self._hover_row = self._hover_row, None
            self._refresh_row(old)

    def _on_focus(self, event: events.Focus) -> None:
        self._line_cache.clear()
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._line_cache.clear()
        self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._line_cache.clear()
        if self.row_count:
            self.scroll_to_row(self._cursor_row)

    # -- rendering ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        scroll_x, scroll_y = self.scroll_offset
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("virtual-table--header")
            key: tuple = ("header", self._generation, style)
            strip = self._line_cache.get(key)
            if strip is None:
                strip = self._line_cache[key] = self._render_cells(self.header_cells(), style)
        else:
            row = y - 1 + scroll_y
            if row >= self.row_count:
                return Strip.blank(width, base)
            cursor = row == self._cursor_row
            hover = row == self._hover_row
            key = (row, cursor, hover, self._generation, base, self.has_focus)
            strip = self._line_cache.get(key)
            if strip is None:
                style, post = base, None
                if hover:
                    style += self.get_component_rich_style("virtual-table--hover")
                if cursor:
                    # Over the cells' own colours, as DataTable does: legible on any badge.
                    post = self.get_component_rich_style("virtual-table--cursor")
                    style += post
                strip = self._line_cache[key] = self._render_cells(self.row_cells(row), style, post)
        return strip.crop_extend(scroll_x, scroll_x + width, base)

    def _render_cells(
        self, cells: Sequence[Text], style: Style, post: Style | None = None
    ) -> Strip:
        console = self.app.console
        segments: list[Segment] = []
        pad = Segment(" " * CELL_PADDING, style)
        for column, cell, width in zip(self.columns, cells, self._widths, strict=True):
            text = cell.copy()
            text.no_wrap = True
            text.end = ""
            text.truncate(width, overflow="ellipsis")
            if column.justify == "right":
                text.pad_left(width - text.cell_len)
            else:
                text.pad_right(width - text.cell_len)
            segments.append(pad)
            segments.extend(Segment.apply_style(text.render(console), style, post))
            segments.append(pad)
        return Strip(segments)


class KeyedDataTable(DataTable):
    """A DataTable with the shared key map (j/k/g/G): every DataTable pamtui shows."""

    HELP_WHERE = "table"
    BINDINGS: ClassVar[list[BindingType]] = list(TABLE_BINDINGS)

    def action_first_row(self) -> None:
        self.move_cursor(row=0)

    def action_last_row(self) -> None:
        self.move_cursor(row=self.row_count - 1)
