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
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from pamtui.model import AccessEvent
from pamtui.providers.base import Provider
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
        store: EventStore | Path,
        *,
        backfill: int = BACKFILL,
        recent: RecentActivity | None = None,
        read_every: float = READ_EVERY,
    ) -> None:
        self._store = store if isinstance(store, EventStore) else None
        self.path = store.path if isinstance(store, EventStore) else store
        """Opened when it exists: a session may start before the hub's first write."""
        self.backfill = backfill
        self.recent = recent
        self.read_every = read_every
        self.received = 0
        self.seq = -1
        """The last item's number (-1: not started)."""
        self.last_read = time.monotonic()

    async def _open(self) -> EventStore:
        while self._store is None:
            if self.path.exists():
                with contextlib.suppress(sqlite3.Error):
                    self._store = EventStore(self.path)
                    break
            await asyncio.sleep(self.read_every)
        return self._store

    async def items(self) -> AsyncIterator[FeedItem]:
        store = await self._open()
        if self.seq < 0:
            self.seq = max(0, store.last_seq() - self.backfill)
        while True:
            got = store.after(self.seq)
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
        if self._store is not None:
            self._store.close()


def session_feed(
    shared: Path | None,
    providers: Mapping[str, Provider],
    since: Mapping[str, str | None] | None,
    recent: RecentActivity,
) -> EventFeed | SharedFeed:
    """A session's feed: the hub's store when it has one (serve-ssh), else its own streams."""
    if shared is not None:
        return SharedFeed(shared, recent=recent)
    return EventFeed(providers, since=since, recent=recent)
