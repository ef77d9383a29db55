"""Movers and excess access: the pure rules, roster history, migration 10, and a real plan.

Real parts: the demo providers on one SQLite state file, a real journal, the real queue.
"""

from __future__ import annotations

import dataclasses
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from pamtui.journal import Journal
from pamtui.journal.database import SCHEMA_VERSION
from pamtui.model import (
    Account,
    AccountKind,
    AccountLink,
    AccountStatus,
    LinkRelation,
    LinkRule,
    Person,
    QueueState,
    RiskFlag,
    TargetKind,
)
from pamtui.providers.demo import state as demo_state
from pamtui.providers.roster import PastRole
from pamtui.services.baselines import parse_baselines, role_of
from pamtui.services.inventory import AccountView
from pamtui.services.movers import access_steps, assess_person, held_grants
from pamtui.services.people_history import PeopleHistory, RoleRecord, previous_role
from pamtui.services.revoke import PlanKind, RevokeError
from pamtui.services.session import Session

MOVER = "E1028"  # Fatima Abbott in the bundled seed: Engineering -> Sales

BASELINES = parse_baselines(
    [
        {
            "name": "engineering",
            "match": {"department": "Engineering"},
            "allow": {"git": ["platform", "web"], "idp": ["Everyone", "Dept-Engineering"]},
        },
        {
            "name": "sales",
            "match": {"department": "Sales"},
            "allow": {"idp": ["Everyone", "Dept-Sales"]},
        },
    ],
    None,
)


def view(provider: str, groups: tuple[str, ...], status=AccountStatus.ACTIVE) -> AccountView:
    account = Account(
        provider, f"{provider}-1", f"ann@{provider}", AccountKind.HUMAN, status, groups=groups
    )
    return AccountView(account, [], frozenset())


def held(*views: AccountView) -> list[tuple[AccountView, str]]:
    return [(v, g) for v in views for g in dict.fromkeys(v.account.groups)]


def test_a_mover_keeps_old_access_and_it_is_flagged_mover() -> None:
    git, idp = (
        view("git", ("platform",)),
        view("idp", ("Everyone", "Dept-Engineering", "Dept-Sales")),
    )
    before = RoleRecord("E1", {"department": "Engineering", "title": "SRE"}, "2026-01-01")
    result = assess_person("E1", {"department": "Sales"}, held(git, idp), BASELINES, before)
    flagged = {(f.flag, f.grant) for f in result.findings}
    assert flagged == {(RiskFlag.MOVER, "platform"), (RiskFlag.MOVER, "Dept-Engineering")}
    assert result.mover and not result.excess
    assert result.baselines == ("sales",) and result.previous_baselines == ("engineering",)
    assert "previous role Engineering / SRE" in result.findings[0].why


def test_excess_is_judged_only_where_a_matching_baseline_governs() -> None:
    git, idp = view("git", ("platform", "secret-team")), view("idp", ("Everyone", "Admins"))
    cloud = view("cloud", ("Administrators",))
    result = assess_person("E2", {"department": "Engineering"}, held(git, idp, cloud), BASELINES)
    assert {(f.flag, f.grant) for f in result.findings} == {
        (RiskFlag.EXCESS, "secret-team"),
        (RiskFlag.EXCESS, "Admins"),
    }
    nobody = assess_person("E3", {"department": "Legal"}, held(git, idp), BASELINES)
    assert nobody.findings == () and nobody.baselines == ()


ROLES = st.sampled_from(["Engineering", "Sales", "Legal"])
GROUPS = st.sampled_from(["platform", "web", "Everyone", "Dept-Engineering", "Dept-Sales", "x"])


@settings(max_examples=200, deadline=None)
@given(
    now=ROLES,
    old=st.one_of(st.none(), ROLES),
    git=st.lists(GROUPS, max_size=5),
    idp=st.lists(GROUPS, max_size=5),
)
def test_every_flag_is_earned_and_nothing_judged_slips_through(now, old, git, idp) -> None:
    """A flagged grant is never allowed now; a MOVER grant was allowed before; every grant a
    governing baseline does not allow is flagged exactly once."""
    views = [view("git", tuple(git)), view("idp", tuple(idp))]
    before = RoleRecord("E", {"department": old}, "t") if old else None
    result = assess_person("E", {"department": now}, held(*views), BASELINES, before)
    current = [b for b in BASELINES if b.matches({"department": now})]
    previous = [b for b in BASELINES if old and b.matches({"department": old})]
    seen = set()
    for f in result.findings:
        provider = f.account[0]
        assert not any(b.allows(provider, f.grant) for b in current)
        if f.flag is RiskFlag.MOVER:
            assert any(b.allows(provider, f.grant) for b in previous)
        else:
            assert any(b.governs(provider) for b in current)
        seen.add((provider, f.grant))
    for v in views:
        for g in set(v.account.groups):
            p = v.account.provider
            judged = any(b.governs(p) for b in current) or any(b.allows(p, g) for b in previous)
            if judged and not any(b.allows(p, g) for b in current):
                assert (p, g) in seen
    assert len(seen) == len(result.findings)


