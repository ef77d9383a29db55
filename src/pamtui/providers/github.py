"""``GitHubProvider``: one GitHub organisation (github.com, GHE.com or GitHub Enterprise Server).

Everything comes from GitHub's documented REST API (``Accept:
application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``):

- accounts: the organisation's members, ``GET /orgs/{org}/members``; owners
  from ``?role=admin`` (privileged), members without two-factor
  authentication from ``?filter=2fa_disabled`` (answered to owners only; when
  GitHub refuses it the 2FA state is simply not reported). An account's id is
  the user's numeric id (stable across renames), its name the login; its
  ``groups`` carry ``role:admin`` or ``role:member`` and, when known,
  ``2fa:disabled`` or ``2fa:enabled``.
- credentials: fine-grained personal access tokens granted to the
  organisation, ``GET /orgs/{org}/personal-access-tokens``. A credential's id
  is the grant's ``id`` (the ``pat_id`` GitHub revokes by); it belongs to the
  account of ``owner.id``. ``scopes`` are ``"{organization|repository|other}.
  {permission}:{read|write|admin}"`` plus ``repositories:{all|subset|none}``.
- revoke actions:

  ===================== ====== ==============================================
  ``revoke_all_tokens`` 5      one bulk ``POST /orgs/{org}/personal-access-tokens``
                               (``{"action": "revoke", "pat_ids": [...]}``) with
                               every token the account holds at run time
  ``revoke_token``      10     ``POST /orgs/{org}/personal-access-tokens/{pat_id}``
                               (``{"action": "revoke"}``)
  ``remove_member``     90     ``DELETE /orgs/{org}/memberships/{login}``
  ===================== ====== ==============================================

  An account's de-provisioning plan (``plan_for_account``) therefore runs the
  bulk revocation first: all of the account's tokens lose access in one
  request, including tokens granted after the plan was made. The per-token
  steps the planner adds for each listed token then find their token gone and
  report ``already_done`` (each token still gets its own journal entry and
  verification). The member is removed last. A per-credential plan is the
  single-token revocation.
- verify: the organisation's token list is read again (the token, or every
  token of the account, no longer appears); for a member, the members list no
  longer holds the user's id.
- events: the organisation audit log, ``GET /orgs/{org}/audit-log`` (GitHub
  Enterprise Cloud), polled every ``poll_seconds`` with
  ``phrase=created:>=<second>`` and ``order=asc``, following the ``after``
  cursors of its ``Link`` headers within a poll. Each event's ``cursor`` is
  ``[@timestamp_ms, [_document_id, ...]]`` (JSON): the timestamp of the last
  event delivered and the ids of the events delivered at that millisecond, so
  ``stream_events(since=cursor)`` resumes with no gap and no duplicate, also
  in a new process. Without a cursor the stream starts ``backfill_hours`` ago.

  Audit entries are not HTTP requests; they are mapped to ``AccessEvent`` so:
  ``account_id`` is ``actor_id`` (or the actor's login when the entry has no
  id and the login was not seen in ``list_accounts``); ``credential_id`` is
  the pat id of the entry's ``token_id`` when ``list_credentials`` has seen
  it, else empty; ``path`` is the action plus its target
  (``"org.remove_member alice"``, ``"git.clone acme/app"``); ``method`` comes
  from the action's verb (create/add/invite/grant/push -> ``POST``,
  update/change/rename/enable/disable/... -> ``PATCH``,
  remove/destroy/delete/revoke -> ``DELETE``, clone/fetch/view/download/access
  -> ``GET``, anything else ``POST``); ``status`` is ``403`` when the action
  says access was denied, rejected, blocked or failed
  (``personal_access_token.request_denied``, ``org.sso_response`` with
  ``failure``...), else ``200``.

Settings (``[[providers]]`` with ``type = "github"``):

- ``org``: the organisation's login (required);
- ``token``: a secret reference (``{ env = "VAR" }`` or ``{ keyring = "NAME" }``)
  for the bearer token; a token written into the config file is refused;
- ``base_url``: default ``https://api.github.com``; for GitHub Enterprise
  Server ``https://HOST/api/v3``;
- the other HTTP settings of :func:`pamtui.providers.http.http_settings`
  (``ca_bundle``, ``proxy``, ``timeout_s``, ``max_retries``, ...);
- ``page_size``: ``per_page`` of every listing, 1..100 (default 100);
- ``poll_seconds``: audit-log poll interval (default 60);
- ``backfill_hours``: how far back a stream without a cursor starts (default 24);
- ``audit_log``: ``false`` for organisations without the audit-log API
  (not on Enterprise Cloud): no event stream (default ``true``);
- ``audit_include``: the audit log's ``include``: ``web``, ``git`` (clone,
  fetch, push: kept 7 days by GitHub) or ``all`` (default).

The last delivered cursor is also kept in ``state_dir/github-{name}.cursor``
(mode 0600) after every poll, so a stream started without a cursor resumes
where the previous run stopped (for the same organisation and API host)
instead of backfilling again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
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
    provider_message,
)
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import (
    REQUIRED,
    Settings,
    boolean,
    choice,
    hours,
    integer,
    seconds,
    secret,
    string,
)

log = logging.getLogger("pamtui.providers.github")

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
GITHUB_JSON = "application/vnd.github+json"

_INCLUDE = ("web", "git", "all")
_BULK_MAX = 100
"""pat_ids per bulk revocation request."""
_BULK_ATTEMPTS = 3
"""A bulk revocation is re-planned when a token vanished between listing and POST."""

_ORG_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_ID_RE = re.compile(r"[1-9][0-9]{0,19}")

REVOKE_TOKEN = "revoke_token"
REVOKE_ALL_TOKENS = "revoke_all_tokens"
REMOVE_MEMBER = "remove_member"
_ACTIONS = {
    REVOKE_TOKEN: TargetKind.CREDENTIAL,
    REVOKE_ALL_TOKENS: TargetKind.ACCOUNT,
    REMOVE_MEMBER: TargetKind.ACCOUNT,
}

_DENIED = ("deny", "denied", "reject", "rejected", "block", "blocked", "fail", "failed", "failure")
_VERBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DELETE", ("remove", "destroy", "delete", "revoke", "deauthorize", "uninstall", "cancel")),
    ("GET", ("clone", "fetch", "view", "download", "access", "read", "list", "export")),
    (
        "PATCH",
        (
            "update",
            "change",
            "rename",
            "edit",
            "enable",
            "disable",
            "set",
            "transfer",
            "archive",
            "unarchive",
            "promote",
            "demote",
            "convert",
            "reinstate",
        ),
    ),
    ("POST", ("create", "add", "invite", "grant", "push", "install", "approve", "request")),
)


def _id(value: Any) -> str:
    """GitHub ids are integers; keep them as decimal strings."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    text = _text(value)
    return text if text.isdigit() else ""


