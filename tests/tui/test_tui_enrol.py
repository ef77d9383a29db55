"""First login with an admin's allowance: the TUI shows the enrolment once, then continues."""

from __future__ import annotations

from pathlib import Path

import pyotp
import pytest
from textual.widgets import Input, Static

from pamtui.config import Config, OperatorConfig, ProviderConfig
from pamtui.journal import EntryFilter, Journal
from pamtui.services import enrolment as enrolment_service
from pamtui.services.session import Session
from pamtui.services.totp_store import TotpStore
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.enrol import EnrolScreen
from pamtui.tui.screens.main import MainScreen
from tests.fakes import StaticProvider
from tests.support.totp import allow, enrol
from tests.tui.test_tui import SIZE, settle

FIXED_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def make_app(db_path: Path, operator: str = "tester", *, require_totp: bool = True) -> PamtuiApp:
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=require_totp),
    )
    session = Session(
        cfg,
        Journal.open(db_path),
        {"static": StaticProvider()},
        read_only=False,
        db_path=db_path,
        operator=operator,
    )
    return PamtuiApp(session)


def _enrolled(db_path: Path, operator: str) -> bool:
    store = TotpStore.beside(db_path)
    try:
        return store.enrolment(operator) is not None
    finally:
        store.close()


async def test_the_first_login_shows_the_qr_code_and_confirms_a_code(db_path: Path) -> None:
    enrol(db_path, "first-admin")  # not a fresh database: an allowance is needed
    allow(db_path, "tester")
    app = make_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, EnrolScreen)
        qr = str(screen.query_one("#enrol-qr", Static).render())
        assert set(qr) <= set("▀▄█ \n") and len(qr.splitlines()) > 10
        secret = screen.enrollment.secret
        await pilot.press(*"000000", "enter")  # wrong: nothing stored, still asked
        await pilot.pause()
        assert app.screen is screen
        assert "does not match" in str(screen.query_one("#enrol-error", Static).render())
        assert not _enrolled(db_path, "tester")
        await pilot.press(*pyotp.TOTP(secret).now(), "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)  # then it continues
    assert _enrolled(db_path, "tester")
    journal = Journal.open(db_path, read_only=True)
    [entry] = journal.entries(EntryFilter(action="mfa_enrolled", actor="tester"))
    assert entry.detail == {"result": "enrolled", "grounds": "allowance"}
    journal.close()
    # Once: the allowance is spent and the next start goes straight to work.
    again = make_app(db_path)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, MainScreen)


async def test_no_allowance_or_no_totp_policy_means_no_enrolment_screen(db_path: Path) -> None:
    enrol(db_path, "first-admin")
    for app in (make_app(db_path), make_app(db_path, "allowed", require_totp=False)):
        allow(db_path, "allowed")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, MainScreen)
    assert not _enrolled(db_path, "tester")


async def test_escape_skips_it_and_it_comes_back_next_time(db_path: Path) -> None:
    enrol(db_path, "first-admin")
    allow(db_path, "tester")
    app = make_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, EnrolScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    again = make_app(db_path)
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(again.screen, EnrolScreen)


def test_snapshot_first_login_enrolment(
    snap_compare, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The QR code and the code prompt, with a fixed secret so the picture is stable."""
    enrol(db_path, "first-admin")
    allow(db_path, "tester")
    monkeypatch.setattr(enrolment_service.pyotp, "random_base32", lambda: FIXED_SECRET)

    async def shown(pilot) -> None:
        await settle(pilot.app, pilot)  # the accounts behind it loaded: a stable picture
        assert isinstance(pilot.app.screen, EnrolScreen)
        pilot.app.screen.query_one(Input).cursor_blink = False  # a blink is not a change
        await pilot.pause()

    assert snap_compare(make_app(db_path), terminal_size=SIZE, run_before=shown)
