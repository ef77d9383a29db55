"""The entra provider against a real HTTP fake of Microsoft Graph v1.0 (tests/fakes/graph.py).

The fake checks every Graph request against Microsoft's CSDL (vendored in
tests/data/graph-v1.0); each test ends by asserting no request broke it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pamtui.model import (
    AccountKind,
    AccountStatus,
    CredentialKind,
    CredentialStatus,
    TargetKind,
)
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.entra import EntraProvider
from pamtui.providers.entra.events import decode_cursor
from tests.fakes.graph import (
    CLIENT_ID,
    CLIENT_SECRET,
    CSDL,
    TENANT,
    GraphFake,
    GraphSchema,
)

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


@pytest.fixture
def fake() -> Iterator[GraphFake]:
    server = GraphFake()
    server.start()
    try:
        yield server
    finally:
        server.stop()
    assert server.violations == [], server.violations


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def make(fake: GraphFake, tmp_path: Path, *, secret: str = CLIENT_SECRET, **settings: Any):
    sleep = settings.pop("sleep", None)
    raw = {
        "base_url": fake.url + "/v1.0",
        "authority": fake.url,
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": {"env": "ENTRA_SECRET"},
        "backoff_base_s": 0,
        "backoff_max_s": 0,
        "poll_seconds": 0.01,
        **settings,
    }
    raw = {k: v for k, v in raw.items() if v is not None}  # None: leave the setting out
    context = ProviderContext(state_dir=tmp_path / "state", resolve_secret=lambda ref: secret)
    options = {"sleep": sleep} if sleep is not None else {}
    return EntraProvider.from_config("corp-entra", raw, context, **options)


async def collect(iterator: AsyncIterator[Any]) -> list[Any]:
    return [item async for item in iterator]


async def take(iterator: AsyncIterator[Any], count: int) -> list[Any]:
    got = []
    async for item in iterator:
        got.append(item)
        if len(got) == count:
            break
    await iterator.aclose()
    return got


def seed(fake: GraphFake) -> dict[str, str]:
    ids = {}
    ids["admin"] = fake.add_user("ada.admin@contoso.com", employeeId="E100")
    ids["leaver"] = fake.add_user(
        "lee.ver@contoso.com",
        employeeId="E200",
        mail=None,
        otherMails=["lee@home.example"],
        signInActivity={
            "lastSignInDateTime": "2026-11-01T08:00:00Z",
            "lastNonInteractiveSignInDateTime": "2026-11-20T08:00:00Z",
        },
    )
    ids["disabled"] = fake.add_user("old.timer@contoso.com", accountEnabled=False)
    fake.add_role("Global Administrator", GLOBAL_ADMIN, ids["admin"])
    fake.add_role("Directory Readers", "88d8e3e3-8f55-4a1e-953a-9b9898b8876b", ids["leaver"])
    ids["sp"] = fake.add_service_principal("Contoso CRM", secrets=1)
    ids["app"] = fake.add_application("nightly-export", secrets=1, keys=1)
    ids["grant"] = fake.add_grant(ids["sp"], ids["leaver"])
    ids["tenant_grant"] = fake.add_grant(ids["sp"], None, "Directory.Read.All")
    ids["assignment"] = fake.add_assignment(ids["leaver"], "Payroll")
    return ids


# --------------------------------------------------------------------------- reading


async def test_accounts_map_users_roles_and_service_principals(fake, tmp_path) -> None:
    ids = seed(fake)
    provider = make(fake, tmp_path)
    try:
        accounts = {a.id: a for a in await collect(provider.list_accounts())}
    finally:
        await provider.aclose()
    admin, leaver, disabled = (
        accounts[ids["admin"]],
        accounts[ids["leaver"]],
        accounts[ids["disabled"]],
    )
    assert admin.privileged and admin.groups == ("role:Global Administrator",)
    assert admin.owner == "E100" and admin.email == "ada.admin@contoso.com"
    assert admin.last_active == datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    assert not leaver.privileged  # Directory Readers is not a privileged role
    assert leaver.email == "lee@home.example" and leaver.owner == "E200"
    assert leaver.last_active == datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # non-interactive later
    assert disabled.status is AccountStatus.SUSPENDED and leaver.status is AccountStatus.ACTIVE
    sp, app = accounts[ids["sp"]], accounts[ids["app"]]
    assert sp.kind is AccountKind.SERVICE and sp.system == "servicePrincipal"
    assert app.kind is AccountKind.SERVICE and app.name == "nightly-export"
    assert provider.revoke_actions(sp) == []


async def test_privileged_roles_setting_takes_template_ids(fake, tmp_path) -> None:
    ids = seed(fake)
    provider = make(fake, tmp_path, privileged_roles=["88d8e3e3-8f55-4a1e-953a-9b9898b8876b"])
    try:
        accounts = {a.id: a for a in await collect(provider.list_accounts())}
    finally:
        await provider.aclose()
    assert accounts[ids["leaver"]].privileged and not accounts[ids["admin"]].privileged


async def test_unlicensed_tenant_lists_users_without_sign_in_activity(tmp_path) -> None:
    fake = GraphFake(licensed=False)
    fake.start()
    try:
        ids = seed(fake)
        provider = make(fake, tmp_path)
        try:
            first = {a.id: a for a in await collect(provider.list_accounts())}
            await collect(provider.list_accounts())
        finally:
            await provider.aclose()
    finally:
        fake.stop()
    assert first[ids["admin"]].last_active is None and first[ids["admin"]].owner == "E100"
    refused = [h for h in fake.hits if h.status == 403]
    assert len(refused) == 1, "signInActivity is asked for once, then left out"
    assert fake.violations == []


async def test_credentials_grants_assignments_and_secrets(fake, tmp_path) -> None:
    ids = seed(fake)
    expired = fake.password("old secret", end="2025-01-01T00:00:00Z")
    fake.applications[ids["app"]]["passwordCredentials"].append(expired)
    provider = make(fake, tmp_path)
    try:
        every = {c.id: c for c in await collect(provider.list_credentials(None))}
        accounts = {a.id: a for a in await collect(provider.list_accounts())}
        of_leaver = await collect(provider.list_credentials(accounts[ids["leaver"]]))
        of_sp = await collect(provider.list_credentials(accounts[ids["sp"]]))
        of_app = await collect(provider.list_credentials(accounts[ids["app"]]))
    finally:
        await provider.aclose()
    grant = every[f"grant:{ids['grant']}"]
    assert grant.account_id == ids["leaver"] and grant.scopes == ("User.Read", "Mail.Read")
    assert every[f"grant:{ids['tenant_grant']}"].account_id == ids["sp"]  # consent for all users
    assignment = every[f"approle:{ids['leaver']}:{ids['assignment']}"]
    assert assignment.account_id == ids["leaver"] and "Payroll" in assignment.label
    secrets = [c for c in every.values() if c.account_id == ids["app"]]
    kinds = sorted((c.scopes[0], c.status) for c in secrets)
    assert kinds == [
        ("certificate", CredentialStatus.ACTIVE),
        ("client secret", CredentialStatus.ACTIVE),
        ("client secret", CredentialStatus.EXPIRED),
    ]
    assert all(c.kind is CredentialKind.ACCESS_KEY and c.expires for c in secrets)
    assert {c.id for c in of_leaver} == {grant.id, assignment.id}
    assert {c.id for c in of_app} == {c.id for c in secrets}
    assert f"grant:{ids['tenant_grant']}" in {c.id for c in of_sp}
    assert all(c.account_id == ids["sp"] for c in of_sp)
    certificate = next(c for c in secrets if c.scopes == ("certificate",))
    (remove,) = provider.revoke_actions(certificate)  # PATCH keyCredentials: see README
    assert remove.name == "remove_key" and remove.target_id == certificate.id


async def test_paging_follows_odata_next_link(fake, tmp_path) -> None:
    for n in range(7):
        fake.add_user(f"user{n}@contoso.com")
    provider = make(fake, tmp_path, page_size=2)
    try:
        accounts = await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    assert len([a for a in accounts if a.kind is AccountKind.HUMAN]) == 7
    pages = [h for h in fake.graph_hits() if h.path == "/v1.0/users"]
    assert len(pages) == 4 and "$skiptoken" in pages[-1].query


# --------------------------------------------------------------------------- revoking


async def test_every_action_is_idempotent_and_verified(fake, tmp_path) -> None:
    ids = seed(fake)
    fake.add_role("Privileged Role Administrator", "e8611ab8", ids["admin"])
    provider = make(fake, tmp_path)
    try:
        accounts = {a.id: a for a in await collect(provider.list_accounts())}
        credentials = {c.id: c for c in await collect(provider.list_credentials(None))}
        targets = [
            accounts[ids["admin"]],
            credentials[f"grant:{ids['grant']}"],
            credentials[f"approle:{ids['leaver']}:{ids['assignment']}"],
            next(c for c in credentials.values() if c.id.startswith("password:applications:")),
            next(c for c in credentials.values() if c.id.startswith("password:servicePrincipals:")),
            next(c for c in credentials.values() if c.id.startswith("key:applications:")),
        ]
        done = []
        for target in targets:
            for action in provider.revoke_actions(target):
                assert not (await provider.verify(action)).gone, action.name
                first = await provider.revoke(action, "k1")
                second = await provider.revoke(action, "k1")
                verified = await provider.verify(action)
                assert first.ok and second.ok and verified.gone, (action.name, verified)
                done.append((action.name, first.already_done, second.already_done))
    finally:
        await provider.aclose()
    names = [name for name, _, _ in done]
    assert names == [
        "revoke_sessions",
        "remove_privileged_roles",
        "disable_account",
        "delete_grant",
        "remove_app_role_assignment",
        "remove_password",
        "remove_password",
        "remove_key",
    ]
    # revokeSignInSessions is simply sent again; every other action sees it is done.
    assert all(second for name, _, second in done if name != "revoke_sessions")
    assert not any(first for _, first, _ in done)
    assert fake.users[ids["admin"]]["accountEnabled"] is False
    assert all(ids["admin"] not in m for m in fake.members.values())
    assert ids["grant"] not in fake.grants and fake.assignments[ids["leaver"]] == {}


async def test_sessions_verified_after_a_restart_by_the_last_sign_in(fake, tmp_path) -> None:
    ids = seed(fake)
    provider = make(fake, tmp_path)
    try:
        account = next(a for a in await collect(provider.list_accounts()) if a.id == ids["leaver"])
        action = provider.revoke_actions(account)[0]
        assert action.name == "revoke_sessions"
        assert not (await provider.verify(action)).gone
        await provider.revoke(action, "k")
    finally:
        await provider.aclose()
    restarted = make(fake, tmp_path)
    try:
        assert (await restarted.verify(action)).gone
        fake.users[ids["leaver"]]["signInActivity"]["lastSignInDateTime"] = "2099-01-01T00:00:00Z"
        assert not (await restarted.verify(action)).gone  # signed in after the cut-off
    finally:
        await restarted.aclose()


async def test_actions_for_another_provider_or_a_bad_id_are_refused(fake, tmp_path) -> None:
    ids = seed(fake)
    provider = make(fake, tmp_path)
    try:
        credential = next(
            c for c in await collect(provider.list_credentials(None)) if c.id.startswith("grant:")
        )
        action = provider.revoke_actions(credential)[0]
        from dataclasses import replace

        with pytest.raises(ProviderError, match="sent to entra provider"):
            await provider.revoke(replace(action, provider="other"), "k")
        with pytest.raises(ProviderError, match="cannot take credential"):
            await provider.revoke(replace(action, target_id=f"approle:{ids['leaver']}:x"), "k")
        with pytest.raises(ProviderError, match="invalid Graph object id"):
            await provider.revoke(replace(action, target_id="grant:.."), "k")
        assert action.target_kind is TargetKind.CREDENTIAL
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- events


async def test_sign_ins_and_audits_merge_in_time_order_and_resume(fake, tmp_path) -> None:
    ids = seed(fake)
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    fake.add_sign_in(ids["leaver"], base)
    fake.add_audit("Update user", base + timedelta(seconds=1), user_id=ids["admin"])
    fake.add_sign_in(ids["leaver"], base + timedelta(seconds=2), error=50126)
    fake.add_sign_in(ids["admin"], base + timedelta(seconds=2))
    provider = make(fake, tmp_path, page_size=1)
    try:
        events = await take(provider.stream_events(None), 4)
    finally:
        await provider.aclose()
    assert [e.ts for e in events] == sorted(e.ts for e in events)
    assert [e.method for e in events][:2] == ["SIGNIN", "AUDIT"]
    assert events[1].account_id == ids["admin"] and events[1].path == "UserManagement/Update user"
    statuses = sorted(e.status for e in events[2:])
    assert statuses == [200, 401] and events[0].source_ip == "203.0.113.7"
    restarted = make(fake, tmp_path)
    try:
        resumed = await take(restarted.stream_events(events[1].cursor), 2)
        later = fake.add_sign_in(ids["admin"], base + timedelta(seconds=30))
        saved = await take(restarted.stream_events(None), 1)  # the saved cursor, not a backfill
    finally:
        await restarted.aclose()
    assert [(e.ts, e.account_id, e.status) for e in resumed] == [
        (e.ts, e.account_id, e.status) for e in events[2:]
    ]
    assert len(saved) == 1 and saved[0].ts == base + timedelta(seconds=30), later
    assert decode_cursor(saved[0].cursor)


async def test_without_sign_in_logs_the_stream_carries_audits(tmp_path) -> None:
    fake = GraphFake(sign_in_logs=False)
    fake.start()
    try:
        ids = seed(fake)
        when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=3)
        fake.add_sign_in(ids["leaver"], when)
        fake.add_audit("Disable account", when, user_id=ids["admin"])
        provider = make(fake, tmp_path)
        try:
            events = await take(provider.stream_events(None), 1)
            fake.add_audit("Update user", when + timedelta(seconds=5), user_id=ids["admin"])
            more = await take(provider.stream_events(events[0].cursor), 1)
        finally:
            await provider.aclose()
    finally:
        fake.stop()
    assert [e.method for e in events + more] == ["AUDIT", "AUDIT"]
    assert [e.path for e in events + more] == [
        "UserManagement/Disable account",
        "UserManagement/Update user",
    ]
    refused = [h for h in fake.hits if h.status == 403]
    assert len(refused) == 1, "asked once, then audits only"
    assert fake.violations == []


@pytest.mark.parametrize("cursor", ["okta-log.v1.%%%", "{}", "entra1.bm90LWpzb24", "entra1.e30"])
async def test_a_foreign_or_damaged_cursor_is_a_clear_error(fake, tmp_path, cursor) -> None:
    provider = make(fake, tmp_path)
    try:
        with pytest.raises(ProviderError) as caught:
            await take(provider.stream_events(cursor), 1)
    finally:
        await provider.aclose()
    assert "cursor" in str(caught.value) and "\n" not in str(caught.value)


# --------------------------------------------------------------------------- auth and faults


async def test_the_token_is_cached_and_refreshed_once_when_expired(fake, tmp_path) -> None:
    seed(fake)
    provider = make(fake, tmp_path)
    try:
        await collect(provider.list_accounts())
        await collect(provider.list_accounts())
        assert provider.tokens.fetched == 1
        fake.expire_tokens()
        await collect(provider.list_accounts())
        assert provider.tokens.fetched == 2
        fake.expire_tokens()
        fake.refuse_new_tokens = True
        with pytest.raises(ProviderError) as caught:
            await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    text = str(caught.value)
    assert provider.tokens.fetched == 3, "one refresh, then the error"
    assert "HTTP 401" in text and "corp-entra" in text and not caught.value.retryable
    assert CLIENT_SECRET not in text and provider.tokens.current not in text


async def test_a_wrong_client_secret_is_a_clear_error_without_the_secret(fake, tmp_path) -> None:
    wrong = "Wr0ng~secret.value_1234567"
    provider = make(fake, tmp_path, secret=wrong)
    try:
        with pytest.raises(ProviderError) as caught:
            await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    text = str(caught.value)
    assert "AADSTS7000215" in text and "client_secret" in text and "\n" not in text
    assert wrong not in text and wrong not in repr(caught.value)


async def test_429_retry_after_is_honoured(fake, tmp_path) -> None:
    seed(fake)
    sleeps = Sleeps()
    fake.inject("429", 1, path="/v1.0/users", retry_after="3")
    provider = make(fake, tmp_path, sleep=sleeps)
    try:
        accounts = await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    assert accounts and any(2.5 < s <= 3.0 for s in sleeps.calls), sleeps.calls


async def test_429_on_the_token_endpoint_is_retried(fake, tmp_path) -> None:
    seed(fake)
    sleeps = Sleeps()
    fake.inject("429", 1, path="/oauth2/", retry_after="2")
    provider = make(fake, tmp_path, sleep=sleeps)
    try:
        assert await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    assert sleeps.calls[:1] == [2.0]


@pytest.mark.parametrize("kind", ["500", "malformed", "slow"])
async def test_faults_are_clear_errors_without_secrets(fake, tmp_path, kind) -> None:
    seed(fake)
    provider = make(fake, tmp_path, max_retries=1, timeout_s=0.3)
    try:
        await collect(provider.list_accounts())  # a token is in hand
        fake.inject(kind, 5, path="/v1.0/", delay=2.0)
        with pytest.raises(ProviderError) as caught:
            await collect(provider.list_accounts())
        fake.faults.clear()
        assert await collect(provider.list_accounts()), "the same instance works again"
    finally:
        await provider.aclose()
    text = str(caught.value)
    assert "corp-entra" in text and "\n" not in text
    assert CLIENT_SECRET not in text and provider.tokens.current not in text
    assert caught.value.retryable or kind == "malformed"


def test_plaintext_client_secret_is_refused(tmp_path) -> None:
    context = ProviderContext(state_dir=tmp_path, resolve_secret=lambda ref: "x")
    with pytest.raises(ProviderConfigError) as caught:
        EntraProvider.from_config(
            "corp-entra",
            {"tenant_id": TENANT, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
            context,
        )
    assert "client_secret" in str(caught.value) and CLIENT_SECRET not in str(caught.value)


# --------------------------------------------------------------------------- fidelity


async def test_every_request_conforms_to_the_published_description(fake, tmp_path) -> None:
    """A full run: every Graph request matched the CSDL (the fixture asserts no violation)."""
    ids = seed(fake)
    fake.add_sign_in(ids["leaver"], datetime.now(UTC) - timedelta(minutes=1))
    provider = make(fake, tmp_path)
    try:
        accounts = await collect(provider.list_accounts())
        credentials = await collect(provider.list_credentials(None))
        for account in accounts:
            await collect(provider.list_credentials(account))
        for target in [*accounts, *credentials]:
            for action in provider.revoke_actions(target):
                await provider.revoke(action, "k")
                await provider.verify(action)
        await take(provider.stream_events(None), 1)
    finally:
        await provider.aclose()
    assert fake.violations == []
    assert {
        ("GET", "users"),
        ("GET", "users/{id}"),
        ("PATCH", "users/{id}"),
        ("POST", "users/{id}/revokeSignInSessions"),
        ("GET", "users/{id}/oauth2PermissionGrants"),
        ("GET", "users/{id}/appRoleAssignments"),
        ("DELETE", "users/{id}/appRoleAssignments/{id}"),
        ("GET", "directoryRoles"),
        ("GET", "directoryRoles/{id}/members"),
        ("DELETE", "directoryRoles/{id}/members/{id}/$ref"),
        ("GET", "oauth2PermissionGrants"),
        ("DELETE", "oauth2PermissionGrants/{id}"),
        ("GET", "oauth2PermissionGrants/{id}"),
        ("GET", "servicePrincipals"),
        ("GET", "applications"),
        ("GET", "applications/{id}"),
        ("POST", "applications/{id}/removePassword"),
        ("POST", "servicePrincipals/{id}/removePassword"),
        ("GET", "auditLogs/signIns"),
        ("GET", "auditLogs/directoryAudits"),
    } <= fake.templates


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "problem"),
    [
        ("GET", "users", {"$select": "id,lastLogin"}, None, "$select"),
        ("GET", "users", {"limit": "5"}, None, "query parameters"),
        ("GET", "users/u1/sessions", {}, None, "has no 'sessions'"),
        ("DELETE", "users/u1/revokeSignInSessions", {}, None, "not allowed"),
        ("PATCH", "users/u1", {}, {"enabled": False}, "body fields"),
        ("POST", "applications/a1/removeKey", {}, {"keyId": "k"}, "parameters"),
        ("DELETE", "directoryRoles/r1/members/u1", {}, None, "not allowed"),
        (
            "GET",
            "auditLogs/signIns",
            {"$filter": "timestamp ge 2026-01-01T00:00:00Z"},
            None,
            "$filter",
        ),
        ("GET", "groups", {}, None, "no entity set"),
    ],
)
def test_the_description_catches_drift(method, path, query, body, problem) -> None:
    """The checker is real: requests Graph's CSDL does not describe are caught."""
    schema = GraphSchema(CSDL)
    assert problem in schema.check(method, path.split("/"), query, body)


