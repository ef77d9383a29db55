"""The google-workspace provider against a fake built from Google's discovery documents.

Real HTTP on 127.0.0.1 (``tests/fakes/google.py``), a real RSA key made with
``cryptography``, the JWT signed by google-auth and verified by the fake's
token endpoint, faults from the shared :class:`FaultProxy`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from pamtui.model import AccountStatus, Capability, CredentialKind, RevokeAction
from pamtui.providers import registry
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.faultproxy import FaultProxy, json_replies
from pamtui.providers.google_workspace import READ_SCOPES, GoogleWorkspaceProvider
from tests.fakes.google import (
    METHODS,
    Call,
    GoogleFake,
    conformance_problems,
    match,
    schema_problems,
    service_account,
)

KEY, KEY_JSON = service_account()
PEM_LINE = json.loads(KEY_JSON)["private_key"].splitlines()[5]


class Seeded:
    def __init__(self) -> None:
        self.fake = GoogleFake(KEY.public_key(), json.loads(KEY_JSON)["client_email"])
        f = self.fake
        self.admin = f.add_user("admin@example.com", admin=True)
        self.leaver = f.add_user("leaver@example.com", hr_id="E1001", aliases=("lee@example.com",))
        self.bystander = f.add_user("bystander@example.com", hr_id="E1002")
        f.users[self.bystander]["suspended"] = True
        f.users[self.leaver]["lastLoginTime"] = "2026-11-30T08:00:00.000Z"
        f.assign(self.leaver, "2")
        self.token = f.add_token(self.leaver, "1234-crm.apps.googleusercontent.com", "CRM")
        self.asp = f.add_asp(self.leaver, "imap")
        base = datetime.now(UTC) - timedelta(minutes=10)
        f.add_activity("login", "login_success", self.leaver, base)
        f.add_activity("login", "login_failure", self.leaver, base + timedelta(seconds=1))
        f.add_activity(
            "token",
            "authorize",
            self.leaver,
            base + timedelta(seconds=2),
            client_id="1234-crm.apps.googleusercontent.com",
        )
        f.add_activity("login", "login_success", self.leaver, base + timedelta(seconds=3))
        f.start()


@pytest.fixture
def seeded() -> Iterator[Seeded]:
    s = Seeded()
    try:
        yield s
    finally:
        s.fake.stop()


def _resolve(ref: Any) -> str:
    if ref == {"env": "GW_KEY"}:
        return KEY_JSON
    raise LookupError("unknown reference")


def make(tmp_path: Path, url: str, token_uri: str, **settings: Any) -> GoogleWorkspaceProvider:
    values = {
        "base_url": url,
        "token_uri": token_uri,
        "subject": "admin@example.com",
        "credentials": {"env": "GW_KEY"},
        "poll_seconds": 0.05,
        "backfill_minutes": 60,
        "max_retries": 1,
        "backoff_base_s": 0,
        "backoff_max_s": 0,
        **settings,
    }
    values = {k: v for k, v in values.items() if v is not None}
    context = ProviderContext(state_dir=tmp_path / "state", resolve_secret=_resolve)
    provider = registry.create("google-workspace", "gw", values, context)
    assert isinstance(provider, GoogleWorkspaceProvider)
    return provider


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


async def _all(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


async def _take(stream: Any, count: int) -> list[Any]:
    got = []
    try:
        while len(got) < count:
            got.append(await anext(stream))
    finally:
        await stream.aclose()
    return got


def _no_secret(text: str, fake: GoogleFake) -> None:
    assert KEY_JSON not in text and PEM_LINE not in text
    for token in fake.access:
        assert token not in text


# -- what it sees ----------------------------------------------------------------


def test_accounts_carry_admin_roles_hr_id_status_and_last_login(
    seeded: Seeded, tmp_path: Path
) -> None:
    p = make(tmp_path, seeded.fake.url, seeded.fake.token_url)

    async def go() -> list[Any]:
        try:
            return await _all(p.list_accounts())
        finally:
            await p.aclose()

    accounts = {a.id: a for a in run(go())}
    admin, leaver, bystander = (
        accounts[i] for i in (seeded.admin, seeded.leaver, seeded.bystander)
    )
    assert admin.privileged and admin.groups == ("role:_SEED_ADMIN_ROLE",)
    assert admin.last_active is None  # Google's 1970 "never signed in"
    assert leaver.privileged and leaver.groups == ("role:_USER_MANAGEMENT_ADMIN_ROLE",)
    assert (leaver.email, leaver.owner, leaver.status) == (
        "leaver@example.com",
        "E1001",
        AccountStatus.ACTIVE,
    )
    assert leaver.last_active == datetime(2026, 11, 30, 8, tzinfo=UTC)
    assert not bystander.privileged and bystander.status is AccountStatus.SUSPENDED
    assert bystander.owner == "E1002"
    user = seeded.fake.users[seeded.leaver]
    assert GoogleWorkspaceProvider.addresses_of(user) == ("leaver@example.com", "lee@example.com")
    assert p.other_addresses(leaver) == ("lee@example.com",)
    assert p.other_addresses(bystander) == ()


def test_aliases_feed_the_people_correlation_hook(seeded: Seeded, tmp_path: Path) -> None:
    """With pamtui's people service (``model.Identity``), each alias is an email identity."""
    import pamtui.model as model

    if not hasattr(model, "Identity"):
        pytest.skip("this pamtui has no people correlation (model.Identity) yet")
    p = make(tmp_path, seeded.fake.url, seeded.fake.token_url)
    accounts = {a.id: a for a in run(_all_then_close(p))}
    found = p.account_identities(accounts[seeded.leaver])
    assert [(i.kind, i.value) for i in found] == [("email", "lee@example.com")]
    assert "leaver@example.com" in found[0].evidence
    assert p.account_identities(accounts[seeded.bystander]) == []


