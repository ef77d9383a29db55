"""Run a redraw at most once per interval, however often its data changes."""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.message_pump import MessagePump
from textual.timer import Timer


class Throttle:
    """``poke()`` says the data changed; ``action`` runs soon, then at most once per ``interval``.

    The first poke runs ``action`` on the next turn of the loop (the operator sees
    the first rows at once); later pokes within ``interval`` of the last run are
    folded into one run at the end of the interval. ``cancel()`` drops a pending run.
    """

    def __init__(self, owner: MessagePump, interval: float, action: Callable[[], None]) -> None:
        self._owner = owner
        self._interval = interval
        self._action = action
        self._last_run = -interval
        self._timer: Timer | None = None
        self._soon = False

    def poke(self) -> None:
        if self._timer is not None or self._soon:
            return  # a run is already coming and will see this change
        wait = self._last_run + self._interval - time.monotonic()
        if wait <= 0:
            self._soon = True
            self._owner.call_later(self._run)
        else:
            self._timer = self._owner.set_timer(wait, self._run)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = None
        self._soon = False

    def _run(self) -> None:
        if self._timer is None and not self._soon:
            return  # cancelled after this run was scheduled
        self._timer = None
        self._soon = False
        self._last_run = time.monotonic()
        self._action()
