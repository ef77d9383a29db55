"""GitHubProvider against the fake GitHub API of ``tests/fakes/github.py`` over real HTTP.

Nothing is patched: the provider talks HTTP to a threaded server on
127.0.0.1. Only ``sleep`` is injected, so rate-limit waits and backoff are
recorded instead of slept, and the audit-log poll can be told apart (it
sleeps ``POLL`` seconds, which ends a drain).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pamtui.model import (
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    TargetKind,
)
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.github import GitHubProvider, decode_cursor
from pamtui.services.queue import plan_for_account
from tests.fakes import github as github_fake
from tests.fakes.github import GitHubFake
from tests.fakes.http import Reply
from tests.support.hostile import HOSTILE_STRINGS

TOKEN = "ghs_fake-installation-token"
POLL = 777.0
DAY_MS = 86_400_000
T0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z in epoch milliseconds


def _secrets(ref: Any) -> str:
    if ref == {"env": "GITHUB_TOKEN"}:
        return TOKEN
    if ref == {"env": "EMPTY"}:
        return ""
    raise LookupError(f"unknown secret reference {ref!r}")


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path, resolve_secret=_secrets)


SLEPT: list[float] = []


class Idle(Exception):
    """The stream finished a poll and would now sleep ``POLL`` seconds."""


async def _sleep(seconds: float) -> None:
    if seconds == POLL:
        raise Idle
    SLEPT.append(seconds)


def make(tmp_path: Path, server: GitHubFake, **settings: Any) -> GitHubProvider:
    settings = {
        "org": server.org,
        "base_url": server.url,
        "token": {"env": "GITHUB_TOKEN"},
        "poll_seconds": POLL,
        **settings,
    }
    return GitHubProvider.from_config("corp-github", settings, context(tmp_path), sleep=_sleep)


async def _accounts(provider: GitHubProvider) -> dict[str, Any]:
    return {a.name: a async for a in provider.list_accounts()}


async def _credentials(provider: GitHubProvider, account: Any = None) -> dict[str, Credential]:
    return {c.label: c async for c in provider.list_credentials(account)}


async def drain(provider: GitHubProvider, since: str | None = None) -> list[Any]:
    """Every event the stream delivers until its first idle poll."""
    events = []
    stream = provider.stream_events(since)
    try:
        async for event in stream:
            events.append(event)
    except Idle:
        pass
    finally:
        await stream.aclose()
    return events


# --------------------------------------------------------------------------- accounts


async def test_members_every_page_roles_and_2fa(tmp_path: Path, github_server: GitHubFake) -> None:
    ann = github_server.add_member("ann-owner", role="admin", two_factor=False)
    bob = github_server.add_member("bob")
    github_server.add_member("carol", two_factor=False)
    github_server.add_member("deploy-bot", type="Bot")
    github_server.add_member("dave", role="admin")
    provider = make(tmp_path, github_server, page_size=2)
    try:
        assert isinstance(provider, Provider)
        assert provider.capabilities == set(Capability) - {Capability.PEOPLE}  # no roster (yet)
        accounts = await _accounts(provider)
        assert set(accounts) == {"ann-owner", "bob", "carol", "deploy-bot", "dave"}
        pages = [
            (
                r.query.get("role"),
                r.query.get("filter"),
                r.query.get("page", "1"),
            )
            for r in github_server.hits("GET", "/orgs/acme/members")
        ]
        assert pages.count((None, None, "1")) == 1
        assert (None, None, "3") in pages  # 5 members, 2 per page: 3 pages followed via Link
        assert (("admin", None, "1")) in pages and ((None, "2fa_disabled", "1")) in pages
        first = github_server.hits("GET", "/orgs/acme/members")[0]
        assert first.query["per_page"] == "2"
        assert first.headers["authorization"] == f"Bearer {TOKEN}"
        assert first.headers["accept"] == "application/vnd.github+json"
        assert first.headers["x-github-api-version"] == "2022-11-28"

        owner = accounts["ann-owner"]
        assert owner.id == str(ann) and owner.provider == "corp-github" and owner.system == "acme"
        assert owner.privileged and owner.groups == ("role:admin", "2fa:disabled")
        assert owner.kind is AccountKind.HUMAN and owner.status is AccountStatus.ACTIVE
        assert accounts["bob"].id == str(bob) and not accounts["bob"].privileged
        assert accounts["bob"].groups == ("role:member", "2fa:enabled")
        assert accounts["carol"].groups == ("role:member", "2fa:disabled")
        assert accounts["deploy-bot"].kind is AccountKind.BOT
        assert accounts["dave"].privileged
    finally:
        await provider.aclose()


async def test_2fa_state_unknown_when_github_refuses_the_filter(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann", role="admin", two_factor=False)
    github_server.is_owner = False
    provider = make(tmp_path, github_server)
    try:
        accounts = await _accounts(provider)
        assert accounts["ann"].groups == ("role:admin",) and accounts["ann"].privileged
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- credentials


async def test_pats_are_listed_over_pages_and_mapped(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    ann = github_server.add_member("ann")
    bob = github_server.add_member("bob")
    ci = github_server.add_pat(
        "ann",
        "ci-deploy",
        permissions={
            "organization": {"organization_administration": "write", "members": "read"},
            "repository": {"contents": "write"},
        },
        repository_selection="all",
        last_used_at="2024-05-30T08:00:00Z",
    )
    github_server.add_pat("ann", "old", expired=True, expires_at="2024-01-01T00:00:00Z")
    github_server.add_pat("bob", "bob-laptop")
    provider = make(tmp_path, github_server, page_size=2)
    try:
        creds = await _credentials(provider)
        assert set(creds) == {"ci-deploy", "old", "bob-laptop"}
        assert len(github_server.hits("GET", "/orgs/acme/personal-access-tokens")) == 2
        c = creds["ci-deploy"]
        assert c.id == str(ci) and c.account_id == str(ann) and c.provider == "corp-github"
        assert c.kind is CredentialKind.PERSONAL_ACCESS_TOKEN
        assert c.status is CredentialStatus.ACTIVE
        assert c.scopes == (
            "organization.members:read",
            "organization.organization_administration:write",
            "repository.contents:write",
            "repositories:all",
        )
        assert c.created is not None and c.created.isoformat() == "2024-03-01T10:00:00+00:00"
        assert c.last_used is not None and c.last_used.isoformat() == "2024-05-30T08:00:00+00:00"
        assert c.expires is not None and c.expires.year == 2030
        assert creds["old"].status is CredentialStatus.EXPIRED
        assert creds["bob-laptop"].account_id == str(bob)

        accounts = await _accounts(provider)
        only_bob = await _credentials(provider, accounts["bob"])
        assert set(only_bob) == {"bob-laptop"}
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- revocation


async def test_revoke_one_token_verify_and_again_is_already_done(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    pat = github_server.add_pat("ann", "ci")
    keep = github_server.add_pat("ann", "keep")
    provider = make(tmp_path, github_server)
    try:
        cred = (await _credentials(provider))["ci"]
        [action] = provider.revoke_actions(cred)
        assert action.name == "revoke_token" and action.order == 10
        assert action.target_kind is TargetKind.CREDENTIAL and action.target_id == str(pat)
        assert not action.reversible
        assert not (await provider.verify(action)).gone

        result = await provider.revoke(action, "key-1")
        assert result.ok and not result.already_done
        [post] = github_server.hits("POST", f"/orgs/acme/personal-access-tokens/{pat}")
        assert post.json() == {"action": "revoke"}
        assert pat not in github_server.pats and keep in github_server.pats
        assert github_server.audit[-1]["action"] == "personal_access_token.access_revoked"

        verified = await provider.verify(action)
        assert verified.gone, verified.detail

        again = await provider.revoke(action, "key-1")
        assert again.ok and again.already_done
        assert again.provider_response == {"status": 404}
    finally:
        await provider.aclose()


async def test_bulk_revoke_of_an_account_verify_and_again(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.add_member("bob")
    ann_pats = {github_server.add_pat("ann", f"t{i}") for i in range(3)}
    bob_pat = github_server.add_pat("bob", "bob-token")
    provider = make(tmp_path, github_server)
    try:
        ann = (await _accounts(provider))["ann"]
        bulk, remove = provider.revoke_actions(ann)
        assert (bulk.name, bulk.order, bulk.target_kind) == (
            "revoke_all_tokens",
            5,
            TargetKind.ACCOUNT,
        )
        assert (remove.name, remove.order) == ("remove_member", 90)
        assert not (await provider.verify(bulk)).gone

        result = await provider.revoke(bulk, "key-b")
        assert result.ok and not result.already_done
        [post] = github_server.hits("POST", "/orgs/acme/personal-access-tokens")
        body = post.json()
        assert body["action"] == "revoke" and set(body["pat_ids"]) == ann_pats
        assert set(github_server.pats) == {bob_pat}

        verified = await provider.verify(bulk)
        assert verified.gone and verified.provider_response == {"pat_ids": []}

        again = await provider.revoke(bulk, "key-b")
        assert again.ok and again.already_done
        assert len(github_server.hits("POST", "/orgs/acme/personal-access-tokens")) == 1
    finally:
        await provider.aclose()


async def test_account_plan_bulk_first_then_tokens_then_member(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    uid = github_server.add_member("leaver", role="admin")
    github_server.add_pat("leaver", "a")
    github_server.add_pat("leaver", "b")
    provider = make(tmp_path, github_server)
    try:
        account = (await _accounts(provider))["leaver"]
        creds = list((await _credentials(provider, account)).values())
        plan = plan_for_account(provider, account, creds)
        assert [a.name for a in plan] == [
            "revoke_all_tokens",
            "revoke_token",
            "revoke_token",
            "remove_member",
        ]
        results = [await provider.revoke(a, f"k{i}") for i, a in enumerate(plan)]
        assert [(r.ok, r.already_done) for r in results] == [
            (True, False),
            (True, True),
            (True, True),
            (True, False),
        ]
        assert all([(await provider.verify(a)).gone for a in plan])
        assert github_server.member("leaver") is None and not github_server.pats
        assert any(
            e["action"] == "org.remove_member" and e["user_id"] == uid for e in github_server.audit
        )
    finally:
        await provider.aclose()


async def test_remove_member_verify_and_again_is_already_done(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("gone-soon")
    github_server.add_member("stays")
    provider = make(tmp_path, github_server)
    try:
        account = (await _accounts(provider))["gone-soon"]
        remove = provider.revoke_actions(account)[1]
        assert not (await provider.verify(remove)).gone

        result = await provider.revoke(remove, "key-m")
        assert result.ok and not result.already_done
        assert github_server.hits("DELETE", "/orgs/acme/memberships/gone-soon")
        assert github_server.member("gone-soon") is None and github_server.member("stays")

        verified = await provider.verify(remove)
        assert verified.gone and verified.provider_response == {"member": False}

        again = await provider.revoke(remove, "key-m")
        assert again.ok and again.already_done
        assert len(github_server.hits("DELETE", "/orgs/acme/memberships/gone-soon")) == 1
    finally:
        await provider.aclose()


async def test_a_refused_revocation_is_an_error_not_already_done(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    pat = github_server.add_pat("ann", "ci")
    refusal = github_fake.error(422, "Validation Failed: token cannot be revoked")
    github_server.inject("POST", f"/orgs/acme/personal-access-tokens/{pat}", refusal)
    github_server.inject("POST", "/orgs/acme/personal-access-tokens", refusal)
    provider = make(tmp_path, github_server)
    try:
        cred = (await _credentials(provider))["ci"]
        with pytest.raises(ProviderError, match=r"422.*token cannot be revoked") as info:
            await provider.revoke(provider.revoke_actions(cred)[0], "k")
        _assert_clean(info.value)
        account = (await _accounts(provider))["ann"]
        with pytest.raises(ProviderError, match=r"422.*token cannot be revoked"):
            await provider.revoke(provider.revoke_actions(account)[0], "k")
        assert len(github_server.hits("POST", "/orgs/acme/personal-access-tokens")) == 1
        assert pat in github_server.pats
    finally:
        await provider.aclose()


async def test_wrong_actions_are_refused(tmp_path: Path, github_server: GitHubFake) -> None:
    github_server.add_member("ann")
    provider = make(tmp_path, github_server)
    try:
        account = (await _accounts(provider))["ann"]
        bulk = provider.revoke_actions(account)[0]
        from dataclasses import replace

        with pytest.raises(ProviderError, match="unknown action"):
            await provider.revoke(replace(bulk, name="delete_repo"), "k")
        with pytest.raises(ProviderError, match="invalid GitHub user id"):
            await provider.revoke(replace(bulk, target_id="../../user"), "k")
        with pytest.raises(ProviderError, match="sent to github provider"):
            await provider.revoke(replace(bulk, provider="other"), "k")
        assert not github_server.hits("POST", "/orgs/acme/personal-access-tokens")
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- events


async def test_stream_resumes_from_cursor_without_gap_or_duplicate(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    now_ms = T0 + 10 * DAY_MS
    github_server.add_audit("repo.create", ts_ms=now_ms - 3 * DAY_MS, repo="acme/too-old")
    stamps = [now_ms - 5000, now_ms - 4000, now_ms - 4000, now_ms - 4000, now_ms - 1500]
    first = [
        github_server.add_audit("git.clone", ts_ms=t, repo=f"acme/r{i}")
        for i, t in enumerate(stamps)
    ]
    provider = make(tmp_path, github_server, page_size=2, backfill_hours=24)
    provider._clock = lambda: now_ms / 1000
    try:
        events = await drain(provider)
        assert [e.path for e in events] == [f"git.clone acme/r{i}" for i in range(5)]
        gets = github_server.hits("GET", "/orgs/acme/audit-log")
        assert gets[0].query["order"] == "asc" and gets[0].query["per_page"] == "2"
        assert gets[0].query["phrase"].startswith("created:>=")
        assert any("after" in r.query for r in gets)  # cursors of the Link header followed
        # stop in the middle of the three events of the same millisecond
        cursor = events[2].cursor
        assert decode_cursor(cursor)[0] == now_ms - 4000
    finally:
        await provider.aclose()

    github_server.add_audit("git.push", ts_ms=now_ms - 4000, repo="acme/late-same-ms")
    github_server.add_audit("git.push", ts_ms=now_ms + 100, repo="acme/new")
    restarted = make(tmp_path, github_server, page_size=2)
    try:
        resumed = await drain(restarted, cursor)
        expected = sorted(
            [*first[3:], github_server.audit[-2], github_server.audit[-1]],
            key=lambda e: (e["@timestamp"], e["_document_id"]),
        )
        assert [e.path for e in resumed] == [f"{e['action']} {e['repo']}" for e in expected]
        assert len({e.cursor for e in resumed}) == len(resumed)
        # from the very last cursor: nothing new, nothing repeated
        assert await drain(restarted, resumed[-1].cursor) == []
    finally:
        await restarted.aclose()


async def test_stream_keeps_its_cursor_in_the_state_dir(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    now_ms = T0 + 10 * DAY_MS
    github_server.add_audit("repo.create", ts_ms=now_ms - 2000, repo="acme/a")
    github_server.add_audit("git.push", ts_ms=now_ms - 1000, repo="acme/a")
    provider = make(tmp_path, github_server)
    provider._clock = lambda: now_ms / 1000
    try:
        assert [e.path for e in await drain(provider)] == ["repo.create acme/a", "git.push acme/a"]
        assert github_server.hits("GET", "/orgs/acme/audit-log")[0].query["include"] == "all"
        saved = tmp_path / "github-corp-github.cursor"
        assert saved.stat().st_mode & 0o777 == 0o600
    finally:
        await provider.aclose()

    github_server.add_audit("org.add_member", ts_ms=now_ms + 5, user="new")
    again = make(tmp_path, github_server, audit_include="web")
    try:
        # no cursor given: resumes after the saved one instead of backfilling
        assert [e.path for e in await drain(again)] == ["org.add_member new"]
    finally:
        await again.aclose()

    other = make(tmp_path, github_server, base_url=github_server.url + "/api/v3")
    other._clock = lambda: now_ms / 1000
    try:
        assert other._load_cursor() is None  # another API root: the saved cursor is not its own
    finally:
        await other.aclose()


async def test_web_only_audit_log_leaves_git_events_out(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_audit("git.clone", ts_ms=T0, repo="acme/a")
    github_server.add_audit("repo.destroy", ts_ms=T0 + 1, repo="acme/a")
    provider = make(tmp_path, github_server, audit_include="web")
    try:
        events = await drain(provider, json.dumps([T0 - 1, []]))
        assert [(e.method, e.path) for e in events] == [("DELETE", "repo.destroy acme/a")]
    finally:
        await provider.aclose()


async def test_no_audit_log_api_is_a_clear_error(tmp_path: Path, github_server: GitHubFake) -> None:
    github_server.audit_log_available = False
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError, match="audit_log = false") as info:
            await drain(provider)
        _assert_clean(info.value)
    finally:
        await provider.aclose()


async def test_event_mapping(tmp_path: Path, github_server: GitHubFake) -> None:
    uid = github_server.add_member("ann")
    pat = github_server.add_pat("ann", "ci")
    token_id = github_server.pats[pat]["token_id"]
    github_server.add_audit(
        "personal_access_token.request_denied",
        ts_ms=T0,
        actor="ann",
        actor_id=uid,
        actor_ip="198.51.100.7",
        user_agent="curl/8.5.0",
        token_id=token_id,
    )
    github_server.add_audit(
        "org.remove_member", ts_ms=T0 + 1, actor="ann", actor_id=uid, user="bob"
    )
    github_server.add_audit("repo.create", ts_ms=T0 + 2, actor="ann", repo="acme/x")
    github_server.add_audit("git.clone", ts_ms=T0 + 3, actor_id=uid, repo="acme/x")
    provider = make(tmp_path, github_server)
    try:
        await _accounts(provider)
        await _credentials(provider)  # teaches the provider token_id -> pat id
        cursor = json.dumps([T0 - 1, []])
        denied, removed, created, cloned = await drain(provider, cursor)
        assert denied.status == 403 and denied.denied
        assert denied.account_id == str(uid) and denied.credential_id == str(pat)
        assert denied.source_ip == "198.51.100.7" and denied.user_agent == "curl/8.5.0"
        assert denied.ts.isoformat() == "2024-06-01T00:00:00+00:00"
        assert denied.provider == "corp-github"
        assert (removed.method, removed.path, removed.status) == (
            "DELETE",
            "org.remove_member bob",
            200,
        )
        assert created.method == "POST" and created.account_id == str(uid)  # login -> id
        assert cloned.method == "GET" and cloned.credential_id == ""
    finally:
        await provider.aclose()


async def test_foreign_cursor_is_refused(tmp_path: Path, github_server: GitHubFake) -> None:
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError, match="not a github audit-log cursor"):
            await drain(provider, "1234:5678")
    finally:
        await provider.aclose()


def test_audit_log_off_means_no_events_capability(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    settings = {"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "audit_log": False}
    provider = GitHubProvider.from_config("gh", settings, ctx)
    assert Capability.EVENTS not in provider.capabilities
    assert str(provider.http.base_url) == "https://api.github.com/"


# --------------------------------------------------------------------------- hostile data


async def test_hostile_names_survive_as_data(tmp_path: Path, github_server: GitHubFake) -> None:
    logins = {}
    for i, text in enumerate(HOSTILE_STRINGS):
        login = f"u{i}-{text}"
        logins[github_server.add_member(login)] = login
        github_server.add_pat(login, text)
        github_server.add_audit(
            text, ts_ms=T0 + i, actor=login, user_agent=text, actor_ip=text, repo=text
        )
    provider = make(tmp_path, github_server)
    try:
        accounts = {a.id: a async for a in provider.list_accounts()}
        assert {i: a.name for i, a in accounts.items()} == {str(k): v for k, v in logins.items()}
        labels = {c.label async for c in provider.list_credentials()}
        assert labels == {t.strip() for t in HOSTILE_STRINGS}
        events = await drain(provider, json.dumps([T0 - 1, []]))
        assert [e.user_agent for e in events] == [t.strip() for t in HOSTILE_STRINGS]
        # revocation by a hostile login still addresses exactly that member
        victim = accounts[next(str(k) for k, v in logins.items() if "[/x]" in v)]
        result = await provider.revoke(provider.revoke_actions(victim)[1], "k")
        assert result.ok and not result.already_done
        assert github_server.member(victim.name) is None
        assert len(github_server.members) == len(HOSTILE_STRINGS) - 1
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- faults


def _assert_clean(exc: BaseException) -> None:
    assert TOKEN not in str(exc) and TOKEN not in repr(exc)
    assert "corp-github" in str(exc)


async def test_429_with_retry_after_then_success(tmp_path: Path, github_server: GitHubFake) -> None:
    github_server.add_member("ann")
    github_server.inject("GET", "/orgs/acme/members", github_fake.too_many_requests(2))
    provider = make(tmp_path, github_server)
    SLEPT.clear()
    try:
        assert set(await _accounts(provider)) == {"ann"}
        assert provider.http.rate_limited_waits == 1 and provider.http.retries == 1
        assert SLEPT and 1.0 < SLEPT[0] <= 2.0
    finally:
        await provider.aclose()


async def test_secondary_rate_limit_403_waits_then_succeeds(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.add_pat("ann", "ci")
    github_server.inject(
        "GET", "/orgs/acme/personal-access-tokens", github_fake.secondary_limit_403(1)
    )
    provider = make(tmp_path, github_server)
    SLEPT.clear()
    try:
        assert set(await _credentials(provider)) == {"ci"}
        assert provider.http.rate_limited_waits == 1
        assert SLEPT and SLEPT[0] <= 1.0
    finally:
        await provider.aclose()


async def test_primary_rate_limit_exhausted_is_a_retryable_error(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.rate_limit = 1
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        assert info.value.retryable
        assert "rate limited" in str(info.value)
        _assert_clean(info.value)
    finally:
        await provider.aclose()


async def test_500_then_success(tmp_path: Path, github_server: GitHubFake) -> None:
    github_server.add_member("ann")
    github_server.inject("GET", "/orgs/acme/members", github_fake.server_error())
    provider = make(tmp_path, github_server)
    try:
        assert set(await _accounts(provider)) == {"ann"}
        assert provider.http.retries == 1
    finally:
        await provider.aclose()


async def test_500_on_revoke_is_retried_as_revoking_is_idempotent(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    pat = github_server.add_pat("ann", "ci")
    path = f"/orgs/acme/personal-access-tokens/{pat}"
    github_server.inject("POST", path, github_fake.server_error())
    provider = make(tmp_path, github_server)
    try:
        cred = (await _credentials(provider))["ci"]
        result = await provider.revoke(provider.revoke_actions(cred)[0], "k")
        assert result.ok and not result.already_done
        assert len(github_server.hits("POST", path)) == 2
    finally:
        await provider.aclose()


async def test_timeout_is_a_clear_error(tmp_path: Path, github_server: GitHubFake) -> None:
    github_server.add_member("ann")
    slow = Reply(200, body=[], delay=3)
    github_server.inject("GET", "/orgs/acme/members", slow, slow)
    provider = make(tmp_path, github_server, timeout_s=0.2, max_retries=1)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        assert "timed out" in str(info.value) and info.value.retryable
        _assert_clean(info.value)
    finally:
        await provider.aclose()


async def test_malformed_json_is_a_provider_error(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.inject("GET", "/orgs/acme/members", github_fake.malformed())
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError, match="malformed JSON") as info:
            await _accounts(provider)
        _assert_clean(info.value)
    finally:
        await provider.aclose()


async def test_expired_token_401_is_clear_and_never_shows_the_token(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.expire(TOKEN)
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert "401" in message and "Bad credentials" in message
        assert "https://docs.github.com/rest" in message
        assert not info.value.retryable
        _assert_clean(info.value)
        assert TOKEN not in repr(provider)
    finally:
        await provider.aclose()


async def test_a_server_echoing_the_token_is_redacted(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.inject(
        "GET", "/orgs/acme/members", github_fake.error(422, f"Validation Failed for {TOKEN}")
    )
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        assert "422" in str(info.value) and "[redacted]" in str(info.value)
        _assert_clean(info.value)
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- settings


def test_plaintext_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError) as info:
        GitHubProvider.from_config(
            "corp-github", {"org": "acme", "token": "ghp_plaintextsecret123"}, context(tmp_path)
        )
    message = str(info.value)
    assert "'token'" in message and '{ env = "VAR" }' in message
    assert "ghp_plaintextsecret123" not in message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"token": {"env": "GITHUB_TOKEN"}}, "org"),
        ({"org": "acme/../x", "token": {"env": "GITHUB_TOKEN"}}, "org"),
        ({"org": "acme"}, "token"),
        ({"org": "acme", "token": {"env": "NOPE"}}, "token"),
        ({"org": "acme", "token": {"env": "EMPTY"}}, "token"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "base_url": "ftp://x"}, "base_url"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "page_size": 101}, "page_size"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "poll_seconds": 0}, "poll_seconds"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "backfill_hours": -1}, "backfill_hours"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "audit_log": "yes"}, "audit_log"),
        (
            {"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "audit_include": "ssh"},
            "audit_include",
        ),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "timeout_s": "3"}, "timeout_s"),
        ({"org": "acme", "token": {"env": "GITHUB_TOKEN"}, "orgg": "x"}, "orgg"),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        GitHubProvider.from_config("corp-github", settings, context(tmp_path))
    assert f"'{key}'" in str(info.value)
    assert "corp-github" in str(info.value)
