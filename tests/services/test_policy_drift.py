"""Review policies: drift found by ``pamtui sweep`` puts the accounts into a review campaign."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from pamtui.cli import main
from pamtui.config import ConfigError
from pamtui.journal import EntryFilter, Journal
from pamtui.model import AccountKind, AccountStatus, OwnerStatus
from pamtui.providers.demo import state as st
from pamtui.services.policy import parse_policies
from pamtui.services.review import JOURNAL_START, ReviewService
from pamtui.services.session import Session

WHERE = "/etc/pamtui/config.toml"
PRIV_GROUP = "Okta Super Admins"
CONFIG = """
[[providers]]
name = "demo-idp"
type = "demo"
system = "idp"
latency_ms = 0

[[policies]]
name = "new-admins"
match = { drift = ["new_privileged_account", "privilege_granted", "admin_scope_added"] }
action = "review"
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def sweep(capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, dict[str, Any]]:
    code = main(["sweep", "--json", *flags])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def plain_account(cfg: Path, db_path: Path) -> tuple[str, str]:
    """An active, unprivileged human account (read-only session: records no drift)."""
    return asyncio.run(_plain_account(cfg, db_path))


async def _plain_account(cfg: Path, db_path: Path) -> tuple[str, str]:
    session = Session.open(config_path=str(cfg), db_path=str(db_path), read_only=True)
    try:
        await session.inventory.sync()
        view = next(
            v
            for v in session.inventory.rows()
            if v.account.status is AccountStatus.ACTIVE
            and v.account.kind is AccountKind.HUMAN
            and not v.flags
            and not v.account.privileged
            and v.account.owner_status is OwnerStatus.EMPLOYED
        )
        return view.account.id, view.account.name
    finally:
        await session.aclose()


def campaigns(db_path: Path) -> list[Any]:
    journal = Journal.open(db_path, read_only=True)
    try:
        service = ReviewService(journal, read_only=True)
        return [(c, service.items(c.id)) for c in service.campaigns()]
    finally:
        journal.close()


def test_a_privilege_grant_is_put_into_review_once(
    cfg: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = sweep(capsys)  # the first sync is a baseline: nothing drifted
    assert code == 0 and report["counts"]["reviewed"] == 0 and report["reviews"]["entries"] == []
    assert campaigns(db_path) == []

    account_id, name = plain_account(cfg, db_path)
    st.grant_privilege(st.default_path(db_path.parent), account_id, PRIV_GROUP)

    # A dry run says what would be reviewed, writes nothing, and consumes no drift.
    head = Journal.open(db_path, read_only=True).head()
    code, report = sweep(capsys, "--dry-run")
    assert code == 0 and report["dry_run"]
    (entry,) = report["reviews"]["entries"]
    assert entry["outcome"] == "reviewed" and entry["subject"] == f"account:{account_id}"
    assert entry["campaign"] is None and "privilege_granted" in entry["changes"]
    assert campaigns(db_path) == []
    assert Journal.open(db_path, read_only=True).head() == head
    main(["sweep", "--dry-run"])
    out, _ = capsys.readouterr()
    assert "would put into review" in out and "would review" in out

    code, report = sweep(capsys)
    assert code == 0 and report["counts"]["reviewed"] == 1
    assert report["reviews"]["counts"] == {
        "reviewed": 1,
        "duplicate": 0,
        "unsupported": 0,
        "failed": 0,
    }
    ((campaign, items),) = campaigns(db_path)
    assert report["reviews"]["campaigns"] == [campaign.id]
    assert campaign.scope == "drift:new-admins" and campaign.created_by == "policy:new-admins"
    assert [(i.provider, i.account_id, i.account_name) for i in items] == [
        ("demo-idp", account_id, name)
    ]
    assert items[0].account["privileged"] is True
    journal = Journal.open(db_path, read_only=True)
    (start,) = journal.entries(EntryFilter(action=JOURNAL_START))
    assert start.actor == "policy:new-admins" and start.subject == f"review:{campaign.id}"
    assert start.detail["scope"] == "drift:new-admins" and start.detail["items"] == 1
    assert start.detail["policy"] == "new-admins"
    # Nothing is revoked: no queue item, no stage entry.
    assert journal.entries(EntryFilter(action="stage")) == []
    journal.close()

    # The next sweep sees no new drift; drift found again for the same account
    # while its campaign is open is reported as a duplicate, not added twice.
    code, report = sweep(capsys)
    assert code == 0 and report["counts"]["reviewed"] == 0
    st.add_credential(
        st.default_path(db_path.parent),
        account_id,
        "00tNEWADMINTOKEN1",
        scopes=["okta.admin.read"],
        label="x",
    )
    code, report = sweep(capsys)
    assert code == 0 and report["counts"]["reviewed"] == 0
    (dup,) = report["reviews"]["entries"]
    assert dup["outcome"] == "duplicate" and dup["campaign"] == campaign.id
    assert "admin_scope_added" in dup["changes"]
    assert len(campaigns(db_path)) == 1
    st.add_credential(
        st.default_path(db_path.parent),
        account_id,
        "00tNEWADMINTOKEN2",
        scopes=["okta.admin.write"],
        label="y",
    )
    assert main(["sweep"]) == 0
    out, _ = capsys.readouterr()
    assert "review: 0 put into review, 1 already in review, 0 gone, 0 failed" in out
    assert f"in review    policy:new-admins drift:new-admins #{campaign.id} demo-idp" in out
    assert len(campaigns(db_path)) == 1


def policies(**table: Any):
    base = {"name": "new-admins", "match": {"drift": ["privilege_granted"]}, "action": "review"}
    return parse_policies([{**base, **table}], WHERE)


def test_parse_review_policies() -> None:
    (policy,) = policies(providers=["demo-idp"])
    assert policy.is_review and policy.match.drift == frozenset({"privilege_granted"})
    assert policy.actor == "policy:new-admins"


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        (
            {"match": {"drift": ["privilege_grant"]}},
            "policies[0].match.drift: unknown change kind 'privilege_grant' (known: ",
        ),
        ({"match": {"drift": []}}, "policies[0].match.drift: expected a list of change kinds"),
        ({"match": {"drift": [3]}}, "policies[0].match.drift: expected a list of change kinds"),
        (
            {"action": "plan"},
            'policies[0].match.drift: the drift condition needs action = "review"',
        ),
        (
            {"action": "revoke_token"},
            'policies[0].match.drift: the drift condition needs action = "review"',
        ),
        (
            {"match": {"owner_status": "terminated"}},
            'policies[0].match: action = "review" needs the drift condition',
        ),
        (
            {"match": {"drift": ["owner_left"], "privileged": True}},
            "policies[0].match.privileged: a review policy may only use the drift condition",
        ),
        ({"approve": True}, 'policies[0].approve: not allowed with action = "review"'),
    ],
)
def test_review_policy_config_errors(table: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        policies(**table)
    assert str(err.value).startswith(f"{WHERE}: {expected}"), str(err.value)
