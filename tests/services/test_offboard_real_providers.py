"""A person plan against real servers: scim2-server, and the Okta and GitHub fakes.

One leaver, Dana, has a SCIM user and an Okta user (both identity providers: both
block logins first) with an API token and live sessions, and a GitHub member with a
fine-grained PAT, linked by an operator (``people link``). The roster is an hr-csv
export. One test runs everything; one stops the GitHub fake after staging: GitHub's
steps fail and stay open, the others are verified; one stops Okta, an identity
provider: its gate fails, which releases the other providers' steps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pamtui.model import QueueState
from pamtui.services.offboarding import certify
from pamtui.services.session import Session
from tests.fakes.github import GitHubFake
from tests.fakes.okta import ADMIN_TOKEN, OktaFake
from tests.providers.test_provider_github import TOKEN as GITHUB_TOKEN
from tests.support.servers import SCIM_TOKEN

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DANA = "dana.leaver@corp.example"


@pytest.fixture
def corp(tmp_path, monkeypatch, tenant, okta_server, github_server):
    tenant.add_user(DANA, displayName="Dana Leaver")
    tenant.add_user("sam.stays@corp.example", displayName="Sam Stays")
    okta_dana = okta_server.add_user(DANA, first="Dana", last="Leaver")
    okta_server.add_api_token(okta_dana, "dana-automation")
    okta_server.start_session(okta_dana)
    github_server.add_member("dana-gh")
    github_server.add_pat("dana-gh", "laptop")
    roster = tmp_path / "people.csv"
    roster.write_text(
        "id,name,email,status,terminated\n"
        f"E9001,Dana Leaver,{DANA},terminated,2026-11-30\n"
        "E9002,Sam Stays,sam.stays@corp.example,active,\n",
        encoding="utf-8",
    )
    for var, value in (("T_SCIM", SCIM_TOKEN), ("T_OKTA", ADMIN_TOKEN), ("T_GH", GITHUB_TOKEN)):
        monkeypatch.setenv(var, value)
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f"""
[[providers]]
name = "hr"
type = "hr-csv"
path = "{roster}"

[[providers]]
name = "corp-scim"
type = "scim"
base_url = "{tenant.base_url}"
token = {{ env = "T_SCIM" }}
max_retries = 0

[[providers]]
name = "corp-okta"
type = "okta"
base_url = "{okta_server.url}"
token = {{ env = "T_OKTA" }}
max_retries = 0

[[providers]]
name = "corp-github"
type = "github"
org = "{github_server.org}"
base_url = "{github_server.url}"
token = {{ env = "T_GH" }}
max_retries = 0
""",
        encoding="utf-8",
    )
    return cfg


async def dana_plan(session: Session):
    views = await session.inventory.sync()
    degraded = {n: h.reason for n, h in session.inventory.health.items() if not h.ok}
    assert not degraded, degraded
    corr = await session.people.refresh(views)
    person = corr.find(DANA)
    gh = next(
        v for v in views if v.account.provider == "corp-github" and v.account.name == "dana-gh"
    )
    if corr.link_of(gh.key) is None:
        session.people.link(session.operator, person, gh.account, "SAML identity checked")
        corr = session.people.correlate(views)
    return person, corr, views, session.revocations.plan_person(person, corr, views)


async def stage_only(cfg: Path, db_path: Path):
    """Plan and submit in one session (closed after: its connections go with it)."""
    session = Session.open(config_path=str(cfg), db_path=str(db_path))
    try:
        _, _, _, plan = await dana_plan(session)
        return plan, session.revocations.submit(plan, "left")
    finally:
        await session.aclose()


async def test_one_plan_ends_dana_everywhere_identity_providers_first(corp, db_path) -> None:
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    try:
        _, _, _, plan = await dana_plan(session)
        assert set(plan.by_provider()) == {"corp-scim", "corp-okta", "corp-github"}
        assert {g.provider for g in plan.gates} == {"corp-scim", "corp-okta"}
        submission = session.revocations.submit(plan, "left 2026-11-30")
        outcomes = await session.revocations.execute(submission)
        failed = [(o.item.action.label, o.message) for o in outcomes if not o.ok]
        assert not failed, failed
        gates = {i.id for i in submission.items if i.action in plan.gates}
        first_github = min(
            n for n, o in enumerate(outcomes) if o.item.action.provider == "corp-github"
        )
        assert {o.item.id for o in outcomes[:first_github]} >= gates
        cert = await certify(session, DANA)
        assert cert.ok, cert.findings
    finally:
        await session.aclose()


async def test_a_provider_that_is_down_holds_only_its_own_steps(
    corp,
    db_path,
    github_server: GitHubFake,
) -> None:
    plan, submission = await stage_only(corp, db_path)
    github_server.stop()  # down before anything runs: a fresh client finds nobody there
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    try:
        report = await session.revocations.run_pending()  # pamtui queue run
        assert any(o.failed for o in report.outcomes)
        states = {i.id: session.queue.get(i.id).state for i in submission.items}
        for item in submission.items:
            if item.action.provider == "corp-github":
                assert states[item.id] is not QueueState.VERIFIED
            else:
                assert states[item.id] is QueueState.VERIFIED, item.action.label
        cert = await certify(session, DANA)
        assert not cert.ok
        assert {s.item.action.provider for s in cert.open_steps} == {"corp-github"}
        assert "corp-github" in cert.unreadable
    finally:
        await session.aclose()


async def test_an_identity_provider_that_is_down_fails_its_gate_and_releases_the_others(
    corp,
    db_path,
    okta_server: OktaFake,
) -> None:
    plan, submission = await stage_only(corp, db_path)
    okta_server.stop()
    session = Session.open(config_path=str(corp), db_path=str(db_path))
    try:
        await session.revocations.run_pending()
        okta_gate = next(
            i
            for i in submission.items
            if i.action in plan.gates and i.action.provider == "corp-okta"
        )
        assert session.queue.get(okta_gate.id).state is QueueState.FAILED
        for item in submission.items:
            state = session.queue.get(item.id).state
            if item.action.provider == "corp-okta":
                assert state is not QueueState.VERIFIED
            else:
                assert state is QueueState.VERIFIED, item.action.label
    finally:
        await session.aclose()
