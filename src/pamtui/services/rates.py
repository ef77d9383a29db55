"""Per-account event rates over a rolling window, in bounded memory.

Each key (an account, or anything hashable) owns a fixed ring of per-second
buckets, so adding an event is O(1) and a key never holds more than
``window`` integers however fast it calls. Keys are kept in least-recently-
used order and the oldest is forgotten beyond ``max_keys``: a stream that
names millions of distinct accounts still uses flat memory.

Seconds are whole epoch seconds chosen by the caller (the stream uses the
events' own timestamps), so the arithmetic is deterministic and testable.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Hashable, Iterator

DEFAULT_WINDOW = 60
DEFAULT_MAX_KEYS = 5_000


class RateRing:
    """Counts per second for the last ``window`` seconds, with a running sum."""

    __slots__ = ("buckets", "first", "last", "total")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        self.buckets = [0] * window
        self.last: int | None = None
        """The newest second counted; older seconds slide out as it advances."""
        self.first: int | None = None
        self.total = 0
        """Sum of every bucket in the window (kept up to date, never re-added)."""

    @property
    def window(self) -> int:
        return len(self.buckets)

    def _advance(self, second: int) -> None:
        window = len(self.buckets)
        last = self.last
        if last is None or second - last >= window:
            # Everything in the ring is now out of the window.
            for i in range(window):
                self.buckets[i] = 0
            self.total = 0
        else:
            for s in range(last + 1, second + 1):
                i = s % window
                self.total -= self.buckets[i]
                self.buckets[i] = 0
        self.last = second

    def add(self, second: int, n: int = 1) -> int:
        """Count ``n`` events at ``second``; return that second's count (0 if too old)."""
        if self.first is None:
            self.first = second
        last = self.last
        if last is None or second > last:
            self._advance(second)
        elif second <= last - len(self.buckets):
            return 0  # older than the window: nothing to count it in
        i = second % len(self.buckets)
        self.buckets[i] += n
        self.total += n
        return self.buckets[i]

    def count(self, second: int) -> int:
        last = self.last
        if last is None or second > last or second <= last - len(self.buckets):
            return 0
        return self.buckets[second % len(self.buckets)]

    def series(self, now: int, width: int) -> list[int]:
        """Counts for the ``width`` seconds ending at ``now``, oldest first."""
        width = min(width, len(self.buckets))
        return [self.count(s) for s in range(now - width + 1, now + 1)]

    def recent(self, now: int, seconds: int) -> int:
        """Events in the ``seconds`` seconds ending at ``now`` (at most the window)."""
        buckets = self.buckets
        window = len(buckets)
        seconds = min(seconds, window)  # the ring knows no further back
        last = self.last
        if last is None or last <= now - seconds:
            return 0
        if seconds == window and now == last:
            return self.total
        low = max(now - seconds + 1, last - window + 1)
        high = min(now, last)
        return sum(buckets[s % window] for s in range(low, high + 1))


class RateTable:
    """A ``RateRing`` per key, at most ``max_keys`` of them (least recently used go)."""

    def __init__(self, *, window: int = DEFAULT_WINDOW, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        self.window = window
        self.max_keys = max_keys
        self._rings: OrderedDict[Hashable, RateRing] = OrderedDict()
        self.overall = RateRing(window)
        self.now: int | None = None
        """The newest second seen on any key: the right edge of every series."""
        self.forgotten = 0
        """Keys dropped to stay within ``max_keys``."""

    def __len__(self) -> int:
        return len(self._rings)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._rings

    def ring(self, key: Hashable) -> RateRing:
        """The key's ring, created (and the least recently used evicted) if need be."""
        rings = self._rings
        ring = rings.get(key)
        if ring is None:
            ring = rings[key] = RateRing(self.window)
            if len(rings) > self.max_keys:
                rings.popitem(last=False)
                self.forgotten += 1
        else:
            rings.move_to_end(key)
        return ring

    def add(self, key: Hashable, second: int, n: int = 1) -> RateRing:
        """Count ``n`` events for ``key`` at ``second``; returns the key's ring."""
        ring = self.ring(key)
        ring.add(second, n)
        self.overall.add(second, n)
        if self.now is None or second > self.now:
            self.now = second
        return ring

    def get(self, key: Hashable) -> RateRing | None:
        return self._rings.get(key)

    def series(self, key: Hashable, width: int, now: int | None = None) -> list[int]:
        now = self.now if now is None else now
        ring = self._rings.get(key)
        if ring is None or now is None:
            return [0] * min(width, self.window)
        return ring.series(now, width)

    def rate(self, key: Hashable | None = None, *, seconds: int = 10) -> float:
        """Mean events per second over the last ``seconds`` (``key`` None: all keys)."""
        ring = self.overall if key is None else self._rings.get(key)
        if ring is None or self.now is None:
            return 0.0
        seconds = max(1, min(seconds, self.window))
        return ring.recent(self.now, seconds) / seconds

    def top(self, n: int, *, seconds: int = 10) -> list[tuple[Hashable, int]]:
        """The ``n`` busiest keys over the last ``seconds``: (key, events), busiest first."""
        now = self.now
        if now is None or n <= 0:
            return []
        seconds = max(1, min(seconds, self.window))
        counts = ((key, ring.recent(now, seconds)) for key, ring in self._rings.items())
        return [kc for kc in heapq.nlargest(n, counts, key=lambda kc: kc[1]) if kc[1] > 0]

    def keys(self) -> Iterator[Hashable]:
        return iter(self._rings)
