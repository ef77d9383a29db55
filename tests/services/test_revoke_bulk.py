"""Bulk acts on the queue (services/revoke_bulk.py), at the service level.

Each act (approve, run, approve-and-run, cancel many) keeps the one-item
rules: read-only first, an unknown ID refused before anything is done, one
step-up for the act, four eyes per item (an operator's own request inside a
selection is skipped, never approved), plan order per item. A real session
on a real SQLite journal; codes checked by the real MFA service.
"""

from __future__ import annotations

import pytest

from pamtui.journal import EntryFilter
from pamtui.model import QueueState
from pamtui.services import mfa
from pamtui.services.queue import ReadOnlyError
from pamtui.services.queue_store import NoSuchItem
from pamtui.services.revoke import RevokeError
from pamtui.services.revoke_bulk import BulkAct, NoSuchPlan
from tests.services.test_revoke_service import enrol, make_session, view_of

S = QueueState


async def sweep_items(session, names=("bob", "carol")):
    """What a policy stages: each account's plan, staged, not approved (as a sweep)."""
    items = []
    for name in names:
        plan = session.revocations.plan_account(await view_of(session, name))
        items += session.revocations.stage_for_policy(
            plan.steps, "policy stale", actor="policy:stale", approve=False, privileged=False
        )
    return items


def states(session, items):
    return [session.queue.get(i.id).state for i in items]


# -- approve many -------------------------------------------------------------------------


async def test_approving_many_approves_each_and_runs_nothing(db_path):
    session, provider = make_session(db_path)
    items = await sweep_items(session)
    assert len(items) == 5
    report = session.revocations.bulk.approve([i.id for i in items])
    assert states(session, items) == [S.APPROVED] * 5
    assert provider.revoke_calls == []  # approving is not executing
    assert [i.id for i in report.approved] == [i.id for i in items]
    assert report.skipped == () and report.outcomes == () and report.exit_code == 0
    assert report.summary() == "approved 5 items; nothing ran"
    approvals = session.journal.entries(EntryFilter(action="approve"))
    assert {e.actor for e in approvals} == {"tester"} and len(approvals) == 5


async def test_a_plan_is_approved_whole_and_its_settled_steps_are_left_alone(db_path):
    session, provider = make_session(db_path)
    bob = await sweep_items(session, ("bob",))
    carol = await sweep_items(session, ("carol",))
    session.revocations.bulk.cancel([bob[0].id])
    report = session.revocations.bulk.approve(plan=bob[0].plan_id)
    assert states(session, bob) == [S.CANCELLED, S.APPROVED, S.APPROVED]
    assert states(session, carol) == [S.STAGED, S.STAGED]  # another plan: untouched
    assert [s.item.id for s in report.left_alone] == [bob[0].id]
    assert report.skipped == () and report.exit_code == 0
    with pytest.raises(NoSuchPlan):
        session.revocations.bulk.approve(plan="nope")


async def test_my_own_four_eyes_request_inside_a_bulk_approve_is_skipped_never_approved(
    db_path,
):
    """The attacker's move: slip one's own privileged request into a selection."""
    session, provider = make_session(db_path, four_eyes=True)
    mine = session.revocations.submit(
        session.revocations.plan_account(await view_of(session, "alice")), "owner on leave"
    ).items
    assert {i.state for i in mine} == {S.AWAITING_APPROVAL}
    plan = session.revocations.plan_account(await view_of(session, "carol"))
    theirs = session.queue.stage(
        plan.steps, "left", actor="second-op", approve=True, four_eyes=True
    )
    asked = [i.id for i in (*mine, *theirs)]

    report = session.revocations.bulk.approve(asked)
    assert states(session, mine) == [S.AWAITING_APPROVAL] * len(mine)
    assert states(session, theirs) == [S.APPROVED] * len(theirs)
    assert [s.item.id for s in report.skipped] == [i.id for i in mine]
    assert all("four eyes" in s.why for s in report.skipped)
    assert report.exit_code == 1
    # By plan, and approve-and-run: still skipped, nothing of mine ran.
    by_plan = session.revocations.bulk.approve(plan=mine[0].plan_id)
    assert [s.item.id for s in by_plan.skipped] == [i.id for i in mine]
    run = await session.revocations.bulk.approve_and_run(asked)
    assert states(session, mine) == [S.AWAITING_APPROVAL] * len(mine)
    assert all(
        call[1] != "u1" and not call[1].startswith("t-alice") for call in provider.revoke_calls
    )
    assert {o.item.id for o in run.outcomes} == {i.id for i in theirs}
    approvers = {
        e.detail["item"]: e.actor for e in session.journal.entries(EntryFilter(action="approve"))
    }
    assert not set(approvers) & {i.id for i in mine}
    # A second operator approves it (the same service, another operator).
    session.queue.operator = "second-op"
    assert session.revocations.bulk.approve(asked).approved == tuple(
        session.queue.get(i.id) for i in mine
    )


