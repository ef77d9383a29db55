"""Keys typed in one burst never misfire (issue: '/quinn' typed fast quit the app).

Pilot's ``press`` waits for the app to go idle after every key, which hides
the bug; an operator's burst (or a paste) arrives as one read. These tests
post every key of the burst before the app handles the first, as the
terminal driver does when a burst is read at once. The tmux test in
test_e2e_tmux.py types the same bursts into the real program.
"""

from __future__ import annotations

import pytest
from textual import events

from pamtui.model import QueueState
from pamtui.tui.screens.audit import AuditScreen
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.queue import QueueTable
from tests.fakes import StaticProvider
from tests.tui.test_tui import SIZE, make_app, settle

KEY_NAMES = {"/": "slash", " ": "space", "\r": "enter", "\t": "tab"}


def burst(app, text: str) -> None:
    """Queue every key at once, as one read of the terminal delivers them."""
    for ch in text:
        app.post_message(events.Key(KEY_NAMES.get(ch, ch), ch))


@pytest.mark.parametrize("word", ["/quinn", "/lucia", "/dave", "/priv"])
async def test_every_key_after_slash_belongs_to_the_filter(db_path, word):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, word)
        await pilot.pause(0.3)
        assert app.is_running  # "q" did not quit
        assert not isinstance(app.screen, AuditScreen)  # "a" did not open the audit screen
        assert app.screen.query_one("#accounts-filter").value == word[1:]
        # The pane is filtered by the whole word (a burst filters once, for its last key).
        assert app.screen.query_one(AccountsTable).index.query == word[1:]


async def test_a_burst_from_the_queue_pane_approves_nothing(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    (item,) = app.session.queue.stage([action], "stale", actor="policy:stale-tokens")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        assert isinstance(app.focused, QueueTable)
        burst(app, "/yvonne")
        await pilot.pause(0.3)
        await settle(app, pilot)
        assert app.screen.query_one("#accounts-filter").value == "yvonne"
        assert app.session.queue.get(item.id).state is QueueState.STAGED
        assert provider.revoke_calls == []


async def test_a_burst_after_slash_on_the_audit_screen_is_the_query(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        burst(app, "/actor:quinn")
        await pilot.pause(0.3)
        assert app.is_running and isinstance(app.screen, AuditScreen)
        assert app.screen.query_one("#audit-query").value == "actor:quinn"


async def test_a_slash_typed_into_the_filter_is_text(db_path):
    # "/" is a priority binding (handled as the app reads it, so a burst stays in
    # order); inside the box it must still be a character.
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, "/repos/acme")
        await pilot.pause(0.3)
        assert app.screen.query_one("#accounts-filter").value == "repos/acme"
        await pilot.press("escape")
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        burst(app, "/since:2026/11")
        await pilot.pause(0.3)
        assert app.screen.query_one("#audit-query").value == "since:2026/11"


async def test_every_key_tells_background_threads_to_give_way(db_path):
    from pamtui import foreground

    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        foreground.mark_typing(float("-inf"))  # forget the slash
        # A letter typed into the filter is stopped by the Input: it must still count.
        burst(app, "zz")
        await pilot.pause()
        assert app.screen.query_one("#accounts-filter").value == "zz"
        assert foreground.typing_recently()
