"""Merge the access-event streams of every provider into one feed.

Each provider's stream runs in its own task; a failing provider is retried
with backoff and reported, without stopping the others. The merged feed is a
bounded queue, so a slow consumer holds producers back instead of growing
memory without limit.

The feed also remembers each account's latest events (:class:`RecentActivity`)
as it hands them out, so evidence (the review screen, later the bastion) asks
a service for "what did this account just do", not a widget's draw buffer.

Garbage collection is the caller's business (``pamtui.heap``): a service does
not change process-wide settings.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from pamtui.model import AccessEvent, Capability
from pamtui.providers.base import Provider


@dataclass(frozen=True)
class StreamProblem:
    """A provider's stream that failed, and why (shown until it delivers again)."""

    provider: str
    message: str


FeedItem = AccessEvent | StreamProblem

YIELD_EVERY = 200

RECENT_PER_ACCOUNT = 20
"""Events remembered per account: the review shows six; a few more for later uses."""
RECENT_MAX_EVENTS = 20_000
"""Events remembered in all, whatever the number of accounts (a few MB at most)."""


class RecentActivity:
    """Each account's latest stream events, newest first on request; memory is capped.

    Two caps, so that neither many accounts nor one loud account can grow it:
    at most ``per_account`` events per account (a loud account keeps only its
    newest), and at most ``max_events`` in all. Past the total, the accounts
    least recently heard from are forgotten whole, oldest first. At 5,000
    events/s over 100,000 accounts it holds the last ``max_events`` events'
    worth of accounts (each with up to ``per_account`` of its own), never more;
    a quiet account keeps its events while a loud one floods the stream,
    because the loud one's budget is its ``per_account``, not the whole ring.

    ``add`` is O(1) (one ordered-dict move and a list append): it runs once per
    event in the feed's loop. Per-account lists, not deques: an empty deque
    costs about 600 bytes, which at tens of thousands of accounts adds up.
    """

    def __init__(
        self, *, per_account: int = RECENT_PER_ACCOUNT, max_events: int = RECENT_MAX_EVENTS
    ) -> None:
        if per_account < 1 or max_events < per_account:
            raise ValueError("RecentActivity needs 1 <= per_account <= max_events")
        self.per_account = per_account
        self.max_events = max_events
        # Least recently heard-from account first: the next to be forgotten.
        self._by_account: OrderedDict[tuple[str, str], list[AccessEvent]] = OrderedDict()
        self._held = 0

    def add(self, event: AccessEvent) -> None:
        key = (event.provider, event.account_id)
        events = self._by_account.get(key)
        if events is None:
            self._by_account[key] = [event]
        else:
            self._by_account.move_to_end(key)
            events.append(event)
            if len(events) > self.per_account:
                del events[0]  # short list: cheaper than a deque per account
                return  # one in, one out: the total is unchanged
        self._held += 1
        while self._held > self.max_events:
            _, dropped = self._by_account.popitem(last=False)
            self._held -= len(dropped)

    def recent(self, account_key: tuple[str, str], limit: int = 6) -> list[AccessEvent]:
        """Up to ``limit`` of the account's remembered events, newest first."""
        events = self._by_account.get(account_key)
        if not events or limit <= 0:
            return []
        return events[: -limit - 1 : -1]

    def __len__(self) -> int:
        """Events held, over every account."""
        return self._held

    @property
    def accounts(self) -> int:
        """Accounts with at least one event held."""
        return len(self._by_account)


class EventFeed:
    def __init__(
        self,
        providers: Mapping[str, Provider],
        *,
        buffer: int = 20_000,
        since: Mapping[str, str | None] | None = None,
        recent: RecentActivity | None = None,
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
        self.recent = recent
        """Remembers each event handed out (the session's, so others can ask it)."""
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
        recent = self.recent
        try:
            handed = 0
            while True:
                item = await self._queue.get()
                if recent is not None and isinstance(item, AccessEvent):
                    recent.add(item)
                yield item
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