async def test_confirming_my_own_staged_four_eyes_item_asks_for_a_second_operator(db_path):
    session, provider = make_session(db_path, four_eyes=True)
    plan = session.revocations.plan_account(await view_of(session, "alice"))
    items = session.queue.stage(plan.steps, "owner on leave", four_eyes=True)  # mine, staged
    report = await session.revocations.bulk.approve_and_run([i.id for i in items])
    assert states(session, items) == [S.AWAITING_APPROVAL] * len(items)
    assert report.approved == () and len(report.awaiting) == len(items)
    assert report.outcomes == () and provider.revoke_calls == []
    assert "now awaiting a second operator" in report.summary()


# -- approve and run, run ------------------------------------------------------------------


async def test_approve_and_run_keeps_plan_order_whatever_order_items_are_named(db_path):
    session, provider = make_session(db_path)
    items = await sweep_items(session, ("bob",))
    report = await session.revocations.bulk.approve_and_run([i.id for i in reversed(items)])
    assert states(session, items) == [S.VERIFIED] * 3
    assert provider.revoke_calls == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
        ("deactivate_account", "u2"),
    ]
    assert report.exit_code == 0 and len(report.outcomes) == 3


async def test_a_step_whose_earlier_step_is_not_approved_waits(db_path):
    session, provider = make_session(db_path)
    first, second, last = await sweep_items(session, ("bob",))
    report = await session.revocations.bulk.approve_and_run([last.id])
    assert session.queue.get(last.id).state is S.APPROVED  # approved, but held by plan order
    assert [o.waiting for o in report.outcomes] == [True]
    assert provider.revoke_calls == [] and report.exit_code == 0  # held, not failed
    assert "1 waiting for earlier steps" in report.summary()


async def test_running_many_runs_each_plan_and_reports_a_failure(db_path):
    session, provider = make_session(db_path)
    items = await sweep_items(session)
    session.revocations.bulk.approve([i.id for i in items])
    provider.fail_revoke["t-carol-1"] = "provider says no"
    staged = await sweep_items(session, ("svc-backup",))
    report = await session.revocations.bulk.run([i.id for i in (*items, *staged)])
    carol = [i for i in items if i.action.account_id == "u3"]
    bob = [i for i in items if i.action.account_id == "u2"]
    assert states(session, bob) == [S.VERIFIED] * 3
    assert session.queue.get(carol[0].id).state is S.FAILED
    assert states(session, staged) == [S.STAGED] * len(staged)  # not approved: skipped
    assert {s.item.id for s in report.skipped} == {i.id for i in staged}
    assert report.failed and report.exit_code == 1


# -- cancel many ---------------------------------------------------------------------------


async def test_cancel_many_cancels_the_pending_and_skips_the_settled(db_path):
    session, provider = make_session(db_path)
    bob = await sweep_items(session, ("bob",))
    await session.revocations.bulk.approve_and_run([bob[0].id])
    report = session.revocations.bulk.cancel([i.id for i in bob], why="false positive")
    assert states(session, bob) == [S.VERIFIED, S.CANCELLED, S.CANCELLED]
    assert [s.item.id for s in report.skipped] == [bob[0].id]
    assert "only pending items can be" in report.skipped[0].why
    assert report.exit_code == 1
    again = session.revocations.bulk.cancel([bob[1].id])
    assert again.done == () and again.exit_code == 2  # as typed, it fails again


# -- the rules before anything is done ------------------------------------------------------


async def test_an_unknown_id_is_refused_before_anything_is_done(db_path):
    session, provider = make_session(db_path)
    items = await sweep_items(session, ("bob",))
    with pytest.raises(NoSuchItem) as raised:
        session.revocations.bulk.approve([items[0].id, 999])
    assert raised.value.exit_code == 2
    assert states(session, items) == [S.STAGED] * 3


