"""ScimProvider against a real SCIM 2.0 server (the ``scim2-server`` package).

One ``scim2-server`` process serves the session (``tests/support/servers.py``) (``--dynamic-tenants``); each
test gets its own tenant (``/<tenant>/v2``), so tests do not see each other's
users. Fault cases (429, 500, malformed JSON) use the scripted server of
``tests/fakes/http.py`` with RFC 7644 example bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from pamtui.model import AccountKind, AccountStatus, Capability, OwnerStatus, TargetKind
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.scim import ENTERPRISE_USER, PATCH_OP, ScimProvider
from tests.fakes import http as http_fake
from tests.fakes.http import FakeServer, Recorded, Reply
from tests.support.servers import SCIM_TOKEN, USER_SCHEMA, Tenant

http_server = http_fake.http_server

TOKEN = SCIM_TOKEN
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def _secrets(ref: Any) -> str:
    if ref == {"env": "SCIM_TOKEN"}:
        return TOKEN
    if ref == {"env": "WRONG"}:
        return "definitely-not-the-token"
    if ref == {"env": "EMPTY"}:
        return ""
    raise LookupError(f"unknown secret reference {ref!r}")


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path, resolve_secret=_secrets)


SLEPT: list[float] = []


async def _no_sleep(seconds: float) -> None:
    SLEPT.append(seconds)


def make(tmp_path: Path, base_url: str, **settings: Any) -> ScimProvider:
    settings = {"base_url": base_url, "token": {"env": "SCIM_TOKEN"}, **settings}
    return ScimProvider.from_config("corp-scim", settings, context(tmp_path), sleep=_no_sleep)


def record_requests(provider: ScimProvider) -> list[httpx.Request]:
    """Every request the provider's httpx client sends (to a real server)."""
    sent: list[httpx.Request] = []

    async def hook(request: httpx.Request) -> None:
        sent.append(request)

    provider.http.httpx_client.event_hooks["request"].append(hook)
    return sent


async def _accounts(provider: ScimProvider) -> list:
    return [a async for a in provider.list_accounts()]


async def test_lists_every_page_and_maps_users(tmp_path: Path, tenant: Tenant) -> None:
    ids = [
        tenant.add_user(
            f"user{i:02d}",
            displayName=f"User {i}",
            emails=[
                {"value": f"other{i}@example.com"},
                {"value": f"user{i}@example.com", "primary": True},
            ],
        )
        for i in range(7)
    ]
    bot = tenant.add_user("deploy-bot", userType="Bot", name={"formatted": "Deploy Bot"})
    svc = tenant.add_user("backup", userType="Service Account", active=False)
    provider = make(tmp_path, tenant.base_url, page_size=3)
    sent = record_requests(provider)
    try:
        assert isinstance(provider, Provider)
        assert provider.capabilities == {Capability.ACCOUNTS, Capability.REVOKE, Capability.VERIFY}
        accounts = {a.id: a for a in await _accounts(provider)}
        assert set(accounts) == {*ids, bot, svc}
        pages = [r.url.params for r in sent if r.url.path.endswith("/Users")]
        assert [(p["startIndex"], p["count"]) for p in pages] == [
            ("1", "3"),
            ("4", "3"),
            ("7", "3"),
        ]
        first = accounts[ids[0]]
        assert first.name == "user00" and first.display_name == "User 0"
        assert first.email == "user0@example.com"
        assert first.kind is AccountKind.HUMAN and first.status is AccountStatus.ACTIVE
        assert first.provider == "corp-scim" and not first.privileged
        assert accounts[bot].kind is AccountKind.BOT
        assert accounts[bot].display_name == "Deploy Bot"
        assert accounts[svc].kind is AccountKind.SERVICE
        assert accounts[svc].status is AccountStatus.DEACTIVATED
        assert [a async for a in provider.list_credentials()] == []
        assert [e async for e in provider.stream_events()] == []
    finally:
        await provider.aclose()


