"""``OktaProvider``: an Okta org through its documented Management API.

Settings (``[[providers]]`` with ``type = "okta"``):

- the HTTP settings of :func:`pamtui.providers.http.http_settings`
  (``base_url`` is the org URL, e.g. ``https://acme.okta.com``);
- ``token``: a secret *reference* (``{ env = "VAR" }`` or ``{ keyring = "NAME" }``)
  for an Okta API token, sent as ``Authorization: SSWS <token>``; a token
  written into the config file is refused;
- ``search``: an Okta ``search`` expression for ``GET /api/v1/users`` (e.g.
  ``'status eq "ACTIVE" or status eq "SUSPENDED"'``); default none, and then
  Okta lists every user that is not ``DEPROVISIONED``;
- ``privileged_roles``: admin role types (``SUPER_ADMIN``, ``ORG_ADMIN``, ...)
  that make an account privileged; default: any admin role assignment does;
- ``hr_attribute``: the Okta profile attribute carrying employment status
  (e.g. ``employmentStatus``); default none (owner status unknown);
- ``account_actions``: the account-level actions offered (and so part of a
  de-provisioning plan): any of ``clear_sessions``, ``suspend_account``,
  ``deactivate_account``, ``delete_account``; default
  ``["clear_sessions", "deactivate_account"]``;
- ``page_size``: objects per page (``limit``; default 200, at most 200);
- ``poll_seconds``: how long the System Log stream waits once caught up
  (default 15);
- ``backfill_minutes``: how far back ``stream_events(None)`` starts (default 60).

What it reads (requests per listing):

- accounts: ``GET /api/v1/users`` (``search``, ``limit``, ``Link: rel="next"``
  pages). Privileged accounts come from ``GET /api/v1/iam/assignees/users``
  (every user holding an admin role, one paginated listing) and then
  ``GET /api/v1/users/{id}/roles`` for those users only: ``pages + admins``
  requests, never one per user. An org without the assignees listing (404)
  falls back to one roles request per user.
- credentials: ``GET /api/v1/api-tokens`` (SSWS API tokens), each attached to
  its owner (``userId``). OAuth tokens and sessions are not listed (Okta has no
  admin listing of a user's sessions); they are ended by ``clear_sessions``.
- events: the System Log, ``GET /api/v1/logs`` as a polling query
  (``since``, ``sortOrder=ASCENDING``, then the ``rel="next"`` link, which Okta
  returns even on an empty page). ``outcome.result`` maps to a status:
  SUCCESS/ALLOW 200, SKIPPED 204, CHALLENGE 401, FAILURE/DENY 403, anything
  else 0. ``method`` is ``EVENT`` (the log has no HTTP method); ``path`` is the
  ``eventType`` and the targets; ``credential_id`` is the API token that made
  the request (``transaction.detail.requestApiTokenId``) when there is one.
  A cursor names the event's ``published`` time and the uuids already seen at
  that time, plus the next link for the last event of a page, so resuming
  after it repeats nothing and skips nothing. (Resuming from an event in the
  middle of a page queries by time: an event Okta stored late, with an
  earlier ``published`` than the cursor's, is then not delivered.)

Revocation (Okta has no idempotency keys: each action reads first and treats
"already in that state" as already done):

- ``revoke_token`` (API token): ``DELETE /api/v1/api-tokens/{id}``; verified by
  ``GET /api/v1/api-tokens/{id}`` answering 404.
- ``clear_sessions``: ``DELETE /api/v1/users/{id}/sessions?oauthTokens=true``
  (Okta sessions plus OAuth/OIDC access and refresh tokens). Okta has no admin
  API listing a user's sessions, so it cannot be verified by reading them back:
  it is verified by the System Log's ``user.session.clear`` record for the
  user (SUCCESS) since the clear this process sent (or the last hour, after a
  restart). That proves Okta cleared them, not that the user has not signed
  in again since.
- ``suspend_account`` (reversible): ``POST .../lifecycle/suspend`` (only from
  ACTIVE); verified by status SUSPENDED or DEPROVISIONED.
- ``deactivate_account``: ``POST .../lifecycle/deactivate?sendEmail=false``;
  verified by status DEPROVISIONED.
- ``delete_account``: ``DELETE /api/v1/users/{id}``, twice when the user is
  not yet DEPROVISIONED (Okta's first delete only deactivates); verified by 404.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import re
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderContext, ProviderError, check_action, where
from pamtui.providers.base import text as _text
from pamtui.providers.http import (
    HTTP_SETTINGS,
    HttpClient,
    HttpError,
    Sleep,
    http_client,
    iter_link_pages,
    next_link,
)
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings, integer, seconds, secret, string, strings
from pamtui.providers.scim import _owner_status

log = logging.getLogger("pamtui.providers.okta")

ACCOUNT_ACTIONS: dict[str, tuple[int, bool]] = {
    # name: (order, reversible)
    "clear_sessions": (40, False),
    "suspend_account": (60, True),
    "deactivate_account": (90, False),
    "delete_account": (95, False),
}
DEFAULT_ACCOUNT_ACTIONS = ("clear_sessions", "deactivate_account")
CREDENTIAL_ACTIONS = ("revoke_token",)
_ACTIONS = {
    **{name: TargetKind.ACCOUNT for name in ACCOUNT_ACTIONS},
    **{name: TargetKind.CREDENTIAL for name in CREDENTIAL_ACTIONS},
}
MAX_PAGE_SIZE = 200
"""Okta's maximum ``limit`` for users and API tokens (the System Log allows 1000)."""

