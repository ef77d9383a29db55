"""Every exported OCSF event validates against the schema files of the version it declares.

The schema is OCSF's own JSON (vendored under ``tests/data/ocsf-1.3.0``, see
its README), resolved by ``tests/support/ocsf_schema.py``; nothing here restates
the schema by hand.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from pamtui.journal import Journal
from pamtui.journal.export import OCSF_VERSION, export_entries, iter_entries, to_ocsf
from pamtui.services.queue import RevocationQueue
from tests.fakes import StaticProvider
from tests.journal.test_export import CEF_BREAKER, FORMULA, OSC_TITLE, _lifecycle
from tests.support.hostile import HOSTILE_STRINGS
from tests.support.ocsf_schema import OcsfSchema

SCHEMA_DIR = Path(__file__).parents[1] / "data" / f"ocsf-{OCSF_VERSION}"

REVOKE_ACTIONS = [
    ("revoke_token", "credential"),
    ("clear_sessions", "account"),
    ("end_session", "credential"),
    ("remove_member", "account"),
    ("deactivate_access_key", "credential"),
    ("delete_access_key", "credential"),
    ("delete_login_profile", "account"),
    ("suspend_account", "account"),
    ("deactivate_account", "account"),
    ("delete_account", "account"),
    ("zap_plugin_thing", "credential"),
]


def fill_journal(journal: Journal) -> None:
    """Every revoke action in every outcome, hostile text, sparse and rich details."""
    journal.append("alice", "session_start", detail={"interface": "tui", "read_only": False})
    item = 1
    for outcome in ("verified", "failed", "verify_failed"):
        for action, kind in REVOKE_ACTIONS:
            _lifecycle(
                journal, item, "okta", action, kind, f"t{item}", "u1", action, outcome=outcome
            )
            item += 1
    _lifecycle(
        journal, item, "git|hub", "delete_access_key", "credential", CEF_BREAKER, FORMULA,
        OSC_TITLE, reason=FORMULA, operator=FORMULA,
    )  # fmt: skip
    for n, text in enumerate(HOSTILE_STRINGS):
        _lifecycle(journal, 500 + n, "demo", "revoke_token", "credential", f"h{n}", text, text)
    # An entry that records the account's name too, and entries with almost nothing.
    journal.append(
        "bob",
        "verified",
        provider="okta",
        subject="account:u7",
        detail={"action": "deactivate_account", "account_id": "u7", "account_name": "quinn"},
    )
    journal.append("alice", "verified", provider="x", subject="credential:k1")
    journal.append("alice", "revoked")
    journal.append("system", "failed", detail={"action": "revoke_token", "error": "HTTP 500"})


async def queue_entries(journal: Journal) -> None:
    """What the real queue writes, successes and both kinds of failure."""
    provider = StaticProvider()
    queue = RevocationQueue(journal, {"static": provider}, "tester")
    actions = [
        *provider.revoke_actions(provider.credentials["t-alice-1"]),
        *provider.revoke_actions(provider.credentials["t-bob-1"]),
        *provider.revoke_actions(provider.credentials["t-carol-1"]),
        *provider.revoke_actions(provider.accounts["u2"]),
    ]
    provider.fail_verify.add("t-bob-1")
    provider.fail_revoke["t-carol-1"] = "HTTP 500"
    items = queue.stage(actions, "offboarding", approve=True)
    await queue.run([i.id for i in items])


@pytest.fixture(scope="module")
def schema() -> OcsfSchema:
    return OcsfSchema(SCHEMA_DIR)


@pytest.fixture
def events(tmp_path: Path) -> list[dict[str, Any]]:
    journal = Journal.open(tmp_path / "j.db")
    fill_journal(journal)
    events = [e for e in (to_ocsf(x) for x in iter_entries(journal)) if e is not None]
    journal.close()
    return events


def test_the_vendored_schema_is_the_declared_version(schema: OcsfSchema) -> None:
    assert schema.version == OCSF_VERSION == "1.3.0"


def test_every_exported_event_validates(schema: OcsfSchema, events) -> None:
    assert len(events) > 3 * len(REVOKE_ACTIONS)
    classes = set()
    for event in events:
        assert schema.validate(event) == [], json.dumps(event)[:400]
        classes.add((event["class_uid"], event["activity_id"]))
    assert classes == {(3001, 5), (3001, 6), (3005, 2)}


async def test_the_real_queue_entries_validate(schema: OcsfSchema, tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "q.db")
    await queue_entries(journal)
    out = __import__("io").StringIO()
    result = export_entries(journal, "ocsf", out)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    journal.close()
    assert result.written == len(events) > 0
    assert {e["status_id"] for e in events} == {1, 2}
    for event in events:
        assert schema.validate(event) == []


def _one(events, class_uid: int) -> dict[str, Any]:
    return copy.deepcopy(next(e for e in events if e["class_uid"] == class_uid and "resource" in e))


def test_3005_has_one_resource_and_declares_the_host_profile(schema: OcsfSchema, events) -> None:
    """The two defects found by validating: ``resources`` and a profile-less ``actor``."""
    event = _one(events, 3005)
    assert isinstance(event["resource"], dict) and "resources" not in event
    assert event["metadata"]["profiles"] == ["host"] and "actor" in event
    # The validator catches each defect as it was exported before.
    old = copy.deepcopy(event)
    old["resources"] = [old.pop("resource")]
    assert any("resources: not an attribute" in e for e in schema.validate(old))
    old = copy.deepcopy(event)
    del old["metadata"]["profiles"]
    assert any("actor: belongs to the 'host' profile" in e for e in schema.validate(old))
    # 3001 defines actor itself, so it needs no profile.
    account = next(e for e in events if e["class_uid"] == 3001)
    assert "actor" in account and "profiles" not in account["metadata"]
    assert schema.validate(account) == []


def test_the_validator_is_not_vacuous(schema: OcsfSchema, events) -> None:
    event = _one(events, 3005)
    cases = {
        "privileges: required": lambda e: e.pop("privileges"),
        "metadata.product.vendor_name: required": lambda e: e["metadata"]["product"].pop(
            "vendor_name"
        ),
        "metadata.version": lambda e: e["metadata"].update(version="1.5.0"),
        "activity_id: 6 is not one of": lambda e: e.update(activity_id=6, type_uid=300506),
        "severity: 'High' does not match": lambda e: e.update(severity="High"),
        "type_uid is": lambda e: e.update(type_uid=300599),
        "time: '2026": lambda e: e.update(time="2026-11-01T00:00:00Z"),
        "privileges: must be an array": lambda e: e.update(privileges="x"),
        "user: needs at least one of": lambda e: e.update(user={"type": "User"}),
        "user.colour: not an attribute of object user": lambda e: e["user"].update(colour=1),
        "class_uid 3099": lambda e: e.update(class_uid=3099),
    }
    for expected, damage in cases.items():
        broken = copy.deepcopy(event)
        damage(broken)
        errors = schema.validate(broken)
        assert any(expected in e for e in errors), (expected, errors)


def test_the_account_name_is_the_user_name_when_recorded(schema: OcsfSchema, events) -> None:
    named = [e for e in events if e["user"].get("name")]
    assert [e["user"] for e in named] == [{"uid": "u7", "name": "quinn"}]
    assert schema.validate(named[0]) == []
