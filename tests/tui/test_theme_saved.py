"""A theme chosen in the command palette is used on the next start (issue 15).

Saved in ``ui-settings.json`` in the user's data dir (services/ui_settings.py)
through the one safe writer. The order at start: ``--theme``, the saved
choice, the config's ``[ui] theme``, the default. A damaged or hostile file
never keeps pamtui from starting, and the writer never follows a symlink.
"""

from __future__ import annotations

import dataclasses
import json
import os
import stat

from pamtui.config import UiConfig, demo_config
from pamtui.journal import Journal
from pamtui.services.session import Session
from pamtui.services.ui_settings import saved_theme, settings_path
from pamtui.tui.app import PamtuiApp
from tests.fakes import StaticProvider
from tests.tui.test_tui import SIZE, settle
from tests.tui.test_tui_commands import run_command


def app_for(db_path, *, theme: str | None = None, config_theme: str = "") -> PamtuiApp:
    provider = StaticProvider()
    cfg = dataclasses.replace(demo_config(), ui=UiConfig(theme=config_theme))
    session = Session(
        cfg, Journal.open(db_path), {provider.name: provider}, read_only=False,
        db_path=db_path, operator="tester",
    )  # fmt: skip
    return PamtuiApp(session, theme=theme, stream=False)


async def start_and_stop(app: PamtuiApp) -> str:
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        shown = app.theme
    app.session.journal.close()
    return shown


async def test_a_theme_chosen_in_the_palette_is_used_on_the_next_start(db_path):
    first = app_for(db_path, config_theme="pamtui-dark")
    async with first.run_test(size=SIZE) as pilot:
        await settle(first, pilot)
        assert not settings_path().exists()  # starting saves nothing
        await run_command(first, pilot, "Switch theme: pamtui-solarized")
        await pilot.pause(0.1)
        assert first.theme == "pamtui-solarized"
    first.session.journal.close()
    assert json.loads(settings_path().read_text()) == {"theme": "pamtui-solarized"}
    assert stat.S_IMODE(settings_path().stat().st_mode) == 0o600
    # Next start: the saved choice over the config's [ui] theme; --theme over both.
    assert await start_and_stop(app_for(db_path, config_theme="pamtui-dark")) == (
        "pamtui-solarized"
    )
    assert await start_and_stop(app_for(db_path, theme="pamtui-light")) == "pamtui-light"
    assert saved_theme() == "pamtui-solarized"  # a --theme start is not a choice to save


async def test_textuals_own_picker_is_remembered_too(db_path):
    app = app_for(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.theme = "pamtui-light"  # what Textual's picker does when one is chosen
        await pilot.pause(0.1)
    app.session.journal.close()
    assert saved_theme() == "pamtui-light"


async def test_a_damaged_or_hostile_settings_file_never_stops_the_start(db_path):
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{not json")
    assert await start_and_stop(app_for(db_path)) == "pamtui-dark"
    settings_path().write_text(json.dumps({"theme": "[@click=app.quit]x[/]\x1b]52;c;eA==\x07"}))
    app = app_for(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.is_running and app.theme == "pamtui-dark"
        warning = next(n.message for n in app._notifications if "unknown theme" in n.message)
        assert "\x1b" not in warning and "\x07" not in warning
    app.session.journal.close()


async def test_the_settings_file_is_never_written_through_a_symlink(db_path, tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("keep me")
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    os.symlink(elsewhere, settings_path())
    app = app_for(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.theme = "pamtui-light"
        await pilot.pause(0.1)
        assert any("theme was not saved" in n.message for n in app._notifications)
    app.session.journal.close()
    assert elsewhere.read_text() == "keep me"


async def test_over_ssh_a_theme_choice_writes_no_file_and_no_saved_one_is_read(db_path):
    """serve-ssh runs as the service account: its files are no operator's to write."""
    from pamtui.ssh.operator_app import SshPamtuiApp

    settings_path().parent.mkdir(parents=True, exist_ok=True)
    settings_path().write_text(json.dumps({"theme": "pamtui-light"}))
    provider = StaticProvider()
    session = Session(
        demo_config(), Journal.open(db_path), {provider.name: provider}, read_only=False,
        db_path=db_path, operator="tester",
    )  # fmt: skip
    app = SshPamtuiApp(session, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "pamtui-dark"  # another operator's saved choice is not applied
        app.theme = "pamtui-solarized"
        await pilot.pause(0.1)
    session.journal.close()
    assert saved_theme() == "pamtui-light"  # unchanged
