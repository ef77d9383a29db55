"""The demo stream's incident replay gives the event loop a turn as it goes.

At a high event rate every replayed second generates thousands of events of
which only the incident's few are yielded; without an await between seconds the
replay holds the loop for seconds and the TUI freezes at start.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pamtui.providers.base import ProviderContext
from pamtui.providers.demo import DemoProvider
from pamtui.providers.demo.constants import TIMEZONE
from pamtui.providers.demo.events import Clock

REPLAYED = 10
"""Incident events taken after the first: about 7.5 replayed seconds apart."""


class NoonClock(Clock):
    """The demo's local noon, running: its 03:00 incident then replays first.

    On the wall clock, between 03:00 and 05:00 in the demo's time zone, the
    bucket enumeration (two hours before the demo was built) replays before
    it, a burst of events seconds apart, and this test measured that instead.
    """

    def __init__(self) -> None:
        noon = datetime.now(ZoneInfo(TIMEZONE)).replace(hour=12, minute=0, second=0)
        self._offset = noon.timestamp() - time.time()

    def time(self) -> float:
        return time.time() + self._offset


async def test_incident_replay_lets_other_tasks_run(tmp_path: Path) -> None:
    provider = DemoProvider.from_config(
        "acme",
        {"latency_ms": 0, "event_rate": 5000, "backfill_minutes": 1},
        ProviderContext(state_dir=tmp_path),
        clock=NoonClock(),
    )
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    stream = provider.stream_events()
    async with aclosing(stream):
        # The first event comes after the state file is built and the model loaded
        # off the loop; count only while the replay itself runs.
        first = await anext(stream)
        task = asyncio.create_task(ticker())
        try:
            events = [first]
            for _ in range(REPLAYED):
                events.append(await anext(stream))
        finally:
            task.cancel()
    await provider.aclose()

    seconds = [int(e.cursor.split(":")[1]) for e in events]
    assert seconds[-1] - seconds[0] >= 5 * REPLAYED  # the replay, not the live window
    # Tens of replayed seconds lie between these events; a turn after each.
    assert ticks >= 2 * REPLAYED, ticks
