"""Inventory sync: progress as each provider answers, and deferred snapshots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pamtui.model import Account, Credential
from pamtui.providers.base import ProviderError
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


class SlowCredentials(StaticProvider):
    """Lists its accounts at once; its credentials only once the test opens the gate."""

    def __init__(self, name: str = "static", *, fail: bool = False) -> None:
        super().__init__(name)
        self.gate = asyncio.Event()
        self.fail = fail

    async def list_credentials(self, account=None) -> AsyncIterator[Credential]:
        await self.gate.wait()
        if self.fail:
            raise ProviderError("credentials endpoint answered 503")
        async for credential in super().list_credentials(account):
            yield credential


async def _until(condition, tries: int = 200) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition never held")


async def test_a_first_sync_shows_accounts_before_their_credentials() -> None:
    provider = SlowCredentials()
    inventory = Inventory({"static": provider})
    listed: list[str] = []
    sync = asyncio.create_task(inventory.sync(on_accounts=listed.append))
    await _until(lambda: listed)
    assert listed == ["static"]
    shown = inventory.shown_rows()
    assert {v.key for v in shown} == {a.key for a in provider.accounts.values()}
    assert all(not v.credentials_read and v.credentials == () for v in shown)
    # Display only: nothing that plans a revocation can see an account without its tokens.
    assert inventory.rows() == [] and inventory.get(shown[0].key) is None
    assert inventory.shown(shown[0].key) is shown[0]
    provider.gate.set()
    rows = await sync
    assert inventory.provisional == {}
    assert rows and all(v.credentials_read for v in rows)
    assert sum(len(v.credentials) for v in rows) == len(provider.credentials)
    assert inventory.shown_rows() == rows


async def test_provisional_views_go_when_the_credentials_fail() -> None:
    provider = SlowCredentials(fail=True)
    inventory = Inventory({"static": provider})
    listed: list[str] = []
    sync = asyncio.create_task(inventory.sync(on_accounts=listed.append))
    await _until(lambda: listed)
    assert inventory.provisional
    provider.gate.set()
    assert await sync == []
    assert inventory.provisional == {} and inventory.shown_rows() == []
    assert not inventory.health["static"].ok
    assert "503" in inventory.health["static"].reason


async def test_a_resync_keeps_showing_complete_views() -> None:
    provider = SlowCredentials()
    provider.gate.set()
    inventory = Inventory({"static": provider})
    first = await inventory.sync()
    provider.gate.clear()
    listed: list[str] = []
    sync = asyncio.create_task(inventory.sync(on_accounts=listed.append))
    await asyncio.sleep(0.05)
    # Its accounts are already on screen with their credentials: no provisional step.
    assert listed == [] and inventory.provisional == {}
    assert inventory.shown_rows() == first
    provider.gate.set()
    await sync
