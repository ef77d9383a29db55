"""Typing a filter: the credentials pane follows the selection once the keys pause."""

from __future__ import annotations

from pamtui.tui.widgets.credentials import AccountDetail
from tests.fakes import StaticProvider
from tests.tui.test_tui import make_app, settle


def _summary(app) -> str:
    return str(app.screen.query_one(AccountDetail).query_one("#account-summary").content)


async def test_the_credentials_pane_shows_the_filtered_selection_after_typing(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert "bob" in _summary(app)  # the riskiest account is selected first
        await pilot.press("slash", *"carol")  # one burst, as typed fast
        for _ in range(100):
            await pilot.pause(0.02)
            if "carol" in _summary(app):
                break
        assert "carol" in _summary(app) and "bob" not in _summary(app)
        await pilot.press("escape")  # back to every account: the selection's detail again
        await pilot.pause(0.3)
        assert "No account selected" not in _summary(app)
