"""``pamtui queue approve|run|cancel`` with several IDs or ``--plan``: the bulk acts.

The realistic case from issue 15: a sweep stages many items, and approving
them took one command each and also ran them. Now one command approves many
and runs nothing unless ``--run``; four eyes still holds per item (an
operator's own request in the list is skipped, never approved). Real
commands, in process, on the demo provider and a real SQLite journal; each
operator is a different OS login.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.cli.common import operator_login
from pamtui.journal import EntryFilter, Journal
from pamtui.services.session import Session

CONFIG = """\
[operator]
four_eyes_for_privileged = true

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0

[[policies]]
name = "terminated-owners"
match = { owner_status = "terminated" }
action = "plan"
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def swept(tmp_path: Path, db_path: Path, capsys):
    """A sweep's staged items (policy:terminated-owners); the OS account at the keyboard."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    common = ("--config", str(cfg), "--db", str(db_path))
    code, _, err = run(capsys, "sweep", *common)
    assert code == 0, err
    return common


def await_close(session: Session) -> None:
    asyncio.run(session.aclose())


def queue(capsys, common) -> dict[int, dict]:
    code, out, err = run(capsys, "queue", "list", "--json", *common)
    assert code == 0, err
    return {item["id"]: item for item in json.loads(out)}


def journal_actions(db: str, action: str) -> list:
    journal = Journal.open(Path(db), read_only=True)
    try:
        return journal.entries(EntryFilter(action=action), limit=10_000)
    finally:
        journal.close()


def test_approve_many_approves_them_and_runs_nothing(capsys, swept):
    items = queue(capsys, swept)
    assert len(items) >= 8
    first_eight = sorted(items)[:8]
    code, out, err = run(capsys, "queue", "approve", *map(str, first_eight), *swept)
    assert code == 0, err
    assert out.splitlines()[0] == "approved 8 items; nothing ran"
    me = operator_login(argparse.Namespace(config=swept[1]))
    assert f"#1 approved (approved by {me})" in out
    after = queue(capsys, swept)
    assert [after[i]["state"] for i in first_eight] == ["approved"] * 8
    assert journal_actions(swept[-1], "execute") == []  # approving is not executing


def test_approve_a_plan_with_run_runs_it_in_order_and_says_so_in_json(capsys, swept):
    items = queue(capsys, swept)
    plan = items[min(items)]["plan"]
    steps = sorted(i for i, item in items.items() if item["plan"] == plan)
    code, out, err = run(capsys, "queue", "approve", "--plan", plan, "--run", "--json", *swept)
    assert code == 0, err
    report = json.loads(out)
    assert report["act"] == "approve_and_run"
    assert [d["id"] for d in report["done"]] == steps
    assert [o["item"] for o in report["outcomes"]] == steps  # plan order
    assert {o["state"] for o in report["outcomes"]} == {"verified"}
    after = queue(capsys, swept)
    others = [i for i, item in after.items() if item["plan"] != plan]
    assert {after[i]["state"] for i in others} == {"staged"}
    # The whole plan again: every step is settled, so each is left alone, not refused.
    code, out, err = run(capsys, "queue", "cancel", "--plan", plan, *swept)
    assert code == 0, err
    assert f"left {len(steps)} alone" in out


def test_my_own_four_eyes_request_in_a_list_is_skipped_never_approved(capsys, swept):
    code, out, err = run(capsys, "accounts", "--json", *swept)
    privileged = next(a for a in json.loads(out) if "privileged" in a["flags"])
    code, out, err = run(
        capsys,
        "revoke",
        "--provider",
        "demo-git",
        "--account",
        privileged["id"],
        "--reason",
        "owner on leave",
        "--yes",
        *swept,
    )
    assert code == 0 and "four eyes required" in out, err
    items = queue(capsys, swept)
    me = operator_login(argparse.Namespace(config=swept[1]))
    mine = sorted(i for i, item in items.items() if item["requested_by"] == me)
    sweep = min(items)
    assert mine and {items[i]["state"] for i in mine} == {"awaiting_approval"}

    code, out, err = run(capsys, "queue", "approve", *map(str, [*mine, sweep]), "--run", *swept)
    assert code == 1, err  # partly refused
    assert f"#{mine[0]} skipped: four eyes: item {mine[0]} needs a second operator" in out
    after = queue(capsys, swept)
    assert {after[i]["state"] for i in mine} == {"awaiting_approval"}
    assert after[sweep]["state"] == "verified"
    # Only her own, by ID or by plan: refused in one line, exit 1, nothing done.
    for argv in ([str(mine[0])], ["--plan", items[mine[0]]["plan"], "--run"]):
        code, out, err = run(capsys, "queue", "approve", *argv, *swept)
        assert code == 1 and err.startswith("pamtui: four eyes") and err.count("\n") == 1
    assert not {e.detail["item"] for e in journal_actions(swept[-1], "approve")} & set(mine)
    executed = {e.detail["item"] for e in journal_actions(swept[-1], "execute")}
    assert not executed & set(mine)

    # A second operator (the same service, another operator) approves the plan.
    session = Session.open(config_path=swept[1], db_path=swept[3])
    try:
        session.queue.operator = "ops-bob"
        report = session.revocations.bulk.approve(plan=items[mine[0]]["plan"])
    finally:
        await_close(session)
    assert [i.id for i in report.approved] == mine
    assert {queue(capsys, swept)[i]["approved_by"] for i in mine} == {"ops-bob"}


def test_run_and_cancel_many(capsys, swept):
    items = queue(capsys, swept)
    a, b, c, d = sorted(items)[:4]
    assert run(capsys, "queue", "approve", str(a), str(b), *swept)[0] == 0
    code, out, err = run(capsys, "queue", "run", str(a), str(b), str(c), *swept)
    assert code == 1, err  # c is only staged: skipped, said why
    assert f"#{c} skipped: #{c} is staged: it cannot be run; only approved" in out
    after = queue(capsys, swept)
    assert (after[a]["state"], after[b]["state"], after[c]["state"]) == (
        "verified",
        "verified",
        "staged",
    )
    code, out, err = run(capsys, "queue", "cancel", str(c), str(d), "--json", *swept)
    assert code == 0, err
    assert [i["id"] for i in json.loads(out)["done"]] == [c, d]
    code, _, err = run(capsys, "queue", "cancel", str(a), str(c), *swept)
    assert code == 2 and "only pending items" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv", "err_part"),
    [
        (["queue", "approve"], "needs an item ID"),
        (["queue", "retry", "1", "2"], "exactly one"),
        (["queue", "cancel", "1", "--run"], "--run goes with pamtui queue approve"),
        (["queue", "approve", "--plan", "nope"], "no queue plan 'nope'"),
        (["queue", "approve", "1", "2", "999"], "no queue item 999"),
    ],
)
def test_usage_mistakes_exit_2_and_change_nothing(capsys, swept, argv, err_part):
    before = queue(capsys, swept)
    code, _, err = run(capsys, *argv, *swept)
    assert code == 2 and err_part in err and err.count("\n") == 1, err
    assert queue(capsys, swept) == before


def test_ids_may_follow_the_options(capsys, swept):
    """argparse fills positionals once: 'approve --run 1 2' once said 'unrecognized: 1 2'."""
    a, b = sorted(queue(capsys, swept))[:2]
    code, out, err = run(capsys, "queue", "approve", "--json", str(a), str(b), *swept)
    assert code == 0, err
    assert [d["id"] for d in json.loads(out)["done"]] == [a, b]
    with pytest.raises(SystemExit) as usage:
        main(["queue", "approve", "--run", "nope", *swept])
    assert usage.value.code == 2 and "unrecognized arguments: nope" in capsys.readouterr().err