async def test_privileged_via_group_membership_and_hr_status(
    tmp_path: Path, tenant: Tenant
) -> None:
    admin = tenant.add_user(
        "root-ann",
        **{ENTERPRISE_USER: {"employeeNumber": "E-17", "department": "terminated"}},
    )
    dev = tenant.add_user("dev-bob", **{ENTERPRISE_USER: {"department": "Active"}})
    tenant.add_group("Domain Admins", [admin])
    tenant.add_group("Developers", [dev, admin])
    provider = make(
        tmp_path,
        tenant.base_url,
        privileged_groups=["domain admins"],
        hr_attribute="department",
    )
    try:
        accounts = {a.id: a for a in await _accounts(provider)}
        assert accounts[admin].privileged
        assert set(accounts[admin].groups) == {"Domain Admins", "Developers"}
        assert accounts[admin].owner == "E-17"
        assert accounts[admin].owner_status is OwnerStatus.TERMINATED
        assert not accounts[dev].privileged and accounts[dev].groups == ("Developers",)
        assert accounts[dev].owner_status is OwnerStatus.EMPLOYED
    finally:
        await provider.aclose()


async def test_deactivate_verify_and_second_deactivate_is_already_done(
    tmp_path: Path, tenant: Tenant
) -> None:
    user = tenant.add_user("leaver")
    provider = make(tmp_path, tenant.base_url)
    sent = record_requests(provider)
    try:
        [account] = await _accounts(provider)
        actions = {a.name: a for a in provider.revoke_actions(account)}
        deactivate = actions["deactivate_account"]
        assert deactivate.reversible and deactivate.order == 90
        assert deactivate.target_kind is TargetKind.ACCOUNT and deactivate.target_id == user
        assert actions["delete_account"].order == 95
        assert not actions["delete_account"].reversible

        before = await provider.verify(deactivate)
        assert not before.gone

        result = await provider.revoke(deactivate, "key-1")
        assert result.ok and not result.already_done
        assert tenant.get_user(user).json()["active"] is False
        # scim2-server announces ETag support, so the PATCH carried the user's version
        assert (await provider.service_provider_config())["etag"] is True
        [patch] = [r for r in sent if r.method == "PATCH"]
        assert patch.headers["if-match"] == 'W/"1"'

        verified = await provider.verify(deactivate)
        assert verified.gone, verified.detail

        again = await provider.revoke(deactivate, "key-1")
        assert again.ok and again.already_done
        [listed] = await _accounts(provider)
        assert listed.status is AccountStatus.DEACTIVATED
    finally:
        await provider.aclose()


async def test_delete_verify_404_and_second_delete_is_already_done(
    tmp_path: Path, tenant: Tenant
) -> None:
    user = tenant.add_user("gone-soon")
    provider = make(tmp_path, tenant.base_url)
    try:
        [account] = await _accounts(provider)
        delete = next(a for a in provider.revoke_actions(account) if a.name == "delete_account")
        assert not (await provider.verify(delete)).gone

        result = await provider.revoke(delete, "key-2")
        assert result.ok and not result.already_done
        assert tenant.get_user(user).status_code == 404

        verified = await provider.verify(delete)
        assert verified.gone and verified.provider_response == {"status": 404}

        again = await provider.revoke(delete, "key-2")
        assert again.ok and again.already_done
    finally:
        await provider.aclose()


async def test_wrong_token_is_a_clear_error_without_the_token(
    tmp_path: Path, tenant: Tenant
) -> None:
    provider = ScimProvider.from_config(
        "corp-scim",
        {"base_url": tenant.base_url, "token": {"env": "WRONG"}},
        context(tmp_path),
    )
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert "401" in message and "corp-scim" in message
        assert "Authorization failure" in message  # the server's SCIM error detail
        assert "definitely-not-the-token" not in message and TOKEN not in message
        assert "definitely-not-the-token" not in repr(provider)
    finally:
        await provider.aclose()


# --------------------------------------------------------------------------- settings


