"""GitHubProvider's SAML identities (``saml_identities``): GraphQL against the fake over real HTTP."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
import pytest

from pamtui.model import Identity
from pamtui.providers.base import ProviderError
from pamtui.providers.github.graphql import GraphQLError, graphql, graphql_url
from pamtui.providers.http import HttpError
from tests.fakes import github_graphql
from tests.fakes.github import GitHubFake
from tests.fakes.http import Reply
from tests.providers.test_provider_github import SLEPT, _accounts, make


def _org(server: GitHubFake) -> None:
    server.add_member("ana-r")
    server.add_member("LiCastillo")
    server.add_member("no-saml")
    server.add_saml_identity(
        "ana-r", "Ana.Richter@acme.example", emails=("ana.richter@acme.example",)
    )
    server.add_saml_identity("licastillo", "E3", emails=("lc@acme.example", "LC@acme.example"))
    server.add_saml_identity(None, "unclaimed@acme.example")  # nobody claimed it
    server.add_saml_identity("former-member", "gone@acme.example")  # not a member now
    server.add_saml_identity("scim-only", None, scim_username="scim@acme.example")


async def test_nameid_and_emails_are_evidence_read_page_by_page(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    _org(github_server)
    provider = make(tmp_path, github_server, saml_identities=True, page_size=2)
    try:
        accounts = await _accounts(provider)
        ana = provider.account_identities(accounts["ana-r"])
        assert ana == [
            Identity(
                "name_id", "Ana.Richter@acme.example", "github saml nameId (org acme, login ana-r)"
            ),
            Identity(
                "email", "ana.richter@acme.example", "github saml email (org acme, login ana-r)"
            ),
        ]
        li = provider.account_identities(accounts["LiCastillo"])  # logins are case-insensitive
        assert [(i.kind, i.value) for i in li] == [("name_id", "E3"), ("email", "lc@acme.example")]
        assert provider.account_identities(accounts["no-saml"]) == []
        assert provider.saml_note == ""
        posts = github_server.hits("POST", "/graphql")
        assert len(posts) == 3  # five identities, two a page
        variables = [p.json()["variables"] for p in posts]
        assert [v["first"] for v in variables] == [2, 2, 2]
        assert variables[0]["after"] is None
        assert variables[1]["after"] == github_graphql.cursor(1)
        assert variables[2]["after"] == github_graphql.cursor(3)
        assert posts[0].headers["authorization"].startswith("Bearer ")
    finally:
        await provider.aclose()


async def test_an_org_without_saml_is_one_note_not_an_error(
    tmp_path: Path, github_server: GitHubFake, caplog: pytest.LogCaptureFixture
) -> None:
    github_server.add_member("ann")
    github_server.saml_sso = False
    provider = make(tmp_path, github_server, saml_identities=True)
    try:
        with caplog.at_level(logging.WARNING, logger="pamtui.providers.github"):
            accounts = await _accounts(provider)
            await _accounts(provider)  # a second sync: the same note is not repeated
        assert provider.account_identities(accounts["ann"]) == []
        assert "no SAML identity provider" in provider.saml_note
        assert "read:org" in provider.saml_note
        notes = [r for r in caplog.records if "SAML" in r.getMessage()]
        assert len(notes) == 1
    finally:
        await provider.aclose()


async def test_off_by_default_no_graphql_request(tmp_path: Path, github_server: GitHubFake) -> None:
    _org(github_server)
    provider = make(tmp_path, github_server)
    try:
        accounts = await _accounts(provider)
        assert provider.account_identities(accounts["ana-r"]) == []
        assert github_server.hits("POST", "/graphql") == []
    finally:
        await provider.aclose()


async def test_a_bad_query_is_an_error_naming_the_field(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    provider = make(tmp_path, github_server)
    try:
        with pytest.raises(GraphQLError) as caught:
            await graphql(
                provider.http,
                provider.where,
                "query($org: String!) { organization(login: $org) { samlIdp { id } } }",
                {"org": "acme"},
            )
        assert "Field 'samlIdp' doesn't exist on type 'Organization'" in str(caught.value)
        assert "corp-github" in str(caught.value)
    finally:
        await provider.aclose()


async def test_an_unknown_org_fails_the_listing_with_githubs_words(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    provider = make(tmp_path, github_server, saml_identities=True)
    provider.org = "other-org"
    try:
        with pytest.raises(GraphQLError, match="Could not resolve to an Organization"):
            await provider._read_saml()
    finally:
        await provider.aclose()


def _rate_limited(reset: int) -> Reply:
    return Reply(
        200,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
        body=github_graphql.rate_limited(reset),
    )


async def test_a_spent_graphql_limit_is_waited_out_then_retried(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    _org(github_server)
    github_server.inject("POST", "/graphql", _rate_limited(int(time.time()) + 20))
    provider = make(tmp_path, github_server, saml_identities=True)
    SLEPT.clear()
    try:
        accounts = await _accounts(provider)
        assert provider.account_identities(accounts["ana-r"])
        assert len(github_server.hits("POST", "/graphql")) == 2
        assert SLEPT and 5 < SLEPT[0] <= 21  # the reset, measured on the server's Date
        assert provider.http.rate_limited_waits == 1
    finally:
        await provider.aclose()


async def test_a_limit_resetting_in_an_hour_fails_at_once_and_retryable(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    _org(github_server)
    github_server.inject("POST", "/graphql", _rate_limited(int(time.time()) + 3600))
    provider = make(tmp_path, github_server, saml_identities=True)
    try:
        with pytest.raises(HttpError) as caught:
            await _accounts(provider)
        assert caught.value.retryable
        assert "rate limited" in str(caught.value)
        assert len(github_server.hits("POST", "/graphql")) == 1
    finally:
        await provider.aclose()


async def test_bad_credentials_on_graphql_are_an_http_error(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    _org(github_server)
    github_server.expire("ghs_fake-installation-token")
    provider = make(tmp_path, github_server, saml_identities=True)
    try:
        with pytest.raises(HttpError, match="Bad credentials"):
            await provider._read_saml()
    finally:
        await provider.aclose()


def test_graphql_endpoint_of_each_api_host() -> None:
    assert (
        str(graphql_url(httpx.URL("https://api.github.com/"))) == "https://api.github.com/graphql"
    )
    assert (
        str(graphql_url(httpx.URL("https://ghe.example/api/v3/")))
        == "https://ghe.example/api/graphql"
    )
    assert (
        str(graphql_url(httpx.URL("https://api.acme.ghe.com")))
        == "https://api.acme.ghe.com/graphql"
    )


async def test_hostile_saml_values_are_carried_literally_and_shown_cleaned(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    """An IdP's NameID is provider text: it reaches correlation as is, the screen cleaned."""
    from pamtui.model import Account, AccountKind, Person
    from pamtui.sanitize import clean
    from pamtui.services.people import correlate
    from tests.support.hostile import HOSTILE_STRINGS

    for n, hostile in enumerate(HOSTILE_STRINGS):
        github_server.add_member(f"m{n}")
        github_server.add_saml_identity(f"m{n}", hostile, emails=(hostile,))
    provider = make(tmp_path, github_server, saml_identities=True)
    try:
        accounts = await _accounts(provider)
    finally:
        await provider.aclose()
    people = [
        Person(f"E{n}", f"P{n}", f"p{n}@acme.example", aliases=(h,))
        for n, h in enumerate(HOSTILE_STRINGS)
        if h.strip()
    ]
    hooks = {"corp-github": provider.account_identities}
    corr = correlate(list(accounts.values()), people, hooks=hooks)
    assert len(corr.links) >= len(people) // 2  # the hostile aliases really link
    for n, hostile in enumerate(HOSTILE_STRINGS):
        account: Account = accounts[f"m{n}"]
        assert account.kind is AccountKind.HUMAN
        values = {i.value for i in provider.account_identities(account)}
        assert values <= {hostile.strip(), hostile}  # read literally (text() may trim)
        link = corr.links.get(account.key)
        if link is not None:
            shown = clean(link.evidence)
            assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in shown)


async def test_a_server_repeating_its_cursor_is_stopped_not_followed_forever(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    page = {
        "data": {
            "organization": {
                "samlIdentityProvider": {
                    "externalIdentities": {
                        "pageInfo": {"hasNextPage": True, "endCursor": "Y3Vyc29yOnYyOjA="},
                        "nodes": [None, {"guid": "g", "user": None}],
                    }
                }
            }
        }
    }
    github_server.add_member("ann")
    github_server.inject("POST", "/graphql", *[Reply(200, body=page)] * 3)
    provider = make(tmp_path, github_server, saml_identities=True)
    try:
        with pytest.raises(ProviderError, match="did not advance"):
            await _accounts(provider)
        assert len(github_server.hits("POST", "/graphql")) == 2
    finally:
        await provider.aclose()
