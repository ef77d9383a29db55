"""TOTP step-up in the TUI: no code, no revocation."""

from __future__ import annotations

from pamtui.config import Config, OperatorConfig, ProviderConfig
from pamtui.journal import Journal
from pamtui.model import QueueState
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.confirm import ConfirmRevoke
from pamtui.tui.screens.prompt import PromptScreen
from tests.fakes import StaticProvider
from tests.support.totp import enrol
from tests.tui.test_tui import SIZE, select_account, settle


async def test_revocation_waits_for_a_valid_totp_code(db_path, memory_keyring):
    totp = enrol(db_path, "tester")
    journal = Journal.open(db_path)
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=True),
    )
    provider = StaticProvider()
    session = Session(
        cfg, journal, {"static": provider}, read_only=False, db_path=db_path, operator="tester"
    )
    app = PamtuiApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("enter", "r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRevoke)
        await pilot.press(*"leaked", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert app.screen.query_one("#prompt-input").password  # the code is masked
        await pilot.press(*"000001", "enter")  # wrong
        await settle(app, pilot)
        assert app.session.queue.items() == [] and provider.revoke_calls == []
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"leaked", "enter")
        await pilot.pause()
        await pilot.press(*totp.now(), "enter")
        await settle(app, pilot)
        (item,) = app.session.queue.items()
        assert item.state is QueueState.VERIFIED
        assert provider.revoke_calls == [("revoke_token", "t-bob-1")]
    actions = [e.action for e in Journal.open(db_path, read_only=True).entries(limit=100)]
    assert "stepup_failed" in actions and "stepup_ok" in actions
