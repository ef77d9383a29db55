"""The revocation queue: states, journal-before-side-effect, verification, read-only."""

from __future__ import annotations

import pytest

from pamtui.journal import Journal
from pamtui.model import QueueState
from pamtui.services.queue import QueueError, ReadOnlyError, RevocationQueue, plan_for_account


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
    assert not again.ok and "not executable" in again.message
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
