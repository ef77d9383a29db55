"""The one revocation path (services/revoke.py), tested once at the service level.

The TUI and CLI tests only check that they call it; the behaviour is here:
read-only first, step-up before anything is staged (four eyes or not), four
eyes, the plan's order, and what each queue act asks for. The session is a
real one on a real SQLite journal; codes are checked by the real MFA service
against a keyring backend chosen by configuration.
"""

from __future__ import annotations

from dataclasses import replace

import pyotp
import pytest

from pamtui.config import Config, OperatorConfig, ProviderConfig
from pamtui.journal import EntryFilter, Journal
from pamtui.model import QueueState
from pamtui.services import mfa
from pamtui.services.queue import FourEyesError, ReadOnlyError
from pamtui.services.revoke import PlanKind, RevokeError, StepUp
from pamtui.services.session import Session
from tests.fakes import StaticProvider
from tests.support.totp import enrol as enrol_in_store


def make_session(db_path, *, totp=False, four_eyes=False, read_only=False, operator="tester"):
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=totp, four_eyes_for_privileged=four_eyes),
    )
    provider = StaticProvider()
    session = Session(
        cfg,
        Journal.open(db_path),
        {"static": provider},
        read_only=read_only,
        db_path=db_path,
        operator=operator,
    )
    return session, provider


async def view_of(session, name):
    await session.inventory.sync()
    (view,) = [v for v in session.inventory.views.values() if v.account.name == name]
    return view


def enrol(db_path, operator="tester") -> pyotp.TOTP:
    return enrol_in_store(db_path, operator)


def journal_actions(session) -> list[str]:
    return [e.action for e in session.journal.entries(newest_first=False)]


# -- plans ----------------------------------------------------------------------


async def test_an_account_plan_revokes_every_live_credential_before_the_account(db_path):
    session, _ = make_session(db_path)
    plan = session.revocations.plan_account(await view_of(session, "bob"))
    assert plan.kind is PlanKind.ACCOUNT
    assert [(a.name, a.target_id) for a in plan.steps] == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
        ("deactivate_account", "u2"),
    ]
    assert plan.accounts == (("static", "u2"),) and plan.subject == "static:u2"
    assert not plan.four_eyes


async def test_a_plan_needs_every_credential_read(db_path):
    session, _ = make_session(db_path)
    view = replace(await view_of(session, "bob"), credentials_read=False)
    with pytest.raises(RevokeError, match="still being read"):
        session.revocations.plan_account(view)


async def test_an_inactive_credential_and_an_unknown_action_are_refused(db_path):
    session, provider = make_session(db_path)
    view = await view_of(session, "bob")
    with pytest.raises(RevokeError, match="does not apply here"):
        session.revocations.plan_account(view, action="delete_everything")
    await session.revocations.execute(
        session.revocations.submit(session.revocations.plan_account(view), "left")
    )
    view = await session.inventory.refresh_account(view.key)
    with pytest.raises(RevokeError, match="nothing to revoke"):
        session.revocations.plan_credential(view, view.credentials[0])


async def test_privileged_targets_are_four_eyes_by_policy(db_path):
    session, _ = make_session(db_path, four_eyes=True)
    assert session.revocations.plan_account(await view_of(session, "alice")).four_eyes
    assert not session.revocations.plan_account(await view_of(session, "bob")).four_eyes


# -- submitting -----------------------------------------------------------------------


async def test_submit_then_execute_runs_the_chosen_steps_in_plan_order(db_path):
    session, provider = make_session(db_path)
    plan = session.revocations.plan_account(await view_of(session, "bob"))
    token, _session_step, account = plan.steps
    # Chosen in reverse, one step deselected: the plan's order still holds.
    submission = session.revocations.submit(plan, "left the company", steps=[account, token])
    assert [i.action.target_id for i in submission.items] == ["t-bob-1", "u2"]
    assert {i.state for i in submission.items} == {QueueState.APPROVED}
    outcomes = await session.revocations.execute(submission)
    assert [o.ok for o in outcomes] == [True, True]
    assert provider.revoke_calls == [("revoke_token", "t-bob-1"), ("deactivate_account", "u2")]


