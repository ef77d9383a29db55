"""A faithful fake of Microsoft Graph v1.0 (and its token endpoint) for the entra provider.

A real HTTP/1.1 server on 127.0.0.1 (ephemeral port) with in-memory state,
started and stopped by the ``graph_server`` fixture. What a request may be is
taken ONLY from Microsoft's published CSDL for Graph v1.0, vendored in
``tests/data/graph-v1.0/subset.csdl`` (see its README: repository, file and
commit). :class:`GraphSchema` (tests/fakes/graph_schema.py) reads it and checks every request to
``/v1.0/...`` before the fake acts on it:

- the path: an entity set or singleton of the entity container, then keys,
  navigation properties (``users/{id}/appRoleAssignments/{id}``,
  ``directoryRoles/{id}/members/{id}/$ref``, ``auditLogs/signIns``) and bound
  actions (``users/{id}/revokeSignInSessions``,
  ``applications/{id}/removePassword``), each looked up in the entity types
  (with their base types);
- the method: GET on collections and entities, PATCH and DELETE on entities of
  an entity set, DELETE on a contained entity or a ``$ref``, POST on actions;
- the query: OData system query options only (``$select``, ``$filter``,
  ``$top``, ``$skiptoken``, ``$orderby``, ``$expand``, ``$count``,
  ``$search``), ``$select`` and the properties in ``$filter`` must be
  structural properties of the result type;
- the body: a PATCH's fields must be properties of the entity type; an
  action's fields must be its parameters, and the non-nullable ones present
  (``removeKey`` needs ``proof``).

A request that breaks these gets Graph's ``400 Request_BadRequest`` and is
recorded in :attr:`GraphFake.violations`, so the fake cannot drift from the
description and the provider cannot drift from Graph unnoticed.

Behaviour beyond the CSDL (from Microsoft's Graph documentation, kept small):
collections answer ``{"@odata.context", "value", "@odata.nextLink"}`` with a
``$skiptoken`` (``$top`` default 100, at most 999); errors are
``{"error": {"code", "message", "innerError"}}``; an expired or unknown bearer
token is ``401 InvalidAuthenticationToken``; ``signInActivity`` without a P1/P2
licence is ``403 Authentication_RequestFromNonPremiumTenantOrB2CTenant``;
``revokeSignInSessions`` answers ``200 {"value": true}`` and moves
``signInSessionsValidFromDateTime`` to now; PATCH, DELETE and
``removePassword`` answer 204; unknown ids are ``404 Request_ResourceNotFound``.
The token endpoint ``POST /{tenant}/oauth2/v2.0/token`` is the identity
platform's client-credentials grant (RFC 6749 §4.4): form fields
``grant_type``, ``client_id``, ``client_secret``, ``scope``; a bad secret is
``401 invalid_client`` (AADSTS7000215).

Fault injection (:meth:`GraphFake.inject`): 429 with ``Retry-After``, 500, a
slow answer, malformed JSON; :meth:`GraphFake.expire_tokens` expires every
issued access token, ``refuse_new_tokens`` makes even fresh ones answer 401.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from tests.fakes.graph_schema import CSDL, GraphSchema
from tests.fakes.http import LocalServer, Recorded, Reply, handler_for

__all__ = ["CSDL", "GraphFake", "GraphSchema", "graph_server"]

TENANT = "7f3c9a52-0d6e-4c1b-9e1a-3b8f5d2c6a10"
CLIENT_ID = "2b1e8c44-5a7d-4f09-b3c6-91d0e7a4f215"
CLIENT_SECRET = "Xq8~fake.graph-client-secret_4d2Ab9"
SCOPE = "https://graph.microsoft.com/.default"


def iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- the server


@dataclass
class Fault:
    kind: str
    count: int
    path: re.Pattern[str]
    retry_after: str = "1"
    delay: float = 5.0


@dataclass
class Hit:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}


class GraphError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {"request-id": str(uuid.uuid4()), "date": iso(datetime.now(UTC))},
            }
        }


def _missing(ident: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{ident}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


class GraphFake(LocalServer):
    def __init__(self, *, licensed: bool = True, sign_in_logs: bool = True) -> None:
        self.schema = GraphSchema()
        self.lock = threading.RLock()
        self.licensed = licensed
        self.sign_in_logs = sign_in_logs
        """False: a tenant without P1/P2, where ``auditLogs/signIns`` answers 403."""
        self.certificates: dict[str, Any] = {}
        """x5t (SHA-1 thumbprint, base64url) -> the public key of a registered certificate."""
        self.assertions: list[dict[str, Any]] = []
        """The claims of every client assertion accepted (a test reads them)."""
        self.users: dict[str, dict[str, Any]] = {}
        self.service_principals: dict[str, dict[str, Any]] = {}
        self.applications: dict[str, dict[str, Any]] = {}
        self.roles: dict[str, dict[str, Any]] = {}
        self.members: dict[str, list[str]] = {}
        self.grants: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, dict[str, Any]]] = {}
        self.sign_ins: list[dict[str, Any]] = []
        self.audits: list[dict[str, Any]] = []
        self.tokens: dict[str, bool] = {}
        """Access token -> still valid."""
        self.refuse_new_tokens = False
        self.faults: list[Fault] = []
        self.hits: list[Hit] = []
        self.violations: list[str] = []
        self.templates: set[tuple[str, str]] = set()
        """(method, path template) of every conforming Graph request."""
        self.stopping = threading.Event()
        self._listen(handler_for(self._respond))

    # ------------------------------------------------------------ seeding

    def add_user(self, upn: str, **fields: Any) -> str:
        user_id = str(uuid.uuid4())
        created = fields.pop("created", "2025-01-06T09:00:00Z")
        self.users[user_id] = {
            "id": user_id,
            "userPrincipalName": upn,
            "displayName": upn.split("@")[0].replace(".", " ").title(),
            "mail": upn,
            "otherMails": [],
            "accountEnabled": True,
            "employeeId": None,
            "userType": "Member",
            "createdDateTime": created,
            "signInSessionsValidFromDateTime": created,
            "signInActivity": {"lastSignInDateTime": "2026-11-30T08:15:00Z"},
            **fields,
        }
        self.assignments[user_id] = {}
        return user_id

    def add_role(self, name: str, template: str, *members: str) -> str:
        role_id = str(uuid.uuid4())
        self.roles[role_id] = {"id": role_id, "displayName": name, "roleTemplateId": template}
        self.members[role_id] = list(members)
        return role_id

    def add_service_principal(self, name: str, *, app_id: str = "", secrets: int = 0) -> str:
        sp_id = str(uuid.uuid4())
        self.service_principals[sp_id] = {
            "id": sp_id,
            "appId": app_id or str(uuid.uuid4()),
            "displayName": name,
            "accountEnabled": True,
            "servicePrincipalType": "Application",
            "passwordCredentials": [self.password(f"{name} secret {n}") for n in range(secrets)],
            "keyCredentials": [],
        }
        return sp_id

    def add_application(self, name: str, *, secrets: int = 1, keys: int = 0) -> str:
        app_id = str(uuid.uuid4())
        self.applications[app_id] = {
            "id": app_id,
            "appId": str(uuid.uuid4()),
            "displayName": name,
            "passwordCredentials": [self.password(f"{name} secret {n}") for n in range(secrets)],
            "keyCredentials": [
                {
                    "keyId": str(uuid.uuid4()),
                    "displayName": f"CN={name} {n}",
                    "type": "AsymmetricX509Cert",
                    "usage": "Verify",
                    "key": None,
                    "startDateTime": "2025-02-01T00:00:00Z",
                    "endDateTime": "2027-02-01T00:00:00Z",
                }
                for n in range(keys)
            ],
        }
        return app_id

    @staticmethod
    def password(name: str, end: str = "2027-06-30T00:00:00Z") -> dict[str, Any]:
        return {
            "keyId": str(uuid.uuid4()),
            "displayName": name,
            "hint": "Xq8",
            "secretText": None,
            "startDateTime": "2025-06-30T00:00:00Z",
            "endDateTime": end,
        }

    def add_grant(
        self, client: str, principal: str | None, scope: str = "User.Read Mail.Read"
    ) -> str:
        grant_id = uuid.uuid4().hex + uuid.uuid4().hex[:11]
        self.grants[grant_id] = {
            "id": grant_id,
            "clientId": client,
            "consentType": "Principal" if principal else "AllPrincipals",
            "principalId": principal,
            "resourceId": str(uuid.uuid4()),
            "scope": scope,
        }
        return grant_id

    def add_assignment(self, user_id: str, resource: str) -> str:
        assignment_id = uuid.uuid4().hex
        self.assignments[user_id][assignment_id] = {
            "id": assignment_id,
            "appRoleId": str(uuid.uuid4()),
            "principalId": user_id,
            "principalType": "User",
            "resourceId": str(uuid.uuid4()),
            "resourceDisplayName": resource,
            "createdDateTime": "2025-03-01T10:00:00Z",
        }
        return assignment_id

    def add_sign_in(
        self, user_id: str, when: datetime, *, error: int = 0, app: str = "Office 365"
    ) -> str:
        event_id = str(uuid.uuid4())
        self.sign_ins.append(
            {
                "id": event_id,
                "createdDateTime": iso(when),
                "userId": user_id,
                "userPrincipalName": self.users.get(user_id, {}).get("userPrincipalName"),
                "appDisplayName": app,
                "appId": str(uuid.uuid4()),
                "ipAddress": "203.0.113.7",
                "clientAppUsed": "Browser",
                "userAgent": "Mozilla/5.0",
                "conditionalAccessStatus": "notApplied",
                "status": {"errorCode": error, "failureReason": "Other." if error else None},
            }
        )
        return event_id

    def add_audit(self, activity: str, when: datetime, *, user_id: str = "") -> str:
        event_id = "Directory_" + uuid.uuid4().hex
        self.audits.append(
            {
                "id": event_id,
                "activityDateTime": iso(when),
                "activityDisplayName": activity,
                "category": "UserManagement",
                "result": "success",
                "initiatedBy": {"user": {"id": user_id, "ipAddress": "198.51.100.4"}, "app": None},
            }
        )
        return event_id

    def inject(self, kind: str, count: int = 1, *, path: str = "", **options: Any) -> None:
        with self.lock:
            self.faults.append(Fault(kind, count, re.compile(path), **options))

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, False)

    def graph_hits(self) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.path.startswith("/v1.0/")]

    # ------------------------------------------------------------ dispatch

    def _respond(self, record: Recorded) -> Reply | None:
        hit = Hit(record.method, record.target, record.headers, record.body)
        with self.lock:
            self.hits.append(hit)
        status, data, headers = self._dispatch(hit, f"http://{record.headers.get('host', '')}")
        hit.status = status
        if status == -1:  # a slow answer cut short by stop()
            return None
        return Reply(status, {"Content-Type": "application/json", **headers}, data)

    def _dispatch(self, hit: Hit, origin: str) -> tuple[int, bytes, dict[str, str]]:
        with self.lock:
            fault = next((f for f in self.faults if f.count > 0 and f.path.search(hit.path)), None)
            if fault is not None:
                fault.count -= 1
        if fault is not None and fault.kind == "429":
            error = GraphError(429, "TooManyRequests", "Too many requests.")
            return 429, json.dumps(error.body()).encode(), {"Retry-After": fault.retry_after}
        if fault is not None and fault.kind == "500":
            error = GraphError(500, "generalException", "General exception while processing.")
            return 500, json.dumps(error.body()).encode(), {}
        if fault is not None and fault.kind == "slow":
            self.stopping.wait(fault.delay)
            if self.stopping.is_set():
                return -1, b"", {}
        if fault is not None and fault.kind == "malformed":
            return 200, b'{"value": [{"id": "7f3c9a52", "displayName": "Tru', {}
        try:
            with self.lock:
                if hit.path == f"/{TENANT}/oauth2/v2.0/token" and hit.method == "POST":
                    return self._token(hit)
                if not hit.path.startswith("/v1.0/"):
                    raise _missing(hit.path)
                status, body = self._graph(hit, origin)
        except GraphError as exc:
            return exc.status, json.dumps(exc.body()).encode(), {}
        return status, b"" if body is None else json.dumps(body).encode(), {}

    def _token(self, hit: Hit) -> tuple[int, bytes, dict[str, str]]:
        form = {k: v[-1] for k, v in parse_qs(hit.body.decode()).items()}
        if form.get("grant_type") != "client_credentials" or form.get("scope") != SCOPE:
            body = {"error": "invalid_request", "error_description": "AADSTS900144: bad request."}
            return 400, json.dumps(body).encode(), {}
        if "client_assertion" in form:
            refused = self._check_assertion(form, hit)
            if refused:
                body = {"error": "invalid_client", "error_description": refused}
                return 401, json.dumps(body).encode(), {}
        elif form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            body = {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the "
                "secret being sent in the request is the client secret value, not the client "
                f"secret ID, for a secret added to app '{form.get('client_id')}'.",
            }
            return 401, json.dumps(body).encode(), {}
        token = "eyJ0eXAiOiJKV1Qi." + uuid.uuid4().hex + uuid.uuid4().hex
        self.tokens[token] = not self.refuse_new_tokens
        body = {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }
        return 200, json.dumps(body).encode(), {}

    def _check_assertion(self, form: dict[str, str], hit: Hit) -> str:
        """Why a certificate assertion is refused (AADSTS text), or "" when it is good.

        As Microsoft documents certificate credentials: an RS256 JWT whose
        header names a registered certificate by ``x5t``, with ``aud`` the token
        endpoint, ``iss`` = ``sub`` = the client id, and a current ``exp``.
        """
        import base64
        import time

        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def part(text: str) -> bytes:
            return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

        if form.get("client_assertion_type") != (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return "AADSTS50027: JWT token is invalid or malformed."
        try:
            head, body, sig = form["client_assertion"].split(".")
            header, claims = json.loads(part(head)), json.loads(part(body))
        except (ValueError, KeyError):
            return "AADSTS50027: JWT token is invalid or malformed."
        key = self.certificates.get(header.get("x5t", ""))
        if header.get("alg") != "RS256" or key is None:
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application."
        try:
            key.verify(part(sig), f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "AADSTS700027: Client assertion contains an invalid signature."
        audience = f"http://{hit.headers.get('host', '')}{hit.path}"
        if (
            claims.get("iss") != CLIENT_ID
            or claims.get("sub") != CLIENT_ID
            or claims.get("aud") != audience
            or not isinstance(claims.get("exp"), int)
            or claims["exp"] < time.time()
        ):
            return "AADSTS700024: Client assertion is not within its valid time range or its claims are wrong."
        self.assertions.append(claims)
        return ""

    def _graph(self, hit: Hit, origin: str) -> tuple[int, Any]:
        auth = hit.headers.get("authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        if not self.tokens.get(token):
            raise GraphError(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        segments = [unquote(s) for s in hit.path[len("/v1.0/") :].split("/")]
        query = hit.query
        try:
            body = json.loads(hit.body) if hit.body else None
        except ValueError:
            body = "(not JSON)"
        problem = self.schema.check(hit.method, segments, query, body)
        if problem:
            self.violations.append(f"{hit.method} {hit.path}: {problem}")
            raise GraphError(400, "Request_BadRequest", problem)
        template = self.schema.template(segments)
        self.templates.add((hit.method, template))
        selected = [s for s in query.get("$select", "").split(",") if s]
        if "signInActivity" in selected and not self.licensed:
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )
        if template == "auditLogs/signIns" and not self.sign_in_logs:
            raise GraphError(
                403,
                "Authentication_RequestFromNonPremiumTenantOrB2CTenant",
                "Neither tenant is B2C or tenant doesn't have premium license",
            )
        return self._route(hit.method, template, segments, query, body, origin)

    def _route(
        self,
        method: str,
        template: str,
        seg: list[str],
        query: dict[str, str],
        body: Any,
        origin: str,
    ) -> tuple[int, Any]:
        sets = {
            "users": self.users,
            "servicePrincipals": self.service_principals,
            "applications": self.applications,
            "directoryRoles": self.roles,
            "oauth2PermissionGrants": self.grants,
        }
        if template in sets:
            items = list(sets[template].values())
            if template == "oauth2PermissionGrants":
                items = _filter_eq(items, query.get("$filter", ""))
            return self._page(items, template, query, origin)
        if template in ("auditLogs/signIns", "auditLogs/directoryAudits"):
            items = self.sign_ins if template.endswith("signIns") else self.audits
            return self._page(
                _filter_time(items, query.get("$filter", "")), template, query, origin
            )
        if template.endswith("/{id}") and template.count("/") == 1:
            item = sets[seg[0]].get(seg[1])
            if item is None:
                raise _missing(seg[1])
            if method == "GET":
                return 200, _select(item, query)
            if method == "PATCH":
                item.update(body)
                return 204, None
            del sets[seg[0]][seg[1]]
            return 204, None
        if template == "directoryRoles/{id}/members":
            if seg[1] not in self.roles:
                raise _missing(seg[1])
            found = [
                {"@odata.type": "#microsoft.graph.user", "id": m} for m in self.members[seg[1]]
            ]
            return self._page(found, template, query, origin)
        if template == "directoryRoles/{id}/members/{id}/$ref":
            if seg[1] not in self.roles or seg[3] not in self.members[seg[1]]:
                raise _missing(seg[3])
            self.members[seg[1]].remove(seg[3])
            return 204, None
        if template.startswith("users/{id}/"):
            if seg[1] not in self.users:
                raise _missing(seg[1])
            return self._user_part(method, template, seg, query, body, origin)
        if template in (
            "applications/{id}/removePassword",
            "servicePrincipals/{id}/removePassword",
        ):
            owner = sets[seg[0]].get(seg[1])
            if owner is None:
                raise _missing(seg[1])
            kept = [p for p in owner["passwordCredentials"] if p["keyId"] != body["keyId"]]
            if len(kept) == len(owner["passwordCredentials"]):
                raise GraphError(
                    400, "InvalidKeyId", f"No password credential found with keyId {body['keyId']}."
                )
            owner["passwordCredentials"] = kept
            return 204, None
        raise GraphError(501, "NotImplemented", f"the fake does not serve {method} {template}")

    def _user_part(
        self,
        method: str,
        template: str,
        seg: list[str],
        query: dict[str, str],
        body: Any,
        origin: str,
    ) -> tuple[int, Any]:
        user_id = seg[1]
        if template == "users/{id}/revokeSignInSessions":
            self.users[user_id]["signInSessionsValidFromDateTime"] = iso(datetime.now(UTC))
            return 200, {"@odata.context": f"{origin}/v1.0/$metadata#Edm.Boolean", "value": True}
        if template == "users/{id}/oauth2PermissionGrants":
            found = [g for g in self.grants.values() if g["principalId"] == user_id]
            return self._page(found, template, query, origin)
        if template == "users/{id}/appRoleAssignments":
            return self._page(list(self.assignments[user_id].values()), template, query, origin)
        if template == "users/{id}/appRoleAssignments/{id}":
            item = self.assignments[user_id].get(seg[3])
            if item is None:
                raise _missing(seg[3])
            if method == "DELETE":
                del self.assignments[user_id][seg[3]]
                return 204, None
            return 200, _select(item, query)
        raise GraphError(501, "NotImplemented", f"the fake does not serve {method} {template}")

    @staticmethod
    def _page(
        items: list[dict[str, Any]], template: str, query: dict[str, str], origin: str
    ) -> tuple[int, Any]:
        top = min(int(query.get("$top", "100")), 999)
        start = int(query.get("$skiptoken", "0") or 0)
        page = items[start : start + top]
        body: dict[str, Any] = {
            "@odata.context": f"{origin}/v1.0/$metadata#{template}",
            "value": [_select(item, query) for item in page],
        }
        if start + top < len(items):
            following = {k: v for k, v in query.items() if k != "$skiptoken"}
            following["$skiptoken"] = str(start + top)
            path = "/".join(template.split("/"))
            body["@odata.nextLink"] = f"{origin}/v1.0/{path}?{urlencode(following)}"
        return 200, body


def _select(item: dict[str, Any], query: dict[str, str]) -> dict[str, Any]:
    wanted = [s for s in query.get("$select", "").split(",") if s]
    if not wanted:
        return {k: v for k, v in item.items() if k != "signInActivity"}
    return {k: item.get(k) for k in ["id", *wanted] if k in item or k in wanted}


def _filter_eq(items: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    if not expression:
        return items
    match = re.fullmatch(r"(\w+) eq '((?:[^']|'')*)'", expression)
    if match is None:
        raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported filter: {expression}")
    name, value = match.group(1), match.group(2).replace("''", "'")
    return [i for i in items if i.get(name) == value]


def _filter_time(items: list[dict[str, Any]], expression: str) -> list[dict[str, Any]]:
    """``<time property> ge <ISO time>``; sign-ins and audits answer newest first, as Graph does."""
    ordered = sorted(
        items, key=lambda i: i.get("createdDateTime") or i.get("activityDateTime"), reverse=True
    )
    if not expression:
        return ordered
    match = re.fullmatch(r"(createdDateTime|activityDateTime) ge (\S+)", expression)
    if match is None:
        raise GraphError(400, "Request_UnsupportedQuery", f"Unsupported filter: {expression}")
    since = datetime.fromisoformat(match.group(2).replace("Z", "+00:00"))
    return [
        i
        for i in ordered
        if datetime.fromisoformat(i[match.group(1)].replace("Z", "+00:00")) >= since
    ]


@pytest.fixture
def graph_server() -> Iterator[GraphFake]:
    fake = GraphFake()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
