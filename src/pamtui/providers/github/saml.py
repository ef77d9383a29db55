"""The organisation's SAML SSO external identities, read through GitHub's GraphQL API.

GitHub's REST API does not give a member's SAML identity; GraphQL does:
``organization(login:) { samlIdentityProvider { externalIdentities(first:,
after:) { ... } } }``. Field names and types as in GitHub's published schema
(octokit/graphql-schema ``schema.graphql``):

- ``Organization.samlIdentityProvider: OrganizationIdentityProvider`` (null
  when the organisation has no SAML SSO; also invisible, so null, to anyone
  but organisation owners, their classic tokens with ``read:org`` or
  ``admin:org``, and GitHub App installations with members read or write);
- ``OrganizationIdentityProvider.externalIdentities(first, after, ...):
  ExternalIdentityConnection!`` with ``pageInfo { hasNextPage: Boolean!,
  endCursor: String }`` and ``nodes: [ExternalIdentity]``;
- ``ExternalIdentity``: ``guid: String!``, ``samlIdentity:
  ExternalIdentitySamlAttributes`` (``nameId: String``, ``emails:
  [UserEmailMetadata!]`` of ``value: String!``), ``scimIdentity:
  ExternalIdentityScimAttributes`` (``username: String``), ``user: User``
  (``login: String!``; null while no member has claimed the identity).

Identities nobody has claimed, and those of users who are not members, link
nothing. ``first`` is the provider's ``page_size`` (GitHub's limit is 1..100).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pamtui.providers.base import ProviderError
from pamtui.providers.base import text as _text
from pamtui.providers.github.graphql import graphql
from pamtui.providers.http import HttpClient

QUERY = """
query($org: String!, $first: Int!, $after: String) {
  organization(login: $org) {
    samlIdentityProvider {
      externalIdentities(first: $first, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          guid
          samlIdentity { nameId emails { value } }
          scimIdentity { username }
          user { login }
        }
      }
    }
  }
}
""".strip()

MAX_PAGES = 10_000
"""A listing longer than this (a million identities at 100 a page) is a broken server."""


@dataclass(frozen=True, slots=True)
class SamlIdentity:
    """One member's SAML identity: what correlation may match on."""

    login: str
    guid: str
    name_id: str
    emails: tuple[str, ...] = ()
    scim_username: str = ""


@dataclass(frozen=True)
class SamlIdentities:
    """The org's identities by lower-cased login; ``enabled`` is False without SAML SSO."""

    by_login: Mapping[str, SamlIdentity]
    enabled: bool = True

    def of(self, login: str) -> SamlIdentity | None:
        return self.by_login.get(login.lower())


def _identity(node: Any) -> SamlIdentity | None:
    if not isinstance(node, dict):
        return None
    user = node.get("user")
    login = _text(user.get("login")) if isinstance(user, dict) else ""
    if not login:
        return None  # not claimed by a member: nothing to link
    saml = node.get("samlIdentity")
    saml = saml if isinstance(saml, dict) else {}
    raw_emails = saml.get("emails")
    emails: list[str] = []
    if isinstance(raw_emails, list):
        for item in raw_emails:
            value = _text(item.get("value")) if isinstance(item, dict) else ""
            if value and value.lower() not in (e.lower() for e in emails):
                emails.append(value)
    scim = node.get("scimIdentity")
    scim_username = _text(scim.get("username")) if isinstance(scim, dict) else ""
    return SamlIdentity(
        login=login,
        guid=_text(node.get("guid")),
        name_id=_text(saml.get("nameId")),
        emails=tuple(emails),
        scim_username=scim_username,
    )


async def read_saml_identities(
    http: HttpClient, where: str, org: str, page_size: int
) -> SamlIdentities:
    """Every external identity of ``org``, following ``endCursor`` while ``hasNextPage``."""
    found: dict[str, SamlIdentity] = {}
    after: str | None = None
    seen_cursors: set[str] = set()
    for _page in range(MAX_PAGES):
        variables = {"org": org, "first": page_size, "after": after}
        data = await graphql(http, where, QUERY, variables, what="SAML external identities")
        organization = data.get("organization")
        if not isinstance(organization, dict):
            raise ProviderError(f"{where}: GraphQL found no organization {org!r}")
        provider = organization.get("samlIdentityProvider")
        if provider is None:
            if after is None:
                return SamlIdentities({}, enabled=False)
            raise ProviderError(f"{where}: the SAML identity provider vanished while paging")
        connection = provider.get("externalIdentities") if isinstance(provider, dict) else None
        if not isinstance(connection, dict):
            raise ProviderError(f"{where}: GraphQL answered externalIdentities without a list")
        for node in connection.get("nodes") or ():
            identity = _identity(node)
            if identity is not None:
                found.setdefault(identity.login.lower(), identity)
        info = connection.get("pageInfo")
        info = info if isinstance(info, dict) else {}
        if info.get("hasNextPage") is not True:
            return SamlIdentities(found)
        cursor = _text(info.get("endCursor"))
        if not cursor or cursor in seen_cursors:
            raise ProviderError(
                f"{where}: GraphQL paging of SAML external identities did not advance "
                f"(endCursor {cursor!r}); stopped"
            )
        seen_cursors.add(cursor)
        after = cursor
    raise ProviderError(f"{where}: more than {MAX_PAGES} pages of SAML external identities")
