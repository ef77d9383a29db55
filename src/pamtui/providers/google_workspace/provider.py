"""``GoogleWorkspaceProvider``: users, admin roles, OAuth grants and app passwords."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
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
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError, iso_time
from pamtui.providers.base import text as _text
from pamtui.providers.base import where as _where
from pamtui.providers.google_workspace.auth import (
    DelegatedAuth,
    GoogleHttpClient,
    TokenSource,
    load_key,
    make_signer,
    read_key_file,
)
from pamtui.providers.google_workspace.reports import Reports, field
from pamtui.providers.google_workspace.revoke import Revocation, asp_id, token_id
from pamtui.providers.google_workspace.settings import (
    DEFAULT_ACCOUNT_ACTIONS,
    MAX_PAGE_SIZE,
    READ_SCOPES,
    REVOKE_SCOPES,
    SETTINGS,
)
from pamtui.providers.google_workspace.signouts import SignOuts
from pamtui.providers.http import Sleep, http_from
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings

log = logging.getLogger("pamtui.providers.google_workspace")

DIRECTORY = "admin/directory/v1"
_LOOKUPS = 8
"""Concurrent per-user ``tokens.list``/``asps.list`` requests."""
_NEVER = datetime(1971, 1, 1, tzinfo=UTC)
"""Google answers ``lastLoginTime`` 1970-01-01 for a user who never signed in."""


def _ms_time(value: Any) -> datetime | None:
    """An int64 epoch-milliseconds string (ASP ``creationTime``/``lastTimeUsed``)."""
    try:
        ms = int(str(value))
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(ms / 1000, UTC) if ms > 0 else None


class GoogleWorkspaceProvider(Reports, Revocation, DeclaredProvider):
    """A Workspace domain through the Admin SDK (Directory and Reports APIs)."""

    type: ClassVar[str] = "google-workspace"
    SETTINGS: ClassVar[Settings] = SETTINGS
    SECRET_WHAT: ClassVar[str] = "the service account key"
    http: GoogleHttpClient

    def __init__(
        self,
        name: str,
        http: GoogleHttpClient,
        *,
        customer: str = "my_customer",
        read_only: bool = False,
        account_actions: tuple[str, ...] = DEFAULT_ACCOUNT_ACTIONS,
        hr_id_type: str = "organization",
        applications: tuple[str, ...] = ("login", "token", "admin"),
        page_size: int = MAX_PAGE_SIZE,
        poll_seconds: float = 30.0,
        backfill_minutes: int = 60,
        state_dir: Path | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.http = http
        self.customer = customer
        self.read_only = read_only
        self.account_actions = account_actions
        self.hr_id_type = hr_id_type
        self.applications = applications
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backfill_minutes = backfill_minutes
        self._sleep = sleep
        self._signed_out = SignOuts(state_dir, name)
        self._other_addresses: dict[str, tuple[str, ...]] = {}
        """User id -> its addresses besides the primary one, from the last listing."""
        scope = {"base_url": http.settings.base_url, "customer": customer}
        self._saved = SavedCursor(state_dir, "google-workspace", name, scope=scope, every=5.0)
        caps = {Capability.ACCOUNTS, Capability.CREDENTIALS, Capability.EVENTS}
        if not read_only:
            caps |= {Capability.REVOKE, Capability.VERIFY}
        self.capabilities = frozenset(caps)

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> GoogleWorkspaceProvider:
        here = _where(name, cls.type)
        if (values["credentials"] is None) == (values["credentials_file"] is None):
            raise ProviderConfigError(
                f"{here}: give exactly one of settings 'credentials' (a secret reference to "
                "the JSON key) and 'credentials_file' (a path to it)"
            )
        if values["credentials"] is not None:
            key = load_key(here, "credentials", values["credentials"])
        else:
            key = read_key_file(here, values["credentials_file"])
        signer = make_signer(here, key)
        settings = http_from(name, here, values)
        source = TokenSource(
            name,
            here,
            key,
            signer,
            subject=values["subject"],
            scopes=READ_SCOPES if values["read_only"] else REVOKE_SCOPES,
            token_uri=values["token_uri"],
            http=settings,
            clock=options.get("clock") or time.time,
        )
        sleep = options.get("sleep")
        client_options = {"sleep": sleep} if sleep is not None else {}
        client = GoogleHttpClient(name, settings, auth=DelegatedAuth(source), **client_options)
        client.source = source
        own = {
            k: v
            for k, v in SETTINGS.own(values).items()
            if k not in ("subject", "credentials_file", "token_uri")
        }
        return cls(name, client, state_dir=context.state_dir, **own, **client_options)

    # -- reading -------------------------------------------------------------

    def _path(self, *parts: str) -> str:
        return DIRECTORY + "".join("/" + quote(p, safe="") for p in parts)

    async def _pages(
        self, path: str, params: dict[str, Any], items_key: str
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Google's paging: ``pageToken`` in, ``nextPageToken`` out (a repeat is an error)."""
        seen: set[str] = set()
        while True:
            data = await self.http.get_json(path, params=params)
            if not isinstance(data, dict):
                raise ProviderError(f"{self.where}: GET /{path} did not return a JSON object")
            items = data.get(items_key, [])
            if not isinstance(items, list):
                raise ProviderError(f"{self.where}: GET /{path}: {items_key!r} is not a list")
            yield [i for i in items if isinstance(i, dict)]
            following = _text(data.get("nextPageToken"))
            if not following:
                return
            if following in seen:
                raise ProviderError(f"{self.where}: GET /{path}: the page token repeats")
            seen.add(following)
            params = {**params, "pageToken": following}

    async def _role_names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        async for page in self._pages(
            self._path("customer", self.customer, "roles"), {"maxResults": 100}, "items"
        ):
            for role in page:
                role_id = _text(str(role.get("roleId", "")))
                if role_id:
                    names[role_id] = _text(role.get("roleName")) or role_id
        return names

    async def role_assignments(self, user_id: str | None = None) -> list[dict[str, Any]]:
        """Admin role assignments (of one user, or of everyone)."""
        params: dict[str, Any] = {"maxResults": 200}
        if user_id is not None:
            params["userKey"] = user_id
        found: list[dict[str, Any]] = []
        path = self._path("customer", self.customer, "roleassignments")
        async for page in self._pages(path, params, "items"):
            found.extend(page)
        if user_id is not None:
            found = [a for a in found if _text(str(a.get("assignedTo", ""))) == user_id]
        return found

    async def _admin_roles(self) -> dict[str, list[str]]:
        names = await self._role_names()
        held: dict[str, list[str]] = {}
        for assignment in await self.role_assignments():
            user = _text(str(assignment.get("assignedTo", "")))
            role = _text(str(assignment.get("roleId", "")))
            if user and role:
                held.setdefault(user, []).append(names.get(role, role))
        return held

    async def _users(self) -> AsyncIterator[dict[str, Any]]:
        params = {"customer": self.customer, "maxResults": self.page_size}
        async for page in self._pages(self._path("users"), params, "users"):
            for user in page:
                if _text(user.get("id")):
                    yield user

    async def list_accounts(self) -> AsyncIterator[Account]:
        roles = await self._admin_roles()
        async for user in self._users():
            yield self._account(user, roles.get(_text(user["id"]), []))

    def _hr_id(self, user: Mapping[str, Any]) -> str:
        wanted = self.hr_id_type
        custom = wanted.startswith("custom:")
        for ext in user.get("externalIds") or []:
            if not isinstance(ext, dict):
                continue
            kind = _text(ext.get("type"))
            if custom and kind == "custom" and _text(ext.get("customType")) == wanted[7:]:
                return _text(ext.get("value"))
            if not custom and kind == wanted:
                return _text(ext.get("value"))
        return ""

    def _account(self, user: Mapping[str, Any], roles: list[str]) -> Account:
        name = field(user, "name")
        display = _text(name.get("fullName")) or " ".join(
            p for p in (_text(name.get("givenName")), _text(name.get("familyName"))) if p
        )
        if user.get("archived") is True:
            status = AccountStatus.DEACTIVATED
        elif user.get("suspended") is True:
            status = AccountStatus.SUSPENDED
        else:
            status = AccountStatus.ACTIVE
        last = iso_time(user.get("lastLoginTime"))
        privileged = (
            bool(roles) or user.get("isAdmin") is True or user.get("isDelegatedAdmin") is True
        )
        email = _text(user.get("primaryEmail"))
        user_id = _text(user.get("id"))
        others = tuple(a for a in self.addresses_of(user) if a != email.lower())
        if others:
            self._other_addresses[user_id] = others
        else:
            self._other_addresses.pop(user_id, None)
        return Account(
            provider=self.name,
            id=_text(user.get("id")),
            name=email or _text(user.get("id")),
            kind=AccountKind.HUMAN,
            status=status,
            email=email,
            display_name=display,
            system=_text(user.get("orgUnitPath")),
            privileged=privileged,
            groups=tuple(f"role:{r}" for r in dict.fromkeys(roles)),
            owner=self._hr_id(user),
            created=iso_time(user.get("creationTime")),
            last_active=last if last is not None and last > _NEVER else None,
        )

    @staticmethod
    def addresses_of(user: Mapping[str, Any]) -> tuple[str, ...]:
        """Every address of a user (primary, ``emails``, ``aliases``), lower case, primary first."""
        found = [_text(user.get("primaryEmail"))]
        found += [_text(e.get("address")) for e in user.get("emails") or [] if isinstance(e, dict)]
        found += [_text(a) for a in user.get("aliases") or []]
        found += [_text(a) for a in user.get("nonEditableAliases") or []]
        return tuple(dict.fromkeys(a.lower() for a in found if a))

    def other_addresses(self, account: Account) -> tuple[str, ...]:
        """The account's aliases and other ``emails`` seen by the last :meth:`list_accounts`."""
        return self._other_addresses.get(account.id, ())

    def account_identities(self, account: Account) -> list[Identity]:
        """The correlation hook of pamtui's people service: each alias as an email identity.

        ``Account`` carries only the primary address; a person known to HR by an
        alias (an old name, a short form) is found through these. Synchronous and
        cheap (read from the last listing).
        """
        evidence = f"Google Workspace address of {account.name}"
        return [Identity("email", a, evidence) for a in self.other_addresses(account)]

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        """OAuth grants to third-party apps and app passwords, of one user or of all."""
        if account is not None:
            for credential in await self._credentials_of(account.id):
                yield credential
            return
        limit = asyncio.Semaphore(_LOOKUPS)

        async def one(user_id: str) -> list[Credential]:
            async with limit:
                return await self._credentials_of(user_id)

        async def each(batch: list[str]) -> list[list[Credential]]:
            tasks = [asyncio.ensure_future(one(u)) for u in batch]
            try:
                return await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:  # one failed: the others stop too, before the client closes
                    task.cancel()
                raise

        batch: list[str] = []
        async for user in self._users():
            batch.append(_text(user["id"]))
            if len(batch) >= _LOOKUPS * 4:
                for found in await each(batch):
                    for credential in found:
                        yield credential
                batch = []
        for found in await each(batch):
            for credential in found:
                yield credential

    async def _credentials_of(self, user_id: str) -> list[Credential]:
        tokens = await self.http.get_json(self._path("users", user_id, "tokens"))
        asps = await self.http.get_json(self._path("users", user_id, "asps"))
        found: list[Credential] = []
        for token in _items(self.where, tokens):
            client = _text(token.get("clientId"))
            if not client:
                continue
            scopes = tuple(s for s in token.get("scopes") or [] if isinstance(s, str))
            found.append(
                Credential(
                    provider=self.name,
                    id=token_id(user_id, client),
                    account_id=user_id,
                    kind=CredentialKind.API_TOKEN,
                    status=CredentialStatus.ACTIVE,
                    label=f"OAuth grant to {_text(token.get('displayText')) or client}",
                    scopes=scopes,
                )
            )
        for asp in _items(self.where, asps):
            code = _text(str(asp.get("codeId", "")))
            if not code:
                continue
            found.append(
                Credential(
                    provider=self.name,
                    id=asp_id(user_id, code),
                    account_id=user_id,
                    kind=CredentialKind.PERSONAL_ACCESS_TOKEN,
                    status=CredentialStatus.ACTIVE,
                    label=f"app password {_text(asp.get('name')) or code}",
                    created=_ms_time(asp.get("creationTime")),
                    last_used=_ms_time(asp.get("lastTimeUsed")),
                )
            )
        return found

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.http.source.aclose()

    def __repr__(self) -> str:
        return (
            f"GoogleWorkspaceProvider(name={self.name!r}, base_url="
            f"{self.http.settings.base_url!r}, customer={self.customer!r})"
        )


def _items(where: str, data: Any) -> list[dict[str, Any]]:
    """The ``items`` of a Directory list answer (absent when empty)."""
    if not isinstance(data, dict):
        raise ProviderError(f"{where}: a Directory API list did not return a JSON object")
    items = data.get("items") or []
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