def _timestamp(value: Any) -> datetime | None:
    """ISO 8601 (``2023-01-01T00:00:00Z``) or epoch milliseconds (the audit log)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    parsed = _timestamp(value) if isinstance(value, str) else None
    return int(parsed.timestamp() * 1000) if parsed is not None else None


def _iso_second(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms // 1000))


def encode_cursor(ts_ms: int, seen: set[str] | frozenset[str]) -> str:
    return json.dumps([ts_ms, sorted(seen)], separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[int, frozenset[str]]:
    try:
        data = json.loads(cursor)
    except (TypeError, ValueError):
        data = None
    if (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], int)
        and not isinstance(data[0], bool)
        and data[0] >= 0
        and isinstance(data[1], list)
        and all(isinstance(d, str) for d in data[1])
    ):
        return data[0], frozenset(data[1])
    raise ProviderError(f"not a github audit-log cursor: {str(cursor)[:80]!r}")


def _method(action: str) -> str:
    words = re.split(r"[._\-]", action.lower())
    for verb in reversed(words[1:] or words):
        for method, markers in _VERBS:
            if any(verb == m or verb.startswith(m) for m in markers):
                return method
    return "POST"


def _status(entry: Mapping[str, Any], action: str) -> int:
    words = set(re.split(r"[._\-]", action.lower()))
    for key in ("result", "outcome", "saml_response", "status"):
        value = _text(entry.get(key)).lower()
        if value:
            words |= set(re.split(r"[._\- ]", value))
    return 403 if words & set(_DENIED) else 200


SETTINGS = Settings(
    HTTP_SETTINGS.with_defaults(base_url=DEFAULT_BASE_URL),
    string(
        "org",
        "the organisation's login",
        REQUIRED,
        pattern=_ORG_RE.pattern,
        expected="a GitHub organisation login (letters, digits and hyphens, at most 39 characters)",
    ),
    secret("token", "a GitHub App installation token (bearer)"),
    integer("page_size", "per_page of every listing", 100, low=1, high=100),
    seconds("poll_seconds", "audit-log poll interval", 60.0, low_open=True, high=3600),
    hours(
        "backfill_hours", "how far back a stream without a saved cursor starts", 24.0, high=24 * 180
    ),
    boolean("audit_log", "read the organisation audit log (Enterprise Cloud) as the stream", True),
    choice("audit_include", "the audit log's include: web, git (7 days) or all", _INCLUDE, "all"),
)
"""Settings of ``type = "github"`` (``base_url`` defaults to GitHub.com's API)."""


class GitHubProvider(DeclaredProvider):
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

    # -- configuration -------------------------------------------------------

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

    # -- listings ------------------------------------------------------------

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
        for member in members:
            account = self._account(member, admins, no_2fa)
            self._login_ids[account.name] = account.id
            yield account

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

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        for pat in await self._pats():
            credential = self._credential(pat)
            if account is not None and credential.account_id != account.id:
                continue
            yield credential

    def _credential(self, pat: Mapping[str, Any]) -> Credential:
        pat_id = _id(pat.get("id"))
        owner = pat.get("owner") if isinstance(pat.get("owner"), dict) else {}
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

    # -- events --------------------------------------------------------------

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """Audit-log events after ``since``, polling every ``poll_seconds``, forever."""
        if not self.audit_log:
            return
        saved = None if since else self._load_cursor()
        if since or saved:
            ts_ms, seen = decode_cursor(since or saved or "")
        else:
            ts_ms = int((self._clock() - self.backfill_hours * 3600) * 1000)
            seen = frozenset()
        current: set[str] = set(seen)
        delivered: str | None = None
        path = f"{self._org_path}/audit-log"
        while True:
            params = {
                "phrase": f"created:>={_iso_second(ts_ms)}",
                "order": "asc",
                "include": self.audit_include,
            }
            try:
                async for entry in self._list(path, params):
                    when = _epoch_ms(entry.get("@timestamp", entry.get("created_at")))
                    if when is None:
                        continue
                    doc = _text(entry.get("_document_id")) or json.dumps(
                        entry, sort_keys=True, default=str
                    )
                    if when < ts_ms or (when == ts_ms and doc in current):
                        continue
                    if when > ts_ms:
                        ts_ms, current = when, set()
                    current.add(doc)
                    delivered = encode_cursor(ts_ms, current)
                    yield self._event(entry, when, delivered)
            except HttpError as exc:
                if exc.status == 404:
                    raise ProviderError(
                        f"{self.where}: GET /{path} answered 404: the organisation audit-log "
                        "API needs GitHub Enterprise Cloud (or GHES 3.x with the audit log), "
                        "and a token allowed to read it; set audit_log = false to turn the "
                        "event stream off"
                    ) from exc
                raise
            finally:
                self._save_cursor(delivered)
            await self._sleep(self.poll_seconds)

    @property
    def cursor_file(self) -> Path | None:
        return self._saved.path

    def _cursor_scope(self) -> str:
        return f"{self.http.settings.base_url.rstrip('/')}/{self._org_path}"

    def _load_cursor(self) -> str | None:
        return self._saved.load(decode_cursor)

    def _save_cursor(self, cursor: str | None) -> None:
        self._saved.save(cursor)

    def _event(self, entry: Mapping[str, Any], when: int, cursor: str) -> AccessEvent:
        action = _text(entry.get("action")) or "unknown"
        actor = _text(entry.get("actor"))
        account_id = _id(entry.get("actor_id")) or self._login_ids.get(actor, actor)
        token_id = _id(entry.get("token_id"))
        target = next(
            (
                _text(entry.get(k))
                for k in ("repo", "repository", "user", "team", "name")
                if _text(entry.get(k))
            ),
            "",
        )
        return AccessEvent(
            provider=self.name,
            ts=datetime.fromtimestamp(when / 1000, UTC),
            account_id=account_id,
            credential_id=self._token_pats.get(token_id, "") if token_id else "",
            method=_method(action),
            path=f"{action} {target}" if target else action,
            status=_status(entry, action),
            source_ip=_text(entry.get("actor_ip")),
            user_agent=_text(entry.get("user_agent")),
            cursor=cursor,
        )

    # -- revocation ----------------------------------------------------------

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            label = target.label or target.id
            return [
                RevokeAction.on_credential(
                    self.name,
                    target,
                    REVOKE_TOKEN,
                    f"Revoke fine-grained PAT {label} (pat {target.id}) in GitHub org {self.org}",
                    10,
                )
            ]
        if isinstance(target, Account):
            who = target.name or target.id
            return [
                RevokeAction.on_account(
                    self.name,
                    target,
                    REVOKE_ALL_TOKENS,
                    f"Revoke every fine-grained PAT of {who} in GitHub org {self.org} (bulk)",
                    5,
                ),
                RevokeAction.on_account(
                    self.name,
                    target,
                    REMOVE_MEMBER,
                    f"Remove {who} from GitHub org {self.org}",
                    90,
                ),
            ]
        raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")

    def _check(self, action: RevokeAction) -> None:
        check_action(self, action, _ACTIONS)
        if not _ID_RE.fullmatch(action.target_id):
            what = "pat id" if action.target_kind is TargetKind.CREDENTIAL else "user id"
            raise ProviderError(f"{self.where}: invalid GitHub {what} {action.target_id[:40]!r}")

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        """Idempotent by construction (GitHub takes no idempotency key): see each step."""
        self._check(action)
        if action.name == REVOKE_TOKEN:
            return await self._revoke_token(action.target_id)
        if action.name == REVOKE_ALL_TOKENS:
            return await self._revoke_all(action.target_id)
        return await self._remove_member(action.target_id)

    async def _revoke_token(self, pat_id: str) -> RevokeResult:
        path = f"{self._org_path}/personal-access-tokens/{pat_id}"
        # Revoking twice changes nothing: retry like an idempotent request.
        response = await self.http.request(
            "POST", path, json={"action": "revoke"}, expect=(204, 404, 422), idempotent=True
        )
        if response.status_code == 204:
            return RevokeResult(
                ok=True,
                detail=f"fine-grained PAT {pat_id} revoked in org {self.org}",
                provider_response={"status": 204},
            )
        # 404/422: gone already, or a real refusal; the org's list tells which.
        if not any(_id(p.get("id")) == pat_id for p in await self._pats()):
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"fine-grained PAT {pat_id} no longer has access to org {self.org}",
                provider_response={"status": response.status_code},
            )
        raise self._refused("POST", response)

    def _refused(self, method: str, response: httpx.Response) -> HttpError:
        detail = self.http.redact(provider_message(response))
        status = response.status_code
        path = response.request.url.path
        text = f"{self.http.where}: {method} {path} failed with HTTP {status}"
        if response.reason_phrase:
            text += f" {response.reason_phrase}"
        if detail:
            text += f": {detail}"
        return HttpError(text, status=status, method=method, path=path, detail=detail)

    async def _revoke_all(self, user_id: str) -> RevokeResult:
        path = f"{self._org_path}/personal-access-tokens"
        revoked: list[str] = []
        refused: httpx.Response | None = None
        tried: list[str] = []
        for _ in range(_BULK_ATTEMPTS):
            pat_ids = [
                _id(p.get("id"))
                for p in await self._pats()
                if isinstance(p.get("owner"), dict) and _id(p["owner"].get("id")) == user_id
            ]
            if refused is not None and set(tried) <= set(pat_ids):
                # Nothing vanished since the refusal: GitHub means it.
                raise self._refused("POST", refused)
            if not pat_ids:
                if revoked:
                    break
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"user {user_id} holds no fine-grained PAT in org {self.org}",
                    provider_response={"pat_ids": []},
                )
            retry = False
            for start in range(0, len(pat_ids), _BULK_MAX):
                chunk = pat_ids[start : start + _BULK_MAX]
                response = await self.http.request(
                    "POST",
                    path,
                    json={"action": "revoke", "pat_ids": [int(p) for p in chunk]},
                    expect=(202, 204, 404, 422),
                    idempotent=True,
                )
                if response.status_code in (404, 422):
                    # A token may have vanished between listing and POST: list again.
                    log.debug("%s: bulk revoke got %s, re-listing", self.name, response.status_code)
                    refused, tried, retry = response, chunk, True
                    break
                revoked.extend(chunk)
            if not retry:
                break
        else:
            raise ProviderError(
                f"{self.where}: bulk revocation of user {user_id}'s tokens kept failing "
                f"(the token list changed {_BULK_ATTEMPTS} times); try again",
                retryable=True,
            )
        return RevokeResult(
            ok=True,
            detail=f"{len(revoked)} fine-grained PAT(s) of user {user_id} revoked in org "
            f"{self.org}",
            provider_response={"status": 202, "pat_ids": revoked},
        )

    async def _member_login(self, user_id: str) -> str | None:
        for member in await self._members():
            if _id(member.get("id")) == user_id:
                return _text(member.get("login")) or None
        return None

    async def _remove_member(self, user_id: str) -> RevokeResult:
        login = await self._member_login(user_id)
        if login is None:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"user {user_id} is not a member of org {self.org}",
                provider_response={"member": False},
            )
        path = f"{self._org_path}/memberships/{quote(login, safe='')}"
        response = await self.http.request("DELETE", path, expect=(200, 204, 404))
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"user {user_id} ({login}) was already removed from org {self.org}",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"user {user_id} ({login}) removed from org {self.org}",
            provider_response={"status": response.status_code},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        self._check(action)
        if action.name == REMOVE_MEMBER:
            login = await self._member_login(action.target_id)
            return VerifyResult(
                gone=login is None,
                detail=f"user {action.target_id} "
                + ("is not a member" if login is None else f"({login}) is still a member")
                + f" of org {self.org}",
                provider_response={"member": login is not None},
            )
        pats = await self._pats()
        if action.name == REVOKE_TOKEN:
            present = any(_id(p.get("id")) == action.target_id for p in pats)
            return VerifyResult(
                gone=not present,
                detail=f"fine-grained PAT {action.target_id} "
                + ("still has" if present else "no longer has")
                + f" access to org {self.org}",
                provider_response={"listed": present},
            )
        left = [
            _id(p.get("id"))
            for p in pats
            if isinstance(p.get("owner"), dict) and _id(p["owner"].get("id")) == action.target_id
        ]
        return VerifyResult(
            gone=not left,
            detail=f"user {action.target_id} holds {len(left)} fine-grained PAT(s) in org "
            f"{self.org}",
            provider_response={"pat_ids": left},
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    def __repr__(self) -> str:
        return (
            f"GitHubProvider(name={self.name!r}, org={self.org!r}, "
            f"base_url={self.http.settings.base_url!r})"
        )