def test_only_active_accounts_the_person_holds_count() -> None:
    gone = view("git", ("secret",), AccountStatus.SUSPENDED)
    bot = view("idp", ("Admins",))
    live = view("idp", ("Dept-Engineering",))
    live = AccountView(dataclasses.replace(live.account, id="idp-2"), [], frozenset())
    links = [
        AccountLink("E", gone.key, LinkRule.HR_ID, "x"),
        AccountLink("E", bot.key, LinkRule.HR_ID, "x", LinkRelation.OWNER),
        AccountLink("E", live.key, LinkRule.HR_ID, "x"),
        AccountLink("E", ("idp", "missing"), LinkRule.HR_ID, "x"),
    ]
    by_key = {v.key: v for v in (gone, bot, live)}
    assert held_grants(links, by_key) == [(live, "Dept-Engineering")]


def test_history_records_only_changes_and_seeds_from_the_roster(db_path: Path) -> None:
    journal = Journal.open(db_path)
    try:
        history = PeopleHistory(journal)
        ann = Person("E1", "Ann", department="Sales", title="AE")
        seed = PastRole(
            "E1", {"department": "Engineering", "title": "SRE"}, datetime(2026, 11, 1, tzinfo=UTC)
        )
        first = history.observe([ann], [seed])["E1"]
        assert [r.role["department"] for r in first] == ["Engineering", "Sales"]
        assert first[0].source == "roster" and first[1].since.startswith("2026-11-01")
        history.observe([ann], [seed])  # unchanged: no new row, the seed is not added twice
        rows = journal.conn.execute("SELECT count(*) FROM people_history").fetchone()[0]
        assert rows == 2
        moved = Person("E1", "Ann", department="Legal", title="Counsel")
        records = history.observe([moved])["E1"]
        assert previous_role(records, role_of(moved)).role["department"] == "Sales"
        assert PeopleHistory(journal).load()["E1"][-1].role["department"] == "Legal"
    finally:
        journal.close()


def test_a_read_only_history_writes_nothing(db_path: Path) -> None:
    Journal.open(db_path).close()
    journal = Journal.open(db_path)
    try:
        records = PeopleHistory(journal, read_only=True).observe([Person("E9", "Zed")])
        assert records["E9"]
        assert journal.conn.execute("SELECT count(*) FROM people_history").fetchone()[0] == 0
    finally:
        journal.close()


def test_migration_10_adds_people_history_to_an_existing_database(db_path: Path) -> None:
    journal = Journal.open(db_path)
    journal.append("alice", "note", subject="before-10")
    journal.close()
    conn = sqlite3.connect(db_path)
    conn.execute("DROP TABLE people_history")
    conn.execute("PRAGMA user_version=9")
    conn.commit()
    conn.close()
    journal = Journal.open(db_path)
    try:
        assert journal.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION >= 10
        PeopleHistory(journal).observe([Person("E1", "Ann", department="Sales")])
        assert PeopleHistory(journal).load()["E1"][0].role["department"] == "Sales"
        assert journal.verify().ok
        assert [e.subject for e in journal.entries()][-1] == "before-10"
    finally:
        journal.close()


CONFIG = """
[[providers]]
name = "demo-idp"
type = "demo"
system = "idp"
latency_ms = 0

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0

[[baselines]]
name = "engineering"
match = { department = "Engineering" }
allow = { "demo-idp" = ["Everyone", "VPN-Users", "Dept-Engineering", "App-*"], "demo-git" = ["*"] }

[[baselines]]
name = "sales"
match = { department = "Sales" }
allow = { "demo-idp" = ["Everyone", "VPN-Users", "Dept-Sales", "App-Salesforce", "App-Jira"], "demo-git" = [] }
"""


