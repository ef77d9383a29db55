"""Roles are enforced by the services (services/roles.py), whatever front end asks.

Real sessions on a real SQLite journal; each refusal is journalled as
``refused`` and raised as one line. Identity (services/identity.py) is the
real uid's OS account, never ``USER``/``LOGNAME``.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from pamtui.config import Config, ConfigError, OperatorConfig, ProviderConfig, parse
from pamtui.journal import Journal
from pamtui.model import ROLES, Actor, QueueState
from pamtui.services import identity
from pamtui.services.roles import Act, RoleRefused, allows
from pamtui.services.session import Session
from tests.fakes import StaticProvider


def session_as(db_path: Path, actor: Actor, *, four_eyes: bool = True) -> Session:
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(four_eyes_for_privileged=four_eyes),
    )
    return Session(
        cfg,
        Journal.open(db_path),
        {"static": StaticProvider()},
        read_only=False,
        db_path=db_path,
        operator=actor.name,
        actor=actor,
    )


async def view_of(session: Session, name: str):
    await session.inventory.sync()
    (view,) = [v for v in session.inventory.views.values() if v.account.name == name]
    return view


ALICE = Actor("alice", "SHA256:alicekey", frozenset({"operator"}), "ssh")
BOB = Actor("bob", "SHA256:bobkey", frozenset({"approver"}), "ssh")
CAROL = Actor("carol", "SHA256:carolkey", frozenset({"admin"}), "ssh")
AUDITOR = Actor("eve", "SHA256:evekey", frozenset(), "ssh")


def test_each_role_allows_only_its_acts():
    assert allows(ALICE, Act.STAGE) and allows(ALICE, Act.EXECUTE)
    assert not allows(ALICE, Act.APPROVE) and not allows(ALICE, Act.POLICY)
    assert allows(BOB, Act.APPROVE) and not allows(BOB, Act.STAGE)
    assert not allows(BOB, Act.EXECUTE) and not allows(BOB, Act.POLICY)
    assert allows(CAROL, Act.POLICY) and not allows(CAROL, Act.STAGE)
    assert not any(allows(AUDITOR, act) for act in Act)


async def test_operator_stages_approver_approves_and_the_journal_names_both_keys(db_path):
    alice = session_as(db_path, ALICE)
    plan = alice.revocations.plan_account(await view_of(alice, "alice"))
    submission = alice.revocations.submit(plan, "owner on leave")
    assert submission.awaiting_approval
    first = min(i.id for i in submission.items)
    with pytest.raises(RoleRefused, match="alice may not approve"):
        alice.revocations.approve(first)
    alice.journal.close()

    bob = session_as(db_path, BOB)
    await bob.inventory.sync()
    with pytest.raises(RoleRefused, match="bob may not stage"):
        bob.revocations.submit(bob.revocations.plan_account(await view_of(bob, "bob")), "x")
    with pytest.raises(RoleRefused, match="bob may not execute"):
        await bob.revocations.approve_and_run(first)  # approving, yes; running, no
    item = bob.revocations.approve(first)
    assert item.approved_by == "bob" and item.state is QueueState.APPROVED
    bob.journal.close()

    alice = session_as(db_path, ALICE)
    outcomes = await alice.revocations.run([first])
    assert outcomes and all(o.ok for o in outcomes)
    entries = list(alice.journal.entries(newest_first=False))
    alice.journal.close()
    stage = next(e for e in entries if e.action == "stage")
    approve = next(e for e in entries if e.action == "approve")
    assert (stage.actor, stage.detail["key"]) == ("alice", "SHA256:alicekey")
    assert (approve.actor, approve.detail["key"]) == ("bob", "SHA256:bobkey")
    refusals = [(e.actor, e.detail["act"]) for e in entries if e.action == "refused"]
    assert refusals == [("alice", "approve"), ("bob", "stage"), ("bob", "execute")]
    assert Journal.open(db_path, read_only=True).verify().ok


async def test_an_auditor_cannot_stage_run_or_cancel(db_path):
    alice = session_as(db_path, ALICE, four_eyes=False)
    submission = alice.revocations.submit(
        alice.revocations.plan_account(await view_of(alice, "bob")), "left"
    )
    ids = [i.id for i in submission.items]
    alice.journal.close()
    eve = session_as(db_path, AUDITOR, four_eyes=False)
    with pytest.raises(RoleRefused):
        await eve.revocations.run(ids)
    with pytest.raises(RoleRefused):
        eve.revocations.cancel(ids[0])
    with pytest.raises(RoleRefused):
        await eve.revocations.run_pending()
    assert {i.state for i in eve.queue.items()} == {QueueState.APPROVED}
    eve.journal.close()


# -- identity -------------------------------------------------------------------------


def test_local_identity_is_the_real_uid_not_the_environment(monkeypatch):
    monkeypatch.setenv("USER", "mallory")
    monkeypatch.setenv("LOGNAME", "mallory")
    actor = identity.local_actor(parse({}, None))
    assert actor.name == pwd.getpwuid(os.getuid()).pw_name != "mallory"
    assert actor.via == "local" and actor.key_fingerprint is None
    assert actor.roles == frozenset(ROLES)  # no [[operators]]: one operator, every role


def test_operators_table_gives_roles_and_the_unlisted_none():
    me = identity.os_account()
    cfg = parse({"operators": [{"name": me, "roles": ["approver"]}]}, None)
    assert identity.local_actor(cfg).roles == {"approver"}
    other = parse({"operators": [{"name": "someone-else", "roles": ["admin"]}]}, None)
    assert identity.local_actor(other).roles == frozenset()


@pytest.mark.parametrize(
    ("operators", "message"),
    [
        ({"name": "a"}, r"operators\[0\]\.roles: expected a non-empty list"),
        ({"name": "a", "roles": ["root"]}, r"operators\[0\]\.roles"),
        ({"name": "", "roles": ["admin"]}, r"operators\[0\]\.name"),
        ({"name": "a", "roles": ["admin"], "pw": "x"}, r"operators\[0\]\.pw: unknown key"),
    ],
)
def test_a_bad_operators_table_names_the_key(operators, message):
    with pytest.raises(ConfigError, match=message):
        parse({"operators": [operators]}, Path("/etc/pamtui/config.toml"))


def test_a_name_listed_twice_is_refused():
    twice = [{"name": "a", "roles": ["admin"]}, {"name": "a", "roles": ["operator"]}]
    with pytest.raises(ConfigError, match="listed twice"):
        parse({"operators": twice}, None)


def test_the_identity_pipe_round_trips_and_refuses_garbage():
    assert identity.decode(identity.encode(ALICE)) == ALICE
    for bad in (b"", b"{}", b'{"name": "a", "key": null, "roles": ["root"], "via": "ssh"}'):
        with pytest.raises(identity.IdentityError):
            identity.decode(bad)


async def test_a_review_decision_is_an_operators(db_path):
    from pamtui.services.review import ReviewService

    alice = session_as(db_path, ALICE)
    await alice.inventory.sync()
    campaign = ReviewService.for_session(alice).start(
        "all", alice.inventory.rows(), actor="alice", providers=alice.providers
    )  # starting one is an operator's too (tests/services/test_roles_triage_writes.py)
    alice.journal.close()
    bob = session_as(db_path, BOB)
    with pytest.raises(RoleRefused, match="bob may not stage"):
        ReviewService.for_session(bob).decide(campaign.id, 1, "keep", "on call", reviewer="bob")
    bob.journal.close()
    alice = session_as(db_path, ALICE)
    await alice.inventory.sync()
    kept = ReviewService.for_session(alice).decide(
        campaign.id, 1, "keep", "on call", reviewer="alice"
    )
    assert kept.decision == "keep"
    alice.journal.close()
