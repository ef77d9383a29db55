"""Plan order is the queue's guarantee, whoever asks (issue: nothing out of order).

A de-provisioning plan revokes every live token, key and session, then ends
the account. Each test here is a route that once ran a later step first:
the TUI's ``x`` on the last step, ``queue approve`` in reverse order, a
second process while an earlier step is in doubt, and recovery. Each passes
only because ``RevocationQueue.claim`` refuses a step whose earlier steps are
not verified.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pamtui.model import QueueState
from pamtui.services.holder import Holder, owner_is_dead, process_start
from pamtui.services.queue import PlanOrderError
from pamtui.services.session import Session
from pamtui.tui.widgets.queue import QueueTable
from tests.e2e.test_queue_processes import (
    PROVIDER,
    _privileged_account,
    actor_of,
    background,
    items,
    pamtui,
    provider_calls,
    states,
    write_config,
)
from tests.fakes import StaticProvider
from tests.tui.test_tui import SIZE, make_app, settle

# -- in one process ------------------------------------------------------------------


def _bob_plan(session, provider: StaticProvider):
    from pamtui.services.queue import plan_for_account

    account = provider.accounts["u2"]
    creds = [c for c in provider.credentials.values() if c.account_id == "u2"]
    return plan_for_account(provider, account, creds)


async def test_the_last_step_cannot_start_before_the_earlier_ones(static_session, static_provider):
    queue = static_session.queue
    steps = queue.stage(_bob_plan(static_session, static_provider), "left", approve=True)
    last = steps[-1]
    assert last.action.name == "deactivate_account"
    with pytest.raises(PlanOrderError, match=r"waits for #1 \(approved\), #2 \(approved\)"):
        queue.claim(last.id)
    outcome = await queue.execute(last.id)
    assert outcome.waiting and not outcome.failed and not outcome.ok
    assert static_provider.revoke_calls == []
    assert queue.get(last.id).state is QueueState.APPROVED


async def test_running_a_later_step_runs_its_plan_up_to_it_in_order(
    static_session, static_provider
):
    queue = static_session.queue
    steps = queue.stage(_bob_plan(static_session, static_provider), "left", approve=True)
    outcomes = await queue.run([steps[-1].id])
    assert [o.item.id for o in outcomes] == [s.id for s in steps]
    assert all(o.ok for o in outcomes)
    assert static_provider.revoke_calls == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
        ("deactivate_account", "u2"),
    ]


async def test_a_failed_step_holds_the_rest_and_cancelling_it_releases_them(
    static_session, static_provider
):
    static_provider.fail_revoke["t-bob-2"] = "503 from the provider"
    queue = static_session.queue
    steps = queue.stage(_bob_plan(static_session, static_provider), "left", approve=True)
    outcomes = await queue.run([s.id for s in steps])
    assert [(o.ok, o.waiting) for o in outcomes] == [(True, False), (False, False), (False, True)]
    assert "waits for #2 (failed)" in outcomes[-1].message
    assert ("deactivate_account", "u2") not in static_provider.revoke_calls
    queue.cancel(steps[1].id, why="the session ends by itself")
    (last,) = await queue.run([steps[-1].id])
    assert last.ok and static_provider.revoke_calls[-1] == ("deactivate_account", "u2")


async def test_x_on_a_plans_last_step_in_the_tui_runs_the_plan_in_order(db_path):
    """Staged approved by a review decision; the operator presses x on the last row."""
    provider = StaticProvider()
    app = make_app(db_path, provider)
    steps = app.session.queue.stage(_bob_plan(app.session, provider), "review #1", approve=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(QueueTable)
        await pilot.press("4")
        # newest first: the account step (the plan's last) is the top row
        table.move_cursor(row=0)
        await pilot.pause()
        assert table.selected_id == steps[-1].id
        await pilot.press("x")
        await settle(app, pilot)
        assert [app.session.queue.get(s.id).state for s in steps] == [QueueState.VERIFIED] * 3
    assert provider.revoke_calls == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
        ("deactivate_account", "u2"),
    ]


# -- across processes, through the installed program ------------------------------------


def _call_order(db: Path, rows: dict[int, dict]) -> list[int]:
    """Item ids in the order the provider saw their revoke calls."""
    by_target = {row["target_id"]: item_id for item_id, row in rows.items()}
    return [by_target[c["target"]] for c in provider_calls(db) if c["result"] == "ok"]


def test_queue_approve_in_reverse_order_never_ends_the_account_first(tmp_path):
    alice = write_config(tmp_path / "alice.toml", "ops-alice", four_eyes=True)
    bob = write_config(tmp_path / "bob.toml", "ops-bob", four_eyes=True)
    db = tmp_path / "data" / "pamtui.db"
    account = _privileged_account(alice, db)
    staged = pamtui(
        alice, db, "revoke", "--provider", PROVIDER, "--account", account["name"],
        "--reason", "privileged, owner left", "--yes",
    )  # fmt: skip
    assert staged.returncode == 0, staged.stderr
    rows = items(db)
    order = sorted(rows, key=lambda i: (rows[i]["step_order"], i))
    assert len(order) >= 2, "the plan needs a credential step and the account step"

    last = order[-1]
    approved = pamtui(bob, db, "queue", "approve", str(last), "--run")
    assert approved.returncode == 0, (approved.stdout, approved.stderr)
    assert f"#{last} waits for #{order[0]} (awaiting_approval)" in approved.stdout
    assert states(db)[last] == "approved"
    assert provider_calls(db) == []  # the account was not ended first

    for item_id in order[:-1]:
        assert pamtui(bob, db, "queue", "approve", str(item_id)).returncode == 0
    run = pamtui(bob, db, "queue", "run")
    assert run.returncode == 0, (run.stdout, run.stderr)
    final = items(db)
    assert {row["state"] for row in final.values()} == {"verified"}
    assert _call_order(db, final)[-1] == last


def test_a_step_in_doubt_held_by_a_live_process_blocks_the_rest_and_is_listed(tmp_path):
    """Issue: queue run ran step 2 while step 1 was still executing elsewhere."""
    alice = write_config(tmp_path / "alice.toml", "ops-alice", latency_ms=2500)
    db = tmp_path / "data" / "pamtui.db"

    async def stage() -> list[int]:
        session = Session.open(config_path=str(alice), db_path=str(db), actor=actor_of(alice))
        try:
            views = await session.inventory.sync()
            view = min(
                (
                    v
                    for v in views
                    if v.account.provider == PROVIDER
                    and sum(c.status == "active" for c in v.credentials) == 1
                ),
                key=lambda v: v.account.name,
            )
            plan = session.revocations.plan_account(view)
            submission = session.revocations.submit(plan, "left the company")
            return [i.id for i in submission.items]
        finally:
            await session.aclose()

    ids = asyncio.run(stage())
    assert len(ids) == 2
    first, second = ids
    with background(alice, db, "queue", "run", logs=tmp_path / "first") as runner:
        deadline = time.monotonic() + 30
        while states(db)[first] != "executing":
            assert runner.poll() is None and time.monotonic() < deadline
            time.sleep(0.02)
        other = pamtui(alice, db, "queue", "run")
        assert runner.poll() is None, "the first runner ended too soon: the test saw nothing"
        assert other.returncode == 0, (other.stdout, other.stderr)
        assert f"#{first} executing: held by pid {runner.pid} on " in other.stdout
        assert "which is alive; its lease ends " in other.stdout
        assert f"#{second} waits for #{first} (executing)" in other.stdout
        assert states(db)[second] == "approved"
        assert runner.wait(timeout=60) == 0
    final = items(db)
    assert {row["state"] for row in final.values()} == {"verified"}
    assert _call_order(db, final) == [first, second]


# -- who holds a lease ---------------------------------------------------------------------


def test_a_lease_names_this_process_and_its_start_time():
    me = Holder.current()
    assert me.pid == os.getpid() and me.start == process_start(os.getpid())
    owner = me.lease_owner()
    assert Holder.parse(owner) == me
    assert not owner_is_dead(owner)


def test_a_killed_process_is_provably_dead_and_a_reused_pid_too():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        holder = Holder(Holder.current().host, child.pid, process_start(child.pid) or "")
        assert holder.start and not holder.is_dead()
        reused = Holder(holder.host, child.pid, str(int(holder.start) - 1))
        assert reused.is_dead()  # same pid, another start time: not the holder
        child.kill()
        # Killed, not yet reaped (a zombie, or on its way): dead once the kernel says so.
        deadline = time.monotonic() + 10
        while not holder.is_dead():
            assert time.monotonic() < deadline, "a killed child still looks alive"
            time.sleep(0.01)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert holder.is_dead()


def test_holders_that_cannot_be_proven_dead_are_presumed_alive():
    me = Holder.current()
    elsewhere = Holder("another-host", 999_999, "1")
    assert not elsewhere.is_dead()  # no way to look at another host's processes
    old_format = f"{me.host}:{me.pid}:abc123"  # a lease written before start times
    assert Holder.parse(old_format) == Holder(me.host, me.pid, "")
    assert not owner_is_dead(old_format)
    assert owner_is_dead(f"{me.host}:999999999:1:abc123")  # no such pid here
    assert not owner_is_dead("garbage") and not owner_is_dead("")
