"""OktaProvider against the faithful fake Okta of ``tests/fakes/okta.py``, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pamtui.model import (
    AccessEvent,
    AccountKind,
    AccountStatus,
    Capability,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RevokeAction,
    TargetKind,
)
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.okta import OktaProvider
from pamtui.services.queue import plan_for_account
from tests.fakes import okta as okta_fake
from tests.fakes.okta import ADMIN_TOKEN, OktaFake
from tests.support.hostile import HOSTILE_STRINGS

EXPIRED = "00Okta-expired-token-1a2b3c4d5e6f"


def _secrets(ref: Any) -> str:
    if ref == {"env": "OKTA_TOKEN"}:
        return ADMIN_TOKEN
    if ref == {"keyring": "okta-expired"}:
        return EXPIRED
    if ref == {"env": "EMPTY"}:
        return ""
    raise LookupError(f"unknown secret reference {ref!r}")


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path, resolve_secret=_secrets)


SLEPT: list[float] = []


async def _no_sleep(seconds: float) -> None:
    """Records the wait and yields to the loop, so polling tests stay fast."""
    SLEPT.append(seconds)
    await asyncio.sleep(0)


def make(tmp_path: Path, base_url: str, **settings: Any) -> OktaProvider:
    settings = {"base_url": base_url, "token": {"env": "OKTA_TOKEN"}, **settings}
    return OktaProvider.from_config("corp-okta", settings, context(tmp_path), sleep=_no_sleep)


async def _accounts(provider: OktaProvider) -> dict[str, Any]:
    return {a.id: a async for a in provider.list_accounts()}


async def _take(stream: AsyncIterator[AccessEvent], n: int) -> list[AccessEvent]:
    got: list[AccessEvent] = []

    async def pull() -> None:
        async for event in stream:
            got.append(event)
            if len(got) == n:
                return

    try:
        await asyncio.wait_for(
            pull(), timeout=30
        )  # a bound for a hang, not a speed check (CI is busy)
    finally:
        await stream.aclose()  # type: ignore[attr-defined]
    return got


def _action(provider: OktaProvider, target: Any, name: str) -> RevokeAction:
    return next(a for a in provider.revoke_actions(target) if a.name == name)


# --------------------------------------------------------------------------- listings


async def test_lists_users_over_link_pages_and_maps_them(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    ids = [
        okta_server.add_user(
            f"user{i}@example.com",
            first="User",
            last=str(i),
            last_login="2024-05-01T10:00:00.000Z",
            employeeNumber=f"E{i}",
        )
        for i in range(6)
    ]
    bot = okta_server.add_user("ci-bot@example.com", userType="Bot", displayName="CI Bot")
    suspended = okta_server.add_user("sus@example.com", status="SUSPENDED")
    gone = okta_server.add_user("gone@example.com", status="DEPROVISIONED")
    provider = make(tmp_path, okta_server.url, page_size=3)
    try:
        assert isinstance(provider, Provider)
        assert provider.capabilities == set(Capability) - {Capability.PEOPLE}  # no roster (yet)
        accounts = await _accounts(provider)
        # Okta lists every user that is not DEPROVISIONED when there is no search
        assert set(accounts) == {okta_server.admin_id, *ids, bot, suspended}
        pages = okta_server.requests_to("/api/v1/users")
        assert len(pages) == 3
        assert all(p.query["limit"] == "3" for p in pages)
        assert "after" not in pages[0].query and pages[1].query["after"]
        first = accounts[ids[0]]
        assert first.name == "user0@example.com" and first.email == "user0@example.com"
        assert first.display_name == "User 0" and first.owner == "E0"
        assert first.kind is AccountKind.HUMAN and first.status is AccountStatus.ACTIVE
        assert first.last_active is not None and first.last_active.year == 2024
        assert first.provider == "corp-okta" and not first.privileged
        assert accounts[bot].kind is AccountKind.BOT and accounts[bot].display_name == "CI Bot"
        assert accounts[suspended].status is AccountStatus.SUSPENDED
        assert gone not in accounts
    finally:
        await provider.aclose()


async def test_search_setting_is_sent_and_reaches_deprovisioned_users(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.add_user("active@example.com")
    gone = okta_server.add_user("gone@example.com", status="DEPROVISIONED", department="Ops")
    provider = make(tmp_path, okta_server.url, search='status eq "DEPROVISIONED"')
    try:
        accounts = await _accounts(provider)
        assert list(accounts) == [gone]
        assert accounts[gone].status is AccountStatus.DEACTIVATED
        [hit] = okta_server.requests_to("/api/v1/users")
        assert hit.query["search"] == 'status eq "DEPROVISIONED"'
    finally:
        await provider.aclose()


async def test_privileged_from_admin_roles_without_a_request_per_user(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    users = [okta_server.add_user(f"u{i}@example.com") for i in range(8)]
    helpdesk = okta_server.add_user("helpdesk@example.com", employmentStatus="Terminated")
    okta_server.grant_role(helpdesk, "HELP_DESK_ADMIN", via_group=True)
    provider = make(tmp_path, okta_server.url, hr_attribute="employmentStatus")
    strict = make(tmp_path, okta_server.url, privileged_roles=["super_admin"])
    try:
        accounts = await _accounts(provider)
        admin = accounts[okta_server.admin_id]
        assert admin.privileged and admin.groups == ("role:SUPER_ADMIN",)
        assert accounts[helpdesk].privileged
        assert accounts[helpdesk].groups == ("role:HELP_DESK_ADMIN",)
        assert accounts[helpdesk].owner_status is OwnerStatus.TERMINATED
        assert not any(accounts[u].privileged for u in users)
        assert accounts[users[0]].owner_status is OwnerStatus.UNKNOWN
        # one assignees listing, then roles of the two admins only
        assert len(okta_server.requests_to("/api/v1/iam/assignees/users")) == 1
        roles = okta_server.requests_to(r"/api/v1/users/[^/]+/roles")
        assert sorted(h.path for h in roles) == sorted(
            f"/api/v1/users/{u}/roles" for u in (okta_server.admin_id, helpdesk)
        )
        only_super = await _accounts(strict)
        assert only_super[okta_server.admin_id].privileged
        assert not only_super[helpdesk].privileged
    finally:
        await provider.aclose()
        await strict.aclose()


async def test_privileged_without_the_assignees_listing_asks_roles_per_user(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    users = [okta_server.add_user(f"u{i}@example.com") for i in range(3)]
    okta_server.grant_role(users[1], "ORG_ADMIN")
    okta_server.assignees_api = False
    provider = make(tmp_path, okta_server.url, page_size=2)
    try:
        accounts = await _accounts(provider)
        assert [u for u in users if accounts[u].privileged] == [users[1]]
        assert accounts[okta_server.admin_id].privileged
        assert len(okta_server.requests_to(r"/api/v1/users/[^/]+/roles")) == len(accounts)
    finally:
        await provider.aclose()


async def test_no_permission_to_read_roles_says_what_is_missing(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.forbidden.append("^/api/v1/iam/")
    provider = make(tmp_path, okta_server.url)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert "HTTP 403" in message and "(E0000006)" in message
        assert "Read-Only Administrator" in message and ADMIN_TOKEN not in message
        assert not info.value.retryable
    finally:
        await provider.aclose()


async def test_api_tokens_are_credentials_of_their_owner(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    first = okta_server.add_api_token(
        dev, "terraform", client_name="Okta API", expires_at="2099-02-01T00:00:00.000Z"
    )
    second = okta_server.add_api_token(dev, "old", expires_at="2001-01-01T00:00:00.000Z")
    provider = make(tmp_path, okta_server.url, page_size=2)
    try:
        every = [c async for c in provider.list_credentials()]
        assert {c.id for c in every} == {okta_server.admin_token_id, first, second}
        assert len(okta_server.requests_to("/api/v1/api-tokens")) == 2
        accounts = await _accounts(provider)
        mine = {c.id: c async for c in provider.list_credentials(accounts[dev])}
        assert set(mine) == {first, second}
        token = mine[first]
        assert token.kind is CredentialKind.API_TOKEN and token.status is CredentialStatus.ACTIVE
        assert token.account_id == dev and token.label == "terraform (Okta API)"
        assert token.scopes == ("network:ANYWHERE",)
        assert token.last_used is not None and token.last_used.day == 2  # expiresAt - P30D
        assert token.fingerprint == ""  # Okta never returns the secret, nor do we
        assert mine[second].status is CredentialStatus.EXPIRED
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- revocation


async def test_plan_clears_sessions_revokes_tokens_then_deactivates(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("leaver@example.com")
    okta_server.add_api_token(dev, "laptop")
    okta_server.add_api_token(dev, "ci")
    provider = make(tmp_path, okta_server.url)
    try:
        account = (await _accounts(provider))[dev]
        creds = [c async for c in provider.list_credentials(account)]
        plan = plan_for_account(provider, account, creds)
        assert [a.name for a in plan] == [
            "revoke_token",
            "revoke_token",
            "clear_sessions",
            "deactivate_account",
        ]
        assert all(a.account_id == dev for a in plan)
        for step in plan:
            result = await provider.revoke(step, f"key-{step.target_id}")
            assert result.ok and not result.already_done, result.detail
            verified = await provider.verify(step)
            assert verified.gone, verified.detail
        assert okta_server.user(dev)["status"] == "DEPROVISIONED"
        assert not [t for t in okta_server.api_tokens.values() if t["userId"] == dev]
    finally:
        await provider.aclose()


async def test_revoke_token_verify_and_again_is_already_done(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    token_id = okta_server.add_api_token(dev, "laptop")
    provider = make(tmp_path, okta_server.url)
    try:
        [cred] = [c async for c in provider.list_credentials() if c.id == token_id]
        revoke = _action(provider, cred, "revoke_token")
        assert revoke.target_kind is TargetKind.CREDENTIAL and revoke.order == 20
        assert not (await provider.verify(revoke)).gone
        result = await provider.revoke(revoke, "k1")
        assert result.ok and not result.already_done
        assert token_id not in okta_server.api_tokens
        verified = await provider.verify(revoke)
        assert verified.gone and verified.provider_response == {"status": 404}
        again = await provider.revoke(revoke, "k1")
        assert again.ok and again.already_done
        [event] = [e for e in okta_server.logs if e["eventType"] == "system.api_token.revoke"]
        assert event["target"][0]["id"] == token_id
    finally:
        await provider.aclose()


async def test_suspend_verify_and_again_is_already_done(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    staged = okta_server.add_user("new@example.com", status="STAGED")
    provider = make(
        tmp_path, okta_server.url, account_actions=["suspend_account", "deactivate_account"]
    )
    try:
        accounts = await _accounts(provider)
        suspend = _action(provider, accounts[dev], "suspend_account")
        assert suspend.reversible and suspend.order == 60
        assert not (await provider.verify(suspend)).gone
        result = await provider.revoke(suspend, "k")
        assert result.ok and not result.already_done
        assert okta_server.user(dev)["status"] == "SUSPENDED"
        assert (await provider.verify(suspend)).gone
        again = await provider.revoke(suspend, "k")
        assert again.ok and again.already_done and "SUSPENDED" in again.detail
        # a suspended user can still be deactivated
        deactivate = _action(provider, accounts[dev], "deactivate_account")
        assert (await provider.revoke(deactivate, "k2")).ok
        assert okta_server.user(dev)["status"] == "DEPROVISIONED"
        # Okta only suspends ACTIVE users: a clear error, nothing sent
        with pytest.raises(ProviderError, match="only suspends ACTIVE"):
            await provider.revoke(_action(provider, accounts[staged], "suspend_account"), "k3")
        assert not okta_server.requests_to(rf"/api/v1/users/{staged}/lifecycle/suspend", "POST")
    finally:
        await provider.aclose()


async def test_deactivate_verify_and_again_is_already_done(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    okta_server.start_session(dev)
    provider = make(tmp_path, okta_server.url)
    try:
        account = (await _accounts(provider))[dev]
        deactivate = _action(provider, account, "deactivate_account")
        assert not deactivate.reversible and deactivate.order == 90
        assert not (await provider.verify(deactivate)).gone
        result = await provider.revoke(deactivate, "k")
        assert result.ok and not result.already_done
        [post] = okta_server.requests_to(rf"/api/v1/users/{dev}/lifecycle/deactivate", "POST")
        assert post.query == {"sendEmail": "false"}
        assert okta_server.user(dev)["status"] == "DEPROVISIONED"
        verified = await provider.verify(deactivate)
        assert verified.gone and verified.provider_response == {"user_status": "DEPROVISIONED"}
        again = await provider.revoke(deactivate, "k")
        assert again.ok and again.already_done
        # read first: the second revoke did not POST again
        assert (
            len(okta_server.requests_to(rf"/api/v1/users/{dev}/lifecycle/deactivate", "POST")) == 1
        )
    finally:
        await provider.aclose()


async def test_delete_of_an_active_user_deletes_twice_then_404(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    provider = make(tmp_path, okta_server.url, account_actions=["delete_account"])
    try:
        account = (await _accounts(provider))[dev]
        delete = _action(provider, account, "delete_account")
        assert delete.order == 95 and not delete.reversible
        assert not (await provider.verify(delete)).gone
        result = await provider.revoke(delete, "k")
        assert result.ok and not result.already_done
        assert result.provider_response == {"status": 204, "delete_calls": 2}
        assert okta_server.user(dev) is None
        verified = await provider.verify(delete)
        assert verified.gone and verified.provider_response == {"status": 404}
        again = await provider.revoke(delete, "k")
        assert again.ok and again.already_done
        kinds = [e["eventType"] for e in okta_server.logs]
        assert kinds[-2:] == ["user.lifecycle.deactivate", "user.lifecycle.delete.initiated"]
    finally:
        await provider.aclose()


async def test_clear_sessions_is_verified_by_the_system_log(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    okta_server.start_session(dev, oauth_tokens=2, devices=2)
    provider = make(tmp_path, okta_server.url)
    try:
        account = (await _accounts(provider))[dev]
        clear = _action(provider, account, "clear_sessions")
        assert clear.order == 40
        before = await provider.verify(clear)
        assert not before.gone and before.detail.startswith("unverifiable")
        result = await provider.revoke(clear, "k")
        assert result.ok and not result.already_done
        [hit] = okta_server.requests_to(rf"/api/v1/users/{dev}/sessions", "DELETE")
        assert hit.query == {"oauthTokens": "true", "forgetDevices": "true"}
        assert okta_server.sessions[dev] == 0 and okta_server.oauth_tokens[dev] == 0
        assert okta_server.remembered_devices[dev] == 0
        verified = await provider.verify(clear)
        assert verified.gone and verified.provider_response["verified_by"] == "system_log"
        assert "not a live check" in verified.detail
        # after a restart the provider still finds the recent record
        fresh = make(tmp_path, okta_server.url)
        try:
            assert (await fresh.verify(clear)).gone
        finally:
            await fresh.aclose()
    finally:
        await provider.aclose()


async def test_ids_are_quoted_and_foreign_actions_refused(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    provider = make(tmp_path, okta_server.url, account_actions=["deactivate_account"])
    try:
        sneaky = RevokeAction(
            "corp-okta", "deactivate_account", TargetKind.ACCOUNT, "../api-tokens", "x", "x"
        )
        result = await provider.revoke(sneaky, "k")
        assert result.already_done  # 404 for the quoted id, nothing else touched
        assert okta_server.requests_to(r"/api/v1/users/\.\.%2Fapi-tokens")
        with pytest.raises(ProviderError, match="invalid Okta id"):
            await provider.revoke(
                RevokeAction("corp-okta", "delete_account", TargetKind.ACCOUNT, "..", "", ""), "k"
            )
        with pytest.raises(ProviderError, match="sent to okta provider"):
            await provider.verify(
                RevokeAction("other", "deactivate_account", TargetKind.ACCOUNT, "u", "u", "")
            )
        with pytest.raises(ProviderError, match="unknown action"):
            await provider.revoke(
                RevokeAction("corp-okta", "revoke_token", TargetKind.ACCOUNT, "u", "u", ""), "k"
            )
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- System Log


async def test_stream_maps_events(tmp_path: Path, okta_server: OktaFake) -> None:
    dev = okta_server.add_user("dev@example.com")
    okta_server.log_event(
        "user.session.start",
        actor_id=dev,
        outcome="SUCCESS",
        ip="203.0.113.9",
        user_agent="curl/8.5.0",
        targets=[dev],
    )
    okta_server.log_event("user.session.start", actor_id=dev, outcome="FAILURE")
    okta_server.log_event("policy.evaluate_sign_on", actor_id=dev, outcome="DENY")
    okta_server.log_event("user.mfa.challenge", actor_id=dev, outcome="CHALLENGE")
    okta_server.log_event(
        "user.lifecycle.suspend", targets=[dev], token_id=okta_server.admin_token_id
    )
    provider = make(tmp_path, okta_server.url)
    try:
        events = await _take(provider.stream_events(), 5)
        ok, failed, denied, challenged, by_token = events
        assert ok.account_id == dev and ok.status == 200 and not ok.denied
        assert ok.source_ip == "203.0.113.9" and ok.user_agent == "curl/8.5.0"
        assert ok.method == "EVENT" and ok.path == "user.session.start dev@example.com"
        assert failed.status == 403 and failed.denied
        assert denied.status == 403 and challenged.status == 401
        assert by_token.credential_id == okta_server.admin_token_id
        assert by_token.account_id == okta_server.admin_id
        assert all(e.cursor for e in events)
        first = okta_server.requests_to("/api/v1/logs")[0]
        assert first.query["sortOrder"] == "ASCENDING" and "since" in first.query
    finally:
        await provider.aclose()


async def test_stream_resumes_from_cursor_across_restart_without_gap_or_duplicate(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    # Several events in one millisecond. All seven carry that one timestamp: one
    # stamped later but logged before the rest would be a late arrival, which a
    # resume by time cannot tell from an event already delivered (on a busy
    # machine the clock moved between the calls and this test lost two events).
    same_ms = okta_fake.now_iso()
    n = iter(range(100))

    def event(kind: str, **kw: Any) -> str:  # each event is told apart by its user agent
        okta_server.log_event(kind, actor_id=dev, user_agent=f"ua-{next(n)}", **kw)
        return okta_server.logs[-1]["client"]["userAgent"]["rawUserAgent"]

    first_batch = [event("user.session.start", published=same_ms) for _ in range(4)]
    first_batch += [event("app.oauth2.as.token.grant", published=same_ms) for _ in range(3)]
    provider = make(tmp_path, okta_server.url, page_size=2, poll_seconds=7)
    try:
        got = await _take(provider.stream_events(), 5)  # stops mid-page, mid-millisecond
    finally:
        await provider.aclose()
    cursor = got[-1].cursor
    assert [e.cursor for e in got].count(cursor) == 1

    later = [event("user.session.end") for _ in range(3)]
    waits: list[float] = []

    async def sleep_then_sign_in(seconds: float) -> None:
        # The first empty poll: a sign-in failure happens while the stream waits.
        if not waits and seconds == 7:
            event("user.session.start", outcome="FAILURE")
        waits.append(seconds)
        await asyncio.sleep(0)

    restarted = OktaProvider.from_config(
        "corp-okta",
        {**BASE, "base_url": okta_server.url, "page_size": 2, "poll_seconds": 7},
        context(tmp_path),
        sleep=sleep_then_sign_in,
    )
    try:
        rest = await _take(restarted.stream_events(since=cursor), 5)
        # and from the cursor of the last event of a page (it carries the next link)
        tail = rest[-1].cursor
        polled_before = len(okta_server.requests_to("/api/v1/logs"))
        final = await _take(restarted.stream_events(since=tail), 1)
    finally:
        await restarted.aclose()
    # Okta answers a polling request with a next link even when empty: the
    # stream waited poll_seconds and asked the same link again.
    empty, full = okta_server.requests_to("/api/v1/logs")[polled_before:]
    assert empty.target == full.target and "after" in empty.query
    assert waits == [7]

    delivered = [e.user_agent for e in got + rest + final]
    assert delivered == [*first_batch, *later, "ua-10"]  # in order, no gap, no duplicate
    assert final[0].status == 403


async def test_stream_delivers_an_event_okta_stored_late(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.log_event("user.session.start", user_agent="first")
    okta_server.log_event("user.session.start", user_agent="second")
    provider = make(tmp_path, okta_server.url)
    try:
        got = await _take(provider.stream_events(), 2)
        # The System Log is eventually consistent: an event published earlier
        # shows up after the ones already read. Following the next link gets it.
        earlier = okta_fake.iso(got[0].ts - timedelta(seconds=10))
        okta_server.log_event("user.session.start", user_agent="late", published=earlier)
        [late] = await _take(provider.stream_events(since=got[-1].cursor), 1)
        assert late.user_agent == "late" and late.ts < got[0].ts
    finally:
        await provider.aclose()


async def test_bad_cursor_is_a_clear_error(tmp_path: Path, okta_server: OktaFake) -> None:
    provider = make(tmp_path, okta_server.url)
    try:
        for cursor in ("nope", "okta-log.v1.!!!", "okta-log.v1.e30"):
            with pytest.raises(ProviderError, match="cursor"):
                await _take(provider.stream_events(since=cursor), 1)
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- hostile data


async def test_hostile_text_survives_as_data(tmp_path: Path, okta_server: OktaFake) -> None:
    ids = {
        okta_server.add_user(f"h{i}@example.com", displayName=text, first=text): text
        for i, text in enumerate(HOSTILE_STRINGS)
    }
    tokens = {}
    for user_id, text in ids.items():
        tokens[okta_server.add_api_token(user_id, text, client_name="")] = text
        okta_server.log_event("user.session.start", actor_id=user_id, user_agent=text)
    provider = make(tmp_path, okta_server.url)
    try:
        accounts = await _accounts(provider)
        for user_id, text in ids.items():
            assert accounts[user_id].display_name == text.strip()
        creds = {c.id: c async for c in provider.list_credentials()}
        for token_id, text in tokens.items():
            assert creds[token_id].label == text.strip()
        events = await _take(provider.stream_events(), len(ids))
        assert [e.user_agent for e in events] == [t.strip() for t in ids.values()]
        for token_id in tokens:
            action = _action(provider, creds[token_id], "revoke_token")
            assert (await provider.revoke(action, "k")).ok
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- faults


async def test_429_with_retry_after_then_success(tmp_path: Path, okta_server: OktaFake) -> None:
    okta_server.inject("^/api/v1/users$", "429", retry_after="2", reset_in=1)
    provider = make(tmp_path, okta_server.url)
    SLEPT.clear()
    try:
        accounts = await _accounts(provider)
        assert okta_server.admin_id in accounts
        assert [h.status for h in okta_server.requests_to("/api/v1/users")] == [429, 200]
        assert provider.http.rate_limited_waits == 1 and provider.http.retries == 1
        # the later of Retry-After (2 s) and X-Rate-Limit-Reset (1 s)
        assert SLEPT and 1.0 < SLEPT[0] <= 2.0
    finally:
        await provider.aclose()


async def test_429_with_rate_limit_reset_then_success(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.inject("^/api/v1/api-tokens$", "429", reset_in=3)
    provider = make(tmp_path, okta_server.url)
    SLEPT.clear()
    try:
        creds = [c async for c in provider.list_credentials()]
        assert [c.id for c in creds] == [okta_server.admin_token_id]
        assert provider.http.rate_limited_waits == 1
        assert SLEPT and 1.0 <= SLEPT[0] <= 4.0  # until X-Rate-Limit-Reset (vs Date)
    finally:
        await provider.aclose()


async def test_500_then_success(tmp_path: Path, okta_server: OktaFake) -> None:
    okta_server.inject("^/api/v1/logs$", "500")
    provider = make(tmp_path, okta_server.url)
    okta_server.log_event("user.session.start")
    try:
        [event] = await _take(provider.stream_events(), 1)
        assert event.status == 200 and provider.http.retries == 1
    finally:
        await provider.aclose()


async def test_500_on_a_lifecycle_post_is_retried_then_reported(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    dev = okta_server.add_user("dev@example.com")
    okta_server.inject("/lifecycle/deactivate$", "500", count=5)
    provider = make(tmp_path, okta_server.url, max_retries=1)
    try:
        account = (await _accounts(provider))[dev]
        with pytest.raises(ProviderError) as info:
            await provider.revoke(_action(provider, account, "deactivate_account"), "k")
        message = str(info.value)
        assert "HTTP 500" in message and "Internal Server Error (E0000009)" in message
        assert "gave up after 2 attempts" in message and info.value.retryable
        assert ADMIN_TOKEN not in message
        # a state transition is safe to repeat, so the POST was retried once
        assert (
            len(okta_server.requests_to(rf"/api/v1/users/{dev}/lifecycle/deactivate", "POST")) == 2
        )
    finally:
        await provider.aclose()


async def test_timeout_is_a_clear_retryable_error(tmp_path: Path, okta_server: OktaFake) -> None:
    okta_server.inject("^/api/v1/users$", "slow", count=5, delay=2.0)
    provider = make(tmp_path, okta_server.url, timeout_s=0.3, max_retries=1)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert "timed out" in message and "corp-okta" in message
        assert "gave up after 2 attempts" in message and info.value.retryable
        assert ADMIN_TOKEN not in message
    finally:
        await provider.aclose()


async def test_malformed_json_is_a_provider_error(tmp_path: Path, okta_server: OktaFake) -> None:
    okta_server.inject("^/api/v1/users$", "malformed")
    provider = make(tmp_path, okta_server.url)
    try:
        with pytest.raises(ProviderError, match="malformed JSON") as info:
            await _accounts(provider)
        assert ADMIN_TOKEN not in str(info.value)
    finally:
        await provider.aclose()


async def test_expired_token_is_a_clear_401_without_the_token(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.add_api_token(okta_server.admin_id, "expired", secret=EXPIRED)
    okta_server.expire_token(EXPIRED)
    provider = OktaProvider.from_config(
        "corp-okta",
        {"base_url": okta_server.url, "token": {"keyring": "okta-expired"}},
        context(tmp_path),
        sleep=_no_sleep,
    )
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert "401" in message and "corp-okta" in message
        assert "Invalid token provided (E0000011)" in message
        assert EXPIRED not in message and EXPIRED not in repr(provider)
        hit = okta_server.hits[-1]
        assert hit.headers["authorization"] == f"SSWS {EXPIRED}"
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- settings


def test_plaintext_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError) as info:
        OktaProvider.from_config(
            "corp-okta",
            {"base_url": "https://acme.okta.com", "token": "00plain-ssws-token"},
            context(tmp_path),
        )
    message = str(info.value)
    assert "'token'" in message and '{ env = "VAR" }' in message
    assert "00plain-ssws-token" not in message


BASE = {"base_url": "https://acme.okta.com", "token": {"env": "OKTA_TOKEN"}}


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"token": {"env": "OKTA_TOKEN"}}, "base_url"),
        ({"base_url": "https://acme.okta.com"}, "token"),
        ({**BASE, "token": {"env": "NOPE"}}, "token"),
        ({**BASE, "token": {"env": "EMPTY"}}, "token"),
        ({**BASE, "page_size": 500}, "page_size"),
        ({**BASE, "page_size": True}, "page_size"),
        ({**BASE, "poll_seconds": 0}, "poll_seconds"),
        ({**BASE, "backfill_minutes": -1}, "backfill_minutes"),
        ({**BASE, "search": 3}, "search"),
        ({**BASE, "privileged_roles": "SUPER_ADMIN"}, "privileged_roles"),
        ({**BASE, "hr_attribute": "a.b"}, "hr_attribute"),
        ({**BASE, "account_actions": ["nuke"]}, "account_actions"),
        ({**BASE, "account_actions": []}, "account_actions"),
        ({**BASE, "timeout_s": "3"}, "timeout_s"),
        ({**BASE, "tokne": "x"}, "tokne"),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        OktaProvider.from_config("corp-okta", settings, context(tmp_path))
    assert f"'{key}'" in str(info.value)
    assert "corp-okta" in str(info.value)


async def test_forget_devices_is_sent_explicitly_either_way(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    """forgetDevices defaults to true on Identity Engine only: pamtui always says which."""
    dev = okta_server.add_user("dev@example.com")
    okta_server.start_session(dev, devices=3)
    provider = make(tmp_path, okta_server.url, forget_devices=False)
    try:
        account = (await _accounts(provider))[dev]
        result = await provider.revoke(_action(provider, account, "clear_sessions"), "k")
        assert result.ok and result.provider_response["forget_devices"] is False
        [hit] = okta_server.requests_to(rf"/api/v1/users/{dev}/sessions", "DELETE")
        assert hit.query == {"oauthTokens": "true", "forgetDevices": "false"}
        # on an Identity Engine org leaving the parameter out would have forgotten them
        assert okta_server.identity_engine and okta_server.remembered_devices[dev] == 3
        assert okta_server.sessions[dev] == 0
    finally:
        await provider.aclose()