def test_plaintext_token_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError) as info:
        ScimProvider.from_config(
            "corp-scim",
            {"base_url": "https://idp.example.com/scim/v2", "token": "s3cr3t-plain-token"},
            context(tmp_path),
        )
    message = str(info.value)
    assert "'token'" in message and '{ env = "VAR" }' in message
    assert '{ keyring = "NAME" }' in message
    assert "s3cr3t-plain-token" not in message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"token": {"env": "SCIM_TOKEN"}}, "base_url"),
        ({"base_url": "https://idp.example.com/scim/v2"}, "token"),
        ({"base_url": "ftp://idp.example.com", "token": {"env": "SCIM_TOKEN"}}, "base_url"),
        ({"base_url": "https://x.example", "token": {"env": "NOPE"}}, "token"),
        ({"base_url": "https://x.example", "token": {"env": "EMPTY"}}, "token"),
        (
            {"base_url": "https://x.example", "token": {"env": "SCIM_TOKEN"}, "timeout_s": "3"},
            "timeout_s",
        ),
        (
            {
                "base_url": "https://x.example",
                "token": {"env": "SCIM_TOKEN"},
                "privileged_groups": "Admins",
            },
            "privileged_groups",
        ),
        (
            {"base_url": "https://x.example", "token": {"env": "SCIM_TOKEN"}, "hr_attribute": 3},
            "hr_attribute",
        ),
        (
            {"base_url": "https://x.example", "token": {"env": "SCIM_TOKEN"}, "page_size": 0},
            "page_size",
        ),
        (
            {"base_url": "https://x.example", "token": {"env": "SCIM_TOKEN"}, "tokne": "x"},
            "tokne",
        ),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        ScimProvider.from_config("corp-scim", settings, context(tmp_path))
    assert f"'{key}'" in str(info.value)
    assert "corp-scim" in str(info.value)


def test_credentials_cannot_be_revoked(tmp_path: Path) -> None:
    from pamtui.model import Credential, CredentialKind, CredentialStatus

    provider = make(tmp_path, "https://idp.example.com/scim/v2")
    cred = Credential("corp-scim", "c1", "u1", CredentialKind.API_TOKEN, CredentialStatus.ACTIVE)
    with pytest.raises(ProviderError, match="only manage accounts"):
        provider.revoke_actions(cred)


# --------------------------------------------------------------------------- faults (fake)

SPC = {
    "schemas": [SPC_SCHEMA],
    "patch": {"supported": True},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": True, "maxResults": 200},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": True},
    "authenticationSchemes": [],
}
BJENSEN = {
    "schemas": [USER_SCHEMA],
    "id": "2819c223-7f76-453a-919d-413861904646",
    "userName": "bjensen",
    "name": {"formatted": "Ms. Barbara J Jensen III"},
    "active": True,
    "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
    "groups": [{"value": "e9e30dba", "display": "Tour Guides"}],
    "meta": {"resourceType": "User", "version": 'W/"3694e05e9dff591"'},
}


def _list(*users: dict[str, Any]) -> dict[str, Any]:
    return {
        "schemas": [LIST_SCHEMA],
        "totalResults": len(users),
        "startIndex": 1,
        "itemsPerPage": len(users),
        "Resources": list(users),
    }


def _fake(server: FakeServer) -> None:
    server.route("/scim/v2/ServiceProviderConfig", Reply(200, body=SPC))
    server.route("/scim/v2/Groups", Reply(200, body=_list()))


async def test_429_with_retry_after_then_success(tmp_path: Path, http_server: FakeServer) -> None:
    _fake(http_server)
    http_server.route(
        "/scim/v2/Users",
        Reply(429, headers={"Retry-After": "2"}, body={"schemas": [ERROR_SCHEMA], "status": "429"}),
        Reply(200, body=_list(BJENSEN)),
    )
    provider = make(tmp_path, http_server.url + "/scim/v2", privileged_groups=["Tour Guides"])
    SLEPT.clear()
    try:
        [account] = await _accounts(provider)
        assert account.name == "bjensen" and account.display_name == "Ms. Barbara J Jensen III"
        assert account.privileged and account.groups == ("Tour Guides",)
        assert len(http_server.hits("/scim/v2/Users")) == 2
        assert provider.http.rate_limited_waits == 1 and provider.http.retries == 1
        assert SLEPT and 1.0 < SLEPT[0] <= 2.0  # waited as told (fake sleep, real clock)
        assert http_server.hits("/scim/v2/Users")[0].headers["authorization"] == f"Bearer {TOKEN}"
    finally:
        await provider.aclose()


