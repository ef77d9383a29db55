"""Merge the access-event streams of every provider into one feed.

Each provider's stream runs in its own task; a failing provider is retried
with backoff and reported, without stopping the others. The merged feed is a
bounded queue, so a slow consumer holds producers back instead of growing
memory without limit.

Garbage collection is the caller's business (``pamtui.heap``): a service does
not change process-wide settings.
"""

from __future__ import annotations

import asyncio
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


class EventFeed:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        buffer: int = 20_000,
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
        self._tasks: list[asyncio.Task[None]] = []
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
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
