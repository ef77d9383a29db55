"""The revocation queue: states, journal-before-side-effect, verification, read-only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pamtui.journal import Journal
from pamtui.model import QueueState
from pamtui.services.queue import (
    FourEyesError,
    QueueError,
    ReadOnlyError,
    RevocationQueue,
    plan_for_account,
)


def _credential(provider, cred_id):
    return provider.credentials[cred_id]


async def test_revoke_goes_staged_to_verified_and_is_journalled(static_session, static_provider):
    queue = static_session.queue
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    (item,) = queue.stage([action], "leaked on a pastebin", approve=True)
    assert item.state is QueueState.APPROVED
    outcome = await queue.execute(item.id)
    assert outcome.ok and outcome.item.state is QueueState.VERIFIED
    actions = [e.action for e in static_session.journal.entries(newest_first=False)]
    assert actions == ["stage", "approve", "execute", "revoked", "verified"]
    assert static_session.journal.verify().ok
    assert static_provider.revoke_calls == [("revoke_token", "t-bob-1")]


async def test_verification_contradicting_the_provider_is_loud(static_session, static_provider):
    static_provider.fail_verify.add("t-bob-1")
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    (item,) = static_session.queue.stage([action], "leak", approve=True)
    outcome = await static_session.queue.execute(item.id)
    assert not outcome.ok
    assert outcome.item.state is QueueState.FAILED
    assert "VERIFICATION FAILED" in outcome.item.last_error
    assert static_session.journal.entries(limit=1)[0].action == "verify_failed"


async def test_provider_error_fails_with_its_message(static_session, static_provider):
    static_provider.fail_revoke["t-bob-1"] = "403 insufficient scope"
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    (item,) = static_session.queue.stage([action], "leak", approve=True)
    outcome = await static_session.queue.execute(item.id)
    assert outcome.item.state is QueueState.FAILED
    assert outcome.item.last_error == "403 insufficient scope"


async def test_journal_unavailable_means_no_provider_call(static_session, static_provider, db_path):
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    (item,) = static_session.queue.stage([action], "leak", approve=True)
    read_only = RevocationQueue(
        Journal.open(db_path, read_only=True), {"static": static_provider}, "tester"
    )
    outcome = await read_only.execute(item.id)
    assert not outcome.ok and "not executed" in outcome.message
    assert static_provider.revoke_calls == []
    assert static_session.queue.get(item.id).state is QueueState.APPROVED


async def test_an_item_is_executed_once(static_session, static_provider):
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    (item,) = static_session.queue.stage([action], "leak", approve=True)
    await static_session.queue.execute(item.id)
    again = await static_session.queue.execute(item.id)
    assert not again.ok and again.skipped and not again.failed
    assert "verified already" in again.message
    assert len(static_provider.revoke_calls) == 1


def test_plan_revokes_credentials_before_the_account(static_provider):
    account = static_provider.accounts["u2"]
    creds = [c for c in static_provider.credentials.values() if c.account_id == "u2"]
    plan = plan_for_account(static_provider, account, creds)
    assert [a.name for a in plan] == ["revoke_token", "revoke_token", "deactivate_account"]


def test_reason_required_and_cancel(static_session, static_provider):
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    with pytest.raises(QueueError, match="reason"):
        static_session.queue.stage([action], "   ")
    (item,) = static_session.queue.stage([action], "leak")
    assert item.state is QueueState.STAGED
    cancelled = static_session.queue.cancel(item.id)
    assert cancelled.state is QueueState.CANCELLED
    with pytest.raises(QueueError):
        static_session.queue.approve(item.id)


def test_read_only_queue_refuses_everything(static_session, static_provider):
    queue = RevocationQueue(
        static_session.journal, {"static": static_provider}, "t", read_only=True
    )
    action = static_provider.revoke_actions(_credential(static_provider, "t-bob-1"))[0]
    with pytest.raises(ReadOnlyError):
        queue.stage([action], "leak")


# -- leases, recovery, four eyes, concurrency ------------------------------------


def _stage_bob(session, provider, **kw):
    action = provider.revoke_actions(provider.credentials["t-bob-1"])[0]
    return session.queue.stage([action], "leak", **kw)[0]


def test_four_eyes_needs_a_second_operator(static_session, static_provider):
    item = _stage_bob(static_session, static_provider, approve=True, four_eyes=True)
    assert item.state is QueueState.AWAITING_APPROVAL
    with pytest.raises(FourEyesError, match="second operator"):
        static_session.queue.approve(item.id, actor="tester")
    approved = static_session.queue.approve(item.id, actor="second-op")
    assert approved.state is QueueState.APPROVED and approved.approved_by == "second-op"
    actions = [(e.action, e.actor) for e in static_session.journal.entries(newest_first=False)]
    assert actions[-2:] == [("request_approval", "tester"), ("approve", "second-op")]


def test_pending_approvals_expire(static_session, static_provider):
    item = _stage_bob(static_session, static_provider, approve=True, four_eyes=True)
    queue = static_session.queue
    assert queue.expire_approvals() == []  # fresh: still waiting
    later = datetime.now(UTC) + queue.approval_ttl + timedelta(minutes=1)
    (expired,) = queue.expire_approvals(now=later)
    assert expired.id == item.id and expired.state is QueueState.CANCELLED
    entry = static_session.journal.entries(limit=1)[0]
    assert (entry.action, entry.actor) == ("approval_expired", "system")


def test_a_held_lease_cannot_be_claimed_until_it_expires(static_session, static_provider, db_path):
    item = _stage_bob(static_session, static_provider, approve=True)
    first = static_session.queue.claim(item.id)
    assert first.state is QueueState.EXECUTING and first.lease_owner
    other = RevocationQueue(Journal.open(db_path), {"static": static_provider}, "other-op")
    assert other.claim(item.id) is None  # the lease is live
    later = datetime.now(UTC) + static_session.queue.lease + timedelta(seconds=1)
    taken = other.claim(item.id, now=later)
    assert taken.lease_owner == other.instance and taken.attempts == 2
    assert static_session.journal.entries(limit=1)[0].action == "reclaim"


async def test_recovery_verifies_first_and_does_not_repeat(
    static_session, static_provider, db_path
):
    item = _stage_bob(static_session, static_provider, approve=True)
    claimed = static_session.queue.claim(item.id)
    # The process "dies" after the provider acted but before journalling it.
    await static_provider.revoke(claimed.action, claimed.idempotency_key)
    assert len(static_provider.revoke_calls) == 1
    survivor = RevocationQueue(Journal.open(db_path), {"static": static_provider}, "tester")
    later = datetime.now(UTC) + survivor.lease + timedelta(seconds=1)
    (outcome,) = await survivor.recover(now=later)
    assert outcome.ok and outcome.item.state is QueueState.VERIFIED
    assert len(static_provider.revoke_calls) == 1  # verified first: no second revoke
    revoked = next(e for e in survivor.journal.entries() if e.action == "revoked")
    assert revoked.detail["recovered"] is True
    assert survivor.journal.verify().ok


async def test_recovery_revokes_again_when_nothing_happened(
    static_session, static_provider, db_path
):
    item = _stage_bob(static_session, static_provider, approve=True)
    static_session.queue.claim(item.id)  # died before calling the provider
    survivor = RevocationQueue(Journal.open(db_path), {"static": static_provider}, "tester")
    later = datetime.now(UTC) + survivor.lease + timedelta(seconds=1)
    (outcome,) = await survivor.recover(now=later)
    assert outcome.ok and static_provider.revoke_calls == [("revoke_token", "t-bob-1")]


async def test_revoked_but_unverified_items_are_verified_on_recovery(
    static_session, static_provider
):
    item = _stage_bob(static_session, static_provider, approve=True)
    queue = static_session.queue
    claimed = queue.claim(item.id)
    result = await static_provider.revoke(claimed.action, claimed.idempotency_key)
    queue._record_revoked(claimed, already_done=False, detail="", response=result.provider_response)
    later = datetime.now(UTC) + queue.lease + timedelta(seconds=1)
    (outcome,) = await queue.recover(now=later)
    assert outcome.ok and outcome.item.state is QueueState.VERIFIED


async def test_a_slow_provider_does_not_hold_up_another(db_path):
    import asyncio

    from tests.fakes import StaticProvider

    class SlowProvider(StaticProvider):
        async def revoke(self, action, idempotency_key):
            await asyncio.sleep(0.5)
            return await super().revoke(action, idempotency_key)

    slow, fast = SlowProvider("slow"), StaticProvider("fast")
    journal = Journal.open(db_path)
    queue = RevocationQueue(
        journal, {"slow": slow, "fast": fast}, "tester", concurrency_per_provider=1
    )
    items = []
    for provider in (slow, fast):
        for cred_id in ("t-bob-1", "t-bob-2", "t-carol-1"):
            action = provider.revoke_actions(provider.credentials[cred_id])[0]
            items += queue.stage([action], "leak", approve=True)
    outcomes = await queue.run([i.id for i in items])
    assert all(o.ok for o in outcomes)
    verified = [e.provider for e in journal.entries(newest_first=False) if e.action == "verified"]
    assert verified[:3] == ["fast", "fast", "fast"]  # done while the slow one was still busy


async def test_a_long_provider_call_keeps_its_lease(static_session, static_provider, db_path):
    import asyncio

    queue = RevocationQueue(
        static_session.journal, {"static": static_provider}, "tester", lease=timedelta(seconds=0.6)
    )
    item = _stage_bob(static_session, static_provider, approve=True)
    claimed = queue.claim(item.id)
    before = claimed.lease_until

    async def slow_call():
        await asyncio.sleep(0.5)  # longer than a third of the lease
        return queue.get(item.id).lease_until

    during = await queue._under_lease(claimed, slow_call())
    assert during > before  # the heartbeat renewed it mid-call
