"""Merge the access-event streams of every provider into one feed.

Each provider's stream runs in its own task; a failing provider is retried
with backoff and reported, without stopping the others. The merged feed is a
bounded queue, so a slow consumer holds producers back instead of growing
memory without limit.

Garbage collection: a stream of thousands of events a second keeps many
young objects alive for a moment (the queue, the pane's ring of recent
events), which makes CPython run full collections every second or so, and a
full collection scans the whole heap: the UI, the inventory, the providers'
models. On a large inventory that is a pause of 100-200 ms, felt as a late
keystroke. So while the feed runs, the heap it started with is frozen
(``gc.freeze``: still alive and reference-counted, just not re-scanned), and
full collections only look at what the stream itself keeps; and the young
generation's threshold is raised (700 -> 5,000 allocations), so an event's
short life rarely spans a collection and full collections become rare (at
5,000 events/s: about one a minute instead of one every two seconds).
``close`` unfreezes and restores the thresholds.
"""

from __future__ import annotations

import asyncio
import gc
import random
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from pamtui.model import AccessEvent, Capability
from pamtui.providers.base import Provider


@dataclass(frozen=True)
class StreamProblem:
    provider: str
    message: str


FeedItem = AccessEvent | StreamProblem

YIELD_EVERY = 200
STREAM_GC_THRESHOLD = (5_000, 20, 10)


class EventFeed:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        buffer: int = 20_000,
        freeze_heap: bool = True,
        since: Mapping[str, str | None] | None = None,
    ) -> None:
        self.providers = {
            name: p for name, p in providers.items() if Capability.EVENTS in p.capabilities
        }
        self._queue: asyncio.Queue[FeedItem] = asyncio.Queue(maxsize=buffer)
        # ``since``: where each stream got to last time (services/cursors.py).
        self._cursors: dict[str, str | None] = {
            name: (since or {}).get(name) for name in self.providers
        }
        self._tasks: list[asyncio.Task] = []
        self._freeze_heap = freeze_heap
        self._frozen = False
        self._saved_threshold: tuple[int, int, int] | None = None
        self.received = 0
        """Items handed to the consumer so far (events and problems)."""

    @property
    def backlog(self) -> int:
        """Items waiting in the bounded queue: the consumer's lag."""
        return self._queue.qsize()

    async def _pump(self, name: str, provider: Provider) -> None:
        delay = 1.0
        while True:
            try:
                async for event in provider.stream_events(self._cursors[name]):
                    if event.cursor:
                        self._cursors[name] = event.cursor
                    await self._queue.put(event)
                    delay = 1.0
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                await self._queue.put(StreamProblem(name, f"{type(exc).__name__}: {exc}"))
                await asyncio.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 60.0)

    async def items(self) -> AsyncIterator[FeedItem]:
        if self._freeze_heap and not self._frozen and self.providers:
            gc.collect()
            gc.freeze()
            self._frozen = True
            self._saved_threshold = gc.get_threshold()
            current = gc.get_threshold()
            gc.set_threshold(
                *(max(a, b) for a, b in zip(current, STREAM_GC_THRESHOLD, strict=True))
            )
        self._tasks = [
            asyncio.create_task(self._pump(name, provider), name=f"stream:{name}")
            for name, provider in self.providers.items()
        ]
        try:
            handed = 0
            while True:
                yield await self._queue.get()
                handed += 1
                self.received = handed
                if handed % YIELD_EVERY == 0:
                    # A backfill arrives faster than any UI draws: let the loop breathe.
                    await asyncio.sleep(0)
        finally:
            await self.close()

    async def close(self) -> None:
        # First, before any await: a second cancellation must not leave the heap frozen.
        if self._frozen:
            self._frozen = False
            gc.unfreeze()
        if self._saved_threshold is not None:
            gc.set_threshold(*self._saved_threshold)
            self._saved_threshold = None
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
