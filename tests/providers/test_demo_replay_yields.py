"""The demo stream's incident replay gives the event loop a turn as it goes.

At a high event rate every replayed second generates thousands of events of
which only the incident's few are yielded; without an await between seconds the
replay holds the loop for seconds and the TUI freezes at start.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from pathlib import Path

from pamtui.providers.base import ProviderContext
from pamtui.providers.demo import DemoProvider

REPLAYED = 10
"""Incident events taken after the first: about 7.5 replayed seconds apart."""


async def test_incident_replay_lets_other_tasks_run(tmp_path: Path) -> None:
    provider = DemoProvider.from_config(
        "acme",
        {"latency_ms": 0, "event_rate": 5000, "backfill_minutes": 1},
        ProviderContext(state_dir=tmp_path),
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
