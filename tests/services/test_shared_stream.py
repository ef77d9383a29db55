"""One hub polls the demo provider's stream; any number of readers follow the store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pamtui.model import AccessEvent
from pamtui.providers.demo.calls import read_calls
from pamtui.services.event_store import EventStore
from pamtui.services.shared_stream import SharedFeed, publish
from pamtui.services.stream import EventFeed, FeedItem, RecentActivity
from tests.providers.test_demo_provider import FastClock, make


async def _take(feed: SharedFeed, n: int) -> list[FeedItem]:
    out: list[FeedItem] = []
    async for item in feed.items():
        out.append(item)
        if len(out) >= n:
            return out
    return out


async def test_one_poll_many_readers(tmp_path: Path) -> None:
    provider = make(tmp_path, "idp", system="idp", call_log="calls.sqlite", backfill_minutes=1)
    provider.clock = FastClock()
    store = EventStore.beside(tmp_path / "p.db", writer=True)
    hub = asyncio.create_task(publish(EventFeed({"idp": provider}), store, batch=50))
    readers = [EventStore.beside(tmp_path / "p.db") for _ in range(5)]
    while store.last_seq() < 300:
        await asyncio.sleep(0.05)
    recent = RecentActivity()
    feeds = [SharedFeed(r, backfill=10**9, recent=recent if i == 0 else None)
             for i, r in enumerate(readers)]  # fmt: skip
    seen = [await asyncio.wait_for(_take(f, 300), 30) for f in feeds]
    hub.cancel()
    await asyncio.gather(hub, return_exceptions=True)
    assert all(s == seen[0] for s in seen)  # every reader: the same items, in order
    events = [i for i in seen[0] if isinstance(i, AccessEvent)]
    assert len({e.cursor for e in events}) == len(events)
    assert len(recent) > 0
    await provider.aclose()
    calls = read_calls(tmp_path / "calls.sqlite")
    assert calls[("idp", "stream_open")] == 1  # five readers, one stream
    for r in readers:
        r.close()
    store.close()


async def test_a_restarted_hub_resumes_after_the_last_stored_event(tmp_path: Path) -> None:
    clock = FastClock()
    provider = make(tmp_path, "idp", system="idp", backfill_minutes=1)
    provider.clock = clock
    store = EventStore.beside(tmp_path / "p.db", writer=True)
    hub = asyncio.create_task(publish(EventFeed({"idp": provider}), store, batch=20))
    while store.last_seq() < 100:
        await asyncio.sleep(0.05)
    hub.cancel()
    await asyncio.gather(hub, return_exceptions=True)
    first = store.last_seq()
    since = store.cursors()
    restarted = make(tmp_path, "idp", system="idp", backfill_minutes=1)
    restarted.clock = clock
    hub = asyncio.create_task(publish(EventFeed({"idp": restarted}, since=since), store, batch=20))
    while store.last_seq() < first + 100:
        await asyncio.sleep(0.05)
    hub.cancel()
    await asyncio.gather(hub, return_exceptions=True)
    cursors = [
        s.item.cursor for s in store.after(0, limit=100_000) if isinstance(s.item, AccessEvent)
    ]
    assert len(cursors) == len(set(cursors))
    assert sorted(cursors, key=lambda c: tuple(map(int, c.split(":")[1:]))) == cursors
    await provider.aclose()
    await restarted.aclose()
    store.close()