def test_credentials_are_oauth_grants_and_app_passwords(seeded: Seeded, tmp_path: Path) -> None:
    p = make(tmp_path, seeded.fake.url, seeded.fake.token_url)

    async def go() -> tuple[list[Any], list[Any]]:
        try:
            accounts = {a.id: a async for a in p.list_accounts()}
            mine = await _all(p.list_credentials(accounts[seeded.leaver]))
            return await _all(p.list_credentials()), mine
        finally:
            await p.aclose()

    every, mine = run(go())
    assert {c.id for c in every} == {seeded.token, seeded.asp} == {c.id for c in mine}
    kinds = {c.id: c for c in every}
    assert kinds[seeded.token].kind is CredentialKind.API_TOKEN
    assert kinds[seeded.token].scopes == ("https://mail.google.com/",)
    assert kinds[seeded.asp].kind is CredentialKind.PERSONAL_ACCESS_TOKEN
    assert kinds[seeded.asp].last_used == datetime.fromtimestamp(1718000000, UTC)
    assert seeded.fake.token_requests == 1  # the access token is cached


# -- revoke, verify, and every request against the discovery documents ------------


def test_every_request_conforms_to_the_discovery_documents(seeded: Seeded, tmp_path: Path) -> None:
    """Read, stream, revoke and verify everything; then check each request the fake saw."""
    fake = seeded.fake
    p = make(tmp_path, fake.url, fake.token_url)

    async def go() -> list[tuple[str, bool, bool, bool]]:
        outcome = []
        try:
            accounts = {a.id: a async for a in p.list_accounts()}
            credentials = await _all(p.list_credentials())
            await _take(p.stream_events(None), 4)
            targets = [*credentials, accounts[seeded.leaver]]
            for target in targets:
                for action in p.revoke_actions(target):
                    before = (await p.verify(action)).gone
                    first = await p.revoke(action, "k")
                    second = await p.revoke(action, "k")
                    after = (await p.verify(action)).gone
                    assert first.ok and second.ok and not first.already_done
                    outcome.append((action.name, before, after, second.already_done))
        finally:
            await p.aclose()
        return outcome

    outcome = run(go())
    names = [o[0] for o in outcome]
    assert sorted(names) == sorted(
        ["revoke_token", "delete_asp", "remove_admin_roles", "sign_out", "suspend_account"]
    )
    for name, before, after, again in outcome:
        assert not before and after, name
        if name != "sign_out":  # a second sign-out is sent again (Google cannot tell)
            assert again, f"{name}: a repeat is not already done"
    assert fake.users[seeded.leaver]["suspended"] is True
    assert fake.signed_out == [seeded.leaver, seeded.leaver]
    assert not fake.tokens[seeded.leaver] and not fake.asps[seeded.leaver]
    assert not any(a["assignedTo"] == seeded.leaver for a in fake.assignments.values())
    used = {c.method.id for c in fake.calls if c.method is not None}
    assert used >= {
        "directory.users.list",
        "directory.users.get",
        "directory.users.update",
        "directory.users.signOut",
        "directory.tokens.list",
        "directory.tokens.get",
        "directory.tokens.delete",
        "directory.asps.list",
        "directory.asps.get",
        "directory.asps.delete",
        "directory.roles.list",
        "directory.roleAssignments.list",
        "directory.roleAssignments.delete",
        "reports.activities.list",
    }
    problems = [p for call in fake.calls for p in conformance_problems(call)]
    assert problems == []
    answered = {m.id for m, _ in fake.answers}
    assert {"directory.users.list", "reports.activities.list", "directory.tokens.list"} <= answered
    drift = [p for m, body in fake.answers for p in schema_problems(m.response or "", body)]
    assert drift == []


