"""Linking people and starting reviews are an operator's (services/roles.py).

A manual link decides whose accounts an offboarding takes; a review campaign
decides what gets decided. Both were writable by any role (an approver, or a
session built for an auditor): each route is tried here on a real journal,
the service call, the command line and the TUI key.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import Actor
from pamtui.services.review import ReviewService
from pamtui.services.review_model import Scope
from pamtui.services.review_start import start_campaign
from pamtui.services.roles import RoleRefused
from pamtui.services.session import Session

ME = pwd.getpwuid(os.getuid()).pw_name
LUCIA = "E1111"  # the demo's departed employee
OPERATOR = Actor("alice", "SHA256:alicekey", frozenset({"operator"}), "ssh")
APPROVER = Actor("bob", "SHA256:bobkey", frozenset({"approver"}), "ssh")
AUDITOR = Actor("eve", "SHA256:evekey", frozenset(), "ssh")


def demo_session(db_path: Path, actor: Actor) -> Session:
    """A writable session (as a bastion child opens it for a role) on the demo org."""
    return Session(
        demo_config(),
        Journal.open(db_path),
        {},
        read_only=False,
        db_path=db_path,
        operator=actor.name,
        actor=actor,
    )


async def _lucia_and_an_account(session: Session):
    from pamtui.services.session import build_providers

    session.providers.update(build_providers(session.config, session.db_path.parent))
    await session.inventory.sync()
    corr = await session.people.refresh(session.inventory.rows())
    person = corr.find(LUCIA)
    account = next(
        v.account for v in session.inventory.views.values() if v.account.provider == "demo-git"
    )
    return person, account


def refusals(db_path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT actor, subject, detail FROM entries WHERE action = 'refused'"
        ).fetchall()
    return [(actor, subject, json.loads(detail)["act"]) for actor, subject, detail in rows]


def links(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM person_links").fetchone()[0])


def campaigns(db_path: Path) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute("SELECT count(*) FROM review_campaigns").fetchone()[0])


# -- the service ----------------------------------------------------------------------


@pytest.mark.parametrize("actor", [APPROVER, AUDITOR], ids=["approver", "auditor"])
async def test_only_an_operator_links_or_unlinks_a_person(db_path, actor):
    session = demo_session(db_path, actor)
    person, account = await _lucia_and_an_account(session)
    with pytest.raises(RoleRefused, match=f"{actor.name} may not link") as refused:
        session.people.link(actor.name, person, account, "looks like her")
    assert "\n" not in str(refused.value) and "operator role" in str(refused.value)
    with pytest.raises(RoleRefused, match=f"{actor.name} may not link"):
        session.people.unlink(actor.name, person, account, "not hers")
    await session.aclose()
    assert links(db_path) == 0
    assert refusals(db_path) == [(actor.name, f"person:{LUCIA}", "link")] * 2

    alice = demo_session(db_path, OPERATOR)
    person, account = await _lucia_and_an_account(alice)
    alice.people.link("alice", person, account, "SAML identity checked")
    alice.people.unlink("alice", person, account, "wrong person after all")
    await alice.aclose()
    assert links(db_path) == 1  # the unlink row
    assert Journal.open(db_path, read_only=True).verify().ok


@pytest.mark.parametrize("actor", [APPROVER, AUDITOR], ids=["approver", "auditor"])
async def test_only_an_operator_starts_a_review(db_path, actor):
    session = demo_session(db_path, actor)
    await _lucia_and_an_account(session)
    rows = session.inventory.rows()
    with pytest.raises(RoleRefused, match=f"{actor.name} may not start an access review"):
        start_campaign(session, Scope.parse("all", session.providers), rows)
    with pytest.raises(RoleRefused, match=f"{actor.name} may not start an access review"):
        ReviewService.for_session(session).start("privileged", rows, actor=actor.name)
    await session.aclose()
    assert campaigns(db_path) == 0
    assert refusals(db_path) == [
        (actor.name, "review:all", "review"),
        (actor.name, "review:privileged", "review"),
    ]

    alice = demo_session(db_path, OPERATOR)
    await _lucia_and_an_account(alice)
    campaign = start_campaign(
        alice, Scope.parse("privileged", alice.providers), alice.inventory.rows()
    )
    assert campaign.created_by == "alice"
    await alice.aclose()


async def test_a_review_service_without_revocations_still_checks_the_role(db_path):
    """Keep and defer need no queue; the role check must not hang on one."""
    session = demo_session(db_path, OPERATOR)
    await _lucia_and_an_account(session)
    campaign = ReviewService.for_session(session).start(
        "all", session.inventory.rows(), actor="alice"
    )
    await session.aclose()
    bob = demo_session(db_path, APPROVER)
    bare = ReviewService(bob.journal, guard=bob.guard)
    with pytest.raises(RoleRefused, match="bob may not"):
        bare.decide(campaign.id, 1, "keep", "on call", reviewer="bob")
    with pytest.raises(RoleRefused, match="bob may not start"):
        bare.start("all", [], actor="bob")
    await bob.aclose()


# -- the command line -----------------------------------------------------------------


def _config_as(tmp_path: Path, role: str) -> Path:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[[operators]]\nname = "{ME}"\nroles = ["{role}"]\n\n'
        + "".join(
            f'[[providers]]\nname = "demo-{s}"\ntype = "demo"\nsystem = "{s}"\nlatency_ms = 0\n\n'
            for s in ("idp", "git", "cloud")
        ),
        encoding="utf-8",
    )
    return cfg


@pytest.mark.parametrize(
    "argv",
    [
        ("people", "link", LUCIA, "demo-git", "lucia-castillo-acme", "--reason", "r"),
        ("people", "unlink", LUCIA, "demo-git", "lucia-castillo-acme", "--reason", "r"),
        ("review", "start", "--scope", "privileged"),
    ],
    ids=["link", "unlink", "review-start"],
)
def test_an_approver_is_refused_on_the_command_line(tmp_path, capsys, argv):
    cfg, db = _config_as(tmp_path, "approver"), tmp_path / "pamtui.db"
    code = main([*argv, "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and "needs the operator role" in err and "Traceback" not in err
    assert links(db) == 0 and campaigns(db) == 0
    assert [(actor, act) for actor, _, act in refusals(db)] == [
        (ME, "review" if argv[0] == "review" else "link")
    ]
    assert Journal.open(db, read_only=True).verify().ok


def test_an_operator_links_and_starts_on_the_command_line(tmp_path, capsys):
    cfg, db = _config_as(tmp_path, "operator"), tmp_path / "pamtui.db"
    where = ("--config", str(cfg), "--db", str(db))
    link = ("people", "link", LUCIA, "demo-git", "lucia-castillo-acme", "--reason", "r")
    assert main([*link, *where]) == 0, capsys.readouterr()
    assert main(["review", "start", "--scope", "privileged", *where]) == 0, capsys.readouterr()
    assert links(db) == 1 and campaigns(db) == 1 and refusals(db) == []


# -- the TUI (Pilot) ------------------------------------------------------------------


async def test_an_approver_pressing_v_starts_no_review(db_path):
    from pamtui.services.session import build_providers
    from pamtui.tui.app import PamtuiApp
    from pamtui.tui.screens.main import MainScreen
    from pamtui.tui.screens.review_start import StartReviewDialog, start_review
    from tests.tui.test_tui import settle
    from tests.tui.test_tui_commands import SIZE

    session = demo_session(db_path, APPROVER)
    session.providers.update(build_providers(session.config, db_path.parent))
    app = PamtuiApp(session, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, MainScreen)
        assert screen.check_action("start_review", ()) is False
        await pilot.press("V")
        await pilot.pause(0.2)
        assert isinstance(app.screen, MainScreen)  # no dialog
        # Past the hidden key (a remapped binding, a palette entry): the service refuses.
        start_review(screen, session, loading=False)
        await pilot.pause(0.2)
        assert isinstance(app.screen, StartReviewDialog)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert isinstance(app.screen, MainScreen)
    assert campaigns(db_path) == 0
    assert [(a, act) for a, _, act in refusals(db_path)] == [("bob", "review")]


# -- a review policy run by someone who may not start reviews (pamtui sweep) ----------


def test_a_sweep_run_by_an_approver_reports_the_refused_review(tmp_path, capsys):
    """The sweep's own review campaign needs the runner's operator role too; the
    refusal is a failed entry in the report, not a sweep that stops half-way."""
    from pamtui.providers.demo import state as st
    from tests.services.test_policy_drift import CONFIG, PRIV_GROUP, plain_account

    cfg, db = tmp_path / "config.toml", tmp_path / "data" / "pamtui.db"
    cfg.write_text(f'[[operators]]\nname = "{ME}"\nroles = ["approver"]\n' + CONFIG)
    where = ("--config", str(cfg), "--db", str(db))
    assert main(["sweep", "--json", *where]) == 0, capsys.readouterr()  # the baseline
    capsys.readouterr()
    account_id, _ = plain_account(cfg, db)
    st.grant_privilege(st.default_path(db.parent), account_id, PRIV_GROUP)
    code = main(["sweep", "--json", *where])
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert code == 1, err
    (entry,) = report["reviews"]["entries"]
    assert entry["outcome"] == "failed" and "needs the operator role" in entry["message"]
    assert campaigns(db) == 0
    assert [(a, s, act) for a, s, act in refusals(db)] == [
        (ME, "review:drift:new-admins", "review")
    ]
