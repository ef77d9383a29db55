"""Recent activity per account: a service fed by the event feed, capped in memory.

``services.stream.RecentActivity`` answers "what did this account just do"
for evidence (the review screen) without reading the stream widget. These
tests drive it directly and through the real ``EventFeed``.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pamtui.model import AccessEvent
from pamtui.services.stream import (
    RECENT_MAX_EVENTS,
    RECENT_PER_ACCOUNT,
    EventFeed,
    RecentActivity,
    StreamProblem,
)
from tests.fakes import StaticProvider

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


def event(account: str, n: int, provider: str = "alpha") -> AccessEvent:
    return AccessEvent(
        provider, T0 + timedelta(milliseconds=n), account, f"t-{account}", "GET", f"/v1/{n}", 200
    )


def paths(events: list[AccessEvent]) -> list[str]:
    return [e.path for e in events]


def test_recent_is_newest_first_per_account_and_honours_the_limit() -> None:
    activity = RecentActivity()
    for n in range(10):
        activity.add(event("u1" if n % 2 else "u2", n))
    activity.add(event("u1", 99, provider="beta"))  # same id, other provider: another account
    assert paths(activity.recent(("alpha", "u1"), 3)) == ["/v1/9", "/v1/7", "/v1/5"]
    assert paths(activity.recent(("alpha", "u2"), 100)) == [f"/v1/{n}" for n in (8, 6, 4, 2, 0)]
    assert paths(activity.recent(("beta", "u1"))) == ["/v1/99"]
    assert activity.recent(("alpha", "nobody")) == []
    assert activity.recent(("alpha", "u1"), 0) == []
    assert len(activity) == 11 and activity.accounts == 3


def test_a_loud_account_keeps_only_its_newest_events() -> None:
    activity = RecentActivity(per_account=5, max_events=50)
    for n in range(1_000):
        activity.add(event("loud", n))
    assert paths(activity.recent(("alpha", "loud"), 10)) == [
        f"/v1/{n}" for n in range(999, 994, -1)
    ]
    assert len(activity) == 5


def test_a_quiet_account_survives_a_flood_from_a_loud_one() -> None:
    # A ring of the last N events (the stream pane's) forgets the quiet account
    # after N loud events; here the loud one only ever holds its own share.
    activity = RecentActivity()
    activity.add(event("quiet", 0))
    for n in range(1, 5 * RECENT_MAX_EVENTS):
        activity.add(event("loud", n))
    assert paths(activity.recent(("alpha", "quiet"))) == ["/v1/0"]
    assert len(activity) == 1 + RECENT_PER_ACCOUNT


def test_memory_stays_capped_over_100k_accounts() -> None:
    activity = RecentActivity()
    accounts = 100_000
    for n in range(3 * accounts):  # three rounds over every account
        activity.add(event(f"u{n % accounts}", n))
        assert len(activity) <= RECENT_MAX_EVENTS
    assert activity.accounts <= RECENT_MAX_EVENTS
    # The accounts heard from last are remembered; the earliest are forgotten whole.
    assert paths(activity.recent(("alpha", f"u{accounts - 1}"))) == [f"/v1/{3 * accounts - 1}"]
    assert activity.recent(("alpha", "u0")) == []


def test_the_least_recently_heard_from_account_is_forgotten_first() -> None:
    activity = RecentActivity(per_account=2, max_events=4)
    activity.add(event("a", 0))
    activity.add(event("b", 1))
    activity.add(event("c", 2))
    activity.add(event("a", 3))  # a spoke again: b is now the least recent
    activity.add(event("d", 4))  # five held: b goes
    assert activity.recent(("alpha", "b")) == []
    assert paths(activity.recent(("alpha", "a"))) == ["/v1/3", "/v1/0"]
    assert len(activity) == 4 and activity.accounts == 3
    activity.add(event("e", 5))  # c goes next
    assert activity.recent(("alpha", "c")) == []
    assert paths(activity.recent(("alpha", "d"))) == ["/v1/4"]


@pytest.mark.parametrize(("per_account", "max_events"), [(0, 10), (5, 4)])
def test_caps_that_cannot_hold_anything_are_refused(per_account: int, max_events: int) -> None:
    with pytest.raises(ValueError, match="per_account"):
        RecentActivity(per_account=per_account, max_events=max_events)


class FailingProvider(StaticProvider):
    """A provider whose stream fails at once (the feed reports it and retries)."""

    async def stream_events(self, since: str | None = None):
        raise RuntimeError("stream down")
        yield  # pragma: no cover - makes this an async generator


async def test_the_event_feed_fills_it_as_it_hands_events_out() -> None:
    alpha = StaticProvider("alpha", events=[event("u1", n, "alpha") for n in range(5)])
    beta = StaticProvider("beta", events=[event("u2", n, "beta") for n in range(3)])
    broken = FailingProvider("broken")
    activity = RecentActivity()
    feed = EventFeed({"alpha": alpha, "beta": beta, "broken": broken}, recent=activity)
    handed: list[object] = []

    async def consume() -> None:
        async for item in feed.items():
            handed.append(item)
            events = [i for i in handed if isinstance(i, AccessEvent)]
            if len(events) == 8 and any(isinstance(i, StreamProblem) for i in handed):
                return

    try:
        await asyncio.wait_for(consume(), timeout=30)
    finally:
        await feed.close()
    # Everything handed out is remembered, in the order it was handed out.
    assert paths(activity.recent(("alpha", "u1"), 10)) == [f"/v1/{n}" for n in range(4, -1, -1)]
    assert paths(activity.recent(("beta", "u2"), 10)) == ["/v1/2", "/v1/1", "/v1/0"]
    # A provider's failure is reported to the consumer, not remembered as activity.
    assert len(activity) == 8 and activity.accounts == 2


async def test_a_feed_without_it_remembers_nothing() -> None:
    alpha = StaticProvider("alpha", events=[event("u1", n) for n in range(3)])
    feed = EventFeed({"alpha": alpha})
    got = 0

    async def consume() -> None:
        nonlocal got
        async for _ in feed.items():
            got += 1
            if got == 3:
                return

    try:
        await asyncio.wait_for(consume(), timeout=30)
    finally:
        await feed.close()
    assert feed.recent is None and got == 3
