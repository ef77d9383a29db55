"""``pamtui people`` against the bundled demo: roster, correlation, links that persist."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import LinkRule
from pamtui.providers.demo.people import contractor_id
from pamtui.resources import sample_data_dir
from pamtui.services.session import Session

LUCIA = "E1111"  # the demo's departed employee


@pytest.fixture
def db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return db_path


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def org() -> dict:
    return json.loads((sample_data_dir() / "demo-org.json").read_text(encoding="utf-8"))


def test_terminated_people_with_their_reach(capsys, db) -> None:
    code, out, err = run(capsys, "people", "--status", "terminated", "--json")
    assert code == 0, err
    rows = {r["id"]: r for r in json.loads(out)}
    truth = {p["id"] for p in org()["people"] if p["status"] == "terminated"}
    assert set(rows) == truth
    lucia = rows[LUCIA]
    assert (lucia["systems"], lucia["accounts"], lucia["orphaned_accounts"]) == (3, 3, 3)
    assert lucia["live_credentials"] > 0
    code, out, _ = run(capsys, "people", "--status", "terminated")
    assert code == 0 and out.splitlines()[0].split()[:3] == ["ID", "NAME", "STATUS"]
    assert any(line.startswith(LUCIA) and "Lucía Castillo" in line for line in out.splitlines())


def test_show_the_departed_employee_everywhere(capsys, db) -> None:
    code, out, err = run(capsys, "people", "show", "lucia.castillo@acme-robotics.example", "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["person"]["id"] == LUCIA and shown["person"]["status"] == "terminated"
    accounts = {a["provider"]: a for a in shown["accounts"]}
    assert set(accounts) == {"demo-idp", "demo-git", "demo-cloud"}
    assert accounts["demo-git"]["name"] == "lucia-castillo-acme"
    assert accounts["demo-cloud"]["name"] == "l.castillo"  # another login, linked by its tag
    for a in accounts.values():
        assert a["rule"] == "hr_id" and LUCIA in a["evidence"] and a["provider"] in a["evidence"]
        assert a["status"] == "active" and "orphaned" in a["flags"]
    assert accounts["demo-git"]["live_credentials"] >= 1
    code, out, _ = run(capsys, "people", "show", LUCIA)
    assert code == 0 and "has left and still has live access" in out
    assert "demo-cloud/l.castillo: hr_id: HR id E1111 reported by demo-cloud" in out


def test_alias_only_member_and_the_unowned_contractor(capsys, db) -> None:
    people = {p["id"]: p for p in org()["people"]}
    aliased = next(p for p in people.values() if p.get("aliases"))
    code, out, _ = run(capsys, "people", "show", aliased["id"], "--json")
    git = [a for a in json.loads(out)["accounts"] if a["provider"] == "demo-git"]
    assert code == 0 and git and git[0]["rule"] == "alias"
    assert aliased["aliases"][0] in git[0]["evidence"]
    code, out, _ = run(capsys, "people", "--unowned", "--json")
    assert code == 0
    unowned = json.loads(out)
    contractor = next(p for p in people.values() if p.get("worker_type") == "contractor")
    member = next(
        a
        for a in org()["accounts"]
        if a["owner"] == contractor["id"] and a["system"] == "git" and a["kind"] == "human"
    )
    assert [(u["provider"], u["name"]) for u in unowned] == [("demo-git", member["name"])]


async def test_correlation_recovers_the_demo_ground_truth(db_path: Path) -> None:
    """Every account is linked to its real holder, or (the contractor's GitHub member) to nobody."""
    data = org()
    contractors = {p["id"] for p in data["people"] if p.get("worker_type") == "contractor"}
    session = Session.open(cfg=demo_config(), db_path=str(db_path), read_only=True)
    try:
        corr = await session.people.refresh(await session.inventory.sync())
    finally:
        await session.aclose()
    by_id = {a["id"]: a for a in data["accounts"]}
    rules = set()
    for (_, account_id), account in corr.accounts.items():
        truth = by_id[account_id]
        link = corr.links.get(account.key)
        expected = (
            contractor_id(truth["owner"]) if truth["owner"] in contractors else truth["owner"]
        )
        if truth["owner"] in contractors and truth["system"] == "git":
            assert link is None, "a member with no email and no SAML identity is not guessed"
            continue
        assert link is not None and link.person_id == expected, (truth["name"], link)
        rules.add(link.rule)
    assert rules == {LinkRule.HR_ID, LinkRule.WORK_EMAIL, LinkRule.ALIAS}


def test_link_and_unlink_are_journalled_and_survive_a_restart(capsys, db) -> None:
    people = {p["id"]: p for p in org()["people"]}
    contractor = next(p for p in people.values() if p.get("worker_type") == "contractor")
    cid = contractor_id(contractor["id"])
    member = next(
        a["name"]
        for a in org()["accounts"]
        if a["owner"] == contractor["id"] and a["system"] == "git"
    )
    code, out, err = run(
        capsys, "people", "link", cid, "demo-git", member, "--reason", "SAML identity checked"
    )
    assert code == 0, err
    assert f"linked demo-git/{member}" in out and "journal #" in out
    # A new process on the same database: the link is there, with who and why.
    env = {**os.environ, "PAMTUI_DB": str(db)}
    env.pop("PAMTUI_CONFIG", None)
    shown = subprocess.run(
        [sys.executable, "-m", "pamtui", "people", "show", cid, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    git = [a for a in json.loads(shown.stdout)["accounts"] if a["provider"] == "demo-git"]
    assert git[0]["rule"] == "manual" and "SAML identity checked" in git[0]["evidence"]
    code, out, _ = run(capsys, "people", "--unowned", "--json")
    assert json.loads(out) == []
    code, out, err = run(
        capsys, "people", "unlink", cid, "demo-git", member, "--reason", "wrong person"
    )
    assert code == 0, err
    code, out, _ = run(capsys, "people", "--unowned", "--json")
    assert [u["name"] for u in json.loads(out)] == [member]
    journal = Journal.open(db, read_only=True)
    try:
        entries = [e for e in journal.entries() if e.action.startswith("person_")]
        assert [e.action for e in entries] == ["person_unlink", "person_link"]  # newest first
        assert all(e.subject == f"person:{cid}" and e.provider == "demo-git" for e in entries)
        assert entries[1].detail["reason"] == "SAML identity checked"
        assert journal.verify().ok
    finally:
        journal.close()


def test_usage_mistakes_are_one_line_exit_2(capsys, db) -> None:
    for argv, needle in (
        (["people", "show", "nobody-at-all"], "no person 'nobody-at-all'"),
        (["people", "show", "castillo"], "matches"),
        (["people", "link", LUCIA, "demo-nope", "x", "--reason", "r"], "no provider named"),
        (["people", "link", LUCIA, "demo-git", "no-such-user", "--reason", "r"], "no account"),
        (["people", "link", LUCIA, "demo-git", "lucia-castillo-acme", "--reason", " "], "reason"),
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert len(err.strip().splitlines()) == 1 and needle in err, err
        assert "Traceback" not in err


def test_read_only_refuses_a_link(capsys, db) -> None:
    code, _, err = run(
        capsys,
        "--read-only",
        "people",
        "link",
        LUCIA,
        "demo-git",
        "lucia-castillo-acme",
        "--reason",
        "r",
    )
    assert code == 1 and "read-only" in err
