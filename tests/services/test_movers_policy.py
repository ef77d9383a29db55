"""The ``remove_excess`` policy action: ``pamtui sweep`` stages a mover's old grants, once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.config import ConfigError
from pamtui.journal import Journal
from pamtui.services.policy import parse_policies
from tests.services.test_movers import CONFIG, MOVER

POLICY = """
[[policies]]
name = "movers"
match = { access = "mover" }
action = "remove_excess"
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG + POLICY, encoding="utf-8")
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def run(capsys, *argv: str) -> tuple[int, dict, str]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_sweep_stages_the_movers_grants_for_an_operator_and_only_once(capsys, cfg, db_path):
    code, dry, err = run(capsys, "sweep", "--dry-run")
    assert code == 0, err
    assert dry["dry_run"] and {e["subject"] for e in dry["entries"]} == {f"person:{MOVER}"}
    assert Journal.open(db_path).conn.execute("SELECT count(*) FROM queue_items").fetchone()[0] == 0

    code, report, err = run(capsys, "sweep")
    assert code == 0, err
    staged = [e for e in report["entries"] if e["outcome"] == "staged"]
    assert len(staged) == 5 and {e["action"] for e in staged} == {"remove_from_group"}
    assert {e["provider"] for e in staged} == {"demo-idp", "demo-git"}

    code, queue, err = run(capsys, "queue", "list")
    items = queue if isinstance(queue, list) else queue["items"]
    mine = [i for i in items if i["requested_by"] == "policy:movers"]
    # approve = false: staged for an operator, who approves (step-up, four eyes) as usual.
    assert len(mine) == 5 and {i["state"] for i in mine} == {"staged"}

    code, again, err = run(capsys, "sweep")
    assert code == 0, err
    assert [e["outcome"] for e in again["entries"]] == ["duplicate"]


def test_approved_policy_items_run_and_verify(capsys, cfg, db_path, tmp_path):
    cfg.write_text(CONFIG + POLICY + "approve = true\n", encoding="utf-8")
    code, report, err = run(capsys, "sweep")
    assert code == 0, err
    code, ran, err = run(capsys, "queue", "run")
    assert code == 0, err
    code, queue, err = run(capsys, "queue", "list")
    items = queue if isinstance(queue, list) else queue["items"]
    assert {i["state"] for i in items if i["requested_by"] == "policy:movers"} == {"verified"}
    code, people, err = run(capsys, "people", "--movers")
    assert code == 0 and people == [], err


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"match": {"access": "mover"}, "action": "plan"}, "match.access: only with action"),
        (
            {"match": {"privileged": True}, "action": "remove_excess"},
            "match.privileged: a remove_excess",
        ),
        (
            {"match": {"access": "moved"}, "action": "remove_excess"},
            "match.access: expected one of mover",
        ),
        (
            {"match": {"access": "excess"}, "action": "remove_excess", "target": "account"},
            "target: not allowed",
        ),
    ],
)
def test_policy_mistakes_name_the_key(table: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_policies([{"name": "p", **table}], "c.toml")


def _mover_state(tmp_path: Path, db_path: Path):
    """The demo state file, built, and the mover's IdP and GitHub account ids."""
    import asyncio

    from pamtui.providers.demo import state as demo_state
    from tests.services.test_movers import open_session

    session = open_session(tmp_path, db_path)
    try:
        views = asyncio.run(session.inventory.sync())
        path = session.providers["demo-idp"].state_file
    finally:
        asyncio.run(session.aclose())
    ids = {v.account.provider: v.account.id for v in views if v.account.owner == MOVER}
    return demo_state, path, ids


def test_four_eyes_holds_for_an_approved_policy_on_a_privileged_account(
    capsys, cfg, db_path, tmp_path
):
    demo_state, path, ids = _mover_state(tmp_path, db_path)
    demo_state.grant_privilege(path, ids["demo-idp"])
    cfg.write_text(
        "[operator]\nfour_eyes_for_privileged = true\n" + CONFIG + POLICY + "approve = true\n",
        encoding="utf-8",
    )
    code, report, err = run(capsys, "sweep")
    assert code == 0, err
    code, queue, err = run(capsys, "queue", "list")
    items = queue if isinstance(queue, list) else queue["items"]
    mine = [i for i in items if i["requested_by"] == "policy:movers"]
    # approve = true does not skip the second operator: the plan waits for one.
    assert len(mine) == 5 and {i["state"] for i in mine} == {"awaiting_approval"}
    code, ran, err = run(capsys, "queue", "run")
    code, queue, err = run(capsys, "queue", "list")
    items = queue if isinstance(queue, list) else queue["items"]
    assert {i["state"] for i in items if i["requested_by"] == "policy:movers"} == {
        "awaiting_approval"
    }


def test_hostile_grant_names_reach_no_terminal(capsys, cfg, db_path, tmp_path):
    from tests.support.hostile import HOSTILE_STRINGS

    demo_state, path, ids = _mover_state(tmp_path, db_path)
    for text in HOSTILE_STRINGS:
        demo_state.grant_privilege(path, ids["demo-git"], group=text)
    code = main(["people", "show", MOVER])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "MOVER" in out and "fake-alert" in out
    assert not any(ch in out for ch in ("\x1b", "\x9b", "\x07", "\x00", "\u202e"))
    code = main(["sweep", "--dry-run"])
    out, err = capsys.readouterr()
    assert not any(ch in out + err for ch in ("\x1b", "\x9b", "\x07", "\x00", "\u202e"))


def test_a_removed_grant_that_comes_back_fails_the_recheck(capsys, cfg, db_path, tmp_path):
    """Verified means the provider said so; a group re-added behind pamtui's back is found."""
    cfg.write_text(CONFIG + POLICY + "approve = true\n", encoding="utf-8")
    assert run(capsys, "sweep")[0] == 0
    assert run(capsys, "queue", "run")[0] == 0
    code, checked, err = run(capsys, "audit", "recheck")
    assert code == 0, (checked, err)
    demo_state, path, ids = _mover_state(tmp_path, db_path)
    demo_state.grant_privilege(path, ids["demo-idp"], group="Dept-Engineering")
    code, checked, err = run(capsys, "audit", "recheck")
    assert code == 1
    assert "Dept-Engineering" in json.dumps(checked)
