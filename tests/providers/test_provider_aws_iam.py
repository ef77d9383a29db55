"""AwsIamProvider against real servers: moto's IAM server and a fake CloudTrail.

IAM runs in moto's server mode (``ThreadedMotoServer`` on 127.0.0.1, one per
module, reset before each test); users, keys, groups and policies are made with
boto3 against it and the provider talks to it through ``endpoint_url``, with
real SigV4-signed HTTP. moto does not implement CloudTrail ``LookupEvents``, so
the stream is tested against ``tests/fakes/cloudtrail.py`` (a real HTTP server
speaking the AWS JSON 1.1 protocol to botocore's own client).

moto checks credentials only when its auth is switched on (``/moto-api/reset-auth``):
the tests of wrong credentials and AccessDenied switch it on and off again.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

import boto3
import httpx

from pamtui.model import (
    AccessEvent,
    AccountKind,
    Capability,
    CredentialStatus,
    OwnerStatus,
    TargetKind,
)
from pamtui.providers import aws_iam
from pamtui.providers.aws_iam import (
    BOTO3_MISSING,
    LOOKUP_MIN_INTERVAL_S,
    REVOKE_SESSIONS_POLICY,
    AwsApiError,
    AwsIamProvider,
    StreamPosition,
    broad_grant,
)
from pamtui.providers.base import (
    Provider,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
)
from pamtui.services.queue import plan_for_account
from tests.fakes import cloudtrail as cloudtrail_fake
from tests.fakes.cloudtrail import CloudTrailFake, event

cloudtrail = cloudtrail_fake.cloudtrail

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYpamtuiTESTSECRET"
KEY_ID = "AKIAPAMTUITEST000001"


def _secrets(ref: Any) -> str:
    if ref == {"env": "AWS_SECRET"}:
        return SECRET
    if ref == {"env": "EMPTY"}:
        return ""
    if isinstance(ref, dict) and "literal" in ref:  # tests only: a key made at run time
        return ref["literal"]
    raise LookupError(f"unknown secret reference {ref!r}")


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path / "state", resolve_secret=_secrets)


@pytest.fixture(autouse=True)
def _no_ambient_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own AWS settings must not leak into the tests."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_IAM",
        "AWS_CA_BUNDLE",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
    ):
        monkeypatch.delenv(var, raising=False)


# --------------------------------------------------------------------------- moto


def _set_auth(url: str, initial_free_calls: str) -> None:
    r = httpx.post(f"{url}/moto-api/reset-auth", content=initial_free_calls.encode(), timeout=5)
    assert r.status_code == 200, r.text


def _fresh_iam(url: str, monkeypatch: pytest.MonkeyPatch, *, managed: bool) -> Any:
    """An admin boto3 IAM client on a freshly reset moto.

    ``managed``: moto loads AWS's managed policies (AdministratorAccess, ...) into
    the new backend, which costs ~1.5 s, so only the tests that attach them ask.
    """
    if managed:
        monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    else:
        monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    httpx.post(f"{url}/moto-api/reset", timeout=5).raise_for_status()
    client = boto3.client(
        "iam",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.list_users()  # the backend is made now, with the setting above
    return client


@pytest.fixture
def iam(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    client = _fresh_iam(moto_url, monkeypatch, managed=False)
    yield client
    client.close()


@pytest.fixture
def iam_managed(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    client = _fresh_iam(moto_url, monkeypatch, managed=True)
    yield client
    client.close()


def make(tmp_path: Path, url: str, **settings: Any) -> AwsIamProvider:
    settings = {
        "region": "us-east-1",
        "endpoint_url": url,
        "access_key_id": KEY_ID,
        "secret_access_key": {"env": "AWS_SECRET"},
        "max_retries": 1,
        "timeout_s": 5,
        **settings,
    }
    return AwsIamProvider.from_config(
        "corp-aws", settings, context(tmp_path), lookup_interval_s=0.01
    )


async def _accounts(provider: AwsIamProvider) -> dict[str, Any]:
    return {a.id: a for a in [a async for a in provider.list_accounts()]}


async def _credentials(provider: AwsIamProvider, account: Any = None) -> dict[str, Any]:
    return {c.id: c async for c in provider.list_credentials(account)}


def _key(iam: Any, user: str) -> dict[str, str]:
    return iam.create_access_key(UserName=user)["AccessKey"]


STAR_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*:*", "Resource": "*"}],
}
READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}


async def test_lists_users_privileged_flags_tags_and_last_used(
    tmp_path: Path, iam_managed: Any, moto_url: str
) -> None:
    iam = iam_managed
    iam.create_user(UserName="root-ann", Tags=[{"Key": "owner", "Value": "ann@example.com"}])
    iam.attach_user_policy(
        UserName="root-ann", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess"
    )
    iam.create_login_profile(UserName="root-ann", Password="Passw0rd!Passw0rd!")
    iam.create_group(GroupName="iam-admins")
    iam.attach_group_policy(
        GroupName="iam-admins", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess"
    )
    iam.create_user(UserName="ops-olga")
    iam.add_user_to_group(GroupName="iam-admins", UserName="ops-olga")
    iam.create_user(UserName="star-sam")
    iam.put_user_policy(
        UserName="star-sam", PolicyName="everything", PolicyDocument=json.dumps(STAR_POLICY)
    )
    custom = iam.create_policy(PolicyName="break-glass", PolicyDocument=json.dumps(STAR_POLICY))
    iam.create_user(UserName="glass-gus")
    iam.attach_user_policy(UserName="glass-gus", PolicyArn=custom["Policy"]["Arn"])
    reader = iam.create_policy(PolicyName="reader", PolicyDocument=json.dumps(READ_POLICY))
    iam.create_group(GroupName="developers")
    iam.attach_group_policy(GroupName="developers", PolicyArn=reader["Policy"]["Arn"])
    iam.create_user(
        UserName="deploy-bot",
        Tags=[
            {"Key": "owner", "Value": "E-1234"},
            {"Key": "kind", "Value": "service"},
            {"Key": "employment", "Value": "terminated"},
        ],
    )
    iam.add_user_to_group(GroupName="developers", UserName="deploy-bot")
    used = _key(iam, "deploy-bot")
    idle = _key(iam, "deploy-bot")
    iam.update_access_key(UserName="deploy-bot", AccessKeyId=idle["AccessKeyId"], Status="Inactive")
    # Use one key for real, so IAM (moto) records its last use.
    boto3.client(
        "iam",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id=used["AccessKeyId"],
        aws_secret_access_key=used["SecretAccessKey"],
    ).list_users()

    provider = make(tmp_path, moto_url, hr_tag="employment")
    try:
        assert isinstance(provider, Provider)
        assert provider.capabilities == {
            Capability.ACCOUNTS,
            Capability.CREDENTIALS,
            Capability.EVENTS,
            Capability.REVOKE,
            Capability.VERIFY,
        }
        accounts = await _accounts(provider)
        assert set(accounts) == {"root-ann", "ops-olga", "star-sam", "glass-gus", "deploy-bot"}
        ann = accounts["root-ann"]
        assert ann.privileged and ann.owner == "ann@example.com" and ann.email == ann.owner
        assert ann.kind is AccountKind.HUMAN  # has a console password
        assert ann.system == "aws:123456789012" and ann.created is not None
        assert accounts["ops-olga"].privileged and accounts["ops-olga"].groups == ("iam-admins",)
        assert accounts["star-sam"].privileged  # inline *:*
        assert accounts["glass-gus"].privileged  # customer-managed *:*
        bot = accounts["deploy-bot"]
        assert not bot.privileged and bot.groups == ("developers",)
        assert bot.kind is AccountKind.SERVICE and bot.owner == "E-1234" and bot.email == ""
        assert bot.owner_status is OwnerStatus.TERMINATED
        assert ann.owner_status is OwnerStatus.UNKNOWN
        assert bot.last_active is not None  # the key's last use

        creds = await _credentials(provider)
        assert set(creds) == {used["AccessKeyId"], idle["AccessKeyId"]}
        live = creds[used["AccessKeyId"]]
        assert live.status is CredentialStatus.ACTIVE and live.account_id == "deploy-bot"
        assert live.last_used is not None and live.last_used.tzinfo is not None
        assert "last used: iam" in live.label
        assert live.fingerprint == "…" + used["AccessKeyId"][-4:]
        assert creds[idle["AccessKeyId"]].status is CredentialStatus.INACTIVE
        assert creds[idle["AccessKeyId"]].last_used is None
        assert set(await _credentials(provider, bot)) == set(creds)
        assert await _credentials(provider, ann) == {}
    finally:
        await provider.aclose()


async def test_iam_list_calls_follow_markers(
    tmp_path: Path, iam_managed: Any, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    iam = iam_managed
    monkeypatch.setattr(aws_iam.calls, "LIST_PAGE", 2)
    names = [f"user-{i}" for i in range(5)]
    for name in names:
        iam.create_user(UserName=name)
    for group in ("g1", "g2", "g3"):
        iam.create_group(GroupName=group)
        iam.add_user_to_group(GroupName=group, UserName="user-0")
    iam.attach_group_policy(GroupName="g3", PolicyArn="arn:aws:iam::aws:policy/IAMFullAccess")
    keys = {_key(iam, "user-1")["AccessKeyId"] for _ in range(2)}
    provider = make(tmp_path, moto_url)
    try:
        accounts = await _accounts(provider)
        assert sorted(accounts) == names
        assert set(accounts["user-0"].groups) == {"g1", "g2", "g3"}
        assert accounts["user-0"].privileged
        assert set(await _credentials(provider)) == keys
        iam.delete_user(UserName="user-4")
        assert await _credentials(provider, accounts["user-4"]) == {}
    finally:
        await provider.aclose()


def test_broad_grant_is_bounded_and_documented() -> None:
    assert broad_grant(STAR_POLICY) == "Allow *:* on *"
    assert broad_grant(json.dumps(STAR_POLICY)) == "Allow *:* on *"
    assert broad_grant(
        "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D"
    )
    assert broad_grant(READ_POLICY) == ""
    iam_star = {"Statement": {"Effect": "Allow", "Action": ["IAM:*"], "Resource": ["*"]}}
    assert broad_grant(iam_star)
    not_action = {"Statement": [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}
    assert broad_grant(not_action)
    narrow = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"}]}
    assert broad_grant(narrow) == ""
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    assert broad_grant(deny) == ""


async def test_deactivate_key_verify_reads_status_and_second_is_already_done(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="leaver")
    key = _key(iam, "leaver")
    provider = make(tmp_path, moto_url)
    try:
        [cred] = (await _credentials(provider)).values()
        actions = {a.name: a for a in provider.revoke_actions(cred)}
        deactivate = actions["deactivate_access_key"]
        assert deactivate.reversible and deactivate.order == 20
        assert deactivate.target_kind is TargetKind.CREDENTIAL
        assert deactivate.target_id == key["AccessKeyId"] and deactivate.account_id == "leaver"
        assert not actions["delete_access_key"].reversible
        sessions = actions["revoke_older_sessions"]
        assert sessions.target_kind is TargetKind.ACCOUNT and sessions.target_id == "leaver"

        assert not (await provider.verify(deactivate)).gone
        result = await provider.revoke(deactivate, "k1")
        assert result.ok and not result.already_done
        [meta] = iam.list_access_keys(UserName="leaver")["AccessKeyMetadata"]
        assert meta["Status"] == "Inactive"
        verified = await provider.verify(deactivate)
        assert verified.gone and verified.provider_response == {"status": "Inactive"}

        again = await provider.revoke(deactivate, "k1")
        assert again.ok and again.already_done and "already inactive" in again.detail
        [listed] = (await _credentials(provider)).values()
        assert listed.status is CredentialStatus.INACTIVE
    finally:
        await provider.aclose()


async def test_delete_key_verify_and_second_delete_is_already_done(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="gone-soon")
    _key(iam, "gone-soon")
    provider = make(tmp_path, moto_url)
    try:
        [cred] = (await _credentials(provider)).values()
        delete = next(a for a in provider.revoke_actions(cred) if a.name == "delete_access_key")
        assert not (await provider.verify(delete)).gone
        result = await provider.revoke(delete, "k2")
        assert result.ok and not result.already_done
        assert iam.list_access_keys(UserName="gone-soon")["AccessKeyMetadata"] == []
        assert (await provider.verify(delete)).gone
        again = await provider.revoke(delete, "k2")
        assert again.ok and again.already_done
        # deactivating a deleted key is "already done" too
        deactivate = provider.revoke_actions(cred)[0]
        assert (await provider.revoke(deactivate, "k3")).already_done
    finally:
        await provider.aclose()


async def test_delete_login_profile_verify_and_again(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="console-carl")
    iam.create_login_profile(UserName="console-carl", Password="Passw0rd!Passw0rd!")
    provider = make(tmp_path, moto_url)
    try:
        account = (await _accounts(provider))["console-carl"]
        action = next(
            a for a in provider.revoke_actions(account) if a.name == "delete_login_profile"
        )
        assert action.target_kind is TargetKind.ACCOUNT and action.order == 45
        before = await provider.verify(action)
        assert not before.gone and "still has a console password" in before.detail
        result = await provider.revoke(action, "k")
        assert result.ok and not result.already_done
        with pytest.raises(iam.exceptions.NoSuchEntityException):
            iam.get_login_profile(UserName="console-carl")
        assert (await provider.verify(action)).gone
        again = await provider.revoke(action, "k")
        assert again.ok and again.already_done and "no console password" in again.detail
    finally:
        await provider.aclose()


async def test_revoke_older_sessions_puts_the_deny_policy(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="sts-steve")
    provider = make(tmp_path, moto_url)
    try:
        account = (await _accounts(provider))["sts-steve"]
        action = next(
            a for a in provider.revoke_actions(account) if a.name == "revoke_older_sessions"
        )
        assert not (await provider.verify(action)).gone
        started = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
        result = await provider.revoke(action, "plan-1")
        assert result.ok and not result.already_done

        doc = iam.get_user_policy(UserName="sts-steve", PolicyName=REVOKE_SESSIONS_POLICY)[
            "PolicyDocument"
        ]
        [statement] = doc["Statement"]
        assert statement["Effect"] == "Deny" and statement["Action"] == "*"
        assert statement["Resource"] == "*"
        stamp = statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
        cutoff = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert started <= cutoff <= datetime.now(UTC) + timedelta(seconds=5)

        verified = await provider.verify(action)
        assert verified.gone and verified.provider_response["policy"] == REVOKE_SESSIONS_POLICY

        again = await provider.revoke(action, "plan-1")
        assert again.ok and again.already_done
        # A new plan (another idempotency key) moves the cut-off, never backwards.
        later = await provider.revoke(action, "plan-2")
        assert later.ok and not later.already_done
        assert later.provider_response["cutoff"] >= stamp
        # A deny policy is not a privilege.
        assert not (await _accounts(provider))["sts-steve"].privileged
    finally:
        await provider.aclose()


async def test_account_plan_deactivates_each_key_then_console_then_sessions(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="offboard-olaf")
    iam.create_login_profile(UserName="offboard-olaf", Password="Passw0rd!Passw0rd!")
    keys = {_key(iam, "offboard-olaf")["AccessKeyId"] for _ in range(2)}
    provider = make(tmp_path, moto_url)
    try:
        account = (await _accounts(provider))["offboard-olaf"]
        creds = list((await _credentials(provider, account)).values())
        plan = plan_for_account(provider, account, creds)
        assert [a.name for a in plan] == [
            "deactivate_access_key",
            "deactivate_access_key",
            "delete_login_profile",
            "revoke_older_sessions",
        ]
        assert {a.target_id for a in plan[:2]} == keys
        for step in plan:
            assert (await provider.revoke(step, f"plan:{step.subject}")).ok
        for step in plan:
            assert (await provider.verify(step)).gone, step
        statuses = {
            k["Status"] for k in iam.list_access_keys(UserName="offboard-olaf")["AccessKeyMetadata"]
        }
        assert statuses == {"Inactive"}
    finally:
        await provider.aclose()


async def test_missing_user_is_already_done_and_unknown_actions_refused(
    tmp_path: Path, iam: Any, moto_url: str
) -> None:
    iam.create_user(UserName="temp")
    iam.create_login_profile(UserName="temp", Password="Passw0rd!Passw0rd!")
    key = _key(iam, "temp")
    provider = make(tmp_path, moto_url)
    try:
        account = (await _accounts(provider))["temp"]
        [cred] = (await _credentials(provider)).values()
        key_actions = provider.revoke_actions(cred)
        account_actions = provider.revoke_actions(account)
        iam.delete_access_key(UserName="temp", AccessKeyId=key["AccessKeyId"])
        iam.delete_login_profile(UserName="temp")
        iam.delete_user(UserName="temp")
        for action in key_actions[:2]:  # NoSuchEntity (user gone) -> already done, verified gone
            assert (await provider.revoke(action, "k")).already_done
            assert (await provider.verify(action)).gone
        assert (await provider.revoke(account_actions[0], "k")).already_done
        assert (await provider.verify(account_actions[0])).gone
        sessions = await provider.revoke(account_actions[1], "k")
        assert sessions.already_done and "does not exist" in sessions.detail

        from dataclasses import replace

        with pytest.raises(ProviderError, match="unknown action"):
            await provider.revoke(replace(key_actions[0], name="rm_rf"), "k")
        with pytest.raises(ProviderError, match="invalid access key id"):
            await provider.revoke(replace(key_actions[0], target_id="../x"), "k")
        with pytest.raises(ProviderError, match="sent to aws-iam provider"):
            await provider.verify(replace(key_actions[0], provider="other"))
    finally:
        await provider.aclose()


async def test_access_denied_and_wrong_credentials_are_clear_errors(
    tmp_path: Path, iam_managed: Any, moto_url: str
) -> None:
    iam = iam_managed
    iam.create_user(UserName="limited")
    limited = _key(iam, "limited")  # no policies at all
    iam.create_user(UserName="auditor")
    auditor = _key(iam, "auditor")
    iam.attach_user_policy(
        UserName="auditor", PolicyArn="arn:aws:iam::aws:policy/IAMReadOnlyAccess"
    )

    def with_key(key_id: str, secret: str) -> AwsIamProvider:
        return make(
            tmp_path,
            moto_url,
            access_key_id=key_id,
            secret_access_key={"literal": secret},
            max_retries=0,
        )

    _set_auth(moto_url, "0")  # from now on moto checks signatures and policies
    try:
        provider = with_key(limited["AccessKeyId"], limited["SecretAccessKey"])
        try:
            with pytest.raises(AwsApiError) as info:
                await _accounts(provider)
            err = info.value
            assert err.code == "AccessDenied" and not err.retryable
            assert "iam:ListUsers" in str(err) and "corp-aws" in str(err)
            assert limited["SecretAccessKey"] not in str(err)
        finally:
            await provider.aclose()

        # read-only credentials: listing works, revoking is AccessDenied (not "already done")
        provider = with_key(auditor["AccessKeyId"], auditor["SecretAccessKey"])
        try:
            accounts = await _accounts(provider)
            assert {"limited", "auditor"} <= set(accounts)
            action = next(
                a
                for a in provider.revoke_actions(accounts["limited"])
                if a.name == "revoke_older_sessions"
            )
            with pytest.raises(AwsApiError) as info:
                await provider.revoke(action, "k")
            assert info.value.code == "AccessDenied"
            assert "iam:PutUserPolicy" in str(info.value)
        finally:
            await provider.aclose()

        wrong_secret = with_key(auditor["AccessKeyId"], SECRET)
        unknown_key = with_key("AKIAUNKNOWNKEY000000", SECRET)
        try:
            for bad in (wrong_secret, unknown_key):
                with pytest.raises(AwsApiError) as info:
                    await _accounts(bad)
                message = str(info.value)
                assert info.value.code in ("SignatureDoesNotMatch", "InvalidClientTokenId")
                assert "check the access key id and secret" in message
                assert not info.value.retryable
                assert SECRET not in message and SECRET not in repr(bad)
        finally:
            await wrong_secret.aclose()
            await unknown_key.aclose()
    finally:
        _set_auth(moto_url, "inf")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_endpoint_down_is_a_retryable_error_without_the_secret(tmp_path: Path) -> None:
    provider = make(tmp_path, f"http://127.0.0.1:{_closed_port()}", max_retries=0)
    try:
        with pytest.raises(ProviderError) as info:
            await _accounts(provider)
        message = str(info.value)
        assert info.value.retryable
        assert "cannot connect" in message and "iam:ListUsers" in message
        assert SECRET not in message
    finally:
        await provider.aclose()


async def test_named_profile_from_home(
    tmp_path: Path, iam: Any, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[audit]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\n"
    )
    (home / ".aws" / "config").write_text("[profile audit]\nregion = eu-central-1\n")
    monkeypatch.setenv("HOME", str(home))
    iam.create_user(UserName="via-profile")
    provider = AwsIamProvider.from_config(
        "corp-aws",
        {"endpoint_url": moto_url, "profile": "audit", "stream": False},
        context(tmp_path),
    )
    try:
        assert Capability.EVENTS not in provider.capabilities
        assert provider.settings.region == "eu-central-1"  # the profile's region
        assert provider.cloudtrail.meta.region_name == "eu-central-1"
        assert set(await _accounts(provider)) == {"via-profile"}
        assert [e async for e in provider.stream_events()] == []
    finally:
        await provider.aclose()
    with pytest.raises(ProviderConfigError, match="'profile'"):
        AwsIamProvider.from_config("corp-aws", {"profile": "nope"}, context(tmp_path))


# --------------------------------------------------------------------------- settings


def test_plaintext_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError) as info:
        AwsIamProvider.from_config(
            "corp-aws",
            {"access_key_id": KEY_ID, "secret_access_key": SECRET},
            context(tmp_path),
        )
    message = str(info.value)
    assert "'secret_access_key'" in message and '{ env = "VAR" }' in message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"region": "Mars"}, "region"),
        ({"endpoint_url": "ftp://x"}, "endpoint_url"),
        ({"cloudtrail_endpoint_url": 3}, "cloudtrail_endpoint_url"),
        ({"access_key_id": KEY_ID}, "secret_access_key"),
        ({"secret_access_key": {"env": "AWS_SECRET"}}, "access_key_id"),
        ({"access_key_id": KEY_ID, "secret_access_key": {"env": "NOPE"}}, "secret_access_key"),
        ({"access_key_id": KEY_ID, "secret_access_key": {"env": "EMPTY"}}, "secret_access_key"),
        (
            {"access_key_id": KEY_ID, "secret_access_key": {"env": "AWS_SECRET"}, "profile": "x"},
            "profile",
        ),
        ({"session_token": {"env": "AWS_SECRET"}}, "session_token"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
        ({"timeout_s": "3"}, "timeout_s"),
        ({"max_retries": 99}, "max_retries"),
        ({"retry_mode": "legacy"}, "retry_mode"),
        ({"privileged_policies": "AdministratorAccess"}, "privileged_policies"),
        ({"owner_tag": 1}, "owner_tag"),
        ({"stream": "yes"}, "stream"),
        ({"poll_seconds": 0}, "poll_seconds"),
        ({"settle_seconds": -1}, "settle_seconds"),
        ({"backfill_minutes": True}, "backfill_minutes"),
        ({"regoin": "eu-west-1"}, "regoin"),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        AwsIamProvider.from_config("corp-aws", settings, context(tmp_path))
    assert f"'{key}'" in str(info.value) and "corp-aws" in str(info.value)


def test_without_boto3_the_error_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ProviderConfigError) as info:
        AwsIamProvider.from_config("corp-aws", {}, context(tmp_path))
    assert (
        str(info.value)
        == BOTO3_MISSING
        == ("the aws-iam provider needs boto3: pip install 'pamtui[aws]'")
    )


def test_importing_the_module_does_not_import_boto3() -> None:
    import subprocess

    code = "import sys, pamtui.providers.aws_iam; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------- stream (fake)

BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)


def stream_provider(tmp_path: Path, trail: CloudTrailFake, **settings: Any) -> AwsIamProvider:
    return make(
        tmp_path,
        "http://127.0.0.1:9",  # IAM is not used by the stream
        cloudtrail_endpoint_url=trail.url,
        poll_seconds=0.05,
        settle_seconds=0,
        backfill_minutes=60,
        **settings,
    )


async def take(provider: AwsIamProvider, n: int, since: str | None = None) -> list[AccessEvent]:
    got: list[AccessEvent] = []
    stream = provider.stream_events(since)

    async def run() -> None:
        async for item in stream:
            got.append(item)
            if len(got) >= n:
                return

    try:
        await asyncio.wait_for(run(), timeout=15)
    finally:
        await stream.aclose()
    return got


async def test_stream_maps_cloudtrail_events(tmp_path: Path, cloudtrail: CloudTrailFake) -> None:
    cloudtrail.add(
        event("ListUsers", BASE, user="alice", access_key="AKIAALICE00000000001"),
        event(
            "GetObject",
            BASE + timedelta(seconds=5),
            user="mallory",
            access_key="AKIAMALLORY000000001",
            source="s3.amazonaws.com",
            ip="203.0.113.9",
            user_agent="curl/8.5",
            error_code="AccessDenied",
        ),
    )
    provider = stream_provider(tmp_path, cloudtrail)
    try:
        first, second = await take(provider, 2)
        assert first.ts == BASE and first.ts.tzinfo is not None
        assert (first.method, first.path, first.status) == ("iam", "ListUsers", 200)
        assert first.account_id == "alice" and first.credential_id == "AKIAALICE00000000001"
        assert first.provider == "corp-aws" and first.cursor.startswith("ct1|")
        assert (second.method, second.path, second.status) == ("s3", "GetObject", 403)
        assert second.denied and second.source_ip == "203.0.113.9"
        assert second.user_agent == "curl/8.5" and second.account_id == "mallory"
        assert second.credential_id == "AKIAMALLORY000000001"
        request = cloudtrail.lookups()[0]
        assert request.signed and request.body["MaxResults"] == 50
        assert {"StartTime", "EndTime"} <= set(request.body)
    finally:
        await provider.aclose()


async def test_stream_reads_an_event_whose_session_context_is_not_an_object(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    # CloudTrail's JSON is untrusted: a non-object sessionContext once raised
    # AttributeError out of the stream instead of being read as absent.
    odd = event("AssumeRole", BASE, user="")
    detail = json.loads(odd["CloudTrailEvent"])
    detail["userIdentity"]["sessionContext"] = "not an object"
    odd["CloudTrailEvent"] = json.dumps(detail)
    cloudtrail.add(odd)
    provider = stream_provider(tmp_path, cloudtrail)
    try:
        (got,) = await take(provider, 1)
        assert got.path == "AssumeRole"
        assert got.account_id == detail["userIdentity"]["principalId"]
    finally:
        await provider.aclose()


def _history(count: int, per_second: int) -> list[dict[str, Any]]:
    """``count`` events, ``per_second`` of them sharing each second."""
    return [
        event(f"Call{i:03d}", BASE + timedelta(seconds=i // per_second), event_id=f"e-{i:03d}-x")
        for i in range(count)
    ]


async def test_stream_pages_with_next_token_and_emits_oldest_first(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    history = _history(120, per_second=4)
    cloudtrail.add(*history)
    provider = stream_provider(tmp_path, cloudtrail)
    try:
        got = await take(provider, 120)
        assert [e.path for e in got] == [h["EventName"] for h in history]
        assert len({e.cursor for e in got}) == 120
        lookups = [r.body for r in cloudtrail.lookups()]
        with_token = [i for i, body in enumerate(lookups) if body.get("NextToken")]
        assert len(with_token) == 2  # 120 events in one slice: 3 pages of 50
        for i in with_token:  # a NextToken is sent with the query that produced it
            assert lookups[i]["StartTime"] == lookups[i - 1]["StartTime"]
            assert lookups[i]["EndTime"] == lookups[i - 1]["EndTime"]
    finally:
        await provider.aclose()


async def test_lookups_are_spaced_for_cloudtrails_rate_limit(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    cloudtrail.add(*_history(120, per_second=4))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    provider = AwsIamProvider.from_config(
        "corp-aws",
        {
            "endpoint_url": "http://127.0.0.1:9",
            "cloudtrail_endpoint_url": cloudtrail.url,
            "access_key_id": KEY_ID,
            "secret_access_key": {"env": "AWS_SECRET"},
            "settle_seconds": 0,
            "poll_seconds": 7,
        },
        context(tmp_path),
        sleep=sleep,
    )
    try:
        assert len(await take(provider, 120)) == 120
        lookup_waits = [w for w in waits if w != 7]
        assert lookup_waits and all(0 < w <= LOOKUP_MIN_INTERVAL_S for w in lookup_waits)
        assert len(lookup_waits) == provider.lookups - 1  # every lookup after the first
    finally:
        await provider.aclose()


async def test_stream_resumes_from_cursor_across_restart_without_gap_or_duplicate(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    history = _history(60, per_second=7)  # the split lands inside a second
    cloudtrail.add(*history)
    first = stream_provider(tmp_path, cloudtrail)
    try:
        head = await take(first, 30)
    finally:
        await first.aclose()
    assert head[-1].ts == head[-2].ts  # equal timestamps across the cut

    second = stream_provider(tmp_path / "elsewhere", cloudtrail)  # fresh state_dir
    try:
        tail = await take(second, 30, since=head[-1].cursor)
    finally:
        await second.aclose()
    names = [e.path for e in head + tail]
    assert names == [h["EventName"] for h in history]  # no gap, no duplicate, in order

    # A restart without a cursor resumes from the position kept in state_dir.
    late = event("LateCall", BASE + timedelta(minutes=10), event_id="late-1")
    cloudtrail.add(late)
    third = stream_provider(tmp_path / "elsewhere", cloudtrail)
    try:
        [only] = await take(third, 1)
    finally:
        await third.aclose()
    assert only.path == "LateCall"


async def test_stream_retries_throttling_and_500(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    cloudtrail.add(event("ListUsers", BASE, event_id="only-1"))
    cloudtrail.fail(400, "ThrottlingException", "Rate exceeded")
    cloudtrail.fail(500, "InternalFailure", "try again")
    provider = stream_provider(tmp_path, cloudtrail, max_retries=3)
    try:
        [got] = await take(provider, 1)
        assert got.path == "ListUsers"
        assert len(cloudtrail.lookups()) >= 3  # two failures, then the answer
    finally:
        await provider.aclose()


async def test_stream_throttled_beyond_retries_is_retryable_error(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    cloudtrail.fail(400, "ThrottlingException", "Rate exceeded", times=5)
    provider = stream_provider(tmp_path, cloudtrail, max_retries=0)
    try:
        with pytest.raises(AwsApiError) as info:
            await take(provider, 1)
        assert info.value.retryable and info.value.code == "ThrottlingException"
        assert "cloudtrail:LookupEvents" in str(info.value) and "Rate exceeded" in str(info.value)
        assert SECRET not in str(info.value)
    finally:
        await provider.aclose()


async def test_bad_cursor_is_a_clear_error(tmp_path: Path, cloudtrail: CloudTrailFake) -> None:
    provider = stream_provider(tmp_path, cloudtrail)
    try:
        with pytest.raises(ProviderError, match="not an aws-iam stream cursor"):
            await take(provider, 1, since="1234:56")
    finally:
        await provider.aclose()


async def test_an_old_cursor_catches_up_in_few_lookups(
    tmp_path: Path, cloudtrail: CloudTrailFake
) -> None:
    cloudtrail.add(event("ListUsers", BASE, event_id="after-a-month"))
    month_ago = StreamPosition(BASE - timedelta(days=30)).encode()
    provider = stream_provider(tmp_path, cloudtrail)
    try:
        [got] = await take(provider, 1, since=month_ago)
        assert got.path == "ListUsers"
        assert provider.lookups < 20  # quiet windows double: 15 min, 30 min, 1 h, ...
        # older than CloudTrail's 90 days: resumed at the edge of the history
        too_old = StreamPosition(BASE - timedelta(days=200)).encode()
        [again] = await take(provider, 1, since=too_old)
        assert again.path == "ListUsers"
        starts = [r.body["StartTime"] for r in cloudtrail.lookups()]
        assert min(starts) >= (datetime.now(UTC) - timedelta(days=90)).timestamp() - 60
    finally:
        await provider.aclose()
