"""``GitHubProvider``: members and fine-grained PATs of one GitHub organisation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    Identity,
)
from pamtui.providers.base import ProviderContext, ProviderError, where
from pamtui.providers.base import text as _text
from pamtui.providers.github.auditlog import AuditLog
from pamtui.providers.github.revoke import Revocation
from pamtui.providers.github.saml import SamlIdentities, read_saml_identities
from pamtui.providers.github.settings import API_VERSION, GITHUB_JSON, SETTINGS
from pamtui.providers.github.sso import sso_credential
from pamtui.providers.github.values import _id, _timestamp
from pamtui.providers.http import (
    HttpClient,
    HttpError,
    Sleep,
    http_client,
    iter_link_pages,
)
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import (
    Settings,
)

log = logging.getLogger("pamtui.providers.github")


_USER_LOOKUPS = 8
"""Concurrent ``GET /users/{login}`` requests (only with ``identity_domains``)."""


class GitHubProvider(AuditLog, Revocation, DeclaredProvider):
    """Members and fine-grained PATs of one GitHub organisation; revoke, remove, verify."""

    type: ClassVar[str] = "github"
    SETTINGS: ClassVar[Settings] = SETTINGS

    def __init__(
        self,
        name: str,
        http: HttpClient,
        *,
        org: str,
        page_size: int = 100,
        poll_seconds: float = 60.0,
        backfill_hours: float = 24.0,
        audit_log: bool = True,
        audit_include: str = "all",
        sso_credentials: bool = True,
        identity_domains: tuple[str, ...] = (),
        saml_identities: bool = False,
        state_dir: Path | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Any = time.time,
    ) -> None:
        self.name = name
        self.http = http
        self.org = org
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backfill_hours = backfill_hours
        self.audit_log = audit_log
        self.audit_include = audit_include
        self.sso_credentials = sso_credentials
        self.identity_domains = tuple(d.lower() for d in identity_domains)
        self._emails: dict[str, str] = {}
        """user id -> public email in ``identity_domains``, from the last list_accounts."""
        self.saml_identities = saml_identities
        self._saml = SamlIdentities({})
        """The org's SAML identities by login, from the last list_accounts."""
        self.saml_note = ""
        """Why SAML identities link nothing (no SAML SSO, or not visible), for operators."""
        self.state_dir = state_dir
        self._sleep = sleep
        self._clock = clock
        caps = {Capability.ACCOUNTS, Capability.CREDENTIALS, Capability.REVOKE, Capability.VERIFY}
        if audit_log:
            caps.add(Capability.EVENTS)
        self.capabilities = frozenset(caps)
        self._org_path = f"orgs/{quote(org, safe='')}"
        self._login_ids: dict[str, str] = {}
        """login -> user id, from list_accounts (for audit entries without actor_id)."""
        self._token_pats: dict[str, str] = {}
        """token_id -> pat id, from list_credentials (for audit entries)."""
        self._saved = SavedCursor(state_dir, "github", name, scope={"scope": self._cursor_scope()})
        """The last delivered cursor, for the same organisation and API host only."""

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> GitHubProvider:
        headers = {"Accept": GITHUB_JSON, "X-GitHub-Api-Version": API_VERSION}
        client = http_client(name, where(name, cls.type), values, headers=headers, **options)
        return cls(
            name,
            client,
            state_dir=context.state_dir,
            **SETTINGS.own(values),
            **options,
        )

    async def _list(self, path: str, params: Mapping[str, Any] | None = None) -> AsyncIterator[Any]:
        query = {"per_page": self.page_size, **(params or {})}
        async for page in iter_link_pages(self.http, path, query):
            if not isinstance(page, list):
                raise ProviderError(
                    f"{self.where}: GET /{path} did not return a JSON array "
                    f"(got {type(page).__name__})"
                )
            for item in page:
                if isinstance(item, dict):
                    yield item

    async def _members(self, **params: str) -> list[dict[str, Any]]:
        return [
            m async for m in self._list(f"{self._org_path}/members", params) if _id(m.get("id"))
        ]

    async def list_accounts(self) -> AsyncIterator[Account]:
        members = await self._members()
        admins = {_id(m.get("id")) for m in await self._members(role="admin")}
        try:
            no_2fa: set[str] | None = {
                _id(m.get("id")) for m in await self._members(filter="2fa_disabled")
            }
        except HttpError as exc:
            # Only owners may ask (documented); anyone else gets 403 or 422.
            if exc.status not in (403, 404, 422):
                raise
            log.debug("%s: 2FA state not available (HTTP %s)", self.name, exc.status)
            no_2fa = None
        emails = await self._member_emails(members) if self.identity_domains else {}
        self._emails = emails
        if self.saml_identities:
            await self._read_saml()
        for member in members:
            account = self._account(member, admins, no_2fa)
            if account.id in emails and not account.email:
                account = replace(account, email=emails[account.id])
            self._login_ids[account.name] = account.id
            yield account

    async def _member_emails(self, members: list[dict[str, Any]]) -> dict[str, str]:
        """User id -> the member's public email, when its domain is in ``identity_domains``.

        GitHub's REST API gives neither a member's SAML NameID nor their
        verified-domain emails (both are GraphQL only), so the public profile
        email of ``GET /users/{login}`` is used: GitHub only lets a user make a
        *verified* address public, and only addresses in the organisation's
        own domains (``identity_domains``) are kept.
        """
        limit = asyncio.Semaphore(_USER_LOOKUPS)

        async def one(member: Mapping[str, Any]) -> tuple[str, str]:
            login = _text(member.get("login"))
            if not login:
                return "", ""
            async with limit:
                data = await self.http.get_json(f"users/{quote(login, safe='')}")
            email = _text(data.get("email")) if isinstance(data, dict) else ""
            domain = email.rpartition("@")[2].lower()
            return _id(member.get("id")), email if domain in self.identity_domains else ""

        pairs = await asyncio.gather(*(one(m) for m in members))
        return {user_id: email for user_id, email in pairs if user_id and email}

    async def _read_saml(self) -> None:
        """The org's SAML identities (``saml`` module); none, with one note, without SAML SSO."""
        self._saml = await read_saml_identities(self.http, self.where, self.org, self.page_size)
        if self._saml.enabled:
            self.saml_note = ""
            return
        note = (
            f"{self.where}: org {self.org} reports no SAML identity provider "
            "(samlIdentityProvider is null: no SAML SSO, or the token cannot see it, which "
            "needs an org owner's token with read:org or an App with members read); "
            "no SAML links"
        )
        if note != self.saml_note:
            log.warning("%s", note)
        self.saml_note = note

    def account_identities(self, account: Account) -> list[Identity]:
        """The correlation hook of pamtui's people service (synchronous: the last listing).

        The member's public, GitHub-verified email in one of ``identity_domains``;
        with ``saml_identities``, the member's SAML NameID (kind ``name_id``:
        an HR id, a work email or an alias) and the SAML identity's emails.
        """
        found: list[Identity] = []
        email = self._emails.get(account.id, "")
        if email:
            evidence = (
                f"GitHub-verified public email of {account.name} (GET /users/{{login}}), "
                f"in a domain of org {self.org}"
            )
            found.append(Identity("email", email, evidence))
        saml = self._saml.of(account.name)
        if saml is not None:
            where = f"(org {self.org}, login {saml.login})"
            if saml.name_id:
                found.append(Identity("name_id", saml.name_id, f"github saml nameId {where}"))
            for value in saml.emails:
                found.append(Identity("email", value, f"github saml email {where}"))
        return found

    def _account(
        self, member: Mapping[str, Any], admins: set[str], no_2fa: set[str] | None
    ) -> Account:
        user_id = _id(member.get("id"))
        login = _text(member.get("login")) or user_id
        admin = user_id in admins
        groups = ["role:admin" if admin else "role:member"]
        if no_2fa is not None:
            groups.append("2fa:disabled" if user_id in no_2fa else "2fa:enabled")
        kind = AccountKind.BOT if _text(member.get("type")).lower() == "bot" else AccountKind.HUMAN
        return Account(
            provider=self.name,
            id=user_id,
            name=login,
            kind=kind,
            status=AccountStatus.ACTIVE,
            email=_text(member.get("email")),
            display_name=_text(member.get("name")),
            system=self.org,
            privileged=admin,
            groups=tuple(groups),
        )

    async def _pats(self) -> list[dict[str, Any]]:
        return [
            p
            async for p in self._list(f"{self._org_path}/personal-access-tokens")
            if _id(p.get("id"))
        ]

    async def _sso_authorizations(self, login: str | None = None) -> list[dict[str, Any]]:
        """The org's SAML SSO credential authorizations; [] without SAML SSO.

        GitHub answers 404 for an organisation without SAML single sign-on
        (or not on Enterprise Cloud) and 403 when the App may not read them:
        then there is nothing pamtui can list, which is logged, not an error.
        """
        if not self.sso_credentials:
            return []
        params = {"login": login} if login else None
        try:
            return [
                item
                async for item in self._list(f"{self._org_path}/credential-authorizations", params)
                if _id(item.get("credential_id"))
            ]
        except HttpError as exc:
            if exc.status not in (403, 404):
                raise
            log.debug("%s: no SAML SSO credential authorizations (HTTP %s)", self.name, exc.status)
            return []

    async def _login_map(self) -> dict[str, str]:
        if not self._login_ids:
            for member in await self._members():
                login = _text(member.get("login"))
                if login:
                    self._login_ids[login] = _id(member.get("id"))
        return {login.lower(): user_id for login, user_id in self._login_ids.items()}

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        for pat in await self._pats():
            credential = self._credential(pat)
            if account is not None and credential.account_id != account.id:
                continue
            yield credential
        authorizations = await self._sso_authorizations(account.name if account else None)
        if not authorizations:
            return
        logins = await self._login_map()
        for item in authorizations:
            login = _text(item.get("login"))
            user_id = logins.get(login.lower(), "")
            if account is not None and user_id != account.id:
                continue
            if not user_id:
                log.debug("%s: SSO credential of non-member %r skipped", self.name, login)
                continue
            yield sso_credential(self.name, item, user_id)

    def _credential(self, pat: Mapping[str, Any]) -> Credential:
        pat_id = _id(pat.get("id"))
        raw_owner = pat.get("owner")
        owner: Mapping[str, Any] = raw_owner if isinstance(raw_owner, dict) else {}
        token_id = _id(pat.get("token_id"))
        if token_id:
            self._token_pats[token_id] = pat_id
        scopes: list[str] = []
        permissions = pat.get("permissions")
        if isinstance(permissions, dict):
            for category in sorted(k for k in permissions if isinstance(k, str)):
                block = permissions[category]
                if not isinstance(block, dict):
                    continue
                for permission in sorted(k for k in block if isinstance(k, str)):
                    level = _text(block[permission])
                    scopes.append(f"{category}.{permission}:{level}" if level else permission)
        selection = _text(pat.get("repository_selection"))
        if selection:
            scopes.append(f"repositories:{selection}")
        expired = pat.get("token_expired") is True
        expires = _timestamp(pat.get("token_expires_at"))
        name = _text(pat.get("token_name"))
        return Credential(
            provider=self.name,
            id=pat_id,
            account_id=_id(owner.get("id")),
            kind=CredentialKind.PERSONAL_ACCESS_TOKEN,
            status=CredentialStatus.EXPIRED if expired else CredentialStatus.ACTIVE,
            label=name or (f"token {token_id}" if token_id else f"pat {pat_id}"),
            scopes=tuple(scopes),
            created=_timestamp(pat.get("access_granted_at")),
            expires=expires,
            last_used=_timestamp(pat.get("token_last_used_at")),
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return (
            f"GitHubProvider(name={self.name!r}, org={self.org!r}, "
            f"base_url={self.http.settings.base_url!r})"
        )
