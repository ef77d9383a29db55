"""The live stream pane: batched writes, bounded buffers, pause, filters, highlights.

Every event pushed is counted (rates per account, anomaly highlights) in O(1)
and kept in a fixed-size ring of recent events; nothing else happens per
event. A timer calls ``flush`` a few times a second, which draws at most
``MAX_LINES_PER_FLUSH`` of the newest matching events in one write. So a
flood costs a bounded amount of drawing per tick, memory stays flat however
long the stream runs, and keystrokes never queue behind line renders.

Pausing freezes the view only: events keep being counted and kept in the ring,
and resuming draws the newest of them. Changing a filter redraws the pane from
the ring, so the matches of the last few thousand events appear at once.

The ring is this pane's drawing material and nothing else reads it: what an
account did recently (review evidence) is asked of the session's
``services.stream.RecentActivity``, which the same event feed fills.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from rich.text import Text

from pamtui.model import AccessEvent
from pamtui.services.anomaly import BURST, NEW_IP, SPIKE, StreamFlags
from pamtui.services.rates import RateTable
from pamtui.tui.safe import safe
from pamtui.tui.widgets.line_log import LineLog

MAX_LINES = 1_000
"""Lines the pane keeps for scrolling back (each is a few dozen live objects)."""
RECENT_EVENTS = 10_000
"""Events kept (drawn or not) for redrawing under a new filter and after a pause;
private to the pane (per-account history: ``services.stream.RecentActivity``)."""
MAX_LINES_PER_FLUSH = 50
"""A flood (a provider's backfill, a burst) is more than anyone can read: each
tick draws the newest lines only (this many, or the pane's height if taller)
and says how many it skipped, so keystrokes never queue behind thousands of
line renders. At 5,000 events/s drawing 200 lines a tick cost a quarter of a
core for lines scrolled away before anyone saw them."""

STATUS_FILTERS = ("denied", "errors", "ok")
FLAG_LABELS = {SPIKE: "▲SPIKE", BURST: "✖BURST", NEW_IP: "★NEW-IP"}


@dataclass(frozen=True)
class StreamFilter:
    """What the stream pane shows; every field left empty shows everything."""

    provider: str | None = None
    account: tuple[str, str] | None = None
    """(provider, account id)."""
    status: str | None = None
    """``denied`` (401/403), ``errors`` (status >= 400) or ``ok`` (below 400)."""
    text: str = ""
    """Lower-case text looked for in provider, account id, path and status."""

    @property
    def active(self) -> bool:
        return bool(self.provider or self.account or self.status or self.text)

    def matches(self, event: AccessEvent) -> bool:
        if self.provider is not None and event.provider != self.provider:
            return False
        if self.account is not None and (event.provider, event.account_id) != self.account:
            return False
        status = self.status
        if status is not None:
            if status == "denied":
                if not event.denied:
                    return False
            elif status == "errors":
                if event.status < 400:
                    return False
            elif status == "ok" and event.status >= 400:
                return False
        if self.text:
            haystack = f"{event.provider} {event.account_id} {event.path} {event.status}".lower()
            if self.text not in haystack:
                return False
        return True


def format_event(
    event: AccessEvent,
    account: str,
    error: str,
    warning: str,
    flags: tuple[str, ...] = (),
) -> Text:
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
    if event.source_ip:
        # Before the path: a long path must not push the caller's IP (what an
        # incident turns on) out of a 120-column pane.
        line.append(" ")
        line.append(safe(event.source_ip, "dim", max_length=40))
    line.append(" ")
    line.append(safe(event.method, max_length=7))
    line.append(" ")
    line.append(safe(event.path, max_length=70))
    if event.user_agent:
        line.append(" ")
        line.append(safe(event.user_agent, "dim italic", max_length=40))
    if flags:
        # Words, not only colour: visible with NO_COLOR and on monochrome terminals.
        marks = Text(" ".join(FLAG_LABELS[f] for f in flags), style=f"bold reverse {warning}")
        line = Text.assemble(marks, " ", line, end="", no_wrap=True)
    return line


class StreamLog(LineLog):
    """Events are counted as they come and drawn once per tick, never one call each."""

    HELP_WHERE = "stream pane"

    def __init__(self, **kwargs) -> None:
        super().__init__(
            max_lines=MAX_LINES,
            auto_scroll=True,
            **kwargs,
        )
        self._recent: deque[tuple[int, AccessEvent, tuple[str, ...]]] = deque(maxlen=RECENT_EVENTS)
        self._drawn_seq = 0
        """Sequence number of the newest event the view has caught up with."""
        self._paused_seq = 0
        self._paused = False
        self.filter = StreamFilter()
        self.ingested = 0
        """Every event pushed, drawn or not, paused or not."""
        self.shown = 0
        self.skipped = 0
        self.rates = RateTable()
        self.flags = StreamFlags()
        self.flagged = 0
        self.account_name: Callable[[str, str], str] = lambda provider, account_id: account_id

    # -- events in: O(1) each ---------------------------------------------------

    def push(self, event: AccessEvent) -> tuple[str, ...]:
        ts = event.ts.timestamp()
        self.rates.add((event.provider, event.account_id), int(ts))
        flags = self.flags.observe(event, ts)
        if flags:
            self.flagged += 1
        self.ingested += 1
        self._recent.append((self.ingested, event, flags))
        return flags

    # -- what is shown ------------------------------------------------------------

    @property
    def filter_text(self) -> str:
        """The filter in words (``denied`` for the denied-only filter)."""
        return describe(self.filter)

    @filter_text.setter
    def filter_text(self, value: str) -> None:
        value = value.strip().lower()
        if value in STATUS_FILTERS:
            self.set_filter(StreamFilter(status=value))
        else:
            self.set_filter(StreamFilter(text=value))

    def set_filter(self, new: StreamFilter) -> None:
        if new == self.filter:
            return
        self.filter = new
        self.redraw()

    def update_filter(self, **changes) -> StreamFilter:
        self.set_filter(replace(self.filter, **changes))
        return self.filter

    def toggle(self, **changes) -> StreamFilter:
        """Set the given fields, or clear them if they already hold those values."""
        if all(getattr(self.filter, k) == v for k, v in changes.items()):
            changes = {k: (None if k != "text" else "") for k in changes}
        return self.update_filter(**changes)

    @property
    def paused(self) -> bool:
        """The view is frozen; events are still counted and kept."""
        return self._paused

    @paused.setter
    def paused(self, paused: bool) -> None:
        if paused and not self._paused:
            self._paused_seq = self.ingested
        self._paused = paused

    def redraw(self) -> None:
        """Redraw from the recent events under the current filter (pause respected)."""
        self.clear()
        upto = self._paused_seq if self.paused else self.ingested
        if not self.paused:
            self._drawn_seq = upto
        matching: list[tuple[int, AccessEvent, tuple[str, ...]]] = []
        wanted = self.filter.matches
        limit = max(self._per_flush(), 200)  # a filter change: room to scroll back a little
        for item in reversed(self._recent):
            if item[0] > upto:
                continue
            if wanted(item[1]):
                matching.append(item)
                if len(matching) >= limit:
                    break
        matching.reverse()
        self._draw(matching, skipped=0, live=False)

    def _per_flush(self) -> int:
        return max(MAX_LINES_PER_FLUSH, self.size.height)

    def flush(self) -> None:
        if self.paused or self.ingested == self._drawn_seq:
            return
        drawn = self._drawn_seq
        new = self.ingested - drawn
        self._drawn_seq = self.ingested
        wanted = self.filter.matches
        limit = self._per_flush()
        matching: list[tuple[int, AccessEvent, tuple[str, ...]]] = []
        skipped = 0
        # Newest first, so a flood costs MAX_LINES_PER_FLUSH renders, not one per event.
        for item in reversed(self._recent):
            if item[0] <= drawn:
                break
            if wanted(item[1]):
                if len(matching) < limit:
                    matching.append(item)
                else:
                    skipped += 1
        if new > len(self._recent):
            # Fell out of the ring before any tick (a long pause, a huge burst):
            # their matches are unknown, so say how many events went by.
            skipped += new - len(self._recent)
        matching.reverse()
        self._draw(matching, skipped)

    def _draw(
        self,
        items: list[tuple[int, AccessEvent, tuple[str, ...]]],
        skipped: int,
        *,
        live: bool = True,
    ) -> None:
        """Write ``items`` in one go; ``live`` counts them in ``shown``/``skipped``."""
        if not items and not skipped:
            return
        theme = self.app.current_theme
        # A theme may leave a colour unset (None): fall back, never style "bold None".
        error = (theme.error if theme else None) or "red"
        warning = (theme.warning if theme else None) or "yellow"
        name = self.account_name
        lines: list[Text] = []
        if skipped:
            lines.append(Text(f"⋯ {skipped} earlier events not drawn (catching up)", style="dim"))
        for _, event, flags in items:
            lines.append(
                format_event(event, name(event.provider, event.account_id), error, warning, flags)
            )
        # One write for the whole batch: one render and one scroll, not one per line.
        self.write(Text("\n", end="", no_wrap=True).join(lines), scroll_end=None)
        if live:
            self.shown += len(items)
            self.skipped += skipped

    # -- for the pane's title -----------------------------------------------------

    def summary(self, rate: float | None = None) -> str:
        """Rate, filter and pause in pamtui's own words (no provider text).

        ``rate``: the events received per second, the status bar's figure (one
        rate, one meaning on screen); without it, this pane's own count by the
        events' timestamps.
        """
        parts = [format_rate(self.rates.rate(seconds=5) if rate is None else rate)]
        if self.paused:
            held = self.ingested - self._paused_seq
            parts.append(f"PAUSED, {held:,} new (p resumes)")
        return " · ".join(parts)


def format_rate(rate: float) -> str:
    """Events received per second, written the same in the pane title and the status bar."""
    return f"{rate:,.0f}/s"


def describe(flt: StreamFilter, account_label: str | None = None) -> str:
    """The filter in a few words; provider text is cleaned by the caller's widget."""
    parts: list[str] = []
    if flt.status:
        parts.append(flt.status)
    if flt.provider:
        parts.append(f"provider {flt.provider}")
    if flt.account:
        parts.append(f"account {account_label or flt.account[1]}")
    if flt.text:
        parts.append(f'"{flt.text}"')
    return ", ".join(parts)
