"""Hand the GIL back to the event loop sooner while a thread computes.

A thread that computes holds the GIL; each time the event loop gives it up
(every ``select``, every write to the terminal) it waits up to the switch
interval (5 ms by default) to get it back, and a keystroke passes through the
loop many times. ``quick_gil_handover`` shortens the interval while such a
thread runs (the people correlation, the inventory snapshot save), at the cost
of more switches for the thread. A module of its own, light to import: the
TUI's start does not pay for what uses it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

HANDOVER_SECONDS = 0.0005
"""The interpreter's switch interval inside ``quick_gil_handover``."""

_handovers = 0
_saved_interval = 0.0
_handover_lock = threading.Lock()


@contextmanager
def quick_gil_handover() -> Iterator[None]:
    """Shorten the switch interval for the block (nested or overlapping blocks: once)."""
    global _handovers, _saved_interval
    with _handover_lock:
        if _handovers == 0:
            _saved_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(_saved_interval, HANDOVER_SECONDS))
        _handovers += 1
    try:
        yield
    finally:
        with _handover_lock:
            _handovers -= 1
            if _handovers == 0:
                sys.setswitchinterval(_saved_interval)
