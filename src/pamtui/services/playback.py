"""Replaying a verified recording inside an application: timing and a VT100 screen.

``pamtui sessions play`` writes a recording's output to the real terminal.
The audit screen cannot: over SSH it is itself the terminal's only writer,
and a recording's escape sequences must never reach a terminal unread. Here
the output is fed to a VT100 emulator (pyte) instead, and the front end
draws the emulator's cells: the recorded sequences are interpreted by pyte
alone, and what leaves this module is characters and their attributes.

:class:`Playback` is the clock, kept free of any UI so it can be tested
without one: which events make up the next frame, how long to wait before
it (scaled by the speed, capped by ``max_wait`` as ``play`` does), pause,
speed steps, and the jump to the end. :class:`VirtualTerminal` is the screen
the events are applied to.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

import pyte
from pyte.screens import Char, wcwidth

from pamtui.services.recordings import RecordingError, events

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)
"""The speeds ``+``/``-`` step through."""

FRAME = 1 / 30
"""Events closer together than this (at the current speed) are drawn as one frame."""

MAX_COLUMNS, MAX_ROWS = 500, 200
"""A recorded size beyond these is clipped: the emulator's memory stays bounded."""


@dataclass(frozen=True)
class Event:
    """One asciicast event: seconds from the start, ``o`` (output) or ``r`` (resize), text."""

    when: float
    kind: str
    text: str


@dataclass(frozen=True)
class Recording:
    """A verified recording, parsed: its initial size and its events."""

    columns: int
    rows: int
    events: tuple[Event, ...]

    @property
    def duration(self) -> float:
        return self.events[-1].when if self.events else 0.0


def parse(data: bytes) -> Recording:
    """The size and events of a verified asciicast v2 recording; RecordingError if malformed."""
    try:
        header = json.loads(data.split(b"\n", 1)[0] or b"{}")
        found = tuple(Event(when, kind, text) for when, kind, text in events(data))
    except (ValueError, TypeError) as exc:  # json errors are ValueErrors; bad rows TypeErrors
        raise RecordingError(f"the recording cannot be read as asciicast v2: {exc}") from None
    width, height = header.get("width"), header.get("height")
    columns = width if isinstance(width, int) else 80
    rows = height if isinstance(height, int) else 24
    return Recording(_clip(columns, MAX_COLUMNS), _clip(rows, MAX_ROWS), found)


def _clip(value: int, most: int) -> int:
    return max(1, min(value, most))


def _size(text: str) -> tuple[int, int] | None:
    """``COLSxROWS`` of a resize event, clipped; None if it is not one."""
    cols, sep, rows = text.partition("x")
    if not sep or not cols.isdigit() or not rows.isdigit():
        return None
    return _clip(int(cols), MAX_COLUMNS), _clip(int(rows), MAX_ROWS)


@dataclass
class Playback:
    """Where a replay is, and how fast it goes; the caller owns the timer.

    The caller asks :meth:`delay` how long to wait, waits (unless
    :attr:`paused`), then applies :meth:`frame`'s events, and again until
    :attr:`done`.
    """

    recording: Recording
    speed: float = 1.0
    max_wait: float | None = 2.0
    paused: bool = False
    position: int = 0
    """How many events have been applied."""
    _last: float = field(default=0.0, repr=False)

    @property
    def done(self) -> bool:
        return self.position >= len(self.recording.events)

    @property
    def elapsed(self) -> float:
        """The recording's own time at the last applied event."""
        return self._last

    def delay(self) -> float | None:
        """Seconds to wait before the next frame (scaled, capped); None at the end."""
        if self.done:
            return None
        gap = max(0.0, self.recording.events[self.position].when - self._last) / self.speed
        return gap if self.max_wait is None else min(gap, self.max_wait)

    def frame(self) -> list[Event]:
        """The next event and those that follow it within one :data:`FRAME` (scaled)."""
        pending = self.recording.events
        if self.done:
            return []
        start = pending[self.position].when
        end = self.position + 1
        while end < len(pending) and (pending[end].when - start) / self.speed < FRAME:
            end += 1
        return self._take(end)

    def rest(self, budget: int | None = None) -> list[Event]:
        """Events not applied yet (the jump to the end), at most ``budget`` characters' worth.

        The emulator reads some hundreds of kB a second: a long session is
        skipped through in steps, so the UI can draw and take keys between
        them. A step always takes at least one event.
        """
        pending = self.recording.events
        if budget is None:
            return self._take(len(pending))
        end, size = self.position, 0
        while end < len(pending) and (end == self.position or size < budget):
            size += len(pending[end].text)
            end += 1
        return self._take(end)

    def _take(self, end: int) -> list[Event]:
        taken = list(self.recording.events[self.position : end])
        self.position = end
        if taken:
            self._last = max(self._last, taken[-1].when)
        return taken

    def faster(self) -> float:
        self.speed = next((s for s in SPEEDS if s > self.speed), self.speed)
        return self.speed

    def slower(self) -> float:
        self.speed = next((s for s in reversed(SPEEDS) if s < self.speed), self.speed)
        return self.speed

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        return self.paused


@lru_cache(maxsize=4096)
def _drawn(char: str) -> bool:
    return ord(char) < 0xA0 or wcwidth(char) > 0 or unicodedata.combining(char) != 0


def _printable(text: str) -> str:
    """``text`` without the zero-width characters that are not combining marks.

    pyte stops drawing a chunk at the first of them (a bidi override, a
    zero-width space), which would hide the rest of the line from the
    auditor; a terminal draws nothing for them, so they are dropped. ASCII,
    and the C0/C1 controls the emulator must see, pass as they are.
    """
    if text.isascii():
        return text
    return "".join(char for char in text if _drawn(char))


class _QuietScreen(pyte.Screen):
    """A pyte screen that keeps nothing a recording sets beyond its cells.

    A title (OSC 0/2) is dropped rather than stored: nothing the recording
    says is ever handed to the real terminal or the app's title bar. Answers
    to queries (device attributes, cursor position) already go nowhere:
    pyte's ``write_process_input`` does nothing.
    """

    def set_title(self, param: str) -> None:
        pass

    def set_icon_name(self, param: str) -> None:
        pass


class VirtualTerminal:
    """The emulated screen a replay draws: recorded output in, cells out."""

    def __init__(self, columns: int, rows: int) -> None:
        self.screen = _QuietScreen(columns, rows)
        self._stream = pyte.Stream(self.screen)

    @property
    def columns(self) -> int:
        return int(self.screen.columns)

    @property
    def rows(self) -> int:
        return int(self.screen.lines)

    def apply(self, batch: Iterable[Event]) -> None:
        for event in batch:
            if event.kind == "o":
                self._stream.feed(_printable(event.text))
            elif event.kind == "r" and (size := _size(event.text)) is not None:
                self.screen.resize(lines=size[1], columns=size[0])

    def cells(self) -> list[list[Char]]:
        """Each row's cells, left to right (a wide character's second cell has no data)."""
        buffer = self.screen.buffer
        return [[buffer[y][x] for x in range(self.columns)] for y in range(self.rows)]

    def lines(self) -> list[str]:
        """The screen as plain text, one string a row (for tests and logs)."""
        return [str(line) for line in self.screen.display]

    @property
    def cursor(self) -> tuple[int, int] | None:
        """(column, row) of the cursor, or None while the recording hides it."""
        cursor = self.screen.cursor
        return None if cursor.hidden else (int(cursor.x), int(cursor.y))
