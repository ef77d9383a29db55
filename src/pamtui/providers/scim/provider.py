"""``ScimProvider``: the provider class (listings, revocation, verification)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    OwnerStatus,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderContext, ProviderError, check_action, iso_time, where
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, HttpError, http_client, iter_scim_pages
from pamtui.providers.http import ci_get as _ci
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings
from pamtui.providers.scim.roster import Roster
from pamtui.providers.scim.settings import (
    PATCH_OP,
    SCIM_JSON,
    SETTINGS,
    AttributePath,
    parse_attribute,
)
from pamtui.providers.scim.values import (
    _owner_status,
    attribute,
    display_name,
    primary_email,
    user_type,
)

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

log = logging.getLogger("pamtui.providers.scim")

_ACTIONS = {"deactivate_account": TargetKind.ACCOUNT, "delete_account": TargetKind.ACCOUNT}
_CONFLICT_RETRIES = 3
"""Times a PATCH/DELETE is re-read and re-sent after 412 Precondition Failed."""


class ScimProvider(Roster, DeclaredProvider):
    """Accounts of a SCIM 2.0 service provider; deactivate or delete them."""

    type: ClassVar[str] = "scim"
    SETTINGS: ClassVar[Settings] = SETTINGS
    capabilities = frozenset({Capability.ACCOUNTS, Capability.REVOKE, Capability.VERIFY})

    def __init__(
        self,
        name: str,
        http: HttpClient,
        *,
        privileged_groups: tuple[str, ...] = (),
        hr_attribute: AttributePath | None = None,
        roster: bool = False,
        person_id_attribute: str = "employeeNumber",
        page_size: int = 100,
    ) -> None:
        self.name = name
        self.http = http
        self.privileged_groups = privileged_groups
        self._privileged = frozenset(g.casefold() for g in privileged_groups)
        self.hr_attribute = hr_attribute
        self.roster = roster
        self.person_id_attribute = person_id_attribute
        self.person_id = parse_attribute(person_id_attribute)
        self.serves_roster = roster
        """``roster_sources`` skips an instance that is not configured as a roster."""
        if roster:
            self.capabilities = self.capabilities | {Capability.PEOPLE}
        self.page_size = page_size
        self._config_lock = asyncio.Lock()
        self._config: dict[str, bool] | None = None

    # -- configuration -------------------------------------------------------

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> ScimProvider:
        accept = {"Accept": f"{SCIM_JSON}, application/json"}
        return cls(
            name,
            http_client(name, where(name, cls.type), values, headers=accept, **options),
            **SETTINGS.own(values),
        )

    async def service_provider_config(self) -> dict[str, bool]:
        """``{"patch": bool, "etag": bool}`` from ``/ServiceProviderConfig`` (read once)."""
        async with self._config_lock:
            if self._config is None:
                self._config = await self._discover()
            return self._config

    async def _discover(self) -> dict[str, bool]:
        try:
            data = await self.http.get_json("ServiceProviderConfig")
        except HttpError as exc:
            if exc.status != 404:
                raise
            # A server without discovery: assume PATCH (RFC 7644 core), no ETags.
            log.debug("%s: no /ServiceProviderConfig, assuming patch without etag", self.name)
            return {"patch": True, "etag": False}
        if not isinstance(data, dict):
            raise ProviderError(f"{self.where}: /ServiceProviderConfig is not a JSON object")

        def supported(feature: str, default: bool) -> bool:
            block = _ci(data, feature)
            if isinstance(block, dict):
                flag = _ci(block, "supported")
                if isinstance(flag, bool):
                    return flag
            return default

        return {"patch": supported("patch", True), "etag": supported("etag", False)}

    # -- listings ------------------------------------------------------------

    async def _group_members(self) -> dict[str, list[str]]:
        """User id → group display names, from ``/Groups`` (``User.groups`` is often empty)."""
        members: dict[str, list[str]] = {}
        try:
            async for page in iter_scim_pages(
                self.http,
                "Groups",
                {"attributes": "displayName,members"},
                page_size=self.page_size,
            ):
                for group in page["Resources"]:
                    if not isinstance(group, dict):
                        continue
                    display = _text(_ci(group, "displayName"))
                    if not display:
                        continue
                    for member in _ci(group, "members") or []:
                        if isinstance(member, dict) and _text(_ci(member, "value")):
                            members.setdefault(_text(_ci(member, "value")), []).append(display)
        except HttpError as exc:
            if exc.status not in (400, 403, 404, 501):
                raise
            log.debug("%s: cannot list /Groups (HTTP %s), using User.groups", self.name, exc.status)
        return members

    async def list_accounts(self) -> AsyncIterator[Account]:
        await self.service_provider_config()
        memberships = await self._group_members()
        async for page in iter_scim_pages(self.http, "Users", page_size=self.page_size):
            for user in page["Resources"]:
                if isinstance(user, dict) and _text(_ci(user, "id")):
                    yield self._account(user, memberships)

    def _account(self, user: Mapping[str, Any], memberships: Mapping[str, list[str]]) -> Account:
        user_id = _text(_ci(user, "id"))
        user_name = _text(_ci(user, "userName"))
        display = display_name(user)
        groups: list[str] = []
        for group in _ci(user, "groups") or []:
            if isinstance(group, dict):
                label = _text(_ci(group, "display")) or _text(_ci(group, "value"))
                if label:
                    groups.append(label)
        for label in memberships.get(user_id, ()):
            if label not in groups:
                groups.append(label)
        active = _ci(user, "active")
        status = AccountStatus.DEACTIVATED if active is False else AccountStatus.ACTIVE
        kind_text = user_type(user)
        if "bot" in kind_text:
            kind = AccountKind.BOT
        elif "service" in kind_text:
            kind = AccountKind.SERVICE
        else:
            kind = AccountKind.HUMAN
        meta = _ci(user, "meta")
        created = iso_time(_ci(meta, "created")) if isinstance(meta, dict) else None
        return Account(
            provider=self.name,
            id=user_id,
            name=user_name or user_id,
            kind=kind,
            status=status,
            email=primary_email(user),
            display_name=display,
            privileged=any(g.casefold() in self._privileged for g in groups),
            groups=tuple(groups),
            owner=self.hr_id(user),
            owner_status=self._owner_status(user),
            created=created,
        )

    def _owner_status(self, user: Mapping[str, Any]) -> OwnerStatus:
        if self.hr_attribute is None:
            return OwnerStatus.UNKNOWN
        return _owner_status(attribute(user, self.hr_attribute))

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        """SCIM has no API credentials: nothing to list."""
        return
        yield  # pragma: no cover  (makes this an async generator)

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """SCIM has no access log: the stream ends at once, empty."""
        return
        yield  # pragma: no cover

    # -- revocation ----------------------------------------------------------

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if not isinstance(target, Account):
            raise ProviderError(
                f"{self.where}: cannot revoke a {type(target).__name__}; "
                "SCIM providers only manage accounts"
            )
        who = target.name or target.id

        def action(name: str, label: str, order: int, reversible: bool = False) -> RevokeAction:
            return RevokeAction.on_account(
                self.name, target, name, label, order, reversible=reversible
            )

        return [
            action("deactivate_account", f"Deactivate SCIM user {who} (active=false)", 90, True),
            action("delete_account", f"Delete SCIM user {who}", 95),
        ]

    def _check(self, action: RevokeAction) -> str:
        check_action(self, action, _ACTIONS)
        if not action.target_id.strip() or action.target_id in (".", ".."):
            raise ProviderError(f"{self.where}: invalid SCIM user id {action.target_id!r}")
        # ids are opaque (RFC 7643 §3.1): quote everything, so '/', '?' or '..' cannot escape Users/
        return f"Users/{quote(action.target_id, safe='')}"

    async def _read_user(self, path: str) -> tuple[dict[str, Any], str] | None:
        """The user and its version (ETag), or None when it does not exist."""
        response = await self.http.request("GET", path, expect=(200, 404))
        if response.status_code == 404:
            return None
        user = self.http.parse_json(response)
        if not isinstance(user, dict):
            raise ProviderError(f"{self.where}: GET /{path} did not return a SCIM resource")
        meta = _ci(user, "meta")
        version = _text(_ci(meta, "version")) if isinstance(meta, dict) else ""
        return user, version or response.headers.get("etag", "")

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        path = self._check(action)
        config = await self.service_provider_config()
        for _ in range(_CONFLICT_RETRIES):
            found = await self._read_user(path)
            if found is None:
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"SCIM user {action.target_id} does not exist (already deleted)",
                    provider_response={"status": 404},
                )
            user, version = found
            headers = {"If-Match": version} if config["etag"] and version else {}
            if action.name == "deactivate_account":
                if _ci(user, "active") is False:
                    return RevokeResult(
                        ok=True,
                        already_done=True,
                        detail=f"SCIM user {action.target_id} is already inactive",
                        provider_response={"active": False},
                    )
                response = await self._deactivate(path, user, headers, patch=config["patch"])
            else:
                response = await self.http.request(
                    "DELETE", path, headers=headers, expect=(200, 204, 404, 412)
                )
                if response.status_code == 404:
                    return RevokeResult(
                        ok=True,
                        already_done=True,
                        detail=f"SCIM user {action.target_id} was already deleted",
                        provider_response={"status": 404},
                    )
            if response.status_code == 412:
                log.debug("%s: %s changed under us (412), re-reading", self.name, path)
                continue
            verb = "deactivated" if action.name == "deactivate_account" else "deleted"
            return RevokeResult(
                ok=True,
                detail=f"SCIM user {action.target_id} {verb}",
                provider_response={"status": response.status_code},
            )
        raise ProviderError(
            f"{self.where}: SCIM user {action.target_id} kept changing on the server "
            f"(HTTP 412 Precondition Failed {_CONFLICT_RETRIES} times); try again",
            retryable=True,
        )

    async def _deactivate(
        self, path: str, user: dict[str, Any], headers: dict[str, str], *, patch: bool
    ) -> httpx.Response:
        expect = (200, 204, 412)
        if patch:
            body = {
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": False}],
            }
            # Setting active=false twice is harmless: retry like an idempotent request.
            return await self.http.request(
                "PATCH", path, json=body, headers=headers, expect=expect, idempotent=True
            )
        replacement = {k: v for k, v in user.items() if k.lower() not in ("meta", "groups")}
        for key in list(replacement):
            if key.lower() == "active":
                del replacement[key]
        replacement["active"] = False
        return await self.http.request(
            "PUT", path, json=replacement, headers=headers, expect=expect
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        path = self._check(action)
        found = await self._read_user(path)
        if found is None:
            return VerifyResult(
                gone=True,
                detail=f"SCIM user {action.target_id} does not exist",
                provider_response={"status": 404},
            )
        user, _ = found
        if action.name == "delete_account":
            return VerifyResult(
                gone=False,
                detail=f"SCIM user {action.target_id} still exists",
                provider_response={"status": 200},
            )
        active = _ci(user, "active")
        return VerifyResult(
            gone=active is False,
            detail=f"SCIM user {action.target_id} is "
            + ("inactive" if active is False else "still active"),
            provider_response={"active": active},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"ScimProvider(name={self.name!r}, base_url={self.http.settings.base_url!r})"
