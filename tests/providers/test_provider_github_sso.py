"""SAML SSO credential authorizations of GitHubProvider, against the fake over real HTTP."""

from __future__ import annotations

from pathlib import Path

from pamtui.model import CredentialKind, TargetKind
from pamtui.services.queue import plan_for_account
from tests.fakes import github as github_fake
from tests.fakes.github import GitHubFake
from tests.providers.test_provider_github import _accounts, _credentials, make


async def test_sso_credentials_are_listed_for_their_member(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    ann = github_server.add_member("ann")
    bob = github_server.add_member("bob")
    pat = github_server.add_sso_authorization(
        "ann",
        last_eight="abcd1234",
        scopes=["repo", "admin:org"],
        accessed_at="2024-05-30T08:00:00Z",
        title="laptop token",
        expires_at="2025-01-01T00:00:00Z",
    )
    key = github_server.add_sso_authorization(
        "Bob",
        credential_type="SSH key",
        last_eight=None,
        fingerprint="jklmnop12345678",
        scopes=[],
    )
    provider = make(tmp_path, github_server, page_size=1)
    try:
        creds = {c.id: c async for c in provider.list_credentials()}
        assert len(github_server.hits("GET", "/orgs/acme/credential-authorizations")) == 2
        token = creds[f"sso-{pat}"]
        assert token.account_id == str(ann) and token.label == "laptop token"
        assert token.kind is CredentialKind.PERSONAL_ACCESS_TOKEN
        assert token.fingerprint == "...abcd1234" and token.scopes == ("repo", "admin:org")
        assert (
            token.created is not None and token.created.isoformat() == "2024-02-01T09:00:00+00:00"
        )
        assert token.last_used is not None and token.last_used.isoformat().startswith("2024-05-30")
        assert token.expires is not None and token.expires.year == 2025
        ssh = creds[f"sso-{key}"]
        assert ssh.account_id == str(bob) and ssh.kind is CredentialKind.SSH_KEY
        assert ssh.fingerprint == "jklmnop12345678" and ssh.last_used is None

        accounts = await _accounts(provider)
        only_bob = [c.id async for c in provider.list_credentials(accounts["bob"])]
        assert only_bob == [f"sso-{key}"]
        [asked] = [
            r
            for r in github_server.requests
            if r.path == "/orgs/acme/credential-authorizations" and "login=bob" in r.target
        ]
        assert "per_page=1" in asked.target
    finally:
        await provider.aclose()


async def test_revoke_sso_authorization_verify_and_again_is_already_done(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    gone = github_server.add_sso_authorization("ann", title="ci")
    keep = github_server.add_sso_authorization("ann", title="keep")
    provider = make(tmp_path, github_server)
    try:
        cred = (await _credentials(provider))["ci"]
        [action] = provider.revoke_actions(cred)
        assert action.name == "revoke_sso_authorization"
        assert action.target_kind is TargetKind.CREDENTIAL and action.target_id == f"sso-{gone}"
        assert not (await provider.verify(action)).gone

        result = await provider.revoke(action, "key-1")
        assert result.ok and not result.already_done
        assert (
            len(github_server.hits("DELETE", f"/orgs/acme/credential-authorizations/{gone}")) == 1
        )
        assert gone not in github_server.sso_authorizations
        assert keep in github_server.sso_authorizations
        assert github_server.audit[-1]["action"] == "org.revoke_sso_authorization"
        verified = await provider.verify(action)
        assert verified.gone, verified.detail

        again = await provider.revoke(action, "key-1")
        assert again.ok and again.already_done
        assert again.provider_response == {"status": 404}
        assert (
            len(github_server.hits("DELETE", f"/orgs/acme/credential-authorizations/{gone}")) == 2
        )
    finally:
        await provider.aclose()


async def test_a_404_while_still_listed_is_an_error_not_already_done(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    cid = github_server.add_sso_authorization("ann", title="ci")
    github_server.inject(
        "DELETE",
        f"/orgs/acme/credential-authorizations/{cid}",
        github_fake.error(404, "Not Found"),
    )
    provider = make(tmp_path, github_server)
    try:
        [action] = provider.revoke_actions((await _credentials(provider))["ci"])
        try:
            await provider.revoke(action, "k")
        except Exception as exc:
            assert "HTTP 404" in str(exc)
        else:
            raise AssertionError("a refused removal was reported as done")
        assert cid in github_server.sso_authorizations
    finally:
        await provider.aclose()


async def test_org_without_saml_sso_lists_only_pats(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.add_pat("ann", "fine")
    github_server.add_sso_authorization("ann", title="classic")
    github_server.saml_sso = False
    provider = make(tmp_path, github_server)
    try:
        assert set(await _credentials(provider)) == {"fine"}
    finally:
        await provider.aclose()
    off = make(tmp_path, github_server, sso_credentials=False)
    github_server.saml_sso = True
    try:
        assert set(await _credentials(off)) == {"fine"}
        assert not github_server.hits("GET", "/orgs/acme/credential-authorizations")[1:]
    finally:
        await off.aclose()


async def test_account_plan_includes_sso_credentials(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.add_pat("ann", "fine")
    cid = github_server.add_sso_authorization("ann", title="classic")
    provider = make(tmp_path, github_server)
    try:
        account = (await _accounts(provider))["ann"]
        creds = [c async for c in provider.list_credentials(account)]
        plan = plan_for_account(provider, account, creds)
        names = [(a.name, a.target_id) for a in plan]
        assert ("revoke_sso_authorization", f"sso-{cid}") in names
        assert names[-1][0] == "remove_member"
    finally:
        await provider.aclose()