def test_the_conformance_check_catches_drift() -> None:
    """The checker is not vacuous: each kind of drift is named."""
    users, params = match("GET", "/admin/directory/v1/users")
    update, uparams = match("PUT", "/admin/directory/v1/users/42")
    reports, rparams = match("GET", "/admin/reports/v1/activity/users/all/applications/nope")
    assert users is not None and update is not None and reports is not None
    calls = {
        "undocumented": Call("GET", "/admin/directory/v1/users", {"max": ["5"]}, None, users),
        "maximum": Call("GET", "/admin/directory/v1/users", {"maxResults": ["501"]}, None, users),
        "pattern": Call(
            "GET",
            "/x",
            {"startTime": ["yesterday"]},
            None,
            reports,
            {**rparams, "applicationName": "login"},
        ),
        "enum": Call("GET", "/x", {}, None, reports, rparams),
        "field": Call("PUT", "/x", {}, {"suspend": True}, update, uparams),
        "type": Call("PUT", "/x", {}, {"suspended": "yes"}, update, uparams),
        "path": Call("GET", "/admin/directory/v1/nothing", {}, None, None),
    }
    for what, call in calls.items():
        assert conformance_problems(call), what
    ok = Call(
        "GET",
        "/admin/directory/v1/users",
        {"maxResults": ["500"], "customer": ["my_customer"]},
        None,
        users,
        params,
    )
    assert conformance_problems(ok) == []
    user = {"id": "1", "primaryEmail": "a@example.com", "name": {"fullName": "A"}}
    assert schema_problems("User", user) == []
    assert schema_problems("User", {**user, "lastLogin": "x"})  # Okta's name, not Google's
    assert schema_problems("User", {**user, "suspended": "true"})
    assert schema_problems("Tokens", {"items": [{"clientId": "c", "scope": ["x"]}]})
    assert len(METHODS) > 50


def test_read_only_asks_read_scopes_and_offers_no_revoke(seeded: Seeded, tmp_path: Path) -> None:
    fake = seeded.fake
    fake.delegated_scopes = set(READ_SCOPES)  # delegation grants only the read-only scopes
    p = make(tmp_path, fake.url, fake.token_url, read_only=True)

    async def go() -> list[Any]:
        try:
            return await _all(p.list_accounts())
        finally:
            await p.aclose()

    accounts = run(go())
    assert Capability.REVOKE not in p.capabilities
    assert all(p.revoke_actions(a) == [] for a in accounts)
    leaver = next(a for a in accounts if a.id == seeded.leaver)
    action = RevokeAction.on_account(p.name, leaver, "suspend_account", "x", 60)
    with pytest.raises(ProviderError, match="read_only"):
        run(p.revoke(action, "k"))
    assert set(next(iter(fake.access.values()))[1]) == set(READ_SCOPES)

    writer = make(tmp_path, fake.url, fake.token_url)  # asks for the revoke scopes: refused
    with pytest.raises(ProviderError) as caught:
        run(_all_then_close(writer))
    text = str(caught.value)
    assert "unauthorized_client" in text and "delegation" in text and "\n" not in text
    _no_secret(text, fake)


async def _all_then_close(p: GoogleWorkspaceProvider) -> list[Any]:
    try:
        return await _all(p.list_accounts())
    finally:
        await p.aclose()


# -- auth ------------------------------------------------------------------------


