"""The drift screen (D on the triage screen) and recheck findings in the accounts pane."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from textual.widgets import DataTable

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RiskFlag,
)
from pamtui.sanitize import clean
from pamtui.services.drift import SnapshotStore
from pamtui.services.inventory import AccountView
from pamtui.tui.screens.drift import DriftScreen
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS
from tests.tui.test_tui import make_app, settle

SIZE = (120, 40)


async def loaded(app, pilot) -> None:
    """Wait for the drift screen's loader (not the endless stream)."""
    await pilot.pause()
    loading = [w for w in app.workers if w.group == "drift-load"]
    if loading:
        await app.workers.wait_for_complete(loading)
    await pilot.pause(0.05)


def cells(screen: DriftScreen) -> list[list[str]]:
    table = screen.query_one(DataTable)
    return [[c.plain for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_d_opens_drift_with_a_grant_made_between_two_syncs(db_path: Path) -> None:
    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)  # the first sync: the baseline
        carol = provider.accounts["u3"]
        provider.accounts["u3"] = replace(carol, privileged=True, groups=("domain-admins",))
        provider.accounts["h1"] = Account(
            "static", "h1", HOSTILE_STRINGS[0], AccountKind.SERVICE, AccountStatus.ACTIVE
        )
        await app.session.inventory.sync()

        await pilot.press("D")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, DriftScreen)
        await loaded(app, pilot)
        rows = cells(screen)
        assert [
            rows[0][0],
            rows[0][3],
            rows[0][4],
        ] == ["Privilege granted (1)", "carol", "privileged; +domain-admins"]
        hostile = next(r for r in rows if r[3] == clean(HOSTILE_STRINGS[0]))
        assert hostile[0] == "New account (1)"  # shown literally, not run as markup
        assert app.is_running

        await pilot.press("t")  # notable only: the new unprivileged account goes
        await loaded(app, pilot)
        assert [r[3] for r in cells(screen)] == ["carol"]

        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, DriftScreen)


async def test_recheck_findings_are_flagged_came_back(db_path: Path) -> None:
    app = make_app(db_path, StaticProvider())
    app.session.inventory.regressed = {("static", "u2")}
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert RiskFlag.REGRESSED in app.session.inventory.get(("static", "u2")).flags
        assert any("CAME BACK" in str(n.message) for n in app._notifications)
        assert "CAME" in app.export_screenshot()


# -- snapshot ---------------------------------------------------------------------

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def _views(granted: bool) -> list[AccountView]:
    def account(aid: str, name: str, **kw) -> Account:
        return Account(
            "corp-okta",
            aid,
            name,
            kw.pop("kind", AccountKind.HUMAN),
            AccountStatus.ACTIVE,
            owner=kw.pop("owner", "E1"),
            owner_status=kw.pop("owner_status", OwnerStatus.EMPLOYED),
            **kw,
        )

    dana = account("u1", "dana@acme.example", groups=("Everyone",))
    erin = account("u2", "erin@acme.example", groups=("Everyone",))
    ci = account("s1", "svc-ci", kind=AccountKind.SERVICE)
    creds: tuple[Credential, ...] = ()
    if granted:
        dana = replace(dana, privileged=True, groups=("Everyone", "Okta Super Admins"))
        erin = replace(erin, owner_status=OwnerStatus.TERMINATED)
        creds = (
            Credential(
                "corp-okta",
                "00tCI7",
                "s1",
                CredentialKind.API_TOKEN,
                CredentialStatus.ACTIVE,
                scopes=("okta.users.manage", "okta.admin"),
            ),
        )
    views = [
        AccountView(dana, (), frozenset()),
        AccountView(erin, (), frozenset()),
        AccountView(ci, creds, frozenset()),
    ]
    if granted:
        root = account("u9", "break-glass-admin", privileged=True, groups=("Okta Super Admins",))
        views.append(AccountView(root, (), frozenset({RiskFlag.PRIVILEGED})))
    return views


def test_snapshot_drift_screen(snap_compare, db_path: Path, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "fixed" / "snapshots.sqlite")
    store.record("corp-okta", _views(False), now=T0)
    store.record("corp-okta", _views(True), now=T1)

    async def open_drift(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.app.push_screen(DriftScreen(store, now=T1))
        await loaded(pilot.app, pilot)

    assert snap_compare(
        make_app(db_path, StaticProvider()), terminal_size=SIZE, run_before=open_drift
    )
