"""Movers in the TUI: the people view's MOVER badge, ``r`` on a person, UNOWNED in the accounts pane.

Real parts: the demo providers (their SQLite state), a real journal and queue, keys pressed.
"""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Static

from pamtui.model import QueueState, RiskFlag, TargetKind
from pamtui.tui.keymap import binding_ids
from pamtui.tui.screens.confirm import ConfirmRevoke
from pamtui.tui.widgets.accounts import AccountsTable
from tests.services.test_movers import MOVER
from tests.tui.test_tui import SIZE, settle
from tests.tui.test_tui_people import burst, cells, demo_app, open_people


async def test_r_removes_the_movers_old_access_and_every_step_is_verified(db_path):
    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        await settle(app, pilot)
        title = str(screen.query_one("#people-title", Static).render())
        assert "1 mover" in title
        burst(app, "/mover")
        await pilot.pause(0.3)
        rows = cells(screen.query_one("#people-list", DataTable))
        assert [r[1] for r in rows] == [MOVER] and "MOVER" in rows[0][7]
        app.post_message(events.Key("enter", "\r"))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        access = str(screen.query_one("#person-access", Static).render())
        assert "moved from Engineering / Staff Engineer" in access
        assert "Dept-Engineering" in access and "firmware" in access
        await pilot.press("r")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmRevoke)
        assert len(dialog._steps) == 5
        assert all(s.target_kind is TargetKind.GRANT for s in dialog._steps)
        burst(app, "moved to Sales")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.screen is screen
        items = app.session.queue.items(limit=50)
        assert len(items) == 5 and {i.state for i in items} == {QueueState.VERIFIED}
        outcomes = str(screen.query_one("#person-outcomes", Static).render())
        assert "every step verified (5)" in outcomes
        # Re-read after the run: nothing left to flag.
        await settle(app, pilot)
        assert app.screen.movers.flagged([RiskFlag.MOVER]) == []
        # ... and the accounts pane's flags follow.
        assert not any(RiskFlag.MOVER in v.flags for v in app.session.inventory.rows())


async def test_r_is_registered_with_an_id_and_read_only_refuses_it(db_path):
    assert binding_ids()["people.remove_access"].key == "r"
    app = demo_app(db_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        await settle(app, pilot)
        burst(app, "/mover")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.press("r")
        await pilot.pause()
        assert app.screen is screen and not isinstance(app.screen, ConfirmRevoke)
        assert app.session.queue.items(limit=50) == []


async def test_the_accounts_pane_flags_unowned_and_mover_accounts(db_path):
    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await settle(app, pilot)
        inventory = app.session.inventory
        unowned = [v for v in inventory.rows() if RiskFlag.UNOWNED in v.flags]
        assert unowned and all(v.account.kind == "human" for v in unowned)
        movers = [v for v in inventory.rows() if RiskFlag.MOVER in v.flags]
        assert {v.account.provider for v in movers} == {"demo-idp", "demo-git"}
        table = app.screen.query_one(AccountsTable)
        risk = [" ".join(c.plain for c in table.get_row_at(i)) for i in range(table.row_count)]
        assert any("UNOWNED" in r for r in risk) and any("MOVER" in r for r in risk)