def test_the_token_endpoint_checks_signature_and_subject(seeded: Seeded, tmp_path: Path) -> None:
    fake = seeded.fake
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.public_key = stranger.public_key()  # the fake now trusts another key only
    with pytest.raises(ProviderError) as caught:
        run(_all_then_close(make(tmp_path, fake.url, fake.token_url)))
    assert "Invalid JWT Signature" in str(caught.value)
    _no_secret(str(caught.value), fake)
    fake.public_key = KEY.public_key()
    with pytest.raises(ProviderError) as caught:
        run(_all_then_close(make(tmp_path, fake.url, fake.token_url, subject="leaver@example.com")))
    assert "Invalid email or User ID" in str(caught.value)
    assert "leaver@example.com" in str(caught.value)  # the subject is named, it is no secret
    assert run(_all_then_close(make(tmp_path, fake.url, fake.token_url)))


def test_an_expired_token_is_refreshed_once_then_a_clear_error(
    seeded: Seeded, tmp_path: Path
) -> None:
    fake = seeded.fake
    p = make(tmp_path, fake.url, fake.token_url)

    async def go() -> str:
        try:
            assert await _all(p.list_accounts())
            fake.expire_tokens()
            assert await _all(p.list_accounts())  # one refresh, then it works
            assert fake.token_requests == 2
            fake.refuse_every_token = True
            try:
                await _all(p.list_accounts())
            except ProviderError as exc:
                assert not exc.retryable
                return str(exc)
            raise AssertionError("no error")
        finally:
            await p.aclose()

    text = run(go())
    assert fake.token_requests == 3  # refreshed once more, not in a loop
    assert "HTTP 401" in text and "gw" in text and "\n" not in text
    assert "new access token" in text and "domain-wide delegation" in text
    _no_secret(text, fake)


def test_key_settings(seeded: Seeded, tmp_path: Path) -> None:
    fake = seeded.fake
    key_file = tmp_path / "sa.json"
    key_file.write_text(KEY_JSON)
    assert run(
        _all_then_close(
            make(
                tmp_path, fake.url, fake.token_url, credentials=None, credentials_file=str(key_file)
            )
        )
    )
    cases = [
        ({"credentials": KEY_JSON}, "must be a secret reference"),
        ({"credentials": None}, "exactly one of"),
        ({"credentials_file": str(key_file)}, "exactly one of"),
        ({"credentials": None, "credentials_file": str(tmp_path / "none.json")}, "no such file"),
        ({"subject": "not-an-email"}, "admin's email"),
    ]
    for settings, words in cases:
        with pytest.raises(ProviderConfigError) as caught:
            make(tmp_path, fake.url, fake.token_url, **settings)
        assert words in str(caught.value), settings
        _no_secret(str(caught.value), fake)
    broken = tmp_path / "broken.json"
    broken.write_text(KEY_JSON.replace("BEGIN PRIVATE KEY", "BEGIN NOTHING"))
    with pytest.raises(ProviderConfigError) as caught:
        make(tmp_path, fake.url, fake.token_url, credentials=None, credentials_file=str(broken))
    assert "not a usable RSA key" in str(caught.value)
    _no_secret(str(caught.value), fake)


# -- faults through the shared HTTP layer -------------------------------------------


@pytest.fixture
def proxied(seeded: Seeded) -> Iterator[tuple[Seeded, FaultProxy]]:
    proxy = FaultProxy(seeded.fake.url, replies=json_replies(retry_after=7), hang_s=3).start()
    try:
        yield seeded, proxy
    finally:
        proxy.stop()


def test_429_waits_for_retry_after_and_5xx_is_retried(proxied: Any, tmp_path: Path) -> None:
    seeded, proxy = proxied
    p = make(tmp_path, proxy.url, seeded.fake.token_url, rate_limit_max_wait_s=30)
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    p.http._sleep = sleep
    proxy.inject("429", 1)
    assert run(_all_then_close(p))
    assert waits and abs(waits[0] - 7) < 1.5  # Retry-After: 7 was honoured
    p = make(tmp_path, proxy.url, seeded.fake.token_url)
    proxy.inject("500", 1)
    assert run(_all_then_close(p)) and proxy.faulted == 2


