"""Policies: strict parsing, pure evaluation on the static provider, sweeping into the queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pamtui.config import ConfigError, OperatorConfig, load_file
from pamtui.journal import Journal
from pamtui.model import (
    AccountStatus,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    QueueState,
    TargetKind,
    utcnow,
)
from pamtui.sanitize import is_clean
from pamtui.services.inventory import AccountView
from pamtui.services.policy import (
    Policy,
    Proposals,
    evaluate,
    parse_policies,
    sweep,
)
from pamtui.services.queue import RevocationQueue
from pamtui.services.revoke import RevocationService
from tests.fakes import StaticProvider

WHERE = "/etc/pamtui/config.toml"

STALE_TOKENS = {
    "name": "stale-tokens",
    "match": {"credential_kind": "api_token", "unused_days_over": 90},
    "action": "revoke_token",
}
TERMINATED_OWNERS = {
    "name": "terminated-owners",
    "match": {"owner_status": "terminated"},
    "action": "plan",
}


def _policies(*tables: dict[str, Any]) -> tuple[Policy, ...]:
    return parse_policies(list(tables), WHERE)


def _views(provider: StaticProvider) -> list[AccountView]:
    return [
        AccountView(
            account,
            tuple(c for c in provider.credentials.values() if c.account_id == account.id),
            frozenset(),
        )
        for account in provider.accounts.values()
    ]


def _evaluate(provider: StaticProvider, *tables: dict[str, Any]) -> Proposals:
    return evaluate(_policies(*tables), _views(provider), {provider.name: provider}, utcnow())


def _targets(proposals: Proposals) -> list[tuple[str, str]]:
    return [(p.action.name, p.action.target_id) for p in proposals]


# -- parsing -----------------------------------------------------------------


def test_the_architecture_example_parses():
    (policy,) = _policies(STALE_TOKENS)
    assert policy.name == "stale-tokens"
    assert policy.action == "revoke_token"
    assert policy.target is TargetKind.CREDENTIAL
    assert policy.match.credential_kind == {CredentialKind.API_TOKEN}
    assert policy.match.unused_days_over == 90
    assert policy.providers is None and policy.enabled and not policy.approve
    assert policy.actor == "policy:stale-tokens"


def test_all_fields_parse():
    (policy,) = _policies(
        {
            "name": "ex-staff-2",
            "match": {
                "owner_status": "terminated",
                "account_kind": ["human", "bot"],
                "credential_kind": ["api_token", "ssh_key"],
                "expired": False,
                "admin_scope": True,
                "privileged": True,
                "unused_days_over": 1,
            },
            "action": "plan",
            "providers": ["static", "static"],
            "enabled": False,
            "approve": True,
        }
    )
    assert policy.target is TargetKind.ACCOUNT and policy.is_plan
    assert policy.match.owner_status is OwnerStatus.TERMINATED
    assert policy.providers == ("static",)
    assert not policy.enabled and policy.approve


def test_message_names_file_index_and_key():
    bad = {**STALE_TOKENS, "name": "other", "match": {"unused_days_over": 0}}
    with pytest.raises(ConfigError) as err:
        _policies(STALE_TOKENS, bad)
    assert str(err.value) == (
        f"{WHERE}: policies[1].match.unused_days_over: expected a positive integer"
    )


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"name": None}, "name"),
        ({"name": "Stale Tokens"}, "name"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"match": None}, "match"),
        ({"match": "api_token"}, "match"),
        ({"match": {}}, "match"),
        ({"match": {"unused_days": 90}}, "match.unused_days"),
        ({"match": {"unused_days_over": -1}}, "match.unused_days_over"),
        ({"match": {"unused_days_over": "90"}}, "match.unused_days_over"),
        ({"match": {"unused_days_over": 1.5}}, "match.unused_days_over"),
        ({"match": {"unused_days_over": True}}, "match.unused_days_over"),
        ({"match": {"credential_kind": "password"}}, "match.credential_kind"),
        ({"match": {"credential_kind": []}}, "match.credential_kind"),
        ({"match": {"credential_kind": ["api_token", 3]}}, "match.credential_kind"),
        ({"match": {"account_kind": "robot"}}, "match.account_kind"),
        ({"match": {"owner_status": "left"}}, "match.owner_status"),
        ({"match": {"owner_status": True}}, "match.owner_status"),
        ({"match": {"expired": "yes"}}, "match.expired"),
        ({"match": {"admin_scope": 1}}, "match.admin_scope"),
        ({"match": {"privileged": "true"}}, "match.privileged"),
        ({"action": None}, "action"),
        ({"action": ["revoke_token"]}, "action"),
        ({"action": {"name": "revoke_token"}}, "action"),
        ({"action": "Revoke Token"}, "action"),
        ({"action": ""}, "action"),
        ({"action": "frobnicate"}, "action"),
        ({"action": "plan", "target": "credential"}, "target"),
        ({"action": "revoke_token", "target": "account"}, "target"),
        ({"action": "frobnicate", "target": "user"}, "target"),
        ({"providers": "static"}, "providers"),
        ({"providers": []}, "providers"),
        ({"providers": [1]}, "providers"),
        ({"enabled": "yes"}, "enabled"),
        ({"approve": 1}, "approve"),
        ({"actions": "revoke_token"}, "actions"),
    ],
)
def test_each_invalid_value_is_named(change: dict[str, Any], key: str):
    table = {k: v for k, v in {**STALE_TOKENS, **change}.items() if v is not None}
    with pytest.raises(ConfigError) as err:
        _policies(TERMINATED_OWNERS, table)
    message = str(err.value)
    assert message.startswith(f"{WHERE}: policies[1].{key}: "), message
    assert "\n" not in message


def test_missing_required_keys_are_named():
    for missing in ("name", "match", "action"):
        table = {k: v for k, v in STALE_TOKENS.items() if k != missing}
        with pytest.raises(ConfigError, match=rf"policies\[0\]\.{missing}: expected"):
            _policies(table)


def test_unknown_condition_lists_the_known_ones():
    with pytest.raises(ConfigError) as err:
        _policies({**STALE_TOKENS, "match": {"last_used_over": 3}})
    assert "policies[0].match.last_used_over: unknown condition" in str(err.value)
    assert "unused_days_over" in str(err.value)


def test_a_provider_specific_action_needs_a_target():
    with pytest.raises(ConfigError, match=r"unknown action 'rotate_key'.*target"):
        _policies({**STALE_TOKENS, "action": "rotate_key"})
    (policy,) = _policies({**STALE_TOKENS, "action": "rotate_key", "target": "credential"})
    assert policy.target is TargetKind.CREDENTIAL
    (policy,) = _policies({**TERMINATED_OWNERS, "action": "disable_user", "target": "account"})
    assert policy.target is TargetKind.ACCOUNT


def test_duplicate_names():
    with pytest.raises(ConfigError) as err:
        _policies(STALE_TOKENS, TERMINATED_OWNERS, STALE_TOKENS)
    assert str(err.value).startswith(f"{WHERE}: policies[2].name: ")
    assert "'stale-tokens'" in str(err.value) and "policies[0]" in str(err.value)


def test_a_policy_that_is_not_a_table():
    with pytest.raises(ConfigError, match=r"policies\[0\]: expected a table"):
        parse_policies(["stale-tokens"], WHERE)  # type: ignore[list-item]


def test_unknown_provider_names_when_the_configured_ones_are_given():
    table = {**STALE_TOKENS, "providers": ["static", "nope"]}
    assert parse_policies([table], WHERE)[0].providers == ("static", "nope")
    with pytest.raises(ConfigError, match=r"policies\[0\]\.providers: no provider named 'nope'"):
        parse_policies([table], WHERE, providers=["static"])


def test_callable_with_a_loaded_config(tmp_path: Path):
    path = tmp_path / "config.toml"
    path.write_text(
        '[[providers]]\nname = "static"\ntype = "demo"\n\n'
        '[[policies]]\nname = "stale-tokens"\n'
        'match = { credential_kind = "api_token", unused_days_over = 90 }\n'
        'action = "revoke_token"\n\n'
        '[[policies]]\nname = "bad"\nmatch = { unused_days_over = "ninety" }\n'
        'action = "revoke_token"\n',
        encoding="utf-8",
    )
    cfg = load_file(path)
    with pytest.raises(ConfigError) as err:
        parse_policies(cfg.policies, cfg.source)
    assert str(err.value) == (
        f"{path}: policies[1].match.unused_days_over: expected a positive integer"
    )
    (policy,) = parse_policies(cfg.policies[:1], cfg.source, providers=["static"])
    assert policy.name == "stale-tokens"


# -- evaluation ---------------------------------------------------------------


def test_stale_tokens_matches_carols_token_only(static_provider):
    proposals = _evaluate(static_provider, STALE_TOKENS)
    assert _targets(proposals) == [("revoke_token", "t-carol-1")]
    (proposal,) = proposals
    assert proposal.policy.name == "stale-tokens"
    assert "carol" in proposal.why and "200 days ago" in proposal.why
    assert proposals.skipped == []


def test_never_used_counts_from_creation(static_provider):
    token = static_provider.credentials["t-alice-1"]
    static_provider.credentials["t-alice-1"] = replace(token, last_used=None)
    proposals = _evaluate(static_provider, STALE_TOKENS)
    assert _targets(proposals) == [("revoke_token", "t-alice-1"), ("revoke_token", "t-carol-1")]
    assert "never used, created 200 days ago" in proposals[0].why


def test_terminated_owners_plan_is_bobs_full_plan(static_provider):
    proposals = _evaluate(static_provider, TERMINATED_OWNERS)
    assert _targets(proposals) == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
        ("deactivate_account", "u2"),
    ]
    assert {p.plan for p in proposals} == {"static/u2"}
    assert all("terminated" in p.why for p in proposals)


def test_an_account_action_selects_accounts(static_provider):
    proposals = _evaluate(static_provider, {**TERMINATED_OWNERS, "action": "deactivate_account"})
    assert _targets(proposals) == [("deactivate_account", "u2")]
    assert proposals[0].plan == ""


def test_a_credential_action_with_account_conditions_selects_their_credentials(static_provider):
    policy = {**TERMINATED_OWNERS, "action": "revoke_token"}
    assert _targets(_evaluate(static_provider, policy)) == [
        ("revoke_token", "t-bob-1"),
        ("revoke_token", "t-bob-2"),
    ]
    sessions = {**policy, "match": {"owner_status": "terminated", "credential_kind": "session"}}
    assert _targets(_evaluate(static_provider, sessions)) == [("revoke_token", "t-bob-2")]


def test_credential_conditions_on_an_account_policy_mean_holds_one(static_provider):
    match = {"owner_status": "terminated", "credential_kind": "session"}
    proposals = _evaluate(static_provider, {**TERMINATED_OWNERS, "match": match})
    assert [p.action.target_id for p in proposals] == ["t-bob-1", "t-bob-2", "u2"]
    assert "holds session bob-session" in proposals[0].why
    match = {"owner_status": "terminated", "credential_kind": "ssh_key"}
    assert _evaluate(static_provider, {**TERMINATED_OWNERS, "match": match}) == []


def test_expired_but_active(static_provider):
    now = utcnow()
    carol = static_provider.credentials["t-carol-1"]
    static_provider.credentials["t-carol-1"] = replace(carol, expires=now - timedelta(days=3))
    key = static_provider.credentials["k-backup-1"]
    static_provider.credentials["k-backup-1"] = replace(
        key, expires=now - timedelta(days=9), status=CredentialStatus.EXPIRED
    )
    bob = static_provider.credentials["t-bob-1"]
    static_provider.credentials["t-bob-1"] = replace(bob, expires=now + timedelta(days=3))
    policy = {"name": "expired", "match": {"expired": True}, "action": "revoke_token"}
    proposals = _evaluate(static_provider, policy)
    assert _targets(proposals) == [("revoke_token", "t-carol-1")]
    assert "expired 3 days ago but still active" in proposals[0].why


def test_admin_scope(static_provider):
    policy = {"name": "admin-tokens", "match": {"admin_scope": True}, "action": "revoke_token"}
    proposals = _evaluate(static_provider, policy)
    assert _targets(proposals) == [("revoke_token", "t-alice-1")]
    assert "admin scope admin:org" in proposals[0].why
    key = static_provider.credentials["k-backup-1"]
    static_provider.credentials["k-backup-1"] = replace(key, scopes=("s3:*",))
    services = {**policy, "match": {"admin_scope": True, "account_kind": "service"}}
    assert _targets(_evaluate(static_provider, services)) == [("revoke_token", "k-backup-1")]


def test_privileged_and_account_kind(static_provider):
    privileged = {"name": "privileged", "match": {"privileged": True}, "action": "plan"}
    assert [p.action.target_id for p in _evaluate(static_provider, privileged)] == [
        "t-alice-1",
        "u1",
    ]
    keys = {
        "name": "service-keys",
        "match": {"account_kind": "service", "credential_kind": "access_key"},
        "action": "revoke_token",
    }
    assert _targets(_evaluate(static_provider, keys)) == [("revoke_token", "k-backup-1")]


def test_never_for_an_inactive_credential_or_a_dead_account(static_provider):
    carol = static_provider.credentials["t-carol-1"]
    static_provider.credentials["t-carol-1"] = replace(carol, status=CredentialStatus.REVOKED)
    assert _evaluate(static_provider, STALE_TOKENS) == []
    for status in (AccountStatus.DEACTIVATED, AccountStatus.DELETED):
        static_provider.accounts["u2"] = replace(static_provider.accounts["u2"], status=status)
        assert _evaluate(static_provider, TERMINATED_OWNERS) == []
        assert _evaluate(static_provider, {**TERMINATED_OWNERS, "action": "revoke_token"}) == []


def test_disabled_policies_and_other_providers_propose_nothing(static_provider):
    assert _evaluate(static_provider, {**STALE_TOKENS, "enabled": False}) == []
    assert _evaluate(static_provider, {**STALE_TOKENS, "providers": ["elsewhere"]}) == []
    assert len(_evaluate(static_provider, {**STALE_TOKENS, "providers": ["static"]})) == 1


def test_an_action_the_provider_does_not_offer_is_skipped_with_a_reason(static_provider):
    policy = {**STALE_TOKENS, "action": "delete_access_key"}
    proposals = _evaluate(static_provider, policy)
    assert proposals == []
    (skip,) = proposals.skipped
    assert skip.subject == "credential:t-carol-1" and not skip.error
    assert "offers no delete_access_key" in skip.why and "revoke_token" in skip.why
    account = _evaluate(static_provider, {**TERMINATED_OWNERS, "action": "suspend_account"})
    assert account == [] and account.skipped[0].subject == "account:u2"


def test_a_provider_that_is_missing_or_fails_is_skipped(static_provider, monkeypatch):
    proposals = evaluate(_policies(STALE_TOKENS), _views(static_provider), {}, utcnow())
    assert proposals == [] and "not configured" in proposals.skipped[0].why

    def broken(target):
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(static_provider, "revoke_actions", broken)
    proposals = _evaluate(static_provider, STALE_TOKENS, TERMINATED_OWNERS)
    assert proposals == []
    assert [(s.subject, s.error) for s in proposals.skipped] == [
        ("credential:t-carol-1", True),
        ("account:u2", True),
    ]
    assert "RuntimeError: plugin bug" in proposals.skipped[0].why


async def test_evaluate_on_a_synced_inventory(static_session):
    views = await static_session.inventory.sync()
    policies = _policies(STALE_TOKENS, TERMINATED_OWNERS)
    proposals = evaluate(policies, views, static_session.providers, utcnow())
    assert [p.action.target_id for p in proposals] == ["t-carol-1", "t-bob-1", "t-bob-2", "u2"]


# -- sweeping ----------------------------------------------------------------


def test_sweep_stages_as_the_policy(static_session, static_provider):
    proposals = _evaluate(static_provider, STALE_TOKENS)
    report = sweep(static_session.revocations, proposals, dry_run=False)
    assert report.counts() == {"staged": 1, "duplicate": 0, "unsupported": 0, "failed": 0}
    assert report.ok
    (item,) = static_session.queue.items()
    assert report.items == [item]
    assert item.state is QueueState.STAGED
    assert item.requested_by == "policy:stale-tokens"
    assert item.reason.startswith("policy stale-tokens: api_token carol-old (t-carol-1)")
    entries = static_session.journal.entries()
    assert [(e.actor, e.action, e.subject) for e in entries] == [
        ("policy:stale-tokens", "stage", "credential:t-carol-1")
    ]
    assert entries[0].detail["reason"] == item.reason
    assert report.summary_lines()[0] == (
        "sweep: 1 staged, 0 already queued, 0 unsupported, 0 failed"
    )


def test_a_second_sweep_stages_nothing_new(static_session, static_provider):
    policies = (STALE_TOKENS, TERMINATED_OWNERS)
    first = sweep(static_session.revocations, _evaluate(static_provider, *policies), dry_run=False)
    assert first.counts()["staged"] == 4
    journalled = len(static_session.journal.entries())
    second = sweep(static_session.revocations, _evaluate(static_provider, *policies), dry_run=False)
    assert second.counts() == {"staged": 0, "duplicate": 4, "unsupported": 0, "failed": 0}
    assert len(static_session.queue.items()) == 4
    assert len(static_session.journal.entries()) == journalled


def test_a_plan_is_staged_as_one_plan(static_session, static_provider):
    sweep(static_session.revocations, _evaluate(static_provider, TERMINATED_OWNERS), dry_run=False)
    items = static_session.queue.items()
    assert len(items) == 3 and len({i.plan_id for i in items}) == 1
    assert {i.requested_by for i in items} == {"policy:terminated-owners"}


def test_two_policies_on_one_target_stage_it_once(static_session, static_provider):
    also = {**STALE_TOKENS, "name": "carol", "match": {"unused_days_over": 150}}
    report = sweep(
        static_session.revocations, _evaluate(static_provider, STALE_TOKENS, also), dry_run=False
    )
    assert report.counts()["staged"] == 1 and report.counts()["duplicate"] == 1
    assert report.duplicates[0].policy == "carol"


def test_only_a_cancelled_item_lets_a_target_be_staged_again(static_session, static_provider):
    revocations = static_session.revocations
    (item,) = sweep(revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=False).items
    static_session.queue.cancel(item.id, why="false positive")
    report = sweep(revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=False)
    assert report.counts()["staged"] == 1


def test_dry_run_stages_and_journals_nothing(static_session, static_provider):
    report = sweep(
        static_session.revocations,
        _evaluate(static_provider, STALE_TOKENS, TERMINATED_OWNERS),
        dry_run=True,
    )
    assert report.dry_run and report.counts()["staged"] == 4
    assert report.items == []
    assert static_session.queue.items() == []
    assert static_session.journal.entries() == []
    assert report.summary_lines()[0].startswith("sweep (dry run): 4 would stage")
    assert "would stage" in report.summary_lines()[1]


def test_a_dry_run_reports_duplicates_too(static_session, static_provider):
    sweep(static_session.revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=False)
    report = sweep(
        static_session.revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=True
    )
    assert report.counts()["duplicate"] == 1 and report.counts()["staged"] == 0


async def test_approve_true_leaves_items_approved_for_queue_run(static_session, static_provider):
    policy = {**STALE_TOKENS, "approve": True}
    report = sweep(static_session.revocations, _evaluate(static_provider, policy), dry_run=False)
    (item,) = static_session.queue.items()
    assert item.state is QueueState.APPROVED and item.approved_by == "policy:stale-tokens"
    assert "(approved)" in report.staged[0].message
    actors = {(e.actor, e.action) for e in static_session.journal.entries()}
    assert actors == {("policy:stale-tokens", "stage"), ("policy:stale-tokens", "approve")}
    (outcome,) = await static_session.queue.run([item.id])
    assert outcome.ok and static_provider.revoke_calls == [("revoke_token", "t-carol-1")]
    # Revoked now: the next evaluation proposes nothing for that token.
    views = await static_session.inventory.sync()
    assert evaluate(_policies(policy), views, static_session.providers, utcnow()) == []


def test_a_read_only_journal_fails_each_staging_and_the_sweep_goes_on(
    static_session, static_provider, db_path
):
    journal = Journal.open(db_path, read_only=True)
    try:
        queue = RevocationQueue(journal, static_session.providers, "cron")
        revocations = RevocationService(
            queue, static_session.providers, OperatorConfig(), lambda code, subject: None
        )
        proposals = _evaluate(static_provider, STALE_TOKENS, TERMINATED_OWNERS)
        report = sweep(revocations, proposals, dry_run=False)
    finally:
        journal.close()
    assert report.counts() == {"staged": 0, "duplicate": 0, "unsupported": 0, "failed": 4}
    assert not report.ok
    assert all("read-only" in e.message for e in report.failed)
    assert [e.subject for e in report.failed] == [
        "credential:t-carol-1",
        "credential:t-bob-1",
        "credential:t-bob-2",
        "account:u2",
    ]
    assert static_session.queue.items() == []
    assert static_session.journal.entries() == []
    assert any(line.lstrip().startswith("FAILED") for line in report.summary_lines())


def test_a_read_only_queue_fails_without_raising(static_session, static_provider):
    static_session.queue.read_only = True
    report = sweep(
        static_session.revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=False
    )
    assert report.counts()["failed"] == 1 and "read-only" in report.failed[0].message


def test_skips_reach_the_report(static_session, static_provider, monkeypatch):
    proposals = _evaluate(static_provider, {**STALE_TOKENS, "action": "delete_access_key"})
    report = sweep(static_session.revocations, proposals, dry_run=False)
    assert report.counts() == {"staged": 0, "duplicate": 0, "unsupported": 1, "failed": 0}
    assert report.ok

    def broken(target):
        raise RuntimeError("plugin bug")

    monkeypatch.setattr(static_provider, "revoke_actions", broken)
    report = sweep(
        static_session.revocations, _evaluate(static_provider, STALE_TOKENS), dry_run=False
    )
    assert report.counts()["failed"] == 1 and not report.ok
    assert report.as_dict()["entries"][0]["outcome"] == "failed"


def test_summary_lines_are_terminal_safe(db_path):
    provider = StaticProvider(hostile=True)
    journal = Journal.open(db_path)
    try:
        queue = RevocationQueue(journal, {"static": provider}, "cron")
        revocations = RevocationService(
            queue, {"static": provider}, OperatorConfig(), lambda code, subject: None
        )
        bots = {"name": "bots", "match": {"account_kind": "bot"}, "action": "plan"}
        report = sweep(revocations, _evaluate(provider, bots), dry_run=True)
    finally:
        journal.close()
    assert report.counts()["staged"] == len([a for a in provider.accounts if a.startswith("h")])
    assert all(is_clean(line) for line in report.summary_lines())