async def test_a_step_not_in_the_plan_is_refused(db_path):
    session, _ = make_session(db_path)
    bob = session.revocations.plan_account(await view_of(session, "bob"))
    carol = session.revocations.plan_account(await view_of(session, "carol"))
    with pytest.raises(RevokeError, match="not a step of this plan"):
        session.revocations.submit(bob, "left", steps=[carol.steps[-1]])
    with pytest.raises(RevokeError, match="no step selected"):
        session.revocations.submit(bob, "left", steps=[])
    assert session.queue.items() == []


async def test_four_eyes_plans_wait_and_the_requester_cannot_approve(db_path):
    session, provider = make_session(db_path, four_eyes=True)
    plan = session.revocations.plan_account(await view_of(session, "alice"))
    submission = session.revocations.submit(plan, "owner on leave")
    assert submission.awaiting_approval and submission.runnable == ()
    assert await session.revocations.execute(submission) == []
    with pytest.raises(FourEyesError):
        await session.revocations.approve_and_run(submission.items[0].id)
    assert provider.revoke_calls == []


async def test_read_only_is_refused_before_a_code_is_asked_for(db_path, memory_keyring):
    session, provider = make_session(db_path, totp=True, read_only=True)
    plan = session.revocations.plan_account(await view_of(session, "bob"))
    with pytest.raises(ReadOnlyError):
        session.revocations.submit(plan, "left", code=None)
    with pytest.raises(ReadOnlyError):
        session.revocations.step_up("123456", what="anything")
    # Not even a refused step-up was journalled: nobody was asked.
    assert "stepup_failed" not in journal_actions(session)
    assert session.queue.items() == [] and provider.revoke_calls == []


# -- step-up ------------------------------------------------------------------------


async def test_step_up_comes_before_a_four_eyes_plan_is_staged(db_path, memory_keyring):
    """Where the TUI and CLI disagreed, the service does the stricter thing."""
    totp = enrol(db_path)
    session, provider = make_session(db_path, totp=True, four_eyes=True)
    plan = session.revocations.plan_account(await view_of(session, "alice"))
    assert plan.four_eyes
    with pytest.raises(mfa.StepUpError):
        session.revocations.submit(plan, "owner on leave", code=None)
    with pytest.raises(mfa.StepUpError):
        session.revocations.submit(plan, "owner on leave", code="000000")
    assert session.queue.items() == []
    failed = session.journal.entries(EntryFilter(action="stepup_failed"))
    assert len(failed) == 1  # the wrong code; a missing one is refused before the check
    submission = session.revocations.submit(plan, "owner on leave", code=totp.now())
    assert submission.awaiting_approval
    (ok,) = session.journal.entries(EntryFilter(action="stepup_ok"))
    assert ok.subject == "static:u1"
    assert provider.revoke_calls == []


async def test_every_queue_act_asks_for_step_up(db_path, memory_keyring):
    totp = enrol(db_path)
    session, provider = make_session(db_path, totp=True)
    view = await view_of(session, "bob")
    plan = session.revocations.plan_account(view)
    proof = session.revocations.step_up(totp.now(), what=plan.describe())
    items = session.queue.stage(plan.steps, "left", approve=False)  # staged, not approved
    refused = []
    for act in (
        lambda: session.revocations.approve(items[0].id, code="000000"),
        lambda: session.revocations.cancel(items[0].id, code=None),
    ):
        with pytest.raises(mfa.StepUpError):
            act()
        refused.append(session.queue.get(items[0].id).state)
    assert refused == [QueueState.STAGED, QueueState.STAGED]
    for coro in (
        session.revocations.run([items[0].id], code="000000"),
        session.revocations.run_pending(code=None),
    ):
        with pytest.raises(mfa.StepUpError):
            await coro
    assert provider.revoke_calls == []
    # One proof, one act: a second use is refused.
    session.revocations.submit(plan, "left", proof=proof)
    with pytest.raises(RevokeError, match="used already"):
        session.revocations.submit(plan, "left", proof=proof)


def test_a_step_up_proof_is_made_only_by_the_service():
    with pytest.raises(TypeError):
        StepUp("forged", object())


async def test_policies_stage_without_an_operator_code(db_path, memory_keyring):
    session, provider = make_session(db_path, totp=True)
    plan = session.revocations.plan_account(await view_of(session, "bob"))
    items = session.revocations.stage_for_policy(
        plan.steps, "policy stale: unused", actor="policy:stale", approve=False, privileged=False
    )
    assert {i.state for i in items} == {QueueState.STAGED}
    assert {i.requested_by for i in items} == {"policy:stale"}
