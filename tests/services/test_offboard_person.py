"""Person-level plans on the demo: every provider, the documented order, plan order across
providers whoever asks, and the certificate's re-check.

Real parts: the demo providers (one SQLite state file), a real journal, the real queue.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pamtui.journal import EntryFilter
from pamtui.model import ROLES, Actor, LinkRelation, QueueState
from pamtui.providers.demo import state as st
from pamtui.services.offboarding import certify
from pamtui.services.offboarding_plan import (
    PHASE_ACCOUNTS,
    PHASE_BLOCK_LOGINS,
    PHASE_CREDENTIALS,
    PHASE_SESSIONS,
    phase_of,
)
from pamtui.services.queue import PlanOrderError
from pamtui.services.revoke import PlanKind, RevokeError
from pamtui.services.session import Session

LUCIA = "E1111"

CONFIG = """
[operator]
four_eyes_for_privileged = true

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

[[providers]]
name = "demo-cloud"
type = "demo"
system = "cloud"
latency_ms = 0
"""


def write_config(tmp_path: Path, operator: str = "ops-alice") -> Path:
    path = tmp_path / f"{operator}.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


async def open_session(tmp_path: Path, db_path: Path, operator: str = "ops-alice") -> Session:
    """A session as the operator ``operator`` (as an SSH key's operator on a bastion)."""
    cfg = write_config(tmp_path, operator)
    actor = Actor(operator, None, frozenset(ROLES), "ssh")
    return Session.open(config_path=str(cfg), db_path=str(db_path), actor=actor)


async def lucia_plan(session: Session):
    views = await session.inventory.sync()
    corr = await session.people.refresh(views)
    person = corr.find(LUCIA)
    return person, corr, views, session.revocations.plan_person(person, corr, views)


def demo_file(db_path: Path) -> Path:
    return st.default_path(db_path.parent)


async def test_the_person_plan_spans_every_provider_in_the_documented_order(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    try:
        person, corr, views, plan = await lucia_plan(session)
        assert plan.kind is PlanKind.PERSON and plan.person_id == LUCIA
        assert set(plan.by_provider()) == {"demo-idp", "demo-git", "demo-cloud"}
        # Block logins at the identity provider first: the only gate, demo-idp's suspend.
        assert [(g.provider, g.name) for g in plan.gates] == [("demo-idp", "suspend_account")]
        assert plan.steps[0] in plan.gates
        phases = [phase_of(s) for s in plan.steps]
        assert phases == sorted(phases)
        assert phase_of(plan.steps[0]) == PHASE_BLOCK_LOGINS
        by_name = {(s.provider, s.name): phase_of(s) for s in plan.steps}
        assert by_name[("demo-idp", "clear_sessions")] == PHASE_SESSIONS
        assert by_name[("demo-git", "revoke_token")] == PHASE_CREDENTIALS
        assert by_name[("demo-cloud", "deactivate_account")] == PHASE_ACCOUNTS
        assert not plan.four_eyes  # nothing of Lucía's is privileged in the demo

        submission = session.revocations.submit(plan, "left 2026-11-10")
        outcomes = await session.revocations.execute(submission)
        assert len(outcomes) == len(plan.steps) and all(o.ok for o in outcomes)
        # The gate ran before any other provider's step.
        assert outcomes[0].item.action.name == "suspend_account"
        group = session.queue.group_of(submission.items[0].id)
        items = session.queue.group_items(group)
        assert {i.id for i in items} == {i.id for i in submission.items}
        assert len({i.plan_id for i in items}) == 3  # one queue plan per provider
        assert all(i.state is QueueState.VERIFIED for i in items)

        cert = await certify(session, LUCIA)
        assert cert.ok, cert.findings
        assert len(cert.plans) == 1 and cert.plans[0].detail["group"] == group
        assert all(s.entry is not None and s.entry.action == "verified" for s in cert.steps)
        assert {a.provider for a in cert.accounts} == {"demo-idp", "demo-git", "demo-cloud"}
    finally:
        await session.aclose()


async def test_a_recreated_credential_fails_the_certificate(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    try:
        _, _, _, plan = await lucia_plan(session)
        submission = session.revocations.submit(plan, "left")
        await session.revocations.execute(submission)
        assert (await certify(session, LUCIA)).ok
        key = next(s for s in plan.steps if s.name == "deactivate_access_key")
        st.reenable_credential(demo_file(db_path), key.target_id)  # behind pamtui's back
        cert = await certify(session, LUCIA)
        assert not cert.ok
        assert any("came back" in f and key.target_id in f for f in cert.findings)
        assert any("still live" in f and "demo-cloud" in f for f in cert.findings)
    finally:
        await session.aclose()


async def test_a_step_in_another_provider_never_starts_before_the_gate(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    queue = session.queue
    try:
        _, _, _, plan = await lucia_plan(session)
        submission = session.revocations.submit(plan, "left")
        gate = next(i for i in submission.items if i.action.name == "suspend_account")
        git = next(i for i in submission.items if i.action.provider == "demo-git")
        # The claim itself refuses, whoever calls it.
        with pytest.raises(PlanOrderError, match=rf"waits for #{gate.id} \(approved\)"):
            queue.claim(git.id)
        outcome = await queue.execute(git.id)
        assert outcome.waiting and queue.get(git.id).state is QueueState.APPROVED
        # Asking to run the git step (queue run ID, the TUI's x) runs the gate first.
        outcomes = await session.revocations.run([git.id])
        assert outcomes[0].item.id == gate.id
        assert all(o.ok for o in outcomes)
        assert queue.get(git.id).state is QueueState.VERIFIED
    finally:
        await session.aclose()


async def test_a_failed_gate_releases_the_other_providers_and_stays_open(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    queue = session.queue
    try:
        _, _, _, plan = await lucia_plan(session)
        submission = session.revocations.submit(plan, "left")
        gate = next(i for i in submission.items if i.action.name == "suspend_account")
        # The identity provider is down: its provider object is gone from this process.
        idp = session.providers.pop("demo-idp")
        queue.providers = session.providers
        outcomes = await session.revocations.execute(submission)
        assert queue.get(gate.id).state is QueueState.FAILED
        others = [i for i in submission.items if i.action.provider != "demo-idp"]
        assert all(queue.get(i.id).state is QueueState.VERIFIED for i in others)
        idp_rest = [i for i in submission.items if i.action.provider == "demo-idp"]
        assert all(queue.get(i.id).state is not QueueState.VERIFIED for i in idp_rest)
        assert any(o.failed for o in outcomes)
        session.providers["demo-idp"] = idp
        cert = await certify(session, LUCIA)
        assert not cert.ok
        assert {s.item.action.provider for s in cert.open_steps} == {"demo-idp"}
        # Back up: retrying the gate finishes the identity provider's part.
        await session.revocations.retry(gate.id)
        await session.revocations.run([i.id for i in idp_rest if i.id != gate.id])
        assert (await certify(session, LUCIA)).ok
    finally:
        await session.aclose()


async def test_four_eyes_and_approval_keep_the_order_across_providers(tmp_path, db_path):
    alice = await open_session(tmp_path, db_path, "ops-alice")
    try:
        views = await alice.inventory.sync()
        idp = next(
            v for v in views if v.account.provider == "demo-idp" and v.account.owner == LUCIA
        )
        st.grant_privilege(demo_file(db_path), idp.account.id, "Super Administrators")
        _, _, _, plan = await lucia_plan(alice)
        assert plan.four_eyes
        submission = alice.revocations.submit(plan, "left")
        assert submission.awaiting_approval and not submission.runnable
        assert all(i.state is QueueState.AWAITING_APPROVAL for i in submission.items)
    finally:
        await alice.aclose()
    bob = await open_session(tmp_path, db_path, "ops-bob")
    try:
        gate = next(i for i in submission.items if i.action.name == "suspend_account")
        git = next(i for i in submission.items if i.action.provider == "demo-git")
        # Approving and running a git step while the gate awaits approval: it waits.
        item, outcomes = await bob.revocations.approve_and_run(git.id)
        assert item.state is QueueState.APPROVED
        assert outcomes and all(o.waiting for o in outcomes)
        assert bob.queue.get(git.id).state is QueueState.APPROVED
        # Once the gate is approved, running the git step runs the gate first.
        bob.revocations.approve(gate.id)
        outcomes = await bob.revocations.run([git.id])
        assert outcomes[0].item.id == gate.id and all(o.ok for o in outcomes)
    finally:
        await bob.aclose()


async def test_recovery_settles_the_gate_before_other_providers_start(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    queue = session.queue
    try:
        _, _, _, plan = await lucia_plan(session)
        submission = session.revocations.submit(plan, "left")
        gate = next(i for i in submission.items if i.action.name == "suspend_account")
        git = next(i for i in submission.items if i.action.provider == "demo-git")
        long_ago = datetime.now(UTC) - timedelta(hours=1)
        assert queue.claim(gate.id, now=long_ago) is not None  # a runner died mid-gate
        assert queue.get(gate.id).state is QueueState.EXECUTING
        with pytest.raises(PlanOrderError):
            queue.claim(git.id)  # the gate is in doubt: nobody else starts
        recovered = await queue.recover()
        assert [o.item.id for o in recovered] == [gate.id] and recovered[0].ok
        assert (await queue.execute(git.id)).ok
    finally:
        await session.aclose()


async def test_owned_accounts_are_listed_for_a_new_owner_not_staged(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    try:
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        owners = [
            lk
            for lk in corr.links.values()
            if lk.relation is LinkRelation.OWNER and corr.people[lk.person_id]
        ]
        assert owners, "the demo has service accounts owned by people"
        link = owners[0]
        person = corr.people[link.person_id]
        plan = session.revocations.plan_person(person, corr, views)
        assert link in plan.needs_owner
        assert all((s.provider, s.account_id) != link.account for s in plan.steps), (
            "an owned service account is never deprovisioned by a person plan"
        )
    finally:
        await session.aclose()


async def test_deselected_steps_stay_out_and_a_read_only_session_is_refused(tmp_path, db_path):
    session = await open_session(tmp_path, db_path)
    try:
        _, _, _, plan = await lucia_plan(session)
        chosen = [s for s in plan.steps if s.provider != "demo-cloud"]
        submission = session.revocations.submit(plan, "left", steps=list(reversed(chosen)))
        # The plan's order holds whatever order the dialog hands the steps back in.
        staged = sorted(submission.items, key=lambda i: i.id)
        assert {i.action for i in staged} == set(chosen)
        for provider in ("demo-idp", "demo-git"):
            orders = [i.action.order for i in staged if i.action.provider == provider]
            assert orders == sorted(orders)
        assert not any(i.action.provider == "demo-cloud" for i in staged)
        entry = session.journal.entries(EntryFilter(action="offboard_plan"), limit=1)[0]
        assert entry.subject == f"person:{LUCIA}" and entry.detail["deselected"] == len(
            plan.by_provider()["demo-cloud"]
        )
        foreign = dataclasses.replace(plan.steps[0], target_id="someone-else")
        with pytest.raises(RevokeError, match="not a step"):
            session.revocations.submit(plan, "left", steps=[foreign])
    finally:
        await session.aclose()
    ro = Session.open(config_path=str(write_config(tmp_path)), db_path=str(db_path), read_only=True)
    try:
        _, _, _, plan = await lucia_plan(ro)
        with pytest.raises(Exception, match="read-only"):
            ro.revocations.submit(plan, "left")
    finally:
        await ro.aclose()


def test_a_schema_6_journal_gains_plan_groups_and_keeps_its_items(db_path) -> None:
    """Journal schema 7 adds ``plan_group`` and ``gate``; older items are in no group."""
    import sqlite3

    from pamtui.journal import Journal
    from pamtui.journal.database import SCHEMA_VERSION
    from pamtui.services.queue import RevocationQueue
    from tests.fakes import StaticProvider

    journal = Journal.open(db_path)
    journal.close()
    conn = sqlite3.connect(db_path)
    conn.execute("DROP INDEX queue_items_group")
    conn.execute("ALTER TABLE queue_items DROP COLUMN plan_group")
    conn.execute("ALTER TABLE queue_items DROP COLUMN gate")
    conn.execute(
        "INSERT INTO queue_items (state, provider, action_name, target_kind, target_id,"
        " account_id, label, step_order, reason, requested_by, idempotency_key, plan_id,"
        " created, updated) VALUES ('approved', 'static', 'deactivate_account', 'account',"
        " 'u2', 'u2', 'Deactivate u2', 90, 'old', 'alice', 'k-1', 'p1', '2026-12-01T00:00:00Z', '2026-12-01T00:00:00Z')"
    )
    conn.execute("PRAGMA user_version=6")
    conn.commit()
    conn.close()
    journal = Journal.open(db_path)
    try:
        version = journal.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION >= 7
        queue = RevocationQueue(journal, {"static": StaticProvider()}, "alice")
        (item,) = queue.items()
        assert queue.group_of(item.id) == "" and queue.waits_for(item) == []
        assert not queue.is_gate(item)
    finally:
        journal.close()
