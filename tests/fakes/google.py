"""A fake of Google's Admin SDK (Directory and Reports APIs) and OAuth token endpoint.

A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) with in-memory state.
It is built **only** from Google's published discovery documents for
``admin:directory_v1`` and ``admin:reports_v1`` (vendored in
``tests/data/google-discovery/``, see the README there): every request is
routed by matching it against the documents' methods (HTTP method and path
template), and every request is recorded as a :class:`Call` so
:func:`conformance_problems` can check its query parameters (name, type,
minimum/maximum, pattern, enum), path parameters and body fields against the
method's description. A request matching no method answers 404 and is a
conformance problem too: the fake cannot drift from the real API without a
test failing.

Behaviour modelled from the documents' descriptions: users.list needs
``customer`` or ``domain`` and pages with ``pageToken``/``nextPageToken``;
``users.get``/``update`` take an id, the primary email or an alias;
``users.update`` applies the given fields; ``users.signOut`` answers empty;
``tokens``/``asps`` list, get and delete per user (404 once gone);
``roleAssignments.list`` filters by ``userKey``/``roleId``; ``isAdmin`` /
``isDelegatedAdmin`` follow the user's role assignments (super-admin role /
any other role); ``activities.list`` answers newest first, filtered by
``startTime``/``endTime``, paged. Each method's ``scopes`` are enforced: a
token without one of them gets 403.

Errors use Google's JSON error shape (``{"error": {"code", "message",
"errors": [{"message", "domain", "reason"}], "status"}}``); the token
endpoint answers OAuth 2.0 errors (``error``, ``error_description``).

The token endpoint (``POST /token``, RFC 7523 JWT bearer grant) verifies the
assertion's RS256 signature with the service account's public key and its
claims: ``iss`` the service account, ``sub`` an admin of the domain, ``aud``
the token endpoint's URL, ``scope`` within the scopes granted by domain-wide
delegation, ``exp`` in the future and at most an hour after ``iat``.

Assumed (not in the documents): ids and page tokens are plain counters; the
exact error texts; sign-out is not observable afterwards (as in Google).
"""

from __future__ import annotations

import base64
import functools
import json
import secrets
import threading
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.google_discovery import (
    METHODS,
    SCHEMAS,
    Call,
    Method,
    conformance_problems,
    match,
    schema_problems,
)
from tests.fakes.http import LocalServer, Recorded, Reply, handler_for

__all__ = [
    "METHODS",
    "SCHEMAS",
    "Call",
    "GoogleFake",
    "Method",
    "conformance_problems",
    "match",
    "schema_problems",
    "service_account",
]

SUPER_ADMIN_ROLE = "1"


