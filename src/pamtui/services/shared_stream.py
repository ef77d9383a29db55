"""One stream poll per service, any number of readers: the hub's side and a session's side.

:func:`publish` runs in the service's hub: it drains the one
:class:`~pamtui.services.stream.EventFeed` over every provider (resumed from
the cursors the store holds, so a restarted hub repeats nothing) into the
shared :class:`~pamtui.services.event_store.EventStore`, in small batches.
:class:`SharedFeed` is what an operator session follows instead of its own
``EventFeed``: the same items, read from the store, with no provider call.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

from pamtui.model import AccessEvent
from pamtui.services.event_store import EventStore
from pamtui.services.stream import YIELD_EVERY, EventFeed, FeedItem, RecentActivity

BATCH = 500
FLUSH_EVERY = 0.25
"""Seconds an item may wait before it is stored (a quiet stream still shows promptly)."""
READ_EVERY = 0.5
"""Seconds a session waits between looks at the store when it had nothing new."""
BACKFILL = 500
"""Items a new session starts with: the stream pane is not empty on connect."""


async def publish(feed: EventFeed, store: EventStore, *, batch: int = BATCH) -> None:
    """Store every item the feed hands out until cancelled; flushes what is pending."""
    pending: list[FeedItem] = []

    def flush() -> None:
        if pending:
            store.append(pending)
            pending.clear()

    async def flusher() -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            flush()

    task = asyncio.create_task(flusher(), name="shared-stream-flush")
    try:
        async for item in feed.items():
            pending.append(item)
            if len(pending) >= batch:
                flush()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        flush()


class SharedFeed:
    """A session's feed from the shared store: ``items()`` like ``EventFeed``'s."""

    def __init__(
        self,
        store: EventStore,
        *,
        backfill: int = BACKFILL,
        recent: RecentActivity | None = None,
        read_every: float = READ_EVERY,
    ) -> None:
        self.store = store
        self.backfill = backfill
        self.recent = recent
        self.read_every = read_every
        self.received = 0
        self.seq = -1
        """The last item's number (-1: not started)."""
        self.last_read = time.monotonic()

    async def items(self) -> AsyncIterator[FeedItem]:
        if self.seq < 0:
            self.seq = max(0, self.store.last_seq() - self.backfill)
        while True:
            got = self.store.after(self.seq)
            self.last_read = time.monotonic()
            for stored in got:
                self.seq = stored.seq
                if self.recent is not None and isinstance(stored.item, AccessEvent):
                    self.recent.add(stored.item)
                yield stored.item
                self.received += 1
                if self.received % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            if not got:
                await asyncio.sleep(self.read_every)

    async def close(self) -> None:
        self.store.close()
