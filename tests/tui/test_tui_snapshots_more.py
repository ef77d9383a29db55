"""Snapshots of the screens the other snapshot tests do not reach.

The TOTP step-up prompt, the audit export dialog, the quit dialog, and the accounts pane while a
first sync is still reading credentials (provisional rows): each is reached the
way an operator reaches it, and whatever would vary between runs (the clock in
the export file name, the per-test home directory) is fixed first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pamtui.config import Config, OperatorConfig, ProviderConfig
from pamtui.journal import Journal
from pamtui.services import audit as audit_service
from pamtui.services.session import Session
from pamtui.tui.app import AuditApp, PamtuiApp
from pamtui.tui.screens import audit as audit_screen
from pamtui.tui.screens.audit import ExportDialog
from pamtui.tui.screens.prompt import PromptScreen
from pamtui.tui.screens.quit import ConfirmQuit
from tests.fakes import StaticProvider
from tests.services.test_inventory_sync import SlowCredentials
from tests.tui.test_tui import SIZE, make_app, select_account, settle
from tests.tui.test_tui_audit import fill
from tests.tui.test_tui_loading import rows_before_credentials


def test_snapshot_totp_step_up_prompt(snap_compare, db_path):
    """``[operator] require_totp = true``: a confirmed revocation asks for a code first."""
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=True),
    )
    session = Session(
        cfg,
        Journal.open(db_path),
        {"static": StaticProvider()},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )

    async def asked_for_a_code(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("enter", "r")
        await pilot.pause()
        await pilot.press(*"leaked", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"123")  # part of a code: shown masked
        await pilot.pause()

    assert snap_compare(PamtuiApp(session), terminal_size=SIZE, run_before=asked_for_a_code)


class _FrozenDatetime(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime(2026, 11, 20, 9, 30, 0, tzinfo=tz or UTC)


def test_snapshot_export_dialog(snap_compare, db_path, monkeypatch: pytest.MonkeyPatch):
    """``e`` on the audit screen: the format and a default file name with a time stamp."""
    fill(db_path, 30)
    monkeypatch.setattr(audit_service, "datetime", _FrozenDatetime)
    real_default = audit_service.default_export_path
    monkeypatch.setattr(
        audit_screen,
        "default_export_path",
        lambda fmt, directory=None: real_default(fmt, directory or Path("/home/operator")),
    )

    async def open_export(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(pilot.app.screen, ExportDialog)

    assert snap_compare(
        AuditApp(Journal.open(db_path, read_only=True)), terminal_size=SIZE, run_before=open_export
    )


def test_snapshot_provisional_rows_while_reading_credentials(snap_compare, db_path):
    """A first sync has listed the accounts but not yet their credentials."""
    provider = SlowCredentials("slow")

    async def provisional(pilot) -> None:
        await rows_before_credentials(pilot, provider)
        await pilot.pause(0.1)
        title = str(pilot.app.screen.query_one("#accounts-pane").border_title)
        assert "reading credentials: slow" in title

    try:
        assert snap_compare(
            make_app(db_path, provider, stream=False),
            terminal_size=SIZE,
            run_before=provisional,
        )
    finally:
        provider.gate.set()


def test_snapshot_quit_dialog(snap_compare, db_path):
    """``q`` while work runs: the dialog that asks, over the audit screen (no live parts)."""
    fill(db_path, 30)

    async def ask(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)
        pilot.app.push_screen(ConfirmQuit("A revocation"))
        await pilot.pause()
        assert isinstance(pilot.app.screen, ConfirmQuit)

    assert snap_compare(
        AuditApp(Journal.open(db_path, read_only=True)), terminal_size=SIZE, run_before=ask
    )