def open_session(tmp_path: Path, db_path: Path) -> Session:
    cfg = tmp_path / "movers.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    saved = dict(os.environ)
    os.environ.update({k: "ops-alice" for k in ("LOGNAME", "USER", "LNAME", "USERNAME")})
    try:
        return Session.open(config_path=str(cfg), db_path=str(db_path))
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def test_the_demo_mover_is_found_and_a_plan_removes_the_old_access(tmp_path, db_path):
    session = open_session(tmp_path, db_path)
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        movers = await session.movers.assess(corr, views)
        assert movers.flagged([RiskFlag.MOVER]) == [MOVER]
        access = movers.of(MOVER)
        assert {f.grant for f in access.findings} == {
            "firmware",
            "fleet",
            "Dept-Engineering",
            "App-GitHub",
            "App-AWS",
        }
        person = corr.find(MOVER)
        by_key = {v.key: v for v in views}
        found = access_steps(access.findings, by_key, session.providers)
        assert found.manual == ()
        plan = session.revocations.plan_access(person, found, what="previous role's access")
        assert plan.kind is PlanKind.ACCESS and len(plan.steps) == 5
        assert all(
            s.target_kind is TargetKind.GRANT and s.name == "remove_from_group" for s in plan.steps
        )
        submission = session.revocations.submit(plan, "moved to Sales")
        outcomes = await session.revocations.execute(submission)
        states = {session.queue.get(i.id).state for i in submission.items}
        assert states == {QueueState.VERIFIED}, outcomes
        # The provider's own state agrees: the groups are gone, the Sales ones stay.
        conn = demo_state.connect(session.providers["demo-idp"].state_file)
        groups = conn.execute(
            "SELECT groups FROM accounts WHERE owner = ? AND system = 'idp'", (MOVER,)
        ).fetchone()[0]
        conn.close()
        assert "Dept-Engineering" not in groups and "Dept-Sales" in groups
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        assert (await session.movers.assess(corr, views)).flagged([RiskFlag.MOVER]) == []
    finally:
        await session.aclose()


async def test_a_provider_that_cannot_remove_one_grant_gets_a_manual_step(tmp_path, db_path):
    session = open_session(tmp_path, db_path)
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        access = (await session.movers.assess(corr, views)).of(MOVER)
        by_key = {v.key: v for v in views}
        providers = dict(session.providers)
        providers["demo-git"] = object()  # a provider without grant_action
        found = access_steps(access.findings, by_key, providers)
        assert len(found.steps) == 3 and len(found.manual) == 2
        assert all("by hand" in line for line in found.manual)
        plan = session.revocations.plan_access(corr.find(MOVER), found, what="x")
        assert plan.manual == found.manual
        only_manual = access_steps(
            [f for f in access.findings if f.account[0] == "demo-git"], by_key, providers
        )
        try:
            session.revocations.plan_access(corr.find(MOVER), only_manual, what="x")
        except RevokeError as exc:
            assert "by hand" in str(exc)
        else:
            raise AssertionError("a plan with only manual steps must be refused")
    finally:
        await session.aclose()


def test_history_kept_in_memory_still_sees_another_writer(db_path: Path) -> None:
    journal = Journal.open(db_path)
    other = Journal.open(db_path)  # a second pamtui process on the same database
    try:
        mine, theirs = PeopleHistory(journal), PeopleHistory(other)
        mine.observe([Person("E1", "Ann", department="Sales")])
        assert mine.load() is mine.load()  # unchanged: not read again
        theirs.observe([Person("E1", "Ann", department="Legal")])
        records = mine.load()["E1"]
        assert [r.role["department"] for r in records] == ["Sales", "Legal"]
        mine.observe([Person("E1", "Ann", department="Legal")])  # nothing new to write
        assert journal.conn.execute("SELECT count(*) FROM people_history").fetchone()[0] == 2
    finally:
        other.close()
        journal.close()


async def test_an_auditor_may_see_movers_but_not_stage_their_removal(tmp_path, db_path):
    from pamtui import config as config_mod
    from pamtui.model import Actor
    from pamtui.services.roles import RoleRefused
    from pamtui.services.session import build_providers

    path = tmp_path / "movers.toml"
    path.write_text(CONFIG, encoding="utf-8")
    cfg = config_mod.load_file(path)
    eve = Actor("eve", "SHA256:evekey", frozenset(), "ssh")
    session = Session(
        cfg,
        Journal.open(db_path),
        build_providers(cfg, tmp_path),
        read_only=False,
        db_path=db_path,
        operator=eve.name,
        actor=eve,
    )
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        access = (await session.movers.assess(corr, views)).of(MOVER)
        found = access_steps(access.findings, {v.key: v for v in views}, session.providers)
        plan = session.revocations.plan_access(corr.find(MOVER), found, what="mover access")
        for stage in (
            lambda: session.revocations.submit(plan, "moved"),
            lambda: session.revocations.stage_access_for_policy(
                plan, "policy movers", actor="policy:movers", approve=True
            ),
        ):
            try:
                stage()
            except RoleRefused as exc:
                assert "eve may not stage a revocation" in str(exc)
            else:
                raise AssertionError("an auditor staged a revocation")
        assert session.queue.items(limit=10) == []
    finally:
        await session.aclose()
