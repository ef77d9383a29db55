"""A small, faithful fake of Okta's Management API for the okta provider's tests.

A real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread on
127.0.0.1, ephemeral port) with in-memory state, started and stopped by the
``okta_server`` fixture. Built from Okta's documented behaviour:

- Users API (developer.okta.com, "Users" / "User Lifecycle"):
  ``GET /api/v1/users`` lists users that are not ``DEPROVISIONED`` unless a
  ``search`` expression is given (``eq``, ``sw``, ``co``, ``pr`` joined by
  ``and``/``or`` are supported here), ``limit`` (max 200) and ``after`` with
  ``Link: <...>; rel="next"`` and ``rel="self"``; ``GET /api/v1/users/{id}``
  by id or login; ``POST .../lifecycle/suspend`` only from ACTIVE ("Suspends a
  user. Perform this operation only on users with an ACTIVE status"),
  ``.../unsuspend``, ``.../deactivate`` ("cannot be performed on users with a
  DEPROVISIONED status": answered 400 E0000001 here, an assumption, see
  below), both answering ``200 {}``; ``DELETE /api/v1/users/{id}`` deletes a
  DEPROVISIONED user and, on any other user, only deactivates it ("This
  operation on a user that hasn't been deactivated causes that user to be
  deactivated. A second delete operation is required to delete the user."),
  answering 204; unknown ids are ``404 E0000007``.
- User Sessions ("Revoke all user sessions"): ``DELETE
  /api/v1/users/{id}/sessions?oauthTokens=true`` answers 204 and ends the
  user's sessions (and OAuth tokens when asked). Okta has no admin endpoint
  that lists a user's sessions, so neither does this fake. ``forgetDevices``
  (Identity Engine: default ``true``; ``identity_engine = False`` makes the
  default ``false``, as on Classic Engine) also forgets the user's remembered
  devices (``remembered_devices``), so they must pass MFA again.
- Role Assignment ("List all users with role assignments", "List all user
  role assignments"): ``GET /api/v1/iam/assignees/users`` (``{"value": [...],
  "_links": {"next": {"href"}}}``) and ``GET /api/v1/users/{id}/roles``.
- API Tokens ("API Token", ``okta.apiTokens.read/manage``): ``GET
  /api/v1/api-tokens`` (id, name, userId, clientName, created, lastUpdated,
  expiresAt, tokenWindow, network, ``_links``), ``GET|DELETE
  /api/v1/api-tokens/{id}`` (DELETE answers 204, then 404).
- System Log ("System Log API", "Polling requests"): ``GET /api/v1/logs`` with
  ``since``, ``until``, ``after``, ``limit`` (default 100, max 1000),
  ``sortOrder`` and a ``filter`` subset (``eventType``, ``target.id``,
  ``actor.id``, ``outcome.result`` with ``eq``, joined by ``and``). A polling
  request (no ``until``, ascending) always answers a ``rel="next"`` link, also
  on an empty page, and polling that link later returns the events appended
  since. LogEvent objects carry uuid, published, eventType, displayMessage,
  actor, client (ipAddress, userAgent.rawUserAgent), outcome, target[],
  transaction.detail.requestApiTokenId and debugContext.debugData. Every
  lifecycle action, session clear and token revocation appends its event
  (``user.lifecycle.suspend``, ``user.lifecycle.deactivate``,
  ``user.lifecycle.delete.initiated``, ``user.session.clear``,
  ``system.api_token.revoke``).
- Errors ("Error codes"): ``{"errorCode", "errorSummary", "errorLink",
  "errorId", "errorCauses"}``: E0000006 no permission (403), E0000011 "Invalid token provided" (401, also for
  an expired or revoked token), E0000007 not found (404), E0000001 validation
  (400), E0000031 invalid search (400), E0000047 rate limit (429), E0000009
  internal error (500).
- Rate limits ("Rate limits" / "Rate limit headers"): every response carries
  ``X-Rate-Limit-Limit``, ``X-Rate-Limit-Remaining`` and
  ``X-Rate-Limit-Reset`` (UTC epoch seconds of the window's end) and a
  ``Date``; a 429 has remaining 0.
- Authentication: ``Authorization: SSWS <token>``.

Simplified or assumed (not Okta's documented behaviour, or not modelled):
cursors are plain ids/indexes (Okta's are opaque); the error text for
suspend/deactivate from a wrong state is made up (Okta documents that the
transition is not allowed, not the exact message); deactivation is
synchronous (no ``Prefer: respond-async``); a deactivated admin's API tokens
stay listed; the System Log is strictly in append order (real Okta is
eventually consistent by a few seconds); search supports only the operators
above; no ETags, no expand, no ``q``; one rate-limit bucket for all endpoints.

Fault injection (:meth:`OktaFake.inject`): 429 (with ``X-Rate-Limit-Reset``
and optionally ``Retry-After``), 500, a slow answer (for client timeouts),
malformed JSON; :meth:`OktaFake.expire_token` makes a token answer 401.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid as uuidlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from tests.fakes.http import LocalServer, Recorded, Reply, handler_for

ADMIN_TOKEN = "00Okta-fake-admin-token-9f8e7d6c5b"

_ROLE_LABELS = {
    "SUPER_ADMIN": "Super Administrator",
    "ORG_ADMIN": "Organizational Administrator",
    "APP_ADMIN": "Application Administrator",
    "USER_ADMIN": "Group Administrator",
    "HELP_DESK_ADMIN": "Help Desk Administrator",
    "READ_ONLY_ADMIN": "Read-only Administrator",
    "API_ACCESS_MANAGEMENT_ADMIN": "API Access Management Administrator",
    "REPORT_ADMIN": "Report Administrator",
}


def okta_id(prefix: str) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(17))


def iso(when: datetime) -> str:
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def now_iso() -> str:
    return iso(datetime.now(UTC))


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class OktaError(Exception):
    def __init__(self, status: int, code: str, summary: str, causes: list[str] = ()) -> None:
        super().__init__(summary)
        self.status, self.code, self.summary, self.causes = status, code, summary, list(causes)

    def body(self) -> dict[str, Any]:
        return {
            "errorCode": self.code,
            "errorSummary": self.summary,
            "errorLink": self.code,
            "errorId": "oae" + secrets.token_hex(10),
            "errorCauses": [{"errorSummary": c} for c in self.causes],
        }


def _not_found(what: str, ident: str) -> OktaError:
    return OktaError(404, "E0000007", f"Not found: Resource not found: {ident} ({what})")


@dataclass
class Fault:
    path: re.Pattern[str]
    kind: str
    count: int
    method: str | None = None
    retry_after: str | None = None
    reset_in: int = 1
    delay: float = 0.0


@dataclass
class Hit:
    method: str
    target: str
    headers: dict[str, str]
    status: int = 0

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}


@dataclass
class _Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None


_CLAUSE = re.compile(r'\s*([A-Za-z_.]+)\s+(eq|sw|co|pr|gt|lt)\b\s*(?:"((?:[^"\\]|\\.)*)")?\s*')


def _parse_expression(text: str) -> list[list[tuple[str, str, str]]]:
    """``a eq "x" and b sw "y" or c pr`` → OR of ANDs; ValueError when unsupported."""
    groups: list[list[tuple[str, str, str]]] = [[]]
    pos = 0
    text = text.strip()
    while pos < len(text):
        match = _CLAUSE.match(text, pos)
        if match is None:
            raise ValueError(text[pos:])
        attr, op, value = match.group(1), match.group(2), match.group(3)
        if op != "pr" and value is None:
            raise ValueError(attr)
        groups[-1].append((attr, op, re.sub(r"\\(.)", r"\1", value or "")))
        pos = match.end()
        joiner = re.match(r"(and|or)\s+", text[pos:], re.I)
        if joiner:
            if joiner.group(1).lower() == "or":
                groups.append([])
            pos += joiner.end()
        elif pos < len(text):
            raise ValueError(text[pos:])
    if not groups[-1]:
        raise ValueError(text)
    return groups


def _lookup(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(obj, list):
            return [_lookup(o, part) for o in obj]
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    return obj


def _matches(obj: dict[str, Any], groups: list[list[tuple[str, str, str]]]) -> bool:
    def test(attr: str, op: str, want: str) -> bool:
        got = _lookup(obj, attr)
        values = got if isinstance(got, list) else [got]
        for value in values:
            if value is None:
                continue
            text = str(value)
            if (
                op == "pr"
                or (op == "eq" and text.lower() == want.lower())
                or (op == "sw" and text.lower().startswith(want.lower()))
                or (op == "co" and want.lower() in text.lower())
                or (op == "gt" and text > want)
                or (op == "lt" and text < want)
            ):
                return True
        return False

    return any(all(test(*clause) for clause in group) for group in groups)


class OktaFake(LocalServer):
    def __init__(self, *, rate_limit: int = 600) -> None:
        self.lock = threading.RLock()
        self.users: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, list[dict[str, Any]]] = {}
        self.api_tokens: dict[str, dict[str, Any]] = {}
        self.secrets: dict[str, str] = {}
        """SSWS token value → API token id."""
        self.expired: set[str] = set()
        self.sessions: dict[str, int] = {}
        self.oauth_tokens: dict[str, int] = {}
        self.remembered_devices: dict[str, int] = {}
        self.identity_engine = True
        self.logs: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.hits: list[Hit] = []
        self.rate_limit = rate_limit
        self.assignees_api = True
        self.forbidden: list[str] = []
        """Path regexes the token's admin may not use (403 E0000006)."""
        """False: an org without ``/api/v1/iam/assignees/users`` (answers 404)."""
        self._window = 0
        self._used = 0
        self.stopping = threading.Event()
        self.admin_id = self.add_user("okta.admin@example.com", first="Okta", last="Admin")
        self.grant_role(self.admin_id, "SUPER_ADMIN")
        self.admin_token_id = self.add_api_token(
            self.admin_id, "pamtui", secret=ADMIN_TOKEN, client_name="Okta API"
        )
        self._listen(handler_for(self._respond))

    # ------------------------------------------------------------ state helpers

    def add_user(
        self,
        login: str,
        *,
        status: str = "ACTIVE",
        first: str = "",
        last: str = "",
        email: str | None = None,
        last_login: str | None = None,
        **profile: Any,
    ) -> str:
        user_id = okta_id("00u")
        stamp = now_iso()
        with self.lock:
            self.users[user_id] = {
                "id": user_id,
                "status": status,
                "created": stamp,
                "activated": stamp if status != "STAGED" else None,
                "statusChanged": stamp,
                "lastLogin": last_login,
                "lastUpdated": stamp,
                "passwordChanged": stamp,
                "type": {"id": "oty1fakeusertype000"},
                "transitioningToStatus": None,
                "profile": {
                    "firstName": first,
                    "lastName": last,
                    "mobilePhone": None,
                    "secondEmail": None,
                    "login": login,
                    "email": login if email is None else email,
                    **profile,
                },
                "credentials": {"provider": {"type": "OKTA", "name": "OKTA"}},
                "_links": {"self": {"href": f"/api/v1/users/{user_id}"}},
            }
        return user_id

    def grant_role(self, user_id: str, role_type: str, *, via_group: bool = False) -> None:
        stamp = now_iso()
        with self.lock:
            self.roles.setdefault(user_id, []).append(
                {
                    "id": okta_id("ra1"),
                    "label": _ROLE_LABELS.get(role_type, role_type),
                    "type": role_type,
                    "status": "ACTIVE",
                    "created": stamp,
                    "lastUpdated": stamp,
                    "assignmentType": "GROUP" if via_group else "USER",
                    "_links": {"assignee": {"href": f"/api/v1/users/{user_id}"}},
                }
            )

    def add_api_token(
        self,
        user_id: str,
        name: str,
        *,
        secret: str | None = None,
        client_name: str = "Okta API",
        expires_at: str | None = None,
        connection: str = "ANYWHERE",
    ) -> str:
        token_id = okta_id("00T")
        stamp = now_iso()
        with self.lock:
            self.api_tokens[token_id] = {
                "id": token_id,
                "name": name,
                "userId": user_id,
                "clientName": client_name,
                "created": stamp,
                "lastUpdated": stamp,
                "expiresAt": expires_at or "2099-01-01T00:00:00.000Z",
                "tokenWindow": "P30D",
                "network": {"connection": connection},
                "_links": {
                    "self": {
                        "href": f"/api/v1/api-tokens/{token_id}",
                        "hints": {"allow": ["GET", "DELETE"]},
                    },
                    "user": {"href": f"/api/v1/users/{user_id}", "hints": {"allow": ["GET"]}},
                },
            }
            self.secrets[secret or secrets.token_urlsafe(30)] = token_id
        return token_id

    def start_session(self, user_id: str, *, oauth_tokens: int = 1, devices: int = 0) -> None:
        with self.lock:
            self.sessions[user_id] = self.sessions.get(user_id, 0) + 1
            self.remembered_devices[user_id] = self.remembered_devices.get(user_id, 0) + devices
            self.oauth_tokens[user_id] = self.oauth_tokens.get(user_id, 0) + oauth_tokens

    def expire_token(self, secret: str) -> None:
        with self.lock:
            self.expired.add(secret)

    def inject(
        self,
        path: str,
        kind: str,
        *,
        count: int = 1,
        method: str | None = None,
        retry_after: str | None = None,
        reset_in: int = 1,
        delay: float = 1.0,
    ) -> None:
        """The next ``count`` requests whose path matches the regex ``path`` fail with ``kind``.

        ``kind``: ``429``, ``500``, ``slow`` (answer after ``delay`` s) or ``malformed``.
        """
        if kind not in ("429", "500", "slow", "malformed"):
            raise ValueError(kind)
        with self.lock:
            self.faults.append(
                Fault(re.compile(path), kind, count, method, retry_after, reset_in, delay)
            )

    def log_event(
        self,
        event_type: str,
        *,
        actor_id: str | None = None,
        targets: list[str] = (),
        outcome: str = "SUCCESS",
        ip: str = "198.51.100.7",
        user_agent: str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        token_id: str | None = None,
        published: str | None = None,
        message: str = "",
        request_uri: str = "",
    ) -> str:
        with self.lock:
            actor_id = actor_id or self.admin_id
            actor = self.users.get(actor_id, {})
            event_uuid = str(uuidlib.uuid4())
            target_list = []
            for target_id in targets:
                user = self.users.get(target_id)
                token = self.api_tokens.get(target_id)
                if token is not None:
                    target_list.append(
                        {
                            "id": target_id,
                            "type": "Token",
                            "alternateId": "unknown",
                            "displayName": token["name"],
                            "detailEntry": None,
                        }
                    )
                else:
                    profile = (user or {}).get("profile", {})
                    target_list.append(
                        {
                            "id": target_id,
                            "type": "User",
                            "alternateId": profile.get("login", "unknown"),
                            "displayName": f"{profile.get('firstName', '')} "
                            f"{profile.get('lastName', '')}".strip(),
                            "detailEntry": None,
                        }
                    )
            detail: dict[str, Any] = {}
            if token_id:
                detail["requestApiTokenId"] = token_id
            profile = actor.get("profile", {})
            self.logs.append(
                {
                    "uuid": event_uuid,
                    "published": published or now_iso(),
                    "eventType": event_type,
                    "version": "0",
                    "severity": "INFO" if outcome == "SUCCESS" else "WARN",
                    "legacyEventType": None,
                    "displayMessage": message or event_type,
                    "actor": {
                        "id": actor_id,
                        "type": "User",
                        "alternateId": profile.get("login", "unknown"),
                        "displayName": f"{profile.get('firstName', '')} "
                        f"{profile.get('lastName', '')}".strip(),
                        "detailEntry": None,
                    },
                    "client": {
                        "userAgent": {
                            "rawUserAgent": user_agent,
                            "os": "Unknown",
                            "browser": "UNKNOWN",
                        },
                        "zone": "null",
                        "device": "Unknown",
                        "id": None,
                        "ipAddress": ip,
                        "geographicalContext": None,
                    },
                    "outcome": {"result": outcome, "reason": None},
                    "target": target_list,
                    "transaction": {"type": "WEB", "id": secrets.token_hex(8), "detail": detail},
                    "debugContext": {
                        "debugData": {"requestId": secrets.token_hex(8), "requestUri": request_uri}
                    },
                    "authenticationContext": {"authenticationStep": 0, "externalSessionId": ""},
                    "securityContext": {},
                }
            )
        return event_uuid

    def user(self, user_id: str) -> dict[str, Any] | None:
        with self.lock:
            return self.users.get(user_id)

    def requests_to(self, pattern: str, method: str = "GET") -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.method == method and re.fullmatch(pattern, h.path)]

    # ------------------------------------------------------------ HTTP

    def _rate_headers(self, *, exhausted: bool = False, reset_in: int | None = None) -> dict:
        now = int(time.time())
        window = now // 60
        with self.lock:
            if window != self._window:
                self._window, self._used = window, 0
            self._used += 1
            remaining = 0 if exhausted else max(0, self.rate_limit - self._used)
        reset = now + reset_in if reset_in is not None else (window + 1) * 60
        return {
            "X-Rate-Limit-Limit": str(self.rate_limit),
            "X-Rate-Limit-Remaining": str(remaining),
            "X-Rate-Limit-Reset": str(reset),
            "X-Okta-Request-Id": secrets.token_hex(10),
        }

    def _fault_for(self, hit: Hit) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.count > 0 and fault.path.search(hit.path):
                    if fault.method and fault.method != hit.method:
                        continue
                    fault.count -= 1
                    return fault
        return None

    def _respond(self, record: Recorded) -> Reply | None:
        hit = Hit(record.method, record.target, record.headers)
        with self.lock:
            self.hits.append(hit)
        reply = self._dispatch(hit, f"http://{record.headers.get('host', '')}")
        hit.status = reply.status
        if reply.status == -1:  # a slow answer cut short by stop()
            return None
        data = (
            reply.raw
            if reply.raw is not None
            else (b"" if reply.body is None else json.dumps(reply.body).encode())
        )
        headers = {"Content-Type": "application/json;charset=UTF-8", **reply.headers}
        return Reply(reply.status, headers, data)

    def _dispatch(self, hit: Hit, origin: str) -> _Reply:
        fault = self._fault_for(hit)
        if fault is not None and fault.kind == "429":
            headers = self._rate_headers(exhausted=True, reset_in=fault.reset_in)
            if fault.retry_after is not None:
                headers["Retry-After"] = fault.retry_after
            error = OktaError(
                429, "E0000047", "API call exceeded rate limit due to too many requests."
            )
            return _Reply(429, error.body(), headers)
        if fault is not None and fault.kind == "500":
            error = OktaError(500, "E0000009", "Internal Server Error")
            return _Reply(500, error.body(), self._rate_headers())
        if fault is not None and fault.kind == "slow":
            self.stopping.wait(fault.delay)
            if self.stopping.is_set():
                return _Reply(-1)
        headers = self._rate_headers()
        if fault is not None and fault.kind == "malformed":
            return _Reply(200, raw=b'[{"id": "00u1malformed", "status": "ACT', headers=headers)
        auth = hit.headers.get("authorization", "")
        secret = auth[5:] if auth.startswith("SSWS ") else ""
        with self.lock:
            token_id = self.secrets.get(secret)
            valid = (
                token_id is not None and token_id in self.api_tokens and secret not in self.expired
            )
        if not valid:
            error = OktaError(401, "E0000011", "Invalid token provided")
            return _Reply(401, error.body(), headers)
        if any(re.search(p, hit.path) for p in self.forbidden):
            error = OktaError(
                403, "E0000006", "You do not have permission to perform the requested action"
            )
            return _Reply(403, error.body(), headers)
        try:
            with self.lock:
                status, body, extra = self._route(hit, origin, token_id)
        except OktaError as exc:
            return _Reply(exc.status, exc.body(), headers)
        headers.update(extra)
        return _Reply(status, body, headers)

    def _route(self, hit: Hit, origin: str, token_id: str) -> tuple[int, Any, dict[str, str]]:
        path, query, method = hit.path, hit.query, hit.method
        if path == "/api/v1/users" and method == "GET":
            return self._list_users(query, origin)
        if path == "/api/v1/iam/assignees/users" and method == "GET" and self.assignees_api:
            return self._list_assignees(query, origin)
        if path == "/api/v1/api-tokens" and method == "GET":
            return self._list_tokens(query, origin)
        if path == "/api/v1/logs" and method == "GET":
            return self._list_logs(query, origin)
        match = re.fullmatch(r"/api/v1/api-tokens/([^/]+)", path)
        if match:
            token = self.api_tokens.get(unquote(match.group(1)))
            if token is None:
                raise _not_found("ApiToken", unquote(match.group(1)))
            if method == "GET":
                return 200, token, {}
            if method == "DELETE":
                del self.api_tokens[token["id"]]
                self._log_admin("system.api_token.revoke", [], token_id, path)
                self.logs[-1]["target"] = [
                    {
                        "id": token["id"],
                        "type": "Token",
                        "alternateId": "unknown",
                        "displayName": token["name"],
                        "detailEntry": None,
                    }
                ]
                return 204, None, {}
        match = re.fullmatch(r"/api/v1/users/([^/]+)(/.*)?", path)
        if match:
            user = self._find_user(unquote(match.group(1)))
            rest = match.group(2) or ""
            if rest == "" and method == "GET":
                return 200, user, {}
            if rest == "" and method == "DELETE":
                return self._delete_user(user, token_id, path)
            if rest == "/roles" and method == "GET":
                return 200, list(self.roles.get(user["id"], [])), {}
            if rest == "/sessions" and method == "DELETE":
                self.sessions[user["id"]] = 0
                if query.get("oauthTokens", "false").lower() == "true":
                    self.oauth_tokens[user["id"]] = 0
                default = "true" if self.identity_engine else "false"
                if query.get("forgetDevices", default).lower() == "true":
                    self.remembered_devices[user["id"]] = 0
                self._log_admin("user.session.clear", [user["id"]], token_id, path)
                return 204, None, {}
            lifecycle = re.fullmatch(r"/lifecycle/(suspend|unsuspend|deactivate)", rest)
            if lifecycle and method == "POST":
                return self._lifecycle(user, lifecycle.group(1), token_id, path)
        raise OktaError(404, "E0000022", "The endpoint does not support the provided HTTP method")

    def _find_user(self, ident: str) -> dict[str, Any]:
        user = self.users.get(ident)
        if user is None:
            for candidate in self.users.values():
                if candidate["profile"]["login"].lower() == ident.lower():
                    return candidate
            raise _not_found("User", ident)
        return user

    def _log_admin(self, event_type: str, targets: list[str], token_id: str, uri: str) -> None:
        self.log_event(
            event_type,
            actor_id=self.api_tokens.get(token_id, {}).get("userId", self.admin_id),
            targets=targets,
            ip="127.0.0.1",
            user_agent="pamtui",
            token_id=token_id,
            request_uri=uri,
        )

    def _set_status(self, user: dict[str, Any], status: str) -> None:
        user["status"] = status
        user["statusChanged"] = user["lastUpdated"] = now_iso()

    def _lifecycle(
        self, user: dict[str, Any], verb: str, token_id: str, uri: str
    ) -> tuple[int, Any, dict[str, str]]:
        status = user["status"]
        if verb == "suspend":
            if status != "ACTIVE":
                raise OktaError(
                    400,
                    "E0000001",
                    "Api validation failed: status",
                    [f"Cannot suspend a user whose status is {status}; the user must be ACTIVE"],
                )
            self._set_status(user, "SUSPENDED")
        elif verb == "unsuspend":
            if status != "SUSPENDED":
                raise OktaError(400, "E0000001", "Api validation failed: status")
            self._set_status(user, "ACTIVE")
        else:
            if status == "DEPROVISIONED":
                raise OktaError(
                    400,
                    "E0000001",
                    "Api validation failed: status",
                    ["Cannot deactivate a user that is already DEPROVISIONED"],
                )
            self._deactivate(user)
        self._log_admin(f"user.lifecycle.{verb}", [user["id"]], token_id, uri)
        return 200, {}, {}

    def _deactivate(self, user: dict[str, Any]) -> None:
        self._set_status(user, "DEPROVISIONED")
        self.sessions[user["id"]] = 0
        self.oauth_tokens[user["id"]] = 0

    def _delete_user(
        self, user: dict[str, Any], token_id: str, uri: str
    ) -> tuple[int, Any, dict[str, str]]:
        if user["status"] != "DEPROVISIONED":
            self._deactivate(user)
            self._log_admin("user.lifecycle.deactivate", [user["id"]], token_id, uri)
            return 204, None, {}
        self._log_admin("user.lifecycle.delete.initiated", [user["id"]], token_id, uri)
        del self.users[user["id"]]
        self.roles.pop(user["id"], None)
        return 204, None, {}

    @staticmethod
    def _limit(query: dict[str, str], default: int, maximum: int) -> int:
        try:
            limit = int(query.get("limit", default))
        except ValueError as exc:
            raise OktaError(400, "E0000001", "Api validation failed: limit") from exc
        return max(1, min(limit, maximum))

    @staticmethod
    def _links(origin: str, path: str, query: dict[str, str], after: str | None) -> dict:
        self_link = f'<{origin}{path}?{urlencode(query)}>; rel="self"'
        if after is None:
            return {"Link": self_link}
        following = dict(query, after=after)
        return {"Link": f'{self_link}, <{origin}{path}?{urlencode(following)}>; rel="next"'}

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, str], default: int, maximum: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Items after the ``after`` id, and the next ``after`` (None on the last page)."""
        limit = self._limit(query, default, maximum)
        start = 0
        if "after" in query:
            ids = [i["id"] for i in items]
            start = ids.index(query["after"]) + 1 if query["after"] in ids else len(items)
        chunk = items[start : start + limit]
        more = start + limit < len(items)
        return chunk, (chunk[-1]["id"] if more and chunk else None)

    def _list_users(self, query: dict[str, str], origin: str) -> tuple[int, Any, dict]:
        users = list(self.users.values())
        expression = query.get("search") or query.get("filter")
        if expression:
            try:
                groups = _parse_expression(expression)
            except ValueError as exc:
                raise OktaError(400, "E0000031", "Invalid search criteria.") from exc
            users = [u for u in users if _matches(u, groups)]
        else:
            users = [u for u in users if u["status"] != "DEPROVISIONED"]
        chunk, after = self._page(users, query, 200, 200)
        return 200, chunk, self._links(origin, "/api/v1/users", query, after)

    def _list_assignees(self, query: dict[str, str], origin: str) -> tuple[int, Any, dict]:
        holders = [{"id": uid} for uid, roles in self.roles.items() if roles]
        chunk, after = self._page(holders, query, 100, 100)
        body: dict[str, Any] = {
            "value": [
                {
                    "id": h["id"],
                    "orn": f"orn:okta:directory:00ofake:users:{h['id']}",
                    "_links": {"roles": {"href": f"{origin}/api/v1/users/{h['id']}/roles"}},
                }
                for h in chunk
            ],
            "_links": {},
        }
        if after is not None:
            following = urlencode(dict(query, after=after))
            body["_links"]["next"] = {"href": f"{origin}/api/v1/iam/assignees/users?{following}"}
        return 200, body, {}

    def _list_tokens(self, query: dict[str, str], origin: str) -> tuple[int, Any, dict]:
        chunk, after = self._page(list(self.api_tokens.values()), query, 20, 200)
        return 200, chunk, self._links(origin, "/api/v1/api-tokens", query, after)

    def _list_logs(self, query: dict[str, str], origin: str) -> tuple[int, Any, dict]:
        limit = self._limit(query, 100, 1000)
        order = query.get("sortOrder", "ASCENDING").upper()
        since = parse_ts(query["since"]) if "since" in query else None
        until = parse_ts(query["until"]) if "until" in query else None
        groups = None
        if "filter" in query:
            try:
                groups = _parse_expression(query["filter"])
            except ValueError as exc:
                raise OktaError(400, "E0000031", "Invalid search criteria.") from exc
        start = 0
        if "after" in query:
            try:
                start = int(base64.urlsafe_b64decode(query["after"].encode()).decode())
            except ValueError as exc:
                raise OktaError(400, "E0000001", "Api validation failed: after") from exc
        positions = []
        for index in range(start, len(self.logs)):
            entry = self.logs[index]
            published = parse_ts(entry["published"])
            if since is not None and published < since:
                continue
            if until is not None and published >= until:
                continue
            if groups is not None and not _matches(entry, groups):
                continue
            positions.append(index)
        if order == "DESCENDING":
            chosen = list(reversed(positions))[:limit]
            return (
                200,
                [self.logs[i] for i in chosen],
                self._links(origin, "/api/v1/logs", query, None),
            )
        chosen = positions[:limit]
        polling = until is None
        resume = len(self.logs)  # nothing matched: the next poll starts after the end
        if chosen:
            resume = chosen[-1] + 1
        elif "after" in query:
            resume = start
        more = len(positions) > limit
        after = None
        if polling or more:
            after = base64.urlsafe_b64encode(str(resume).encode()).decode()
        return (
            200,
            [self.logs[i] for i in chosen],
            self._links(origin, "/api/v1/logs", query, after),
        )


@pytest.fixture
def okta_server() -> Iterator[OktaFake]:
    fake = OktaFake()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