def test_timeout_and_malformed_json_are_clear_errors(proxied: Any, tmp_path: Path) -> None:
    seeded, proxy = proxied
    for kind, words, retryable in (
        ("timeout", "timed out", True),
        ("malformed", "malformed JSON", False),
    ):
        p = make(tmp_path, proxy.url, seeded.fake.token_url, timeout_s=0.3, max_retries=0)
        proxy.inject(kind, 5)
        try:
            with pytest.raises(ProviderError) as caught:
                run(_all_then_close(p))
        finally:
            proxy.clear()
        text = str(caught.value)
        assert words in text and "'gw'" in text and "\n" not in text, text
        assert caught.value.retryable is retryable
        _no_secret(text, seeded.fake)


def test_401_echoing_the_bearer_token_is_redacted(proxied: Any, tmp_path: Path) -> None:
    seeded, proxy = proxied
    p = make(tmp_path, proxy.url, seeded.fake.token_url)
    proxy.inject("401", 10)
    with pytest.raises(ProviderError) as caught:
        run(_all_then_close(p))
    assert "[redacted]" in str(caught.value)
    _no_secret(str(caught.value), seeded.fake)
    assert seeded.fake.token_requests == 2  # the refused token was replaced once


# -- events ----------------------------------------------------------------------------


def test_stream_resumes_from_cursor_and_from_the_saved_cursor(
    seeded: Seeded, tmp_path: Path
) -> None:
    fake = seeded.fake
    apps = ["login", "token"]

    async def take(since: str | None, count: int) -> list[Any]:
        p = make(tmp_path, fake.url, fake.token_url, applications=apps)
        try:
            return await _take(p.stream_events(since), count)
        finally:
            await p.aclose()

    first = run(take(None, 4))
    assert [e.path.split()[0] for e in first] == [
        "login.login_success",
        "login.login_failure",
        "token.authorize",
        "login.login_success",
    ]
    assert [e.status for e in first] == [200, 401, 200, 200]
    assert first[2].credential_id == seeded.token
    assert all(e.account_id == seeded.leaver for e in first)
    assert run(take(first[1].cursor, 1))[0].path == first[2].path
    # A new instance without a cursor resumes after the last event saved on disk (the
    # resumed stream above saved its first event's cursor at once; later saves are throttled).
    fake.add_activity("login", "logout", seeded.leaver, datetime.now(UTC) - timedelta(seconds=1))
    resumed = run(take(None, 2))
    assert [(e.ts, e.path) for e in resumed[:1]] == [(first[3].ts, first[3].path)]
    assert resumed[1].path.startswith("login.logout")
    with pytest.raises(ProviderError, match="not a Google Workspace Reports cursor"):
        run(take("okta-log.v1.abc", 1))


def test_a_challenge_is_a_401_only_when_it_failed(seeded: Seeded, tmp_path: Path) -> None:
    fake = seeded.fake
    fake.activities.clear()
    now = datetime.now(UTC) - timedelta(minutes=1)
    for n, outcome in enumerate(("Challenge Passed", "Challenge Failed")):
        fake.add_activity(
            "login",
            "login_challenge",
            seeded.leaver,
            now + timedelta(seconds=n),
            login_challenge_status=outcome,
        )
    p = make(tmp_path, fake.url, fake.token_url, applications=["login"])

    async def go() -> list[Any]:
        try:
            return await _take(p.stream_events(None), 2)
        finally:
            await p.aclose()

    assert [e.status for e in run(go())] == [200, 401]


def test_a_super_admin_flag_without_an_assignment_is_removed_too(
    seeded: Seeded, tmp_path: Path
) -> None:
    fake = seeded.fake
    fake.users[seeded.bystander]["isAdmin"] = True  # no role assignment lists it
    p = make(tmp_path, fake.url, fake.token_url)

    async def go() -> tuple[bool, bool]:
        try:
            accounts = {a.id: a async for a in p.list_accounts()}
            target = accounts[seeded.bystander]
            assert target.privileged
            action = next(a for a in p.revoke_actions(target) if a.name == "remove_admin_roles")
            before = (await p.verify(action)).gone
            result = await p.revoke(action, "k")
            assert result.ok and not result.already_done and "super admin" in result.detail
            return before, (await p.verify(action)).gone
        finally:
            await p.aclose()

    assert run(go()) == (False, True)
    assert fake.users[seeded.bystander]["isAdmin"] is False
    assert [c.method.id for c in fake.calls if c.method and "makeAdmin" in c.method.id] == [
        "directory.users.makeAdmin"
    ]
    assert [p for c in fake.calls for p in conformance_problems(c)] == []


