"""Starting from the last inventory snapshot, then reconciling with the providers.

A second start shows every account of the last complete sync at once, marked
"snapshot", while the providers have not answered; the selected account's
credentials show from the snapshot (display only: nothing is revoked from it);
when the providers answer, their answer replaces the snapshot (an account
removed since disappears). A snapshot of another provider set is never used,
and a corrupt file is ignored with a notice.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

from pamtui import foreground
from pamtui.model import Account
from pamtui.services.inventory_snapshot import snapshot_file
from pamtui.tui.screens.main import MainScreen
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import AccountDetail, CredentialsTable
from tests.fakes import StaticProvider
from tests.support.pilot import pane_title, until
from tests.tui.test_tui import make_app, settle

SIZE = (120, 40)


class GatedProvider(StaticProvider):
    """Lists nothing until the test opens the gate: the providers have not answered."""

    def __init__(self, name: str = "static") -> None:
        super().__init__(name)
        self.gate = asyncio.Event()

    async def list_accounts(self) -> AsyncIterator[Account]:
        await self.gate.wait()
        async for account in super().list_accounts():
            yield account


def _summary(app) -> str:
    return str(app.screen.query_one(AccountDetail).query_one("#account-summary").content)


async def _first_run(db_path: Path, provider: StaticProvider | None = None) -> None:
    """A complete sync, which leaves the snapshot for the next start."""
    app = make_app(db_path, provider or StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
    assert snapshot_file(db_path).exists()


async def test_a_second_start_shows_the_snapshot_then_reconciles(db_path):
    await _first_run(db_path)
    provider = GatedProvider()
    del provider.accounts["u3"]  # carol left since the snapshot was taken
    app = make_app(db_path, provider, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await until(pilot, lambda: table.row_count == 4)
        assert app.start.showing and "snapshot" in pane_title(app)
        assert "providers answered 0/1" in pane_title(app)
        assert "Accounts 4" in pane_title(app)

        # The credentials pane works for a snapshot row: carol and her token.
        table.focus()
        table.move_cursor(row=table.get_row_index("static\x1fu3"))
        await pilot.pause()
        assert "No account selected" not in _summary(app)
        assert "carol" in _summary(app) and "snapshot of" in _summary(app)
        creds = app.screen.query_one(CredentialsTable)
        assert creds.row_count == 1

        # Nothing is revoked from a snapshot: a plan needs the provider's answer.
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        assert app.session.queue.items(limit=10) == []

        provider.gate.set()
        await until(pilot, lambda: not app.start.showing and not app.main.accounts_loading)
        await settle(app, pilot)
        assert "snapshot" not in pane_title(app) and "Accounts 3" in pane_title(app)
        assert "static\x1fu3" not in table.rows  # removed since: gone after reconciling
        assert "snapshot of" not in _summary(app)
    # The next start's snapshot is the reconciled inventory (3 accounts).
    conn = sqlite3.connect(snapshot_file(db_path))
    assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (3,)
    conn.close()


async def test_a_snapshot_of_another_provider_set_is_not_used(db_path):
    await _first_run(db_path, StaticProvider("static"))
    provider = GatedProvider("other")  # another config: another provider set
    app = make_app(db_path, provider, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        table = app.screen.query_one(AccountsTable)
        assert table.row_count == 0 and not app.start.showing
        assert "snapshot" not in pane_title(app)
        provider.gate.set()
        await until(pilot, lambda: table.row_count == 4 and not app.main.accounts_loading)
        assert "other\x1fu1" in table.rows and "static\x1fu1" not in table.rows


async def test_a_corrupt_snapshot_is_ignored_with_a_notice(db_path):
    await _first_run(db_path)
    snapshot_file(db_path).write_bytes(b"SQLite format 3\x00" + b"\xff" * 600)
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await until(pilot, lambda: table.row_count == 4 and not app.main.accounts_loading)
        await settle(app, pilot)
        notices = [str(n.message) for n in app._notifications]
        assert any("inventory snapshot" in n and "not used" in n for n in notices), notices
        assert "snapshot" not in pane_title(app)
    # The complete sync replaced the corrupt file with a good snapshot.
    conn = sqlite3.connect(snapshot_file(db_path))
    assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (4,)
    conn.close()


async def test_quitting_abandons_a_save_under_way_and_keeps_the_last_snapshot(db_path):
    """`q` does not wait for the seconds a large save takes: the last snapshot stays.

    The operator types as the providers answer, so the save gives way at its
    first chunk (pamtui/foreground.py); the app quits meanwhile. Without the
    abandon, the save would finish once the typing stopped.
    """
    await _first_run(db_path)  # the last snapshot: 4 accounts
    provider = StaticProvider()
    carol = provider.accounts["u3"]
    for n in range(1_200):
        provider.accounts[f"x{n}"] = dataclasses.replace(carol, id=f"x{n}", name=f"x-{n:04}")
    path = snapshot_file(db_path)

    def saving() -> bool:
        return any(path.parent.glob(f"{path.name}.*.tmp"))

    app = make_app(db_path, provider, stream=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(1_000):  # the operator types until the save has begun
                foreground.mark_typing()
                if saving():
                    break
                await pilot.pause(0.01)
            assert saving()
            foreground.mark_typing()
            app.exit()
        for _ in range(500):  # the worker thread ends on its own, just after
            if not saving():
                break
            await asyncio.sleep(0.01)
    finally:
        foreground.mark_typing(float("-inf"))
    assert not saving()  # nothing half-written left behind
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (4,)
    conn.close()


async def test_a_second_start_shows_the_snapshot_of_a_data_directory_named_ops_1(tmp_path):
    """Was: "inventory snapshot ... not used: no such table: meta" and an empty
    "ops" file created beside the data directory ("#" began a URI fragment)."""
    db_path = tmp_path / "ops#1" / "pamtui.db"
    await _first_run(db_path)
    app = make_app(db_path, GatedProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        table = app.screen.query_one(AccountsTable)
        await until(pilot, lambda: table.row_count == 4)
        assert app.start.showing and "snapshot" in pane_title(app)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ops#1"]
