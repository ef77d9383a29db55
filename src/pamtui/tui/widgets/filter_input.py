"""The accounts filter box: an ``Input`` whose keystrokes do not lay out the screen.

Textual's ``Input`` sets its ``virtual_size`` (a reactive with ``layout=True``)
on every change of its value, because the text grew by a cell: a keystroke
then lays out the whole screen (20-30 ms at 120x40 on a loaded machine) before
the accounts table can show the new rows. The box's own size never depends on
its text (it is as wide as the pane), so here the virtual size is stored
without asking for a layout; horizontal scrolling within the box still sees
it (``max_scroll_x`` reads it) and the box repaints as any ``Input`` does.
"""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Input


class FilterInput(Input):
    """An ``Input`` for typing filters fast (see the module docstring)."""

    def _watch_value(self, value: str) -> None:
        size = Size(self.content_width, 1)
        if size != self.virtual_size and not self.styles.auto_dimensions:
            # Stored quietly: ``Input._watch_value`` then finds it unchanged
            # and asks for no layout.
            self.set_reactive(Widget.virtual_size, size)
            if self.is_mounted:
                self._scroll_update(size)
        super()._watch_value(value)