@functools.cache
def service_account(
    client_email: str = "pamtui-sa@fake-project.iam.gserviceaccount.com",
) -> tuple[rsa.RSAPrivateKey, str]:
    """A fresh RSA key (made once per test session) and its service account JSON key text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "fake-project",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": pem,
        "client_email": client_email,
        "client_id": "100000000000000000001",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    return key, json.dumps(info)


class GoogleError(Exception):
    def __init__(self, code: int, message: str, reason: str, status: str) -> None:
        super().__init__(message)
        self.code = code
        self.body = {
            "error": {
                "code": code,
                "message": message,
                "errors": [{"message": message, "domain": "global", "reason": reason}],
                "status": status,
            }
        }


def _not_found(what: str) -> GoogleError:
    return GoogleError(404, f"Resource Not Found: {what}", "notFound", "NOT_FOUND")


def b64url_json(part: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


class GoogleFake(LocalServer):
    """The Admin SDK and the token endpoint; ``url`` serves both (``/token``)."""

    def __init__(self, public_key: rsa.RSAPublicKey, client_email: str) -> None:
        self.public_key = public_key
        self.client_email = client_email
        self.delegated_scopes: set[str] = {
            f"https://www.googleapis.com/auth/{s}"
            for s in (
                "admin.directory.user",
                "admin.directory.user.readonly",
                "admin.directory.user.security",
                "admin.directory.rolemanagement",
                "admin.directory.rolemanagement.readonly",
                "admin.reports.audit.readonly",
            )
        }
        """What domain-wide delegation grants the service account."""
        self.users: dict[str, dict[str, Any]] = {}
        self.tokens: dict[str, list[dict[str, Any]]] = {}
        self.asps: dict[str, list[dict[str, Any]]] = {}
        self.roles: dict[str, dict[str, Any]] = {
            SUPER_ADMIN_ROLE: {
                "roleId": SUPER_ADMIN_ROLE,
                "roleName": "_SEED_ADMIN_ROLE",
                "isSuperAdminRole": True,
                "isSystemRole": True,
            },
            "2": {
                "roleId": "2",
                "roleName": "_USER_MANAGEMENT_ADMIN_ROLE",
                "isSuperAdminRole": False,
                "isSystemRole": True,
            },
        }
        self.assignments: dict[str, dict[str, Any]] = {}
        self.activities: list[dict[str, Any]] = []
        self.access: dict[str, tuple[float, frozenset[str]]] = {}
        """Issued access token -> (expiry epoch, scopes)."""
        self.expires_in = 3599
        self.refuse_every_token = False
        """When set, the API answers 401 to every token (a revoked delegation)."""
        self.calls: list[Call] = []
        self.answers: list[tuple[Method, Any]] = []
        """Each API answer with a body, for :func:`schema_problems`."""
        self.token_requests = 0
        self.signed_out: list[str] = []
        self._ids = 100
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._listen(handler_for(self._respond))
        self.token_url = f"{self.url}/token"

    # -- seeding ---------------------------------------------------------------

    def _next(self) -> str:
        self._ids += 1
        return str(self._ids)

    def add_user(
        self, email: str, *, hr_id: str = "", aliases: tuple[str, ...] = (), admin: bool = False
    ) -> str:
        user_id = "1" + self._next().zfill(20)
        self.users[user_id] = {
            "kind": "admin#directory#user",
            "id": user_id,
            "primaryEmail": email,
            "name": {"fullName": email.split("@")[0].title(), "givenName": email.split("@")[0]},
            "suspended": False,
            "archived": False,
            "isAdmin": False,
            "isDelegatedAdmin": False,
            "creationTime": "2024-01-02T03:04:05.000Z",
            "lastLoginTime": "1970-01-01T00:00:00.000Z",
            "orgUnitPath": "/",
            "customerId": "C01fake",
            "aliases": list(aliases),
            "emails": [{"address": email, "primary": True}] + [{"address": a} for a in aliases],
            "externalIds": [{"type": "organization", "value": hr_id}] if hr_id else [],
        }
        self.tokens[user_id] = []
        self.asps[user_id] = []
        if admin:
            self.assign(user_id, SUPER_ADMIN_ROLE)
        return user_id

    def assign(self, user_id: str, role_id: str) -> str:
        ident = self._next()
        self.assignments[ident] = {
            "kind": "admin#directory#roleAssignment",
            "roleAssignmentId": ident,
            "roleId": role_id,
            "assignedTo": user_id,
            "assigneeType": "user",
            "scopeType": "CUSTOMER",
        }
        self._sync_admin(user_id)
        return ident

    def _sync_admin(self, user_id: str) -> None:
        held = [a["roleId"] for a in self.assignments.values() if a["assignedTo"] == user_id]
        self.users[user_id]["isAdmin"] = SUPER_ADMIN_ROLE in held
        self.users[user_id]["isDelegatedAdmin"] = any(r != SUPER_ADMIN_ROLE for r in held)

    def add_token(self, user_id: str, client_id: str, text: str) -> str:
        self.tokens[user_id].append(
            {
                "kind": "admin#directory#token",
                "clientId": client_id,
                "displayText": text,
                "scopes": ["https://mail.google.com/"],
                "userKey": user_id,
                "anonymous": False,
                "nativeApp": False,
            }
        )
        return f"oauth:{user_id}:{client_id}"

    def add_asp(self, user_id: str, name: str) -> str:
        code = int(self._next())
        self.asps[user_id].append(
            {
                "kind": "admin#directory#asp",
                "codeId": code,
                "name": name,
                "userKey": user_id,
                "creationTime": "1717000000000",
                "lastTimeUsed": "1718000000000",
            }
        )
        return f"asp:{user_id}:{code}"

    def add_activity(
        self, app: str, name: str, user_id: str, when: datetime, **params: str
    ) -> None:
        user = self.users[user_id]
        self.activities.append(
            {
                "kind": "admin#reports#activity",
                "id": {
                    "time": rfc3339(when),
                    "uniqueQualifier": self._next(),
                    "applicationName": app,
                    "customerId": "C01fake",
                },
                "actor": {
                    "email": user["primaryEmail"],
                    "profileId": user_id,
                    "callerType": "USER",
                },
                "ipAddress": "198.51.100.7",
                "events": [
                    {
                        "type": app,
                        "name": name,
                        "parameters": [{"name": k, "value": v} for k, v in params.items()],
                    }
                ],
            }
        )

    def expire_tokens(self) -> None:
        """Every access token issued so far is now expired (answered 401)."""
        with self._lock:
            self.access.clear()

    # -- serving ---------------------------------------------------------------

    def _respond(self, record: Recorded) -> Reply:
        with self._lock:
            status, data = self._answer(record)
        if data is None:
            return Reply(status)
        return Reply(status, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(data))

    def _answer(self, record: Recorded) -> tuple[int, Any]:
        body = record.body
        parts = urlsplit(record.target)
        if parts.path == "/token" and record.method == "POST":
            return self._token(body)
        query = parse_qs(parts.query, keep_blank_values=True)
        method, path_params = match(record.method, parts.path)
        payload = json.loads(body) if body else None
        self.calls.append(Call(record.method, parts.path, query, payload, method, path_params))
        try:
            if method is None:
                raise _not_found(parts.path)
            self._authorize(record.headers.get("authorization", ""), method)
            q = {k: v[-1] for k, v in query.items()}
            result = getattr(self, "_" + method.id.replace(".", "_"))(path_params, q, payload)
            if result is not None:
                self.answers.append((method, json.loads(json.dumps(result))))
            return (204 if result is None else 200), result
        except GoogleError as exc:
            return exc.code, exc.body

    def _authorize(self, header: str, method: Method) -> None:
        token = header[7:] if header.startswith("Bearer ") else ""
        expiry, scopes = self.access.get(token, (0.0, frozenset()))
        if self.refuse_every_token or expiry < time.time():
            raise GoogleError(
                401,
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
                "authError",
                "UNAUTHENTICATED",
            )
        if not scopes & set(method.scopes):
            raise GoogleError(
                403,
                "Request had insufficient authentication scopes.",
                "insufficientPermissions",
                "PERMISSION_DENIED",
            )

    def _token(self, body: bytes) -> tuple[int, Any]:
        self.token_requests += 1
        form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}

        def error(status: int, code: str, text: str) -> tuple[int, Any]:
            return status, {"error": code, "error_description": text}

        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return error(400, "unsupported_grant_type", "Invalid grant_type.")
        pieces = form.get("assertion", "").split(".")
        if len(pieces) != 3:
            return error(400, "invalid_grant", "Invalid JWT.")
        try:
            header, claims = b64url_json(pieces[0]), b64url_json(pieces[1])
            signature = base64.urlsafe_b64decode(pieces[2] + "=" * (-len(pieces[2]) % 4))
            self.public_key.verify(
                signature, f"{pieces[0]}.{pieces[1]}".encode(), padding.PKCS1v15(), hashes.SHA256()
            )
        except (ValueError, InvalidSignature):
            return error(400, "invalid_grant", "Invalid JWT Signature.")
        now = time.time()
        if header.get("alg") != "RS256":
            return error(400, "invalid_grant", "Invalid JWT: unsupported alg.")
        if claims.get("iss") != self.client_email:
            return error(401, "invalid_client", "The OAuth client was not found.")
        if claims.get("aud") != self.token_url:
            return error(400, "invalid_grant", "Invalid JWT: aud is not the token endpoint.")
        if not (claims.get("iat", 0) - 300 <= now < claims.get("exp", 0)) or (
            claims["exp"] - claims["iat"] > 3600
        ):
            return error(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token.")
        admins = {u["primaryEmail"] for u in self.users.values() if u["isAdmin"]}
        if claims.get("sub") not in admins:
            return error(400, "invalid_grant", "Invalid email or User ID")
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes or not scopes <= self.delegated_scopes:
            return error(
                401,
                "unauthorized_client",
                "Client is unauthorized to retrieve access tokens using this method, or client "
                "not authorized for any of the scopes requested.",
            )
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        self.access[token] = (now + self.expires_in, scopes)
        return 200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}

    # -- Directory API -----------------------------------------------------------

    def _user(self, key: str) -> dict[str, Any]:
        for user in self.users.values():
            if (
                key == user["id"]
                or key.lower() == user["primaryEmail"].lower()
                or key in user["aliases"]
            ):
                return user
        raise _not_found("userKey")

    @staticmethod
    def _page(items: list[Any], q: dict[str, str], default: int, key: str, kind: str) -> Any:
        start = int(q.get("pageToken") or 0)
        size = int(q.get("maxResults") or default)
        page: dict[str, Any] = {"kind": kind, key: items[start : start + size]}
        if start + size < len(items):
            page["nextPageToken"] = str(start + size)
        return page

    def _directory_users_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        if not q.get("customer") and not q.get("domain"):
            raise GoogleError(400, "Bad Request", "badRequest", "INVALID_ARGUMENT")
        users = sorted(self.users.values(), key=lambda u: u["primaryEmail"])
        return self._page(users, q, 100, "users", "admin#directory#users")

    def _directory_users_get(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return self._user(p["userKey"])

    def _directory_users_update(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        user = self._user(p["userKey"])
        for key, value in (body or {}).items():
            user[key] = value
        if body and body.get("suspended") is True:
            user["suspensionReason"] = "ADMIN"
        return user

    def _directory_users_makeAdmin(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        user = self._user(p["userKey"])
        if (body or {}).get("status") is True:
            self.assign(user["id"], SUPER_ADMIN_ROLE)
        else:
            for ident, a in list(self.assignments.items()):
                if a["assignedTo"] == user["id"] and a["roleId"] == SUPER_ADMIN_ROLE:
                    del self.assignments[ident]
            self._sync_admin(user["id"])
        return None

    def _directory_users_signOut(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        self.signed_out.append(self._user(p["userKey"])["id"])
        return None

    def _directory_tokens_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return {
            "kind": "admin#directory#tokenList",
            "items": self.tokens[self._user(p["userKey"])["id"]],
        }

    def _find_token(self, p: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        items = self.tokens[self._user(p["userKey"])["id"]]
        for item in items:
            if item["clientId"] == p["clientId"]:
                return items, item
        raise _not_found("clientId")

    def _directory_tokens_get(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return self._find_token(p)[1]

    def _directory_tokens_delete(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        items, item = self._find_token(p)
        items.remove(item)
        return None

    def _directory_asps_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return {
            "kind": "admin#directory#aspList",
            "items": self.asps[self._user(p["userKey"])["id"]],
        }

    def _find_asp(self, p: dict[str, str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        items = self.asps[self._user(p["userKey"])["id"]]
        for item in items:
            if str(item["codeId"]) == p["codeId"]:
                return items, item
        raise _not_found("codeId")

    def _directory_asps_get(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return self._find_asp(p)[1]

    def _directory_asps_delete(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        items, item = self._find_asp(p)
        items.remove(item)
        return None

    def _directory_roles_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        return self._page(list(self.roles.values()), q, 100, "items", "admin#directory#roles")

    def _directory_roleAssignments_list(
        self, p: dict[str, str], q: dict[str, str], body: Any
    ) -> Any:
        found = list(self.assignments.values())
        if q.get("userKey"):
            user_id = self._user(q["userKey"])["id"]
            found = [a for a in found if a["assignedTo"] == user_id]
        if q.get("roleId"):
            found = [a for a in found if a["roleId"] == q["roleId"]]
        return self._page(found, q, 100, "items", "admin#directory#roleAssignments")

    def _directory_roleAssignments_delete(
        self, p: dict[str, str], q: dict[str, str], body: Any
    ) -> Any:
        assignment = self.assignments.pop(p["roleAssignmentId"], None)
        if assignment is None:
            raise _not_found("roleAssignmentId")
        self._sync_admin(assignment["assignedTo"])
        return None

    # -- Reports API ---------------------------------------------------------------

    def _reports_activities_list(self, p: dict[str, str], q: dict[str, str], body: Any) -> Any:
        found = [a for a in self.activities if a["id"]["applicationName"] == p["applicationName"]]
        if p["userKey"] != "all":
            user_id = self._user(p["userKey"])["id"]
            found = [a for a in found if a["actor"]["profileId"] == user_id]

        def when(a: dict[str, Any]) -> datetime:
            return datetime.fromisoformat(a["id"]["time"].replace("Z", "+00:00"))

        if q.get("eventName"):
            found = [a for a in found if any(e["name"] == q["eventName"] for e in a["events"])]
        if q.get("startTime"):
            start = datetime.fromisoformat(q["startTime"].replace("Z", "+00:00"))
            found = [a for a in found if when(a) >= start]
        if q.get("endTime"):
            end = datetime.fromisoformat(q["endTime"].replace("Z", "+00:00"))
            found = [a for a in found if when(a) <= end]
        found.sort(key=lambda a: (when(a), int(a["id"]["uniqueQualifier"])), reverse=True)
        return self._page(found, q, 1000, "items", "admin#reports#activities")
