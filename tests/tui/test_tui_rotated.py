"""The TUI's status bar on a journal whose earlier history it cannot verify."""

from __future__ import annotations

from pamtui.journal import Journal
from tests.fakes import StaticProvider
from tests.journal.test_journal_rotate import _attacker_restarts_the_chain, _fill
from tests.tui.test_tui import make_app, settle


async def test_a_forged_segment_start_is_not_shown_as_verified(db_path):
    journal = Journal.open(db_path)
    _fill(journal, 4)
    _attacker_restarts_the_chain(db_path, journal.head())
    journal.close()
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await settle(app, pilot)
        for _ in range(100):  # bounded: until the start-up verification has reported
            if app.journal_check is not None:
                break
            await pilot.pause(0.05)
        app._tick()
        bar = str(app.screen.query_one("#status-bar").render())
    assert "NOT VERIFIED: archive nowhere.db missing" in bar
    assert "chain verified" not in bar
    app.session.journal.close()
