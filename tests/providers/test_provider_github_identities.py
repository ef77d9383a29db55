"""GitHubProvider.account_identities (people correlation), against the fake over real HTTP."""

from __future__ import annotations

from pathlib import Path

from pamtui.model import Identity
from tests.fakes.github import GitHubFake
from tests.providers.test_provider_github import _accounts, make


async def test_public_email_in_an_org_domain_is_an_identity(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("lucia-castillo-acme", email="Lucia.Castillo@Acme-Robotics.example")
    github_server.add_member("private-person")
    github_server.add_member("hobbyist", email="me@personal.example")
    provider = make(tmp_path, github_server, identity_domains=["ACME-robotics.example"])
    try:
        accounts = await _accounts(provider)
        lucia = accounts["lucia-castillo-acme"]
        assert lucia.email == "Lucia.Castillo@Acme-Robotics.example"
        [identity] = provider.account_identities(lucia)
        assert identity == Identity(
            "email",
            "Lucia.Castillo@Acme-Robotics.example",
            identity.evidence,
        )
        assert "lucia-castillo-acme" in identity.evidence and "acme" in identity.evidence
        assert provider.account_identities(accounts["private-person"]) == []
        assert provider.account_identities(accounts["hobbyist"]) == []
        assert accounts["hobbyist"].email == ""
        assert len([r for r in github_server.requests if r.path.startswith("/users/")]) == 3
    finally:
        await provider.aclose()


async def test_without_identity_domains_no_user_lookups(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann", email="ann@acme.example")
    provider = make(tmp_path, github_server)
    try:
        accounts = await _accounts(provider)
        assert provider.account_identities(accounts["ann"]) == []
        assert not [r for r in github_server.requests if r.path.startswith("/users/")]
    finally:
        await provider.aclose()
