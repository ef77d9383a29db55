"""One person, accounts in Microsoft Entra ID and Google Workspace, one plan; one TUI.

Issue 16's "done when": a person with accounts in both is offboarded in one
plan, every step verified against the fakes (each built from the vendor's
published description: Graph's CSDL, Google's discovery documents). The
roster is an hr-csv export; both providers carry the HR id, so correlation
links the accounts without an operator's help.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pamtui.model import QueueState
from pamtui.services.offboarding import certify
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.widgets.accounts import AccountsTable
from tests.fakes.google import GoogleFake, service_account
from tests.fakes.graph import CLIENT_ID, CLIENT_SECRET, TENANT, GraphFake

LEAVER, STAYS = "lee.ver@corp.example", "sam.stays@corp.example"
KIM_HR, KIM_SYSTEMS = "kim@corp.example", "kim.a@corp.example"


@pytest.fixture
def corp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    graph = GraphFake()
    graph_leaver = graph.add_user(LEAVER, employeeId="X7001", mail=LEAVER)
    graph.add_user(STAYS, employeeId="X7002", mail=STAYS)
    # Kim: no HR id anywhere; HR knows her as kim@, the systems by kim.a@.
    graph.add_user(KIM_SYSTEMS, mail=KIM_SYSTEMS, otherMails=[KIM_HR])
    crm = graph.add_service_principal("Contoso CRM")
    graph.add_grant(crm, graph_leaver)
    past = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(3):
        graph.add_sign_in(graph_leaver, past + timedelta(seconds=n))
    graph.start()

    key, key_json = service_account()
    google = GoogleFake(key.public_key(), json.loads(key_json)["client_email"])
    google.add_user("admin@corp.example", admin=True)
    google_leaver = google.add_user(LEAVER, hr_id="X7001")
    google.add_user(STAYS, hr_id="X7002")
    google.add_user(KIM_SYSTEMS, aliases=(KIM_HR,))
    google.add_token(google_leaver, "1234-crm.apps.googleusercontent.com", "Lee's CRM")
    google.add_asp(google_leaver, "lee-imap")
    for n in range(3):
        google.add_activity("login", "login_success", google_leaver, past + timedelta(seconds=n))
    google.start()

    monkeypatch.setenv("T_ENTRA", CLIENT_SECRET)
    monkeypatch.setenv("T_GOOGLE", key_json)
    roster = tmp_path / "people.csv"
    roster.write_text(
        "id,name,email,status,terminated\n"
        f"X7001,Lee Ver,{LEAVER},terminated,2026-11-30\n"
        f"X7002,Sam Stays,{STAYS},active,\n"
        f"X7003,Kim Alias,{KIM_HR},active,\n",
        encoding="utf-8",
    )
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
[[providers]]
name = "hr"
type = "hr-csv"
path = "{roster}"

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0

[[providers]]
name = "corp-entra"
type = "entra"
base_url = "{graph.url}/v1.0"
authority = "{graph.url}"
tenant_id = "{TENANT}"
client_id = "{CLIENT_ID}"
client_secret = {{ env = "T_ENTRA" }}
max_retries = 0
poll_seconds = 0.2
backfill_minutes = 30

[[providers]]
name = "corp-google"
type = "google-workspace"
base_url = "{google.url}"
token_uri = "{google.token_url}"
subject = "admin@corp.example"
credentials = {{ env = "T_GOOGLE" }}
max_retries = 0
applications = ["login"]
poll_seconds = 0.2
backfill_minutes = 30
""",
        encoding="utf-8",
    )
    try:
        yield cfg
    finally:
        google.stop()
        graph.stop()


async def test_one_plan_ends_a_leaver_in_entra_and_google_every_step_verified(
    corp: Path, db_path: Path
) -> None:
    # HR ids X7xxx: the demo org beside them uses E1xxx, and one HR id is one person.
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    try:
        views = await session.inventory.sync()
        degraded = {n: h.reason for n, h in session.inventory.health.items() if not h.ok}
        assert not degraded, degraded
        corr = await session.people.refresh(views)
        person = corr.find(LEAVER)
        linked = {link.account[0] for link in corr.accounts_of(person.id)}
        assert linked == {"corp-entra", "corp-google"}  # by HR id, no operator needed
        plan = session.revocations.plan_person(person, corr, views)
        assert set(plan.by_provider()) == {"corp-entra", "corp-google"}
        submission = session.revocations.submit(plan, "left 2026-11-30")
        outcomes = await session.revocations.execute(submission)
        failed = [(o.item.action.label, o.message) for o in outcomes if not o.ok]
        assert not failed, failed
        states = {session.queue.get(i.id).state for i in submission.items}
        assert states == {QueueState.VERIFIED}
        names = {(i.action.provider, i.action.name) for i in submission.items}
        assert ("corp-entra", "revoke_sessions") in names
        assert any(p == "corp-google" for p, _ in names)
        cert = await certify(session, LEAVER)
        assert cert.ok, cert.findings
    finally:
        await session.aclose()


async def test_one_tui_shows_entra_and_google_accounts_and_streams(
    corp: Path, db_path: Path
) -> None:
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    app = PamtuiApp(session)
    seen: set[str] = set()
    async with app.run_test(size=(160, 50)) as pilot:
        original = app.stream_watch.observe

        def spy(event):
            seen.add(event.provider)
            return original(event)

        app.stream_watch.observe = spy
        await pilot.pause()
        finite = [w for w in app.workers if w.group != "stream"]
        if finite:
            await app.workers.wait_for_complete(finite)
        statuses = {s.name: s for s in app.provider_statuses()}
        degraded = {n: s.reason for n, s in statuses.items() if not s.ok}
        assert not degraded, degraded
        table = app.screen.query_one(AccountsTable)
        rows = [table.row_cells(i) for i in range(table.row_count)]
        shown = {"corp-entra", "corp-google", "demo-git"}
        providers = {cell.plain for row in rows for cell in row} & shown
        assert providers == shown  # beside the existing providers, in one TUI
        for _ in range(100):  # bounded: at most ~10 s
            if {"corp-entra", "corp-google"} <= seen:
                break
            await pilot.pause(0.1)
        assert {"corp-entra", "corp-google"} <= seen, seen


async def test_an_address_known_only_to_one_system_links_through_its_identities(
    corp: Path, db_path: Path
) -> None:
    """Entra's otherMails and Google's aliases reach correlation (account_identities)."""
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        kim = corr.find(KIM_HR)
        links = {link.account[0]: link for link in corr.accounts_of(kim.id)}
        assert set(links) == {"corp-entra", "corp-google"}
        assert "Entra ID otherMails" in links["corp-entra"].evidence
        assert "Google Workspace address" in links["corp-google"].evidence
    finally:
        await session.aclose()
