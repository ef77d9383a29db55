"""A scrolling log of styled, unwrapped lines: what the stream pane needs of ``RichLog``.

Textual's ``RichLog`` takes any renderable, so its module imports
``rich.pretty`` (and, through it, ``attrs`` where that is installed): about
10 ms of every start for a pane that only ever writes ``Text``. This widget
keeps RichLog's drawing exactly (lines rendered once into strips at RichLog's
width, at least ``min_width``; cropped to the pane; the oldest dropped past
``max_lines``; following the end) and nothing else.
"""

from __future__ import annotations

from collections import deque

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.cache import LRUCache
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class LineLog(ScrollView, can_focus=True):
    """Append-only lines of ``Text``, never wrapped; scrolls to the end as they come."""

    DEFAULT_CSS = """
    LineLog {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    def __init__(
        self,
        *,
        max_lines: int | None = None,
        min_width: int = 78,
        auto_scroll: bool = True,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.max_lines = max_lines
        self.min_width = min_width
        self.auto_scroll = auto_scroll
        self.lines: list[Strip] = []
        """The lines kept (at most ``max_lines``), oldest first."""
        self._start_line = 0
        """Lines dropped from the front so far: keeps cache keys apart after a trim."""
        self._widest = 0
        self._line_cache: LRUCache[tuple[int, int, int, int], Strip] = LRUCache(1024)
        self._deferred: deque[tuple[Text, bool | None]] = deque()
        """Writes made before the pane's width was known, in order."""
        self._size_known = False

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()

    def on_resize(self, event: Resize) -> None:
        if event.size.width and not self._size_known:
            self._size_known = True
            while self._deferred:
                self.write(*self._deferred.popleft())

    def get_content_width(self, container: Size, viewport: Size) -> int:
        return self.virtual_size.width if self._size_known else container.width

    def write(self, text: Text, scroll_end: bool | None = None) -> LineLog:
        """Append ``text`` (one line per ``\\n``) and follow the end if ``scroll_end``
        (``None``: as ``auto_scroll`` says)."""
        if not self._size_known:
            self._deferred.append((text.copy(), scroll_end))
            return self
        console = self.app.console
        options = console.options.update(overflow="ignore", no_wrap=True)
        text.expand_tabs()
        widest_text = max((cell_len(line) for line in text.plain.splitlines()), default=0)
        # As RichLog: as wide as the text, shrunk to the pane, never under min_width.
        width = max(min(widest_text, self.scrollable_content_region.width), self.min_width)
        rendered = list(Segment.split_lines(console.render(text, options.update_width(width))))
        if not rendered:
            self._widest = max(width, self._widest)
            self.lines.append(Strip.blank(width))
        else:
            strips = Strip.from_lines(rendered)
            self.lines.extend(strips)
            if self.max_lines is not None and len(self.lines) > self.max_lines:
                self._start_line += len(self.lines) - self.max_lines
                self.refresh()
                self.lines = self.lines[-self.max_lines :]
            self._widest = max(self._widest, max(strip.cell_length for strip in strips))
        self.virtual_size = Size(self._widest, len(self.lines))
        if self.auto_scroll if scroll_end is None else scroll_end:
            self.scroll_end(animate=False, immediate=False, x_axis=False)
        return self

    def clear(self) -> LineLog:
        self.lines.clear()
        self._line_cache.clear()
        self._start_line = 0
        self._widest = 0
        self._deferred.clear()
        self.virtual_size = Size(0, 0)
        self.refresh()
        return self

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        return self._line(scroll_y + y, scroll_x, width).apply_style(self.rich_style)

    def _line(self, y: int, scroll_x: int, width: int) -> Strip:
        if y >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        key = (y + self._start_line, scroll_x, width, self._widest)
        cached = self._line_cache.get(key)
        if cached is None:
            cached = self.lines[y].crop_extend(scroll_x, scroll_x + width, self.rich_style)
            self._line_cache[key] = cached
        return cached