SETTINGS = Settings(
    HTTP_SETTINGS,
    secret("token", "an Okta API token, sent as Authorization: SSWS <token>"),
    string(
        "search",
        "an Okta search expression for GET /api/v1/users (default: every user not DEPROVISIONED)",
        "",
        expected="an Okta search expression string",
    ),
    strings(
        "privileged_roles",
        "admin role types that make an account privileged (default: any admin role)",
        pattern=r"[A-Za-z_]+",
        expected='a list of Okta admin role types such as "SUPER_ADMIN"',
        check=lambda roles: tuple(r.upper() for r in roles),
    ),
    string(
        "hr_attribute",
        "the profile attribute carrying employment status (e.g. employmentStatus)",
        "",
        pattern=r"[A-Za-z_][A-Za-z0-9_]*",
        expected="an Okta profile attribute name",
    ),
    strings(
        "account_actions",
        "the account-level actions offered, in plan order",
        DEFAULT_ACCOUNT_ACTIONS,
        choices=tuple(ACCOUNT_ACTIONS),
        non_empty=True,
        expected="a non-empty list of " + ", ".join(ACCOUNT_ACTIONS),
        check=lambda actions: tuple(dict.fromkeys(actions)),
    ),
    integer("page_size", "objects per page (limit)", MAX_PAGE_SIZE, low=1, high=MAX_PAGE_SIZE),
    seconds(
        "poll_seconds",
        "how long the System Log stream waits once caught up",
        15.0,
        low_open=True,
        high=3600,
    ),
    integer(
        "backfill_minutes",
        "how far back a stream without a cursor starts (Okta keeps 90 days)",
        60,
        low=0,
        high=60 * 24 * 90,
        unit="minutes",
    ),
)
"""Settings of ``type = "okta"``."""

_OUTCOME_STATUS = {
    "SUCCESS": 200,
    "ALLOW": 200,
    "SKIPPED": 204,
    "CHALLENGE": 401,
    "FAILURE": 403,
    "DENY": 403,
}
_CURSOR_PREFIX = "okta-log.v1."
_CLEAR_LOOKBACK = timedelta(hours=1)
"""After a restart, a ``user.session.clear`` this recent verifies ``clear_sessions``."""
_CLOCK_SKEW = timedelta(minutes=5)
_ROLE_LOOKUPS = 8
"""Concurrent ``GET /users/{id}/roles`` requests."""


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _duration(value: Any) -> timedelta | None:
    """An ISO 8601 duration such as Okta's ``tokenWindow`` (``P30D``, ``PT5M``)."""
    match = re.fullmatch(
        r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", _text(value).upper()
    )
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _encode_cursor(published: str, uuids: list[str], query: dict[str, str] | None) -> str:
    state: dict[str, Any] = {"p": published, "u": uuids}
    if query:
        state["q"] = query
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


