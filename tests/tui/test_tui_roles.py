"""Each role sees only the keys it may use: footer, help (``?``) and palette.

Pilot on a real session whose actor has one role; the services refuse the
rest anyway (tests/services/test_roles.py), this is what the operator sees.
"""

from __future__ import annotations

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import Actor
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.help import bindings_table
from pamtui.tui.screens.main import MainScreen
from tests.fakes import StaticProvider
from tests.tui.test_tui import settle
from tests.tui.test_tui_commands import SIZE, palette_hits


def app_for(db_path, roles: set[str]) -> PamtuiApp:
    actor = Actor("bob", "SHA256:k", frozenset(roles), "ssh")
    provider = StaticProvider()
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {provider.name: provider},
        read_only=False,
        db_path=db_path,
        operator=actor.name,
        actor=actor,
    )
    return PamtuiApp(session, stream=False)


def help_ids(app: PamtuiApp) -> set[str]:
    table = bindings_table(app.screen)
    return {str(cell) for cell in table.columns[3]._cells}


async def test_an_approver_sees_no_revoke_key_and_no_revoke_command(db_path):
    app = app_for(db_path, {"approver"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        for action in ("revoke_credential", "revoke_account", "execute_item", "cancel_item"):
            assert screen.check_action(action, ()) is False
        assert screen.check_action("approve_item", ()) is not False
        ids = help_ids(app)
        assert "main.revoke_credential" not in ids and "main.revoke_account" not in ids
        hits = await palette_hits(app, pilot, "revoke")
        assert not [h for h in hits if h.startswith(("Revoke selected", "De-provision"))]
        await pilot.press("escape")
        await pilot.press("R")  # the key does nothing: no plan dialog
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)
        assert app.session.queue.items() == []


async def test_an_operator_sees_the_revoke_keys_but_not_approve(db_path):
    app = app_for(db_path, {"operator"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert screen.check_action("revoke_account", ()) is not False
        assert screen.check_action("approve_item", ()) is False
        assert "main.revoke_account" in help_ids(app)