async def test_read_only_is_refused_before_a_code_is_asked_for(db_path, memory_keyring):
    writer, _ = make_session(db_path)
    items = await sweep_items(writer, ("bob",))
    writer.journal.close()
    session, provider = make_session(db_path, totp=True, read_only=True)
    for act in (session.revocations.bulk.approve, session.revocations.bulk.cancel):
        with pytest.raises(ReadOnlyError):
            act([i.id for i in items], code="123456")
    with pytest.raises(ReadOnlyError):
        await session.revocations.bulk.run([items[0].id])
    assert not session.journal.entries(EntryFilter(action="stepup_failed"))


async def test_one_step_up_covers_the_whole_act_and_a_wrong_code_changes_nothing(
    db_path,
    memory_keyring,
):
    totp = enrol(db_path)
    session, provider = make_session(db_path, totp=True)
    items = await sweep_items(session)
    ids = [i.id for i in items]
    with pytest.raises(mfa.StepUpError):
        session.revocations.bulk.approve(ids, code="000000")
    with pytest.raises(mfa.StepUpError):
        await session.revocations.bulk.approve_and_run(ids, code=None)
    assert states(session, items) == [S.STAGED] * 5
    preview = session.revocations.bulk.preview(BulkAct.APPROVE, ids)
    assert len(preview.done) == 5 and states(session, items) == [S.STAGED] * 5
    session.revocations.bulk.approve(ids, code=totp.now())
    assert states(session, items) == [S.APPROVED] * 5
    (ok,) = session.journal.entries(EntryFilter(action="stepup_ok"))
    assert ok.subject == "queue:" + ",".join(map(str, ids))
    assert provider.revoke_calls == []


async def test_nothing_applicable_asks_for_no_code(db_path, memory_keyring):
    enrol(db_path)
    session, provider = make_session(db_path, totp=True)
    items = await sweep_items(session, ("carol",))
    session.queue.approve(items[0].id)
    report = session.revocations.bulk.approve([items[0].id], code=None)
    assert report.exit_code == 2 and "cannot become approved" in report.skipped[0].why
    assert not session.journal.entries(EntryFilter(action="stepup_failed"))


async def test_a_bulk_step_up_serves_only_the_items_it_names(db_path):
    """The bulk acts reach each item through the one-item methods, with one proof."""
    session, provider = make_session(db_path)
    first, second, third = await sweep_items(session, ("bob",))
    proof = session.revocations.step_up(None, what="approve 1 item", items=[first.id])
    session.revocations.approve(first.id, proof=proof)
    with pytest.raises(RevokeError, match="does not cover"):
        session.revocations.approve(second.id, proof=proof)
    with pytest.raises(RevokeError, match="does not cover"):
        await session.revocations.run([first.id, third.id], proof=proof)
    plan = session.revocations.plan_account(await view_of(session, "carol"))
    with pytest.raises(RevokeError, match="used already"):  # never a submission's proof
        session.revocations.submit(plan, "left", proof=proof)
    assert states(session, [first, second, third]) == [S.APPROVED, S.STAGED, S.STAGED]
    assert provider.revoke_calls == []


# -- roles (services/roles.py) ----------------------------------------------------------


async def test_roles_hold_for_bulk_acts_before_anything_is_done(db_path):
    """An approver approves many; running them is an operator's; an auditor does neither."""
    from pamtui.services.roles import RoleRefused
    from tests.services.test_roles import ALICE, AUDITOR, BOB, session_as

    alice = session_as(db_path, ALICE)
    plan = alice.revocations.plan_account(await view_of(alice, "alice"))
    ids = [i.id for i in alice.revocations.submit(plan, "owner on leave").items]
    with pytest.raises(RoleRefused):  # an operator may not approve, one item or many
        alice.revocations.bulk.approve(ids)
    alice.journal.close()

    eve = session_as(db_path, AUDITOR)
    for act in (eve.revocations.bulk.approve, eve.revocations.bulk.cancel):
        with pytest.raises(RoleRefused):
            act(ids)
    eve.journal.close()

    bob = session_as(db_path, BOB)
    with pytest.raises(RoleRefused):  # approve-and-run: running is not an approver's
        await bob.revocations.bulk.approve_and_run(ids)
    assert {bob.queue.get(i).state for i in ids} == {S.AWAITING_APPROVAL}  # nothing half-done
    report = bob.revocations.bulk.approve(ids)
    assert [i.id for i in report.approved] == ids
    refused = [
        (e.actor, e.detail["act"]) for e in bob.journal.entries(EntryFilter(action="refused"))
    ]
    bob.journal.close()
    assert ("bob", "approve") not in refused and ("bob", "execute") in refused
