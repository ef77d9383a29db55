"""The triage TUI on the service's shared inventory (bastion mode), driven with Pilot.

The service's refresh (``refresh_inventory``) writes a real snapshot file; a
session whose inventory follows it shows those rows with "service sync" in
the pane title, waits with a clear note when nothing is published yet, picks
up each newer sync by itself, and never asks its own provider for a listing.
"""

from __future__ import annotations

import asyncio

import pytest

from pamtui.services.inventory_snapshot import InventorySnapshots
from pamtui.services.shared_inventory import SharedInventory, refresh_inventory
from pamtui.tui import shared_start
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import CredentialsTable
from tests.services.test_shared_inventory import CountingProvider, _session
from tests.support.pilot import pane_title, until
from tests.tui.test_tui import make_app

SIZE = (120, 40)


@pytest.fixture(autouse=True)
def _quick_poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared_start, "POLL_SECONDS", 0.05)


@pytest.fixture
def hub(db_path):
    provider = CountingProvider()
    session = _session(db_path, provider, service=True)
    yield session, provider
    session.journal.close()


def _shared_app(db_path, provider: CountingProvider):
    app = make_app(db_path, provider, stream=False)
    session = app.session
    session.inventory.shared = SharedInventory(InventorySnapshots.for_session(session))
    # The app chose its start when built: build it again now that the session follows.
    return type(app)(session, stream=False)


async def test_the_pane_shows_the_services_sync_and_follows_each_newer_one(db_path, hub):
    service, service_provider = hub
    await refresh_inventory(service)
    provider = CountingProvider()
    app = _shared_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await until(pilot, lambda: table.row_count == 4)
        assert "service sync" in pane_title(app) and "snapshot" not in pane_title(app)
        assert not app.main.accounts_loading

        table.focus()
        table.move_cursor(row=table.get_row_index("static\x1fu3"))  # carol and her token
        credentials = app.screen.query_one(CredentialsTable)
        await until(pilot, lambda: credentials.row_count > 0)

        # The stream names each line's account from the pane's rows, not from the
        # file: a busy stream would otherwise open it for every line it draws.
        shared = app.session.inventory.shared
        reads: list[object] = []
        real_view = shared.view
        shared.view = lambda key: reads.append(key) or real_view(key)
        assert app._account_name("static", "u3") == "carol"
        assert app._account_name("static", "nobody") == "nobody"
        assert reads == []
        shared.view = real_view

        del service_provider.accounts["u3"]  # carol left; the service syncs again
        await asyncio.sleep(0.01)  # a new mtime even on a coarse clock
        await refresh_inventory(service)
        await until(pilot, lambda: table.row_count == 3)
        assert "service sync" in pane_title(app)
    assert provider.listings == 0  # the session never listed its provider


async def test_before_the_first_sync_the_pane_says_it_is_waiting(db_path, hub):
    service, _ = hub
    provider = CountingProvider()
    app = _shared_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await pilot.pause()
        assert "waiting for the service's first inventory sync" in pane_title(app)
        assert app.main.accounts_loading and table.row_count == 0
        await refresh_inventory(service)
        await until(pilot, lambda: table.row_count == 4)
        assert "waiting" not in pane_title(app) and not app.main.accounts_loading
    assert provider.listings == 0


async def test_a_damaged_file_is_reported_once_and_a_good_one_is_then_shown(db_path, hub):
    from pamtui.services.inventory_snapshot import snapshot_file

    service, _ = hub
    db_path.parent.mkdir(parents=True, exist_ok=True)
    snapshot_file(db_path).write_bytes(b"not a database at all")
    provider = CountingProvider()
    app = _shared_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await pilot.pause(0.5)  # ten looks at the file
        notices = [n for n in app._notifications if "not used" in str(n.message)]
        assert len(notices) == 1 and table.row_count == 0
        await refresh_inventory(service)  # the service publishes a good one over it
        await until(pilot, lambda: table.row_count == 4)
    assert provider.listings == 0