async def test_500_then_success(tmp_path: Path, http_server: FakeServer) -> None:
    _fake(http_server)
    http_server.route(
        "/scim/v2/Users",
        Reply(500, body={"schemas": [ERROR_SCHEMA], "status": "500", "detail": "try later"}),
        Reply(200, body=_list(BJENSEN)),
    )
    provider = make(tmp_path, http_server.url + "/scim/v2")
    try:
        [account] = await _accounts(provider)
        assert account.id == BJENSEN["id"]
        assert provider.http.retries == 1
    finally:
        await provider.aclose()


async def test_malformed_json_is_a_provider_error(tmp_path: Path, http_server: FakeServer) -> None:
    _fake(http_server)
    http_server.route(
        "/scim/v2/Users",
        Reply(200, headers={"Content-Type": "application/scim+json"}, body=b'{"Resources": ['),
    )
    provider = make(tmp_path, http_server.url + "/scim/v2")
    try:
        with pytest.raises(ProviderError, match="malformed JSON"):
            await _accounts(provider)
    finally:
        await provider.aclose()


async def test_patch_sends_patchop_with_if_match_and_scim_errors_are_readable(
    tmp_path: Path, http_server: FakeServer
) -> None:
    _fake(http_server)
    user_path = f"/scim/v2/Users/{BJENSEN['id']}"
    patches: list[Recorded] = []

    def user(record: Recorded) -> Reply:
        if record.method == "GET":
            return Reply(200, body=BJENSEN)
        patches.append(record)
        if len(patches) == 1:
            return Reply(204)
        return Reply(
            400,
            body={
                "schemas": [ERROR_SCHEMA],
                "scimType": "mutability",
                "detail": "Attribute 'active' is readOnly",
                "status": "400",
            },
        )

    http_server.route(user_path, handler=user)
    http_server.route("/scim/v2/Users", Reply(200, body=_list(BJENSEN)))
    provider = make(tmp_path, http_server.url + "/scim/v2")
    try:
        [account] = await _accounts(provider)
        deactivate = provider.revoke_actions(account)[0]
        result = await provider.revoke(deactivate, "k")
        assert result.ok and not result.already_done
        [patch] = patches
        assert patch.headers["if-match"] == 'W/"3694e05e9dff591"'
        assert patch.json() == {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        }
        with pytest.raises(ProviderError) as info:
            await provider.revoke(deactivate, "k")
        assert "mutability: Attribute 'active' is readOnly" in str(info.value)
        assert TOKEN not in str(info.value)
    finally:
        await provider.aclose()


async def test_412_precondition_failed_rereads_and_retries(
    tmp_path: Path, http_server: FakeServer
) -> None:
    _fake(http_server)
    user_path = f"/scim/v2/Users/{BJENSEN['id']}"
    versions = iter(['W/"a"', 'W/"b"'])
    seen: list[str] = []

    def user(record: Recorded) -> Reply:
        if record.method == "GET":
            body = dict(BJENSEN, meta={"resourceType": "User", "version": next(versions)})
            return Reply(200, body=body)
        seen.append(record.headers.get("if-match", ""))
        if len(seen) == 1:
            return Reply(412, body={"schemas": [ERROR_SCHEMA], "status": "412"})
        return Reply(204)

    http_server.route(user_path, handler=user)
    http_server.route("/scim/v2/Users", Reply(200, body=_list(BJENSEN)))
    provider = make(tmp_path, http_server.url + "/scim/v2")
    try:
        [account] = await _accounts(provider)
        delete = provider.revoke_actions(account)[1]
        result = await provider.revoke(delete, "k")
        assert result.ok and not result.already_done
        assert seen == ['W/"a"', 'W/"b"']
    finally:
        await provider.aclose()
