"""Attacks on four eyes with the sqlite3 shell: a queue row the journal does not vouch for never runs.

The journal's hash chain covers entries, not the ``queue_items`` rows. Before
the fix, ``UPDATE queue_items SET state = 'approved'`` on an item awaiting a
second operator made ``pamtui queue run`` revoke a privileged account with no
approval, and ``pamtui audit verify`` still said ok (no entry was touched).
Editing ``requested_by`` let the requester approve their own item. Now every
transition checks the row against the item's journal entries first.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from pamtui.cli import main

CONFIG = """
[operator]
four_eyes_for_privileged = true

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0
"""


@pytest.fixture
def staged(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> list[int]:
    """A privileged account's plan, awaiting a second operator's approval."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAMTUI_CONFIG", str(cfg))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    assert main(["accounts", "--risky", "--json"]) == 0
    accounts = json.loads(capsys.readouterr().out)
    target = next(a for a in accounts if "privileged" in a["flags"])
    code = main(
        ["revoke", "--provider", "demo-git", "--account", target["id"], "--reason", "t", "--yes"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    return [i["id"] for i in _queue(capsys)]


def _queue(capsys: pytest.CaptureFixture) -> list[dict[str, object]]:
    assert main(["queue", "list", "--json"]) == 0
    items: list[dict[str, object]] = json.loads(capsys.readouterr().out)
    return items


def _cli(capsys: pytest.CaptureFixture, argv: list[str]) -> tuple[int, str]:
    """``pamtui ARGV`` in this process: its exit code and everything it printed."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def _sqlite3(db_path: Path, sql: str) -> None:
    """What an intruder does with the sqlite3 shell (no pamtui code involved)."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        conn.execute(sql)
    finally:
        conn.close()


def test_an_approval_forged_in_the_row_runs_nothing(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert {i["state"] for i in _queue(capsys)} == {"awaiting_approval"}
    _sqlite3(
        db_path,
        "UPDATE queue_items SET state = 'approved', approved_by = 'bob'"
        " WHERE state = 'awaiting_approval'",
    )
    code, said = _cli(capsys, ["queue", "run"])
    assert code == 1, said
    assert "does not match the journal" in said
    # Nothing was executed: no item reached the provider.
    assert {i["state"] for i in _queue(capsys)} == {"approved"}
    assert main(["audit", "list", "--action", "execute", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_a_requester_renamed_in_the_row_cannot_approve_their_own_item(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    _sqlite3(db_path, "UPDATE queue_items SET requested_by = 'someone-else'")
    code, said = _cli(capsys, ["queue", "approve", str(staged[0])])
    assert code != 0, said
    assert "does not match the journal" in said
    assert {i["state"] for i in _queue(capsys)} == {"awaiting_approval"}


def test_four_eyes_cleared_in_the_row_still_needs_a_second_operator(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # Back to staged, as a policy's unapproved item would be, with four eyes cleared:
    # the requester's own approval would then approve it outright.
    _sqlite3(db_path, "UPDATE queue_items SET four_eyes = 0, state = 'staged'")
    code, said = _cli(capsys, ["queue", "approve", str(staged[0])])
    assert code != 0, said
    assert "does not match the journal" in said
    assert {i["state"] for i in _queue(capsys)} == {"staged"}


def test_an_idempotency_key_rewritten_in_the_row_does_not_hide_its_stage_entry(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """With the key changed too, no stage entry matched, and the requester went unchecked."""
    _sqlite3(
        db_path,
        "UPDATE queue_items SET requested_by = 'someone-else', idempotency_key = 'forged-' || id",
    )
    code, said = _cli(capsys, ["queue", "approve", str(staged[0])])
    assert code != 0, said
    assert "does not match the journal" in said and "no stage entry" in said
    assert {i["state"] for i in _queue(capsys)} == {"awaiting_approval"}


async def test_a_step_order_rewritten_in_the_row_does_not_run_a_later_step_first(
    static_session, static_provider, db_path: Path
) -> None:
    """Plan order: moving the account's deletion before its tokens in the row runs nothing."""
    from pamtui.model import QueueState

    view = next(v for v in await static_session.inventory.sync() if v.account.name == "bob")
    plan = static_session.revocations.plan_account(view)
    items = static_session.queue.stage(plan.steps, "leaver", approve=True)
    last = items[-1]
    assert len(items) > 1 and last.action.order > items[0].action.order
    _sqlite3(db_path, f"UPDATE queue_items SET step_order = -1 WHERE id = {last.id}")
    (outcome,) = [o for o in await static_session.queue.run([last.id]) if o.item.id == last.id]
    assert not outcome.ok and "does not match the journal" in outcome.message
    assert "step order" in outcome.message
    assert static_session.queue.get(last.id).state is QueueState.APPROVED
    assert static_provider.revoke_calls == []


async def test_a_holder_overtaken_by_another_process_is_told_so_not_called_a_forger(
    static_session, static_provider, db_path: Path
) -> None:
    """A race is not tampering: the row and the journal agree, only our copy is old."""
    from datetime import UTC, datetime, timedelta

    from pamtui.journal import Journal
    from pamtui.services.queue import QueueError, QueueTampered, RevocationQueue

    view = next(v for v in await static_session.inventory.sync() if v.account.name == "carol")
    plan = static_session.revocations.plan_account(view)
    (first, *_) = static_session.queue.stage(plan.steps, "leaver", approve=True)
    ours = static_session.queue.claim(first.id)
    assert ours is not None
    other_journal = Journal.open(db_path)
    try:
        other = RevocationQueue(other_journal, static_session.providers, "other")
        later = datetime.now(UTC) + timedelta(hours=1)  # our lease has run out by then
        taken = other.claim(first.id, now=later)
        assert taken is not None
        await other._drive_safely(taken)
    finally:
        other_journal.close()
    with pytest.raises(QueueError, match="changed by someone else") as raised:
        static_session.queue._record_revoked(ours, already_done=False, detail="late", response={})
    assert not isinstance(raised.value, QueueTampered)


# -- after `audit rotate`: the item's entries are in the archives ---------------


def _second_operator_approves(db_path: Path, item_id: int) -> None:
    """Another operator (not the requester) approves, through pamtui's own code."""
    from pamtui.journal import Journal
    from pamtui.services.queue import RevocationQueue

    journal = Journal.open(db_path)
    try:
        RevocationQueue(journal, {}, "second-operator").approve(item_id)
    finally:
        journal.close()


def _rotate(capsys: pytest.CaptureFixture) -> None:
    code, said = _cli(capsys, ["audit", "rotate"])
    assert code == 0, said


def _executed(capsys: pytest.CaptureFixture) -> list[object]:
    assert main(["audit", "list", "--action", "execute", "--json"]) == 0
    entries: list[object] = json.loads(capsys.readouterr().out)
    return entries


def test_an_approval_forged_after_rotation_runs_nothing(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Rotation archived every entry of the item: the live file cannot vouch, the archive can."""
    _rotate(capsys)
    _sqlite3(
        db_path,
        "UPDATE queue_items SET state = 'approved', approved_by = 'bob'"
        " WHERE state = 'awaiting_approval'",
    )
    code, said = _cli(capsys, ["queue", "run"])
    assert code == 1, said
    assert "does not match the journal" in said
    assert {i["state"] for i in _queue(capsys)} == {"approved"}
    assert _executed(capsys) == []


def test_an_item_staged_before_rotation_is_approved_and_runs(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Its stage entry is archived, the second operator's approval is in the live file."""
    _rotate(capsys)
    for item_id in staged:
        _second_operator_approves(db_path, item_id)
    code, said = _cli(capsys, ["queue", "run"])
    assert code == 0, said
    assert {i["state"] for i in _queue(capsys)} == {"verified"}
    assert len(_executed(capsys)) == len(staged)
    assert main(["audit", "verify"]) == 0


def test_a_requester_renamed_after_rotation_is_caught_across_both_files(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """Stage entry archived, approval live: the row is checked against both."""
    _rotate(capsys)
    for item_id in staged:
        _second_operator_approves(db_path, item_id)
    _sqlite3(db_path, "UPDATE queue_items SET requested_by = 'someone-else'")
    code, said = _cli(capsys, ["queue", "run"])
    assert code == 1, said
    assert "does not match the journal" in said and "requested by" in said
    assert {i["state"] for i in _queue(capsys)} == {"approved"}
    assert _executed(capsys) == []


def test_without_its_archive_an_item_is_refused_not_trusted(
    staged: list[int], db_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The live file never vouches for entries it no longer holds."""
    import shutil

    from pamtui.journal.segments import default_archive_dir
    from pamtui.services.queue import QueueTampered

    _rotate(capsys)
    shutil.rmtree(default_archive_dir(db_path))
    with pytest.raises(QueueTampered, match="could not be checked"):
        _second_operator_approves(db_path, staged[0])
    conn = sqlite3.connect(db_path)
    try:  # (the CLI refuses this database altogether: its policy entry went too)
        states = {row[0] for row in conn.execute("SELECT state FROM queue_items")}
    finally:
        conn.close()
    assert states == {"awaiting_approval"}