def test_the_vendored_description_is_microsofts() -> None:
    readme = (CSDL.parent / "README.md").read_text()
    assert "microsoftgraph/msgraph-metadata" in readme and "schemas/v1.0-Prod.csdl" in readme
    schema = GraphSchema(CSDL)
    assert schema.action("removeKey", "application") == {"keyId": True, "proof": True}
    assert "signInSessionsValidFromDateTime" in schema.properties("user")


def _certificate() -> tuple[Any, str, str]:
    """A fresh RSA key and self-signed certificate: (public key, x5t, PEM of both)."""
    import base64
    import datetime as dt
    import hashlib

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pamtui")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    x5t = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
    pem = (
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        + cert.public_bytes(serialization.Encoding.PEM).decode()
    )
    return key.public_key(), x5t, pem


async def test_a_certificate_signs_the_client_assertion_instead_of_a_secret(
    fake: GraphFake, tmp_path: Path
) -> None:
    fake.add_user("cert@example.com", employeeId="E9")
    public_key, x5t, pem = _certificate()
    fake.certificates[x5t] = public_key
    provider = make(
        fake,
        tmp_path,
        secret=pem,
        client_secret=None,
        client_certificate={"env": "ENTRA_CERT"},
    )
    try:
        accounts = await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    assert "cert@example.com" in {a.name for a in accounts}
    (claims,) = fake.assertions
    assert claims["iss"] == claims["sub"] == CLIENT_ID
    assert claims["aud"].endswith(f"/{TENANT}/oauth2/v2.0/token")
    token_forms = [h.body.decode() for h in fake.hits if h.path.endswith("/token")]
    assert token_forms and all("client_secret" not in f for f in token_forms)


async def test_an_unregistered_certificate_is_a_clear_error_without_the_key(
    fake: GraphFake, tmp_path: Path
) -> None:
    _, _, pem = _certificate()  # not registered with the tenant
    provider = make(fake, tmp_path, secret=pem, client_secret=None, client_certificate={"env": "C"})
    try:
        with pytest.raises(ProviderError) as caught:
            await collect(provider.list_accounts())
    finally:
        await provider.aclose()
    text = str(caught.value)
    assert "AADSTS700027" in text and "\n" not in text
    assert "PRIVATE KEY" not in text and pem.splitlines()[1] not in text


def test_exactly_one_of_secret_and_certificate(tmp_path: Path) -> None:
    fake = GraphFake()  # not started: the settings are refused before any call
    for extra in ({"client_secret": None}, {"client_certificate": {"env": "C"}}):
        with pytest.raises(ProviderConfigError, match="exactly one of 'client_secret'"):
            make(fake, tmp_path, **extra)