def test_google_error_messages_are_not_repeated(seeded: Seeded, tmp_path: Path) -> None:
    """Google's error repeats its message in ``errors[].message``: said once, not twice."""
    fake = seeded.fake
    p = make(tmp_path, fake.url, fake.token_url, read_only=True)  # a token without write scopes

    async def go() -> None:
        try:
            await p.http.request("PUT", f"admin/directory/v1/users/{seeded.leaver}", json={})
        finally:
            await p.aclose()

    with pytest.raises(ProviderError) as caught:
        run(go())
    text = str(caught.value)
    assert "HTTP 403" in text
    assert text.count("insufficient authentication scopes") == 1, text


def test_importing_the_provider_does_not_load_google_auth() -> None:
    code = (
        "import sys, pamtui.providers.google_workspace as g; "
        "print('google.auth' in sys.modules, g.GoogleWorkspaceProvider.type)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["False", "google-workspace"], result.stderr


def test_an_offboarding_through_the_cli_is_verified_against_the_fake(
    seeded: Seeded, tmp_path: Path
) -> None:
    """The installed program: a config file, the key from the environment, one plan."""
    fake = seeded.fake
    config = tmp_path / "config.toml"
    config.write_text(
        "[[providers]]\n"
        'name = "corp-google"\n'
        'type = "google-workspace"\n'
        f'base_url = "{fake.url}"\n'
        f'token_uri = "{fake.token_url}"\n'
        'subject = "admin@example.com"\n'
        'credentials = { env = "GW_KEY" }\n'
    )
    env = {
        **os.environ,
        "GW_KEY": KEY_JSON,
        "PAMTUI_CONFIG": str(config),
        "PAMTUI_DB": str(tmp_path / "journal.sqlite"),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    argv = ["revoke", "--provider", "corp-google", "--account", "leaver@example.com"]
    result = subprocess.run(
        [sys.executable, "-m", "pamtui", *argv, "--reason", "offboarding", "--yes"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": verified") == 5, (
        result.stdout
    )  # grant, ASP, roles, sign-out, suspend
    assert fake.users[seeded.leaver]["suspended"] is True
    assert not fake.tokens[seeded.leaver] and not fake.asps[seeded.leaver]
    assert [p for c in fake.calls for p in conformance_problems(c)] == []
    _no_secret(result.stdout + result.stderr, fake)


def test_token_endpoint_faults_are_retried_or_clear(proxied: Any, tmp_path: Path) -> None:
    """The grant goes through the shared HTTP layer too: a 500 is retried, bad JSON is named."""
    seeded, proxy = proxied
    token_uri = f"{proxy.url}/token"
    seeded.fake.token_url = token_uri  # the audience the fake expects in the JWT
    proxy.inject("500", 1)
    assert run(_all_then_close(make(tmp_path, seeded.fake.url, token_uri)))
    assert proxy.faulted == 1 and seeded.fake.token_requests == 1
    proxy.inject("malformed", 5)
    try:
        with pytest.raises(ProviderError) as caught:
            run(_all_then_close(make(tmp_path, seeded.fake.url, token_uri)))
    finally:
        proxy.clear()
    text = str(caught.value)
    assert "malformed JSON" in text and "token endpoint" in text and "'gw'" in text, text
    _no_secret(text, seeded.fake)


def test_a_sign_out_is_verified_after_a_restart_until_the_user_signs_in_again(
    seeded: Seeded, tmp_path: Path
) -> None:
    """``audit recheck`` verifies in a later process: the evidence must outlive this one."""
    fake = seeded.fake

    async def step(what: str) -> Any:
        p = make(tmp_path, fake.url, fake.token_url)
        try:
            accounts = {a.id: a async for a in p.list_accounts()}
            action = next(
                a for a in p.revoke_actions(accounts[seeded.leaver]) if a.name == "sign_out"
            )
            if what == "revoke":
                return await p.revoke(action, "k")
            return await p.verify(action)
        finally:
            await p.aclose()

    assert not run(step("verify")).gone
    assert run(step("revoke")).ok
    verified = run(step("verify"))  # a new instance, as after a restart
    assert verified.gone, verified
    assert "no sign-in reported since" in verified.detail
    fake.add_activity(
        "login", "login_success", seeded.leaver, datetime.now(UTC) + timedelta(seconds=1)
    )
    again = run(step("verify"))
    assert not again.gone and "signed in again" in again.detail
    assert [p for c in fake.calls for p in conformance_problems(c)] == []
