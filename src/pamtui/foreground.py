"""Background threads give way while the operator types.

Python threads share one GIL. A thread that computes for seconds (the
inventory snapshot save, the drift snapshot, the people correlation, a demo
provider's traffic model, all just after the providers answer a 100,000-account
sync) takes about half of the interpreter from the event loop whenever both
want it, so every keystroke's work takes twice as long, and the operator types
exactly then: the pane has just filled. Shortening the switch interval
(``services/thread_handover.py``) makes the loop get the GIL back sooner; it
does not stop the thread from taking its half.

So the front end marks each key it receives (:func:`mark_typing`), and such
threads call :func:`give_way` between small chunks of their work: while a key
arrived less than ``QUIET_SECONDS`` ago, the thread sleeps (without the GIL)
instead of computing. The work is the same and finishes once the operator
pauses; each call waits at most ``max_wait`` seconds, so it always finishes.

A module of the bottom layer: providers and services call it without knowing
about any front end; a session with no front end (the CLI, ``sweep``, the hub)
never marks a key, and ``give_way`` returns at once.

Such work can also be abandoned (:class:`Abandoned`): ``paced`` checks a
``stop`` callable between chunks, so quitting does not wait seconds for a
cache nobody will read in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from pamtui.errors import PamtuiError

T = TypeVar("T")

QUIET_SECONDS = 0.3
"""How long after a keystroke background threads keep out of the way."""

MAX_WAIT_SECONDS = 2.0
"""The longest one ``give_way`` waits: background work always progresses."""

POLL_SECONDS = 0.01

_last_key = float("-inf")


def mark_typing(now: float | None = None) -> None:
    """A key arrived (called by the front end for every key event)."""
    global _last_key
    _last_key = time.monotonic() if now is None else now


def typing_recently(now: float | None = None) -> bool:
    """Whether a key arrived less than ``QUIET_SECONDS`` ago."""
    now = time.monotonic() if now is None else now
    return now - _last_key < QUIET_SECONDS


def give_way(max_wait: float = MAX_WAIT_SECONDS) -> float:
    """In a background thread: wait while the operator is typing; the seconds waited.

    Never waits on the main thread (the event loop's own work is what the
    operator waits for).
    """
    if threading.current_thread() is threading.main_thread() or not typing_recently():
        return 0.0
    started = time.monotonic()
    while typing_recently() and time.monotonic() - started < max_wait:
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


class Abandoned(PamtuiError):
    """Background work stopped between chunks because its ``stop`` said so.

    Its caller expects it (the TUI quitting); were it ever to reach the CLI, it
    would be one line and exit 1, like any refusal.
    """

    def __init__(self) -> None:
        super().__init__("abandoned: the work was stopped before it finished")


def paced(
    items: Iterable[T], chunk: int = 500, *, stop: Callable[[], bool] | None = None
) -> Iterator[T]:
    """``items``, giving way (:func:`give_way`) before each ``chunk`` of them.

    For a loop over many rows in a background thread; on the main thread, or
    when nobody types, it costs a counter per item. ``stop``: asked before each
    chunk; when it returns true, :class:`Abandoned` is raised instead (a caller
    that writes must leave nothing half-written: a transaction, a temporary file).
    """
    left = chunk
    for item in items:
        left -= 1
        if left <= 0:
            left = chunk
            give_way()
            if stop is not None and stop():  # asked after waiting: still wanted?
                raise Abandoned
        yield item
