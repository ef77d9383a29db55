"""The accounts pane while a first sync is still reading credentials.

Rows come before credentials (a 100k org's first screen need not wait for
300,000 credentials), but nothing can be revoked from a row whose credentials
are not read yet: a de-provisioning plan needs every one of them.
"""

from __future__ import annotations

import asyncio

from textual.app import App

from pamtui.tui.screens.main import MainScreen
from pamtui.tui.throttle import Throttle
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import AccountDetail
from tests.services.test_inventory_sync import SlowCredentials
from tests.support.pilot import until
from tests.tui.test_tui import make_app


async def rows_before_credentials(pilot, provider: SlowCredentials) -> AccountsTable:
    """Wait until the pane shows every account of ``provider`` while it is still loading."""
    # A snapshot's auto-pilot starts as the app is ready, maybe before the screen composed.
    await until(pilot, lambda: bool(pilot.app.screen.query(AccountsTable)))
    table = pilot.app.screen.query_one(AccountsTable)
    await until(
        pilot, lambda: table.row_count == len(provider.accounts) and pilot.app.main.accounts_loading
    )
    return table


async def test_rows_show_before_credentials_and_cannot_be_revoked_yet(db_path):
    provider = SlowCredentials("slow")
    app = make_app(db_path, provider, stream=False)
    session = app.session
    async with app.run_test(size=(120, 40)) as pilot:
        table = await rows_before_credentials(pilot, provider)
        assert app.main.accounts_loading
        title = str(app.screen.query_one("#accounts-pane").border_title)
        assert "reading credentials: slow" in title
        assert "…" in table.render_line(1).text  # the Live column: not known yet
        detail = app.screen.query_one(AccountDetail)
        assert "still reading" in str(detail.query_one("#account-summary").content)

        table.focus()
        await pilot.press("R")  # de-provision the selected account
        await pilot.pause()
        assert any("Still reading" in str(n.message) for n in app._notifications)
        assert session.queue.items(limit=10) == []
        assert isinstance(app.screen, MainScreen)  # no confirmation was offered

        provider.gate.set()
        await until(pilot, lambda: not app.main.accounts_loading)
        title = str(app.screen.query_one("#accounts-pane").border_title)
        assert "loading" not in title and f"Accounts {len(provider.accounts)}" in title
        assert "still reading" not in str(detail.query_one("#account-summary").content)
        await pilot.press("R")
        await pilot.pause()
        assert not isinstance(app.screen, MainScreen)  # now the plan is offered to confirm


async def test_throttle_runs_at_once_then_folds_pokes_into_one_run() -> None:
    runs: list[int] = []

    class Host(App):
        pass

    app = Host()
    async with app.run_test() as pilot:
        throttle = Throttle(app, 0.2, lambda: runs.append(len(runs)))
        throttle.poke()
        await pilot.pause()
        assert runs == [0]  # the first change shows on the next turn
        throttle.poke()
        throttle.poke()
        throttle.poke()
        await pilot.pause()
        assert runs == [0]  # within the interval: waiting
        for _ in range(100):
            if len(runs) > 1:
                break
            await asyncio.sleep(0.02)
        await pilot.pause(0.3)
        assert runs == [0, 1]  # three pokes, one run
        throttle.poke()
        throttle.cancel()
        await pilot.pause(0.3)
        assert runs == [0, 1]
