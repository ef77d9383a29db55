"""Bastion mode's shared inventory: the service syncs once, every session reads it.

A real SQLite snapshot file written by ``refresh_inventory`` (the hub's
refresh) and read by sessions whose providers count how often they are
asked: a session on the shared inventory never lists a provider, yet it
shows, selects and plans from the same accounts.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import Account, RiskFlag, utcnow
from pamtui.providers.base import ProviderError
from pamtui.services.hub import SERVICE_ACTOR
from pamtui.services.inventory_snapshot import InventorySnapshots, snapshot_file
from pamtui.services.session import Session
from pamtui.services.shared_inventory import SharedInventory, health_of, refresh_inventory
from tests.fakes import StaticProvider


class CountingProvider(StaticProvider):
    """A static provider that counts its listings and can be made to fail them."""

    def __init__(self, name: str = "static") -> None:
        super().__init__(name)
        self.listings = 0
        self.down = False

    async def list_accounts(self) -> AsyncIterator[Account]:
        self.listings += 1
        if self.down:
            raise ProviderError("503 Service Unavailable")
        async for account in super().list_accounts():
            yield account


def _session(db_path: Path, provider: CountingProvider, *, service: bool) -> Session:
    return Session(
        demo_config(),
        Journal.open(db_path),
        {provider.name: provider},
        read_only=False,
        db_path=db_path,
        operator="system" if service else "alice",
        actor=SERVICE_ACTOR if service else None,
    )


@pytest.fixture
def service(db_path: Path):
    provider = CountingProvider()
    session = _session(db_path, provider, service=True)
    yield session, provider
    session.journal.close()


@pytest.fixture
def operator(db_path: Path):
    provider = CountingProvider()
    session = _session(db_path, provider, service=False)
    session.inventory.shared = SharedInventory(InventorySnapshots.for_session(session))
    yield session, provider
    session.journal.close()


def test_a_session_shows_and_plans_from_the_services_sync_without_listing(service, operator):
    hub, hub_provider = service
    line = asyncio.run(refresh_inventory(hub))
    assert line == f"inventory published: {len(hub.inventory.views)} accounts"
    assert hub_provider.listings == 1
    path = snapshot_file(hub.db_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    session, provider = operator
    shared = session.inventory.shared
    assert isinstance(shared, SharedInventory)
    snapshot = shared.load()
    assert snapshot is not None
    assert {r.key for r in snapshot.rows} == set(hub.inventory.views)
    assert not any(r.snapshot for r in snapshot.rows)  # the service's own sync, not a stand-in
    assert health_of(snapshot)["static"].ok
    for key, expected in hub.inventory.views.items():
        view = session.inventory.get(key)
        assert view is not None and view.credentials_read and not view.snapshot
        assert view.account == expected.account and view.credentials == expected.credentials
        assert view.flags == expected.flags
        assert session.inventory.is_terminated_owner(key) == (RiskFlag.ORPHANED in view.flags)
    assert any(session.inventory.is_terminated_owner(k) for k in hub.inventory.views)
    assert sorted(v.key for v in session.inventory.rows()) == sorted(hub.inventory.views)
    assert provider.listings == 0  # everything above came from the file


def test_a_degraded_provider_keeps_its_accounts_and_says_why(service, operator):
    hub, hub_provider = service
    asyncio.run(refresh_inventory(hub))
    first = set(hub.inventory.views)
    hub_provider.down = True
    hub.inventory.views.clear()  # the next refresh is a new process: it starts empty
    line = asyncio.run(refresh_inventory(hub))
    assert "degraded: static" in line
    session, _ = operator
    snapshot = session.inventory.shared.load()
    assert snapshot is not None and {r.key for r in snapshot.rows} == first
    health = health_of(snapshot)["static"]
    assert not health.ok and "503" in health.reason


def test_the_sessions_own_reads_and_marks_stay_on_top_until_a_newer_sync(service, operator):
    hub, _ = service
    asyncio.run(refresh_inventory(hub))
    session, provider = operator
    session.inventory.shared.load()
    key = next(iter(hub.inventory.views))
    marked = session.inventory.mark_anomalous(key)
    assert marked is not None and RiskFlag.ANOMALOUS in marked.flags
    assert session.inventory.mark_anomalous(key) is None  # marked once
    assert RiskFlag.ANOMALOUS in session.inventory.get(key).flags
    assert not session.inventory.views  # a mark is not a copy of the account

    provider.credentials.clear()  # say, every key of it was revoked
    fresh = asyncio.run(session.inventory.refresh_account(key, account_too=False))
    assert fresh is not None and not fresh.credentials
    assert provider.listings == 0  # its credentials only: no listing of every account
    assert session.inventory.get(key) is fresh  # over the shared, older view
    session.inventory.drop_older_than(utcnow() - timedelta(hours=1))
    assert session.inventory.get(key) is fresh  # a sync that began before it: kept
    session.inventory.drop_older_than(utcnow() + timedelta(seconds=1))
    assert session.inventory.get(key).credentials  # a newer sync: the service's view


def test_a_changed_file_is_noticed_with_one_stat(service, operator):
    hub, _ = service
    session, _ = operator
    shared = session.inventory.shared
    assert not shared.changed() and shared.load() is None  # nothing published yet
    asyncio.run(refresh_inventory(hub))
    assert shared.changed()
    shared.load()
    assert not shared.changed()
    asyncio.run(refresh_inventory(hub))  # a new file renamed over the old one
    assert shared.changed()


def test_health_meta_that_is_not_json_gives_no_health(service, operator):
    hub, _ = service
    asyncio.run(refresh_inventory(hub))
    import sqlite3

    conn = sqlite3.connect(snapshot_file(hub.db_path))
    conn.execute("UPDATE meta SET value = '{not json' WHERE key = 'health'")
    conn.commit()
    conn.close()
    snapshot = operator[0].inventory.shared.load()
    assert snapshot is not None and health_of(snapshot) == {}


def test_a_command_reads_the_published_inventory_or_syncs_before_the_first(service, operator):
    """``ssh ... accounts``/``revoke``: ``Inventory.current`` lists nothing once published."""
    hub, hub_provider = service
    session, provider = operator
    before = asyncio.run(session.inventory.current())  # nothing published yet: a sync
    assert provider.listings == 1 and {v.key for v in before} == {
        (provider.name, i) for i in provider.accounts
    }
    asyncio.run(refresh_inventory(hub))
    hub_provider.down = True  # the service's next refresh will fail; this one is published
    views = asyncio.run(session.inventory.current())
    assert provider.listings == 1  # read from the file
    assert {v.key for v in views} == set(hub.inventory.views)
    assert session.inventory.health["static"].ok and all(v.credentials_read for v in views)
