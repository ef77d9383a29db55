"""Every provider type at once, from one config file, in one TUI.

The config is a real TOML file read by ``Session.open``; provider types come
from the installed entry points; secrets are ``{ env = ... }`` references.
Each provider talks to its real or fake server on 127.0.0.1: scim2-server,
moto (IAM), the Okta and GitHub fakes, a JSON-lines file, and the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from pamtui.model import AccessEvent
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.widgets.accounts import AccountsTable
from tests.fakes.github import GitHubFake
from tests.fakes.okta import ADMIN_TOKEN
from tests.providers.test_provider_github import TOKEN as GITHUB_TOKEN
from tests.support.servers import SCIM_TOKEN

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def write_config(path: Path, *, scim: str, okta: str, github: GitHubFake, aws: str, log: Path):
    path.write_text(
        f"""
[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0

[[providers]]
name = "corp-scim"
type = "scim"
base_url = "{scim}"
token = {{ env = "T_SCIM" }}

[[providers]]
name = "corp-okta"
type = "okta"
base_url = "{okta}"
token = {{ env = "T_OKTA" }}
poll_seconds = 0.2
backfill_minutes = 60

[[providers]]
name = "corp-github"
type = "github"
org = "{github.org}"
base_url = "{github.url}"
token = {{ env = "T_GITHUB" }}
poll_seconds = 0.2

[[providers]]
name = "corp-aws"
type = "aws-iam"
region = "us-east-1"
endpoint_url = "{aws}"
access_key_id = "AKIAPAMTUITEST000001"
secret_access_key = {{ env = "T_AWS" }}
stream = false

[[providers]]
name = "edge"
type = "jsonl"
path = "{log}"
[providers.fields]
ts = "ts"
account = "user"
method = "method"
path = "path"
status = "status"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def everything(tmp_path, monkeypatch, tenant, okta_server, github_server, moto_url):
    tenant.add_user("scim-alice", displayName="Alice SCIM")
    okta_server.add_user("okta-bob", first="Bob", last="Okta")
    github_server.add_member("gh-carol", role="admin")
    github_server.add_audit("org.update_member", actor="gh-carol")
    okta_server.log_event("user.session.start", actor_id=None)
    import httpx

    httpx.post(f"{moto_url}/moto-api/reset", timeout=5).raise_for_status()
    iam = boto3.client(
        "iam",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    iam.create_user(UserName="aws-dave")
    iam.create_access_key(UserName="aws-dave")
    log = tmp_path / "edge.jsonl"
    log.write_text(
        json.dumps(
            {
                "ts": "2026-11-22T10:00:00Z",
                "user": "edge-erin",
                "method": "GET",
                "path": "/v1/orders",
                "status": 200,
            }
        )
        + "\n"
    )
    for var, value in (
        ("T_SCIM", SCIM_TOKEN),
        ("T_OKTA", ADMIN_TOKEN),
        ("T_GITHUB", GITHUB_TOKEN),
        ("T_AWS", "testing"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ):
        monkeypatch.setenv(var, value)
    config = write_config(
        tmp_path / "config.toml",
        scim=tenant.base_url,
        okta=okta_server.url,
        github=github_server,
        aws=moto_url,
        log=log,
    )
    return config


async def test_one_tui_shows_every_provider_s_accounts_and_streams(everything, db_path) -> None:
    session = Session.open(config_path=str(everything), db_path=str(db_path))
    assert set(session.providers) == {
        "demo-git",
        "corp-scim",
        "corp-okta",
        "corp-github",
        "corp-aws",
        "edge",
    }
    app = PamtuiApp(session)
    seen: list[AccessEvent] = []
    async with app.run_test(size=(160, 50)) as pilot:
        original = app.stream_watch.observe

        def spy(event):
            seen.append(event)
            return original(event)

        app.stream_watch.observe = spy
        await pilot.pause()
        finite = [w for w in app.workers if w.group != "stream"]
        if finite:
            await app.workers.wait_for_complete(finite)
        statuses = {s.name: s for s in app.provider_statuses()}
        degraded = {n: s.reason for n, s in statuses.items() if not s.ok}
        assert not degraded, degraded

        table = app.screen.query_one(AccountsTable)
        names = {table.row_cells(i)[0].plain for i in range(table.row_count)}
        for expected in ("scim-alice", "okta-bob", "gh-carol", "aws-dave"):
            assert expected in names, expected
        assert statuses["demo-git"].accounts > 0

        # The gateway log is tailed like tail -f: a line written now shows up.
        log = everything.with_name("edge.jsonl")
        with log.open("a") as out:
            out.write(
                json.dumps(
                    {
                        "ts": "2026-11-22T10:00:01Z",
                        "user": "edge-erin",
                        "method": "POST",
                        "path": "/v1/orders",
                        "status": 403,
                    }
                )
                + "\n"
            )
        providers_streaming = {"edge", "corp-okta", "corp-github", "demo-git"}
        for _ in range(100):  # bounded: at most ~10 s
            if providers_streaming <= {e.provider for e in seen}:
                break
            await pilot.pause(0.1)
        assert providers_streaming <= {e.provider for e in seen}, {e.provider for e in seen}
