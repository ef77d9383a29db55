"""Backends for the provider contract suite: real servers, seeded, behind a fault proxy.

One fixture per built-in provider type returns a :class:`Backend`: the
``ProviderFactory`` (settings pointing at the backend, secrets as references,
small timeouts and retries so fault checks are quick), the ``Seed`` (what to
revoke) and the fault injector (a :class:`FaultProxy` in front of the backend,
or None without a network). The servers are the ones the providers' own tests
use: ``tests/fakes/okta.py``, ``tests/fakes/github.py``, the ``scim2-server``
package, moto's server and ``tests/fakes/cloudtrail.py``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pamtui.providers.base import ProviderContext
from pamtui.providers.contract import FaultInjector, ProviderFactory, Seed
from pamtui.providers.faultproxy import (
    FaultGroup,
    FaultProxy,
    aws_json_replies,
    aws_query_replies,
    json_replies,
)
from tests.support.servers import SCIM_TOKEN

NAME = "contract-under-test"
SECRETS = {
    "OKTA_TOKEN": "00Okta-contract-admin-token-5a4b3c2d1e",
    "GITHUB_TOKEN": "ghs_contract-installation-token-77e1",
    "SCIM_TOKEN": SCIM_TOKEN,  # the shared scim2-server's token
    "AWS_SECRET": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYcontractSECRET",
}
HTTP_LIMITS: dict[str, Any] = {
    "timeout_s": 0.5,
    "max_retries": 1,
    "backoff_base_s": 0,
    "backoff_max_s": 0,
    "rate_limit_max_wait_s": 0.5,
}
"""Small timeouts and retries: a fault fails fast, a hang costs two timeouts, and the
proxy's ``Retry-After: 1`` is longer than the longest wait allowed, so a 429 fails at
once with the retryable "rate limited until ..." error instead of sleeping."""
HANG_S = 4.0
"""How long the proxy holds a hung request (more than the providers' timeouts)."""


def _resolve(ref: Any) -> str:
    if isinstance(ref, dict) and set(ref) == {"env"} and ref["env"] in SECRETS:
        return SECRETS[ref["env"]]
    raise LookupError(f"unknown secret reference {ref!r}")


def context(tmp_path: Path) -> ProviderContext:
    return ProviderContext(state_dir=tmp_path / "state", resolve_secret=_resolve)


@dataclass
class Backend:
    factory: ProviderFactory
    seed: Seed
    faults: FaultInjector | None


def _proxy(upstream: str, **kw: Any) -> FaultProxy:
    return FaultProxy(upstream, hang_s=HANG_S, **kw).start()


# --------------------------------------------------------------------------- demo


@pytest.fixture
def demo_backend(tmp_path: Path) -> Backend:
    factory = ProviderFactory(
        "demo",
        {"system": "idp", "latency_ms": 0, "backfill_minutes": 30},
        context(tmp_path),
        name=NAME,
        not_applicable={
            "secrets": "the demo org needs no secret (a local SQLite state file)",
            "faults": "no network: the demo org is a local SQLite file in the state dir",
        },
    )
    return Backend(factory, Seed(), None)  # the bundled org: the first active ones


# --------------------------------------------------------------------------- jsonl


@pytest.fixture
def jsonl_backend(tmp_path: Path) -> Backend:
    log = tmp_path / "access.jsonl"
    lines = [
        {"ts": f"2026-05-01T12:00:0{n}Z", "user": f"u{n}", "path": f"/v1/items/{n}", "status": 200}
        for n in range(3)
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    settings = {
        "path": str(log),
        "start_at": "beginning",
        "poll_interval_s": 0.05,
        "fields": {"ts": "ts", "account": "user", "path": "path", "status": "status"},
    }
    factory = ProviderFactory(
        "jsonl",
        settings,
        context(tmp_path),
        name=NAME,
        not_applicable={
            "secrets": "no secret settings: jsonl reads a local file or a command's output",
            "revoke": "jsonl only reads events: no accounts, nothing to revoke",
            "faults": "no network: jsonl tails a local file (or a command's stdout)",
        },
    )
    return Backend(factory, Seed(), None)


# --------------------------------------------------------------------------- hr-csv


@pytest.fixture
def hr_csv_backend(tmp_path: Path) -> Backend:
    roster = tmp_path / "people.csv"
    roster.write_text(
        "Employee Id,Name,Work Email,Status\nE1,Ada Lovelace,ada@example.com,Active\n"
    )
    factory = ProviderFactory(
        "hr-csv",
        {
            "path": str(roster),
            "columns": {
                "id": "Employee Id",
                "name": "Name",
                "email": "Work Email",
                "status": "Status",
            },
        },
        context(tmp_path),
        name=NAME,
        not_applicable={
            "secrets": "no secret settings: hr-csv reads a local export file",
            "revoke": "a roster source: no accounts, nothing to revoke",
            "events": "a roster source: no event stream",
            "faults": "no network: hr-csv reads a local file",
        },
    )
    return Backend(factory, Seed(), None)


# --------------------------------------------------------------------------- okta


@pytest.fixture
def okta_backend(tmp_path: Path) -> Iterator[Backend]:
    from tests.fakes.okta import OktaFake

    fake = OktaFake()
    token = SECRETS["OKTA_TOKEN"]
    fake.secrets[token] = fake.admin_token_id
    leaver = fake.add_user("leaver@example.com", first="Lee", last="Ver")
    fake.add_user("bystander@example.com", first="By", last="Stander")
    credential = fake.add_api_token(leaver, "leaver-automation")
    fake.start_session(leaver)
    past = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(3):
        fake.log_event(
            "user.session.start",
            actor_id=leaver,
            published=(past + timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
    fake.start()
    proxy = _proxy(fake.url, replies=json_replies())
    settings = {
        "base_url": proxy.url,
        "token": {"env": "OKTA_TOKEN"},
        "poll_seconds": 0.2,
        "backfill_minutes": 30,
        **HTTP_LIMITS,
    }
    factory = ProviderFactory(
        "okta",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("token",),
        secret_values=(token,),
    )
    try:
        yield Backend(factory, Seed(account_id=leaver, credential_id=credential), proxy)
    finally:
        proxy.stop()
        fake.stop()


# --------------------------------------------------------------------------- github


@pytest.fixture
def github_backend(tmp_path: Path) -> Iterator[Backend]:
    from tests.fakes.github import GitHubFake

    token = SECRETS["GITHUB_TOKEN"]
    fake = GitHubFake(token=token)
    fake.start()
    leaver = fake.add_member("leaver")
    fake.add_member("bystander")
    fake.add_saml_identity("leaver", "leaver@acme.example", emails=("leaver@acme.example",))
    pat = fake.add_pat("leaver", "leaver-ci")
    fake.add_pat("leaver", "leaver-laptop")
    fake.add_pat("bystander", "bystander-ci")
    now_ms = int(time.time() * 1000)
    for n in range(3):
        fake.add_audit("repo.download_zip", ts_ms=now_ms - 120_000 + n * 1000, actor="leaver")
    proxy = _proxy(fake.url, replies=json_replies())
    settings = {
        "base_url": proxy.url,
        "org": fake.org,
        "token": {"env": "GITHUB_TOKEN"},
        "poll_seconds": 0.2,
        "backfill_hours": 1,
        "saml_identities": True,  # the GraphQL identity listing goes through the faults too
        **HTTP_LIMITS,
    }
    factory = ProviderFactory(
        "github",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("token",),
        secret_values=(token,),
    )
    try:
        yield Backend(factory, Seed(account_id=str(leaver), credential_id=str(pat)), proxy)
    finally:
        proxy.stop()
        fake.stop()


# --------------------------------------------------------------------------- scim


@pytest.fixture
def scim_backend(tmp_path: Path, scim_root: str) -> Iterator[Backend]:
    tenant = f"/c{uuid.uuid4().hex[:12]}/v2"
    ids = []
    with httpx.Client(
        base_url=f"{scim_root}{tenant}/",
        headers={
            "Authorization": f"Bearer {SECRETS['SCIM_TOKEN']}",
            "Content-Type": "application/scim+json",
        },
        timeout=5,
    ) as client:
        for user in ("leaver", "bystander"):
            body = {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user,
                "active": True,
            }
            r = client.post("Users", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
    proxy = _proxy(scim_root, replies=json_replies())
    settings = {"base_url": proxy.url + tenant, "token": {"env": "SCIM_TOKEN"}, **HTTP_LIMITS}
    factory = ProviderFactory(
        "scim",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("token",),
        secret_values=(SECRETS["SCIM_TOKEN"],),
        not_applicable={"events": "SCIM 2.0 has no access log (the stream ends at once)"},
    )
    try:
        yield Backend(factory, Seed(account_id=ids[0]), proxy)
    finally:
        proxy.stop()


# --------------------------------------------------------------------------- aws-iam


@pytest.fixture
def aws_backend(
    tmp_path: Path, moto_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Backend]:
    boto3 = pytest.importorskip("boto3")
    from tests.fakes.cloudtrail import CloudTrailFake, event

    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_IAM", "AWS_CA_BUNDLE", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.delenv("MOTO_IAM_LOAD_MANAGED_POLICIES", raising=False)
    httpx.post(f"{moto_url}/moto-api/reset", timeout=5).raise_for_status()
    iam = boto3.client(
        "iam",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        iam.create_user(UserName="leaver")
        iam.create_login_profile(UserName="leaver", Password="Contract-Passw0rd!")
        key = iam.create_access_key(UserName="leaver")["AccessKey"]["AccessKeyId"]
        iam.create_user(UserName="bystander")
        iam.create_access_key(UserName="bystander")
    finally:
        iam.close()
    trail = CloudTrailFake()
    trail.start()
    past = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    trail.add(*(event("ListBuckets", past + timedelta(seconds=n), user="leaver") for n in range(3)))
    proxy = _proxy(moto_url, replies=aws_query_replies())
    trail_proxy = _proxy(trail.url, replies=aws_json_replies())
    settings = {
        "region": "us-east-1",
        "endpoint_url": proxy.url,
        "cloudtrail_endpoint_url": trail_proxy.url,
        "access_key_id": "AKIACONTRACTTEST0001",
        "secret_access_key": {"env": "AWS_SECRET"},
        "timeout_s": 1.0,  # moto is slower than the fakes; one attempt only
        "max_retries": 0,  # botocore's own backoff would make the fault checks slow
        "backfill_minutes": 20,
        "poll_seconds": 0.2,
    }
    factory = ProviderFactory(
        "aws-iam",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("secret_access_key", "session_token"),
        secret_values=(SECRETS["AWS_SECRET"],),
    )
    try:
        faults = FaultGroup(proxy, trail_proxy)
        yield Backend(factory, Seed(account_id="leaver", credential_id=key), faults)
    finally:
        trail_proxy.stop()
        proxy.stop()
        trail.stop()


# --------------------------------------------------------------------------- entra


@pytest.fixture
def entra_backend(tmp_path: Path) -> Iterator[Backend]:
    from tests.fakes.graph import CLIENT_ID, CLIENT_SECRET, TENANT, GraphFake

    fake = GraphFake()
    leaver = fake.add_user("leaver@example.com", employeeId="E1001")
    fake.add_user("bystander@example.com", employeeId="E1002")
    fake.add_role("Global Administrator", "62e90394-69f5-4237-9190-012177145e10", leaver)
    client = fake.add_service_principal("Contoso CRM")
    grant = fake.add_grant(client, leaver)
    fake.add_application("nightly-export", secrets=1)
    past = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(3):
        fake.add_sign_in(leaver, past + timedelta(seconds=n))
    fake.start()
    proxy = _proxy(fake.url, replies=json_replies())
    settings = {
        "base_url": proxy.url + "/v1.0",
        "authority": proxy.url,
        "tenant_id": TENANT,
        "client_id": CLIENT_ID,
        "client_secret": {"env": "ENTRA_SECRET"},
        "poll_seconds": 0.2,
        "backfill_minutes": 30,
        **HTTP_LIMITS,
    }
    SECRETS["ENTRA_SECRET"] = CLIENT_SECRET
    factory = ProviderFactory(
        "entra",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("client_secret",),
        secret_values=(CLIENT_SECRET,),
    )
    try:
        yield Backend(factory, Seed(account_id=leaver, credential_id=f"grant:{grant}"), proxy)
    finally:
        proxy.stop()
        fake.stop()


# --------------------------------------------------------------------------- google-workspace


@pytest.fixture
def google_backend(tmp_path: Path) -> Iterator[Backend]:
    from tests.fakes.google import GoogleFake, service_account

    key, key_json = service_account()
    SECRETS["GOOGLE_KEY"] = key_json
    fake = GoogleFake(key.public_key(), json.loads(key_json)["client_email"])
    fake.add_user("admin@example.com", admin=True)  # the subject the service account acts as
    leaver = fake.add_user("leaver@example.com", hr_id="E1001", aliases=("lee@example.com",))
    bystander = fake.add_user("bystander@example.com", hr_id="E1002")
    fake.assign(leaver, "2")  # a delegated admin: remove_admin_roles applies
    credential = fake.add_token(leaver, "1234-leaver.apps.googleusercontent.com", "Leaver's CRM")
    fake.add_asp(leaver, "leaver-imap")
    fake.add_token(bystander, "5678-by.apps.googleusercontent.com", "Bystander's CRM")
    past = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(3):
        fake.add_activity("login", "login_success", leaver, past + timedelta(seconds=n))
    fake.start()
    proxy = _proxy(fake.url, replies=json_replies())
    settings = {
        "base_url": proxy.url,
        "token_uri": fake.token_url,
        "subject": "admin@example.com",
        "credentials": {"env": "GOOGLE_KEY"},
        "applications": ["login"],
        "poll_seconds": 0.2,
        "backfill_minutes": 30,
        **HTTP_LIMITS,
    }
    private_pem = json.loads(key_json)["private_key"]
    factory = ProviderFactory(
        "google-workspace",
        settings,
        context(tmp_path),
        name=NAME,
        secret_settings=("credentials",),
        secret_values=(key_json, private_pem.splitlines()[5]),
    )
    try:
        yield Backend(factory, Seed(account_id=leaver, credential_id=credential), proxy)
    finally:
        proxy.stop()
        fake.stop()
