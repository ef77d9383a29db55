"""How pamtui asks CPython's cyclic garbage collector to leave its big, long-lived data alone.

Reference counting frees almost everything pamtui drops; the cyclic collector
only exists for reference cycles. But it runs on allocation counts, and a full
collection walks every tracked object. Two moments make that costly:

- **A large sync.** Reading 100,000 accounts and 300,000 credentials allocates
  millions of objects; CPython runs several full collections while it happens,
  each over a heap that keeps growing (about a second in all, measured with
  ``benchmarks/bench_scale.py``). None of them finds anything: accounts and
  credentials hold no cycles. Afterwards, each later full collection walks
  those objects again, a 100-300 ms pause felt as a late keystroke.
- **A fast stream.** Thousands of events a second keep many young objects
  alive for a moment (the feed's queue, the pane's ring of recent events),
  which makes full collections frequent.

So :func:`long_lived` pauses automatic collection while a bulk of long-lived
objects is built and then *freezes* the heap (``gc.freeze``: objects stay alive
and reference-counted, and are freed as usual when dropped; they are just never
re-scanned for cycles); :func:`settle` does the same for what exists at a
given moment. :func:`stream_thresholds` raises the young
generation's threshold while a stream runs, so an event's short life rarely
spans a collection. These are process-wide settings: only the code that wires
the services together uses them (the session, around a sync, for the CLI and
the TUI alike; the TUI app, around its stream, the accounts pane's index and
the people correlation), never a service itself.

A start is the third moment: importing Textual and pamtui and building the
first frame allocate hundreds of thousands of objects that live as long as the
process, and the collections they trigger find nothing (about 8% of the TUI's
start, measured with ``benchmarks/bench_tui_start.py``). :func:`pause_for_start`
stops automatic collection until :func:`start_done`, which freezes what the
start built and lets the collector run again.

The cost: a reference cycle that becomes garbage after it was frozen is not
collected until :func:`thaw`. pamtui's long-lived data holds no cycles; what
Textual creates afterwards is not frozen until the next :func:`long_lived` or
:func:`settle`.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

STREAM_THRESHOLD = (5_000, 20, 10)
"""Young-generation thresholds while a fast stream runs (CPython's default: 700, 10, 10)."""


@contextmanager
def long_lived() -> Iterator[None]:
    """Build long-lived objects without collections; freeze them (and the heap) afterwards.

    Nesting is fine: collection resumes when the outermost block ends. The
    heap is frozen even if the block fails, which is harmless (nothing is lost,
    frozen objects are still freed by reference counting).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


_saved_threshold: tuple[int, int, int] | None = None


@contextmanager
def stream_thresholds() -> Iterator[None]:
    """Raise the collector's thresholds to at least ``STREAM_THRESHOLD`` while a stream runs."""
    global _saved_threshold
    if _saved_threshold is None:
        _saved_threshold = gc.get_threshold()
        raised = zip(_saved_threshold, STREAM_THRESHOLD, strict=True)
        gc.set_threshold(*(max(a, b) for a, b in raised))
    try:
        yield
    finally:
        restore_thresholds()


def restore_thresholds() -> None:
    """Undo :func:`stream_thresholds` now; idempotent.

    An app calls it as it closes: its stream's task may only be cancelled a
    loop turn later, and the collector must not stay tuned for a stream that
    is gone.
    """
    global _saved_threshold
    if _saved_threshold is not None:
        gc.set_threshold(*_saved_threshold)
        _saved_threshold = None


def settle() -> None:
    """Collect what is garbage now and freeze the rest: before a long, busy phase.

    The TUI calls it as the stream starts: the screens, the first drift snapshot
    and whatever else was built since the sync then stay out of every later
    full collection (measured: 13 full collections of up to 193 ms in 15 minutes
    at 5,000 events/s without it).
    """
    gc.collect()
    gc.freeze()


_paused_for_start = False


def pause_for_start() -> None:
    """No automatic collection until :func:`start_done` (the TUI's first frame).

    Does nothing when collection is already off (a caller's own choice, kept).
    """
    global _paused_for_start
    if gc.isenabled():
        gc.disable()
        _paused_for_start = True


def start_done() -> None:
    """End :func:`pause_for_start`: freeze what the start built, collect again.

    Idempotent, and a no-op when no start paused the collector, so every way
    out of a start (first frame, a failed start, the app closing) may call it.
    """
    global _paused_for_start
    if _paused_for_start:
        _paused_for_start = False
        gc.freeze()
        gc.enable()


def thaw() -> None:
    """Give frozen objects back to the collector (tests; a long session's clean-up)."""
    gc.unfreeze()
