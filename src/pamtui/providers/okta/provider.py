"""``OktaProvider``: users, admin roles and API tokens of an Okta org."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
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
    OwnerStatus,
)
from pamtui.providers.base import ProviderContext, ProviderError, where
from pamtui.providers.base import text as _text
from pamtui.providers.http import (
    HttpClient,
    HttpError,
    Sleep,
    http_client,
    iter_link_pages,
    next_link,
)
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings
from pamtui.providers.okta.revoke import Revocation
from pamtui.providers.okta.roster import Roster
from pamtui.providers.okta.settings import DEFAULT_ACCOUNT_ACTIONS, MAX_PAGE_SIZE, SETTINGS
from pamtui.providers.okta.systemlog import SystemLog
from pamtui.providers.okta.values import _duration, _get, _timestamp
from pamtui.providers.scim.values import _owner_status

log = logging.getLogger("pamtui.providers.okta")


_ROLE_LOOKUPS = 8
"""Concurrent ``GET /users/{id}/roles`` requests."""


class OktaProvider(SystemLog, Revocation, Roster, DeclaredProvider):
    """Users, API tokens and the System Log of an Okta org; suspend, deactivate, delete."""

    type: ClassVar[str] = "okta"
    SETTINGS: ClassVar[Settings] = SETTINGS
    capabilities = frozenset(
        {
            Capability.ACCOUNTS,
            Capability.CREDENTIALS,
            Capability.EVENTS,
            Capability.REVOKE,
            Capability.VERIFY,
        }
    )

    def __init__(
        self,
        name: str,
        http: HttpClient,
        *,
        search: str = "",
        privileged_roles: tuple[str, ...] = (),
        hr_attribute: str = "",
        account_actions: tuple[str, ...] = DEFAULT_ACCOUNT_ACTIONS,
        forget_devices: bool = True,
        roster: bool = False,
        person_id_attribute: str = "employeeNumber",
        page_size: int = MAX_PAGE_SIZE,
        poll_seconds: float = 15.0,
        backfill_minutes: int = 60,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.http = http
        self.search = search
        self.privileged_roles = privileged_roles
        self._privileged = frozenset(r.upper() for r in privileged_roles)
        self.hr_attribute = hr_attribute
        self.account_actions = account_actions
        self.forget_devices = forget_devices
        self.roster = roster
        self.person_id_attribute = person_id_attribute
        self.serves_roster = roster
        """``roster_sources`` skips an instance that is not configured as a roster."""
        if roster:
            self.capabilities = self.capabilities | {Capability.PEOPLE}
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backfill_minutes = backfill_minutes
        self._sleep = sleep
        self._cleared_at: dict[str, datetime] = {}
        """User id → when this process sent its last ``clear_sessions``."""

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> OktaProvider:
        token = values["token"].strip()
        if token.upper().startswith("SSWS "):
            values = {**values, "token": token[5:]}
        client = http_client(name, where(name, cls.type), values, scheme="SSWS", **options)
        return cls(
            name,
            client,
            **SETTINGS.own(values),
            **options,
        )

    async def list_accounts(self) -> AsyncIterator[Account]:
        roles = await self._admin_roles()
        params: dict[str, Any] = {"limit": self.page_size}
        if self.search:
            params["search"] = self.search
        async for page in iter_link_pages(self.http, "api/v1/users", params):
            if not isinstance(page, list):
                raise ProviderError(f"{self.where}: GET /api/v1/users did not return a list")
            users = [u for u in page if isinstance(u, dict) and _text(u.get("id"))]
            if roles is None:  # no assignees listing: one roles request per user
                found = await self._roles_of([_text(u["id"]) for u in users])
            else:
                found = roles
            for user in users:
                yield self._account(user, found.get(_text(user["id"]), ()))

    async def _admin_roles(self) -> dict[str, tuple[str, ...]] | None:
        """User id → admin role types, for users holding any; None if Okta cannot list them."""
        holders: list[str] = []
        url: Any = "api/v1/iam/assignees/users"
        params: dict[str, Any] | None = {"limit": min(self.page_size, 100)}
        seen: set[str] = set()
        while url is not None:
            try:
                response = await self.http.request("GET", url, params=params)
            except HttpError as exc:
                if exc.status == 404 and not holders:
                    log.debug("%s: no /iam/assignees/users, roles per user", self.name)
                    return None
                if exc.status == 403:
                    raise ProviderError(
                        f"{exc}; pamtui reads admin role assignments to flag privileged "
                        "accounts: the token's admin needs a role that may read them "
                        "(e.g. Read-Only Administrator)",
                        retryable=False,
                    ) from exc
                raise
            seen.add(str(response.request.url))
            data = self.http.parse_json(response)
            if not isinstance(data, dict) or not isinstance(data.get("value", []), list):
                raise ProviderError(
                    f"{self.where}: GET /api/v1/iam/assignees/users did not return "
                    "a role-assigned user list"
                )
            for item in data.get("value", []):
                user_id = _text(_get(item, "id"))
                if user_id and user_id not in holders:
                    holders.append(user_id)
            following = _text(_get(data, "_links", "next", "href"))
            if not following:
                following_url = next_link(response)
                following = str(following_url) if following_url else ""
            if following and following in seen:
                raise ProviderError(
                    f"{self.where}: /api/v1/iam/assignees/users: the next-page link points "
                    "back to a page already read"
                )
            url, params = (following or None), None
        return await self._roles_of(holders)

    async def _roles_of(self, user_ids: list[str]) -> dict[str, tuple[str, ...]]:
        limit = asyncio.Semaphore(_ROLE_LOOKUPS)

        async def one(user_id: str) -> tuple[str, tuple[str, ...]]:
            async with limit:
                data = await self.http.get_json(f"api/v1/users/{quote(user_id, safe='')}/roles")
            types = []
            for role in data if isinstance(data, list) else []:
                kind = _text(_get(role, "type")) or _text(_get(role, "label"))
                status = _text(_get(role, "status")) or "ACTIVE"
                if kind and status == "ACTIVE" and kind not in types:
                    types.append(kind)
            return user_id, tuple(types)

        pairs = await asyncio.gather(*(one(u) for u in user_ids))
        return {user_id: types for user_id, types in pairs if types}

    def _account(self, user: Mapping[str, Any], roles: tuple[str, ...]) -> Account:
        user_id = _text(user.get("id"))
        raw_profile = user.get("profile")
        profile: Mapping[str, Any] = raw_profile if isinstance(raw_profile, dict) else {}
        login = _text(profile.get("login"))
        display = _text(profile.get("displayName")) or " ".join(
            p for p in (_text(profile.get("firstName")), _text(profile.get("lastName"))) if p
        )
        okta_status = _text(user.get("status")).upper()
        if okta_status == "SUSPENDED":
            status = AccountStatus.SUSPENDED
        elif okta_status == "DEPROVISIONED":
            status = AccountStatus.DEACTIVATED
        else:
            status = AccountStatus.ACTIVE
        user_type = _text(profile.get("userType")).lower()
        if "bot" in user_type:
            kind = AccountKind.BOT
        elif "service" in user_type:
            kind = AccountKind.SERVICE
        else:
            kind = AccountKind.HUMAN
        if self._privileged:
            privileged = any(r.upper() in self._privileged for r in roles)
        else:
            privileged = bool(roles)
        owner_status = OwnerStatus.UNKNOWN
        if self.hr_attribute:
            owner_status = _owner_status(profile.get(self.hr_attribute))
        return Account(
            provider=self.name,
            id=user_id,
            name=login or user_id,
            kind=kind,
            status=status,
            email=_text(profile.get("email")),
            display_name=display,
            privileged=privileged,
            groups=tuple(f"role:{r}" for r in roles),
            owner=_text(profile.get("employeeNumber")),
            owner_status=owner_status,
            created=_timestamp(user.get("created")),
            last_active=_timestamp(user.get("lastLogin")),
        )

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        """SSWS API tokens (Okta lists only active ones), of one owner or of all."""
        now = datetime.now(UTC)
        async for page in iter_link_pages(
            self.http, "api/v1/api-tokens", {"limit": self.page_size}
        ):
            if not isinstance(page, list):
                raise ProviderError(f"{self.where}: GET /api/v1/api-tokens did not return a list")
            for token in page:
                if not isinstance(token, dict) or not _text(token.get("id")):
                    continue
                owner = _text(token.get("userId"))
                if account is not None and owner != account.id:
                    continue
                yield self._credential(token, now)

    def _credential(self, token: Mapping[str, Any], now: datetime) -> Credential:
        expires = _timestamp(token.get("expiresAt"))
        window = _duration(token.get("tokenWindow"))
        last_used = None
        if expires is not None and window is not None:
            # Okta tokens expire tokenWindow after their last use (rolling expiry).
            last_used = expires - window
        name = _text(token.get("name"))
        client = _text(token.get("clientName"))
        label = name or _text(token.get("id"))
        if client:
            label += f" ({client})"
        scopes: tuple[str, ...] = ()
        connection = _text(_get(token, "network", "connection"))
        if connection:
            scopes = (f"network:{connection}",)
        return Credential(
            provider=self.name,
            id=_text(token.get("id")),
            account_id=_text(token.get("userId")),
            kind=CredentialKind.API_TOKEN,
            status=CredentialStatus.EXPIRED
            if expires is not None and expires <= now
            else CredentialStatus.ACTIVE,
            label=label,
            scopes=scopes,
            created=_timestamp(token.get("created")),
            expires=expires,
            last_used=last_used,
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"OktaProvider(name={self.name!r}, base_url={self.http.settings.base_url!r})"
