"""The live stream pane: batched writes, bounded buffer, pause."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from rich.text import Text
from textual.widgets import RichLog

from pamtui.model import AccessEvent
from pamtui.tui.safe import safe

MAX_LINES = 2_000
MAX_LINES_PER_FLUSH = 200
"""A flood (a provider's backfill, a burst) is more than anyone can read: each
tick draws the newest lines only and says how many it skipped, so keystrokes
never queue behind thousands of line renders."""


def format_event(event: AccessEvent, account: str, error: str, warning: str) -> Text:
    if event.denied:
        status_style = f"bold {error}"
    elif event.status >= 400:
        status_style = warning
    else:
        status_style = "dim"
    line = Text(end="", no_wrap=True)
    line.append(f"{event.ts:%H:%M:%S} ", style="dim")
    line.append(safe(event.status, status_style))
    line.append(" ")
    line.append(safe(event.provider, "dim", max_length=14))
    line.append(" ")
    line.append(safe(account, "bold", max_length=28))
    line.append(" ")
    line.append(safe(event.method, max_length=7))
    line.append(" ")
    line.append(safe(event.path, max_length=70))
    if event.source_ip:
        line.append(" ")
        line.append(safe(event.source_ip, "dim", max_length=40))
    return line


class StreamLog(RichLog):
    """Events are queued and written once per tick, never one widget call each."""

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_lines=MAX_LINES,
            wrap=False,
            markup=False,
            highlight=False,
            auto_scroll=True,
            **kwargs,
        )
        self._pending: deque[AccessEvent] = deque(maxlen=MAX_LINES)
        self.paused = False
        self.filter_text = ""
        self.shown = 0
        self.skipped = 0
        self.account_name: Callable[[str, str], str] = lambda provider, account_id: account_id

    def push(self, event: AccessEvent) -> None:
        self._pending.append(event)

    def _wanted(self, event: AccessEvent) -> bool:
        needle = self.filter_text
        if not needle:
            return True
        if needle == "denied":
            return event.denied
        haystack = f"{event.provider} {event.account_id} {event.path} {event.status}".lower()
        return needle in haystack

    def flush(self) -> None:
        if self.paused or not self._pending:
            return
        theme = self.app.current_theme
        error = theme.error if theme else "red"
        warning = theme.warning if theme else "yellow"
        name = self.account_name
        wanted = [e for e in self._pending if self._wanted(e)]
        self._pending.clear()
        skipped = max(0, len(wanted) - MAX_LINES_PER_FLUSH)
        if skipped:
            self.write(
                Text(f"⋯ {skipped} earlier events not drawn (catching up)", style="dim"),
                scroll_end=None,
            )
        for event in wanted[skipped:]:
            self.write(
                format_event(event, name(event.provider, event.account_id), error, warning),
                scroll_end=None,
            )
        self.shown += len(wanted) - skipped
        self.skipped += skipped