class OktaProvider(DeclaredProvider):
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
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backfill_minutes = backfill_minutes
        self._sleep = sleep
        self._cleared_at: dict[str, datetime] = {}
        """User id → when this process sent its last ``clear_sessions``."""

    # -- configuration -------------------------------------------------------

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

    # -- accounts ------------------------------------------------------------

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
        profile = user.get("profile") if isinstance(user.get("profile"), dict) else {}
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

    # -- credentials ---------------------------------------------------------

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
        scopes = ()
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

    # -- events --------------------------------------------------------------

    def _decode_cursor(self, cursor: str) -> dict[str, Any]:
        if not cursor.startswith(_CURSOR_PREFIX):
            raise ProviderError(f"{self.where}: not an Okta System Log cursor: {cursor[:40]!r}")
        raw = cursor[len(_CURSOR_PREFIX) :]
        try:
            state = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise ProviderError(f"{self.where}: the System Log cursor is damaged") from exc
        ok = (
            isinstance(state, dict)
            and _timestamp(state.get("p")) is not None
            and isinstance(state.get("u"), list)
            and all(isinstance(u, str) for u in state["u"])
            and isinstance(state.get("q", {}), dict)
            and all(isinstance(v, str) for v in state.get("q", {}).values())
        )
        if not ok:
            raise ProviderError(f"{self.where}: the System Log cursor is damaged")
        return state

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """System Log events after ``since`` (None: the last ``backfill_minutes``), forever."""
        limit = str(min(1000, max(self.page_size, 1)))
        last: datetime | None = None
        last_text = ""
        seen: set[str] = set()
        # Following next links repeats nothing, so an event published before the
        # last one delivered is a late arrival (the log is eventually consistent)
        # and is delivered. Only a query by time (a mid-page cursor, or a server
        # without next links) cannot tell those from events already delivered.
        by_time = False
        if since:
            state = self._decode_cursor(since)
            last_text = state["p"]
            last = _timestamp(last_text)
            seen = set(state["u"])
            by_time = not state.get("q")
            params: dict[str, str] = state.get("q") or {
                "since": last_text,
                "sortOrder": "ASCENDING",
                "limit": limit,
            }
        else:
            start = datetime.now(UTC) - timedelta(minutes=self.backfill_minutes)
            params = {"since": _iso(start), "sortOrder": "ASCENDING", "limit": limit}
        while True:
            response = await self.http.request("GET", "api/v1/logs", params=params)
            page = self.http.parse_json(response)
            if not isinstance(page, list):
                raise ProviderError(f"{self.where}: GET /api/v1/logs did not return a list")
            following = next_link(response)
            next_params = dict(following.params.items()) if following is not None else None
            fresh: list[tuple[dict[str, Any], datetime]] = []
            for entry in page:
                if not isinstance(entry, dict):
                    continue
                published = _timestamp(entry.get("published"))
                uuid = _text(entry.get("uuid"))
                if published is None or not uuid:
                    log.debug("%s: skipping a System Log entry without published/uuid", self.name)
                    continue
                if last is not None and (
                    (published == last and uuid in seen) or (by_time and published < last)
                ):
                    continue  # already delivered before the cursor
                fresh.append((entry, published))
            for n, (entry, published) in enumerate(fresh):
                if last is None or published > last:
                    last, last_text, seen = published, _text(entry.get("published")), set()
                seen.add(_text(entry.get("uuid")))
                tail = n == len(fresh) - 1 and next_params is not None
                cursor = _encode_cursor(last_text, sorted(seen), next_params if tail else None)
                yield self._event(entry, published, cursor)
            by_time = next_params is None
            if next_params is not None:
                params = next_params
            elif last is not None:  # no next link (not a polling answer): poll by time
                params = {"since": last_text, "sortOrder": "ASCENDING", "limit": limit}
            if len(page) < int(params.get("limit", limit) or limit):
                await self._sleep(self.poll_seconds)

    def _event(self, entry: Mapping[str, Any], ts: datetime, cursor: str) -> AccessEvent:
        event_type = _text(entry.get("eventType"))
        targets = [
            _text(_get(t, "alternateId")) or _text(_get(t, "displayName")) or _text(_get(t, "id"))
            for t in entry.get("target") or []
            if isinstance(t, dict)
        ]
        targets = [t for t in targets if t]
        path = event_type + (" " + ", ".join(targets[:3]) if targets else "")
        result = _text(_get(entry, "outcome", "result")).upper()
        return AccessEvent(
            provider=self.name,
            ts=ts,
            account_id=_text(_get(entry, "actor", "id")),
            credential_id=_text(_get(entry, "transaction", "detail", "requestApiTokenId")),
            method="EVENT",
            path=path,
            status=_OUTCOME_STATUS.get(result, 0),
            source_ip=_text(_get(entry, "client", "ipAddress")),
            user_agent=_text(_get(entry, "client", "userAgent", "rawUserAgent")),
            cursor=cursor,
        )

    # -- revocation ----------------------------------------------------------

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            if target.kind is not CredentialKind.API_TOKEN:
                raise ProviderError(f"{self.where}: cannot revoke a {target.kind} credential")
            what = target.label or target.id
            return [
                RevokeAction.on_credential(
                    self.name, target, "revoke_token", f"Revoke Okta API token {what}", 20
                )
            ]
        if not isinstance(target, Account):
            raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")
        who = target.name or target.id
        labels = {
            "clear_sessions": f"Clear all Okta sessions and OAuth tokens of {who}",
            "suspend_account": f"Suspend Okta user {who}",
            "deactivate_account": f"Deactivate Okta user {who}",
            "delete_account": f"Delete Okta user {who} (permanent)",
        }
        actions = []
        for name in self.account_actions:
            order, reversible = ACCOUNT_ACTIONS[name]
            actions.append(
                RevokeAction.on_account(
                    self.name, target, name, labels[name], order, reversible=reversible
                )
            )
        return sorted(actions, key=lambda a: a.order)

    def _check(self, action: RevokeAction) -> str:
        check_action(self, action, _ACTIONS)
        if not action.target_id.strip() or action.target_id in (".", ".."):
            raise ProviderError(f"{self.where}: invalid Okta id {action.target_id!r}")
        # ids are opaque: quote everything so '/', '?' or '..' cannot escape the collection
        quoted = quote(action.target_id, safe="")
        if action.target_kind is TargetKind.CREDENTIAL:
            return f"api/v1/api-tokens/{quoted}"
        return f"api/v1/users/{quoted}"

    async def _read(self, path: str) -> dict[str, Any] | None:
        response = await self.http.request("GET", path, expect=(200, 404))
        if response.status_code == 404:
            return None
        data = self.http.parse_json(response)
        if not isinstance(data, dict):
            raise ProviderError(f"{self.where}: GET /{path} did not return a JSON object")
        return data

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        path = self._check(action)
        if action.name == "revoke_token":
            return await self._revoke_token(action, path)
        if action.name == "clear_sessions":
            return await self._clear_sessions(action, path)
        user = await self._read(path)
        if user is None:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} does not exist (already deleted)",
                provider_response={"status": 404},
            )
        if action.name == "delete_account":
            return await self._delete(action, path, user)
        target = "SUSPENDED" if action.name == "suspend_account" else "DEPROVISIONED"
        verb = "suspend" if action.name == "suspend_account" else "deactivate"
        status = _text(user.get("status")).upper()
        if status == "DEPROVISIONED" or status == target:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} is already {status}",
                provider_response={"user_status": status},
            )
        if verb == "suspend" and status != "ACTIVE":
            raise ProviderError(
                f"{self.where}: Okta only suspends ACTIVE users; user {action.target_id} "
                f"is {status or 'of unknown status'} (deactivate it instead)"
            )
        try:
            response = await self.http.request(
                "POST",
                f"{path}/lifecycle/{verb}",
                params={"sendEmail": "false"} if verb == "deactivate" else None,
                expect=(200,),
                idempotent=True,  # the state transition is the same when repeated
            )
        except HttpError as exc:
            if exc.status not in (400, 403, 404):
                raise
            # Lost a race (or a retried request that had already worked): read back.
            after = await self._read(path)
            now = _text(after.get("status")).upper() if after else "DELETED"
            if now in (target, "DEPROVISIONED", "DELETED"):
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"Okta user {action.target_id} is already {now}",
                    provider_response={"user_status": now},
                )
            raise
        return RevokeResult(
            ok=True,
            detail=f"Okta user {action.target_id} {verb}d (was {status})",
            provider_response={"status": response.status_code, "user_status": target},
        )

    async def _delete(self, action: RevokeAction, path: str, user: dict[str, Any]) -> RevokeResult:
        status = _text(user.get("status")).upper()
        calls = 1 if status == "DEPROVISIONED" else 2  # Okta: the first delete deactivates
        answered: list[int] = []
        for _ in range(calls):
            response = await self.http.request(
                "DELETE", path, params={"sendEmail": "false"}, expect=(200, 202, 204, 404)
            )
            answered.append(response.status_code)
            if response.status_code == 404:
                break
        if answered[0] == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} was already deleted",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"Okta user {action.target_id} deleted (was {status})",
            provider_response={"status": answered[-1], "delete_calls": len(answered)},
        )

    async def _revoke_token(self, action: RevokeAction, path: str) -> RevokeResult:
        response = await self.http.request("DELETE", path, expect=(200, 204, 404))
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta API token {action.target_id} does not exist (already revoked)",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"Okta API token {action.target_id} revoked",
            provider_response={"status": response.status_code},
        )

    async def _clear_sessions(self, action: RevokeAction, path: str) -> RevokeResult:
        started = datetime.now(UTC)
        response = await self.http.request(
            "DELETE", f"{path}/sessions", params={"oauthTokens": "true"}, expect=(200, 204, 404)
        )
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} does not exist (no sessions)",
                provider_response={"status": 404},
            )
        self._cleared_at[action.target_id] = started
        return RevokeResult(
            ok=True,
            detail=f"Okta sessions and OAuth tokens of user {action.target_id} cleared",
            provider_response={"status": response.status_code},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        path = self._check(action)
        if action.name == "clear_sessions":
            return await self._verify_cleared(action, path)
        found = await self._read(path)
        noun = "API token" if action.name == "revoke_token" else "user"
        if found is None:
            return VerifyResult(
                gone=True,
                detail=f"Okta {noun} {action.target_id} does not exist",
                provider_response={"status": 404},
            )
        if action.name in ("revoke_token", "delete_account"):
            return VerifyResult(
                gone=False,
                detail=f"Okta {noun} {action.target_id} still exists",
                provider_response={"status": 200},
            )
        status = _text(found.get("status")).upper()
        transitioning = _text(found.get("transitioningToStatus")).upper()
        wanted = {"DEPROVISIONED"}
        if action.name == "suspend_account":
            wanted.add("SUSPENDED")
        gone = status in wanted
        detail = f"Okta user {action.target_id} is {status or 'of unknown status'}"
        if transitioning:
            detail += f" (transitioning to {transitioning})"
        return VerifyResult(
            gone=gone,
            detail=detail,
            provider_response={"user_status": status},
        )

    async def _verify_cleared(self, action: RevokeAction, path: str) -> VerifyResult:
        if await self._read(path) is None:
            return VerifyResult(
                gone=True,
                detail=f"Okta user {action.target_id} does not exist",
                provider_response={"status": 404},
            )
        now = datetime.now(UTC)
        sent = self._cleared_at.get(action.target_id)
        since = (sent - _CLOCK_SKEW) if sent is not None else now - _CLEAR_LOOKBACK
        user_id = action.target_id.replace("\\", "\\\\").replace('"', '\\"')
        params = {
            "since": _iso(since),
            "filter": f'eventType eq "user.session.clear" and target.id eq "{user_id}"',
            "sortOrder": "DESCENDING",
            "limit": "20",
        }
        page = await self.http.get_json("api/v1/logs", params=params)
        for entry in page if isinstance(page, list) else []:
            published = _timestamp(_get(entry, "published"))
            ids = {_text(_get(t, "id")) for t in _get(entry, "target") or []}
            if (
                _text(_get(entry, "eventType")) == "user.session.clear"
                and action.target_id in ids
                and _text(_get(entry, "outcome", "result")).upper() == "SUCCESS"
                and published is not None
                and published >= since
            ):
                return VerifyResult(
                    gone=True,
                    detail=(
                        f"Okta's System Log records the sessions of user {action.target_id} "
                        f"cleared at {_iso(published)} (Okta has no API listing a user's "
                        "sessions: this is the record of the clear, not a live check)"
                    ),
                    provider_response={
                        "verified_by": "system_log",
                        "event": _text(_get(entry, "uuid")),
                        "published": _iso(published),
                    },
                )
        return VerifyResult(
            gone=False,
            detail=(
                f"unverifiable: no System Log record of the sessions of Okta user "
                f"{action.target_id} being cleared since {_iso(since)} (Okta has no API "
                "listing a user's sessions)"
            ),
            provider_response={"verified_by": "system_log", "event": ""},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return f"OktaProvider(name={self.name!r}, base_url={self.http.settings.base_url!r})"
