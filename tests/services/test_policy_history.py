"""Policy changes are journalled: which rules were in force when."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.services import policy_history as ph
from pamtui.services.session import Session
from tests.services.test_recheck import CONFIG

STALE = """
[[policies]]
name = "stale-tokens"
match = {{ credential_kind = "api_token", unused_days_over = {days} }}
action = "revoke_token"
"""
TERMINATED = """
[[policies]]
name = "terminated-owners"
match = { owner_status = "terminated" }
action = "plan"
approve = true
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def open_and_close(cfg: Path, db_path: Path, text: str, *, read_only: bool = False) -> None:
    cfg.write_text(CONFIG + text)
    session = Session.open(config_path=str(cfg), db_path=str(db_path), read_only=read_only)
    session.journal.close()


def changes(db_path: Path) -> list:
    journal = Journal.open(db_path, read_only=True)
    try:
        return journal.entries(EntryFilter(action=ph.ACTION), newest_first=False)
    finally:
        journal.close()


def seed(db_path: Path) -> None:
    """A journal with history: a brand-new one is left empty (sweep --dry-run)."""
    journal = Journal.open(db_path)
    journal.append("tester", "session_start")
    journal.close()


def test_a_brand_new_journal_is_left_empty(cfg: Path, db_path: Path) -> None:
    open_and_close(cfg, db_path, STALE.format(days=90))
    journal = Journal.open(db_path, read_only=True)
    assert journal.head() is None
    journal.close()
    seed(db_path)
    open_and_close(cfg, db_path, STALE.format(days=90))
    [entry] = changes(db_path)
    assert entry.detail["added"] == ["stale-tokens"]


def test_a_change_between_two_runs_is_one_entry_with_the_diff(cfg: Path, db_path: Path) -> None:
    seed(db_path)
    open_and_close(cfg, db_path, STALE.format(days=90))
    [first] = changes(db_path)
    assert first.actor == "system" and first.subject == f"config:{cfg}"
    assert first.detail["added"] == ["stale-tokens"] and first.detail["removed"] == []
    assert first.detail["previous_policies_hash"] == ph.EMPTY_HASH
    assert first.detail["config_hash"] == hashlib.sha256(cfg.read_bytes()).hexdigest()

    # Unchanged: nothing journalled, however often pamtui starts.
    open_and_close(cfg, db_path, STALE.format(days=90))
    open_and_close(cfg, db_path, STALE.format(days=90))
    assert len(changes(db_path)) == 1

    # Tightened and extended: one entry naming what changed, and the new hashes.
    open_and_close(cfg, db_path, STALE.format(days=30) + TERMINATED)
    first, second = changes(db_path)
    d = second.detail
    assert d["added"] == ["terminated-owners"] and d["removed"] == []
    assert d["changed"] == {
        "stale-tokens": {
            "match": [
                {"credential_kind": "api_token", "unused_days_over": 90},
                {"credential_kind": "api_token", "unused_days_over": 30},
            ]
        }
    }
    assert d["previous_policies_hash"] == first.detail["policies_hash"]
    assert d["policies_hash"] != d["previous_policies_hash"]
    assert d["config_hash"] == hashlib.sha256(cfg.read_bytes()).hexdigest()
    assert [p["name"] for p in d["policies"]] == ["stale-tokens", "terminated-owners"]

    # Removing every policy is a change too; the chain still verifies.
    open_and_close(cfg, db_path, "")
    third = changes(db_path)[-1]
    assert third.detail["removed"] == ["stale-tokens", "terminated-owners"]
    assert third.detail["policies_hash"] == ph.EMPTY_HASH
    journal = Journal.open(db_path, read_only=True)
    assert journal.verify().ok
    journal.close()


def test_no_policies_from_the_start_journals_nothing(cfg: Path, db_path: Path) -> None:
    seed(db_path)
    open_and_close(cfg, db_path, "")
    assert changes(db_path) == []


def test_read_only_sessions_journal_nothing(cfg: Path, db_path: Path) -> None:
    seed(db_path)
    open_and_close(cfg, db_path, STALE.format(days=90))
    open_and_close(cfg, db_path, STALE.format(days=10), read_only=True)
    assert len(changes(db_path)) == 1
    # The next writable session records the change it sees.
    open_and_close(cfg, db_path, STALE.format(days=10))
    assert len(changes(db_path)) == 2


def test_policy_diff_and_hash_are_order_and_type_stable() -> None:
    a = [{"name": "x", "match": {"b": 1, "a": 2}, "action": "plan"}]
    b = [{"action": "plan", "match": {"a": 2, "b": 1}, "name": "x"}]
    assert ph.policies_hash(a) == ph.policies_hash(b)
    assert ph.policy_diff(a, b) == {"added": [], "removed": [], "changed": {}}
    two = [*a, {"name": "y", "action": "plan", "match": {}}]
    swapped = [two[1], two[0]]
    assert ph.policy_diff(two, swapped)["reordered"] is True
