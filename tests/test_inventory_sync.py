"""Inventory sync: progress as each provider answers, and deferred snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pamtui.model import Account
from pamtui.services.inventory import Inventory
from tests.fakes import StaticProvider


class GatedProvider(StaticProvider):
    """Answers only once the test opens the gate."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.gate = asyncio.Event()

    async def list_accounts(self) -> AsyncIterator[Account]:
        await self.gate.wait()
        async for account in super().list_accounts():
            yield account


async def test_progress_names_each_provider_as_it_answers() -> None:
    fast, slow = StaticProvider("fast"), GatedProvider("slow")
    inventory = Inventory({"fast": fast, "slow": slow})
    answered: list[str] = []
    sync = asyncio.create_task(inventory.sync(answered.append))
    for _ in range(100):
        if answered:
            break
        await asyncio.sleep(0.01)
    assert answered == ["fast"] and not sync.done()  # slow has not answered yet
    slow.gate.set()
    await sync
    assert answered == ["fast", "slow"]


async def test_snapshot_can_wait_until_after_the_first_frame() -> None:
    calls: list[set[str]] = []

    async def on_synced(by_provider) -> None:
        calls.append(set(by_provider))

    inventory = Inventory({"static": StaticProvider()}, on_synced=on_synced)
    rows = await inventory.sync(snapshot=False)
    assert rows and calls == []
    await inventory.snapshot()
    await inventory.snapshot()  # once per sync
    assert calls == [{"static"}]
    await inventory.sync()
    assert calls == [{"static"}, {"static"}]
