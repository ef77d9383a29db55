"""A small, faithful fake of the GitHub REST API for one organisation.

A real HTTP/1.1 server (``ThreadingHTTPServer`` in a daemon thread on
127.0.0.1, ephemeral port) with in-memory state, started and stopped by the
``github_server`` fixture. It reproduces these documented behaviours:

- Authentication and errors (docs.github.com/rest/authentication,
  /rest/using-the-rest-api/troubleshooting-the-rest-api): a missing token is
  ``401 {"message": "Requires authentication"}``, a wrong or expired one
  ``401 {"message": "Bad credentials"}``; every error body is
  ``{"message", "documentation_url"}``; unknown paths are ``404 Not Found``;
  an unsupported ``X-GitHub-Api-Version`` is ``400``
  (/rest/about-the-rest-api/api-versions: only ``2022-11-28`` here).
- Rate limits (/rest/using-the-rest-api/rate-limits-for-the-rest-api): every
  reply carries ``X-RateLimit-Limit/Remaining/Reset/Used/Resource`` (resource
  ``core``, or ``audit_log`` for the audit log); when the budget is spent the
  reply is ``403`` with ``x-ratelimit-remaining: 0``, the reset epoch and
  "API rate limit exceeded". Secondary limits (403/429 with ``retry-after``
  and "You have exceeded a secondary rate limit") are injected as faults.
- Pagination (/rest/using-the-rest-api/using-pagination-in-the-rest-api):
  ``per_page`` (default 30, max 100) and ``page``, with
  ``Link: <...>; rel="next", <...>; rel="last"`` (and ``prev``/``first``);
  the audit log pages with opaque ``after``/``before`` cursors in its links.
- Members (/rest/orgs/members): ``GET /orgs/{org}/members`` with
  ``filter=all|2fa_disabled`` (2FA filter for owners only, else 422) and
  ``role=all|admin|member`` (invalid values: 422 Validation Failed), items are
  simple users (``login``, ``id``, ``node_id``, ``type``, ``site_admin``...);
  ``GET/DELETE /orgs/{org}/memberships/{username}`` (200 with ``state`` and
  ``role`` / 204; 404 for a non-member); ``DELETE /orgs/{org}/members/{username}``
  (204). Organisation names are case-insensitive.
- Fine-grained PATs (/rest/orgs/personal-access-tokens):
  ``GET /orgs/{org}/personal-access-tokens`` (``id``, ``owner``,
  ``repository_selection``, ``repositories_url``, ``permissions``,
  ``access_granted_at``, ``token_id``, ``token_name``, ``token_expired``,
  ``token_expires_at``, ``token_last_used_at``);
  ``POST /orgs/{org}/personal-access-tokens/{pat_id}`` ``{"action": "revoke"}``
  -> 204; ``POST /orgs/{org}/personal-access-tokens``
  ``{"action": "revoke", "pat_ids": [...]}`` -> 202 ``{}``. A revoked token
  no longer appears in the list.
- Audit log (/enterprise-cloud@latest/rest/orgs/orgs#get-the-audit-log-for-an-organization,
  /organizations/.../reviewing-the-audit-log-for-your-organization):
  ``GET /orgs/{org}/audit-log`` with ``phrase`` (``created:>=``, ``>``,
  ``<``, ``<=`` with a date or date-time, ``action:``, ``actor:``),
  ``order=asc|desc`` (default desc), ``after``/``before`` cursors, entries
  with ``@timestamp``/``created_at`` in epoch milliseconds, ``_document_id``,
  ``action``, ``actor``, ``actor_id``, ``actor_ip``, ``user_agent``, ``org``,
  ``user``... Revocations and removals append ``personal_access_token.access_revoked``
  and ``org.remove_member`` entries.

Simplified (not documented precisely, so chosen here): the status for
revoking an unknown pat id is 404 (bulk: 404 when any id is unknown, 422 for
an empty or >100 list); cursors are base64 positions; ``include`` tells
``git.*`` actions (``git``) from the others (``web``, the default) and
``all``; ``audit_log_available = False`` answers the audit log with 404 (an
organisation not on Enterprise Cloud); GitHub Apps' own tokens, outside
collaborators, teams and invitations are not modelled.

Fault injection: :meth:`GitHubFake.inject` scripts replies (``Reply`` of
``tests/fakes/http.py``, with ``delay`` for a slow answer) for the next
requests to one method and path; helpers build GitHub-shaped 429/403/500 and
malformed replies. :meth:`GitHubFake.expire` makes a token expire (401).
"""

from __future__ import annotations

import base64
import email.utils
import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import pytest

from tests.fakes import github_graphql
from tests.fakes.http import LocalServer, Recorded, Reply, handler_for

DOCS = "https://docs.github.com/rest"
RATE_DOCS = "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api"
API_VERSIONS = frozenset({"2022-11-28"})


def error(status: int, message: str, docs: str = DOCS, **headers: str) -> Reply:
    return Reply(
        status, headers=dict(headers), body={"message": message, "documentation_url": docs}
    )


def too_many_requests(retry_after: int = 2) -> Reply:
    """429 with Retry-After (secondary rate limit, as GitHub answers it)."""
    return error(
        429,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        RATE_DOCS + "#about-secondary-rate-limits",
        **{"Retry-After": str(retry_after)},
    )


def secondary_limit_403(retry_after: int = 1) -> Reply:
    return error(
        403,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
        "If you reach out to GitHub Support for help, please include the request ID ABCD:1234.",
        RATE_DOCS + "#about-secondary-rate-limits",
        **{"Retry-After": str(retry_after)},
    )


def server_error() -> Reply:
    return Reply(500, body={"message": "Server Error"})


def malformed() -> Reply:
    return Reply(
        200, headers={"Content-Type": "application/json; charset=utf-8"}, body=b'[{"login": "x",'
    )


@dataclass
class Member:
    login: str
    id: int
    role: str = "member"
    two_factor: bool = True
    type: str = "User"
    email: str | None = None
    """The public profile email (GitHub lets users publish only a verified address)."""

    def simple(self, base: str) -> dict[str, Any]:
        return {
            "login": self.login,
            "id": self.id,
            "node_id": base64.b64encode(f"04:User{self.id}".encode()).decode(),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{self.id}?v=4",
            "url": f"{base}/users/{self.login}",
            "html_url": f"https://github.com/{self.login}",
            "type": self.type,
            "site_admin": False,
        }


@dataclass
class Fault:
    method: str
    path: str
    replies: list[Reply] = field(default_factory=list)


_PHRASE = re.compile(r'(-?)(\w+):("[^"]*"|\S+)')


def _parse_when(text: str, upper: bool = False) -> int:
    """A date or date-time of the search syntax, in epoch milliseconds."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        day = datetime.fromisoformat(text).replace(tzinfo=UTC)
        ms = int(day.timestamp() * 1000)
        return ms + 86_400_000 - 1 if upper else ms
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    ms = int(parsed.timestamp() * 1000)
    return ms + 999 if upper else ms  # second precision: the whole second matches


class GitHubFake(LocalServer):
    def __init__(self, org: str = "acme", token: str = "ghs_fake-installation-token") -> None:
        self.org = org
        self.tokens = {token}
        self.expired: set[str] = set()
        self.actor = "pamtui-app[bot]"
        self.actor_id = 900_001
        self.is_owner = True
        self.audit_log_available = True
        self.members: dict[str, Member] = {}
        self.pats: dict[int, dict[str, Any]] = {}
        self.saml_sso = True
        self.saml_identities: list[dict[str, Any]] = []
        """External identities for GraphQL (``github_graphql``), in listing order."""
        self.sso_authorizations: dict[int, dict[str, Any]] = {}
        self._sso_ids = itertools.count(161_195)
        self.audit: list[dict[str, Any]] = []
        self.faults: list[Fault] = []
        self.requests: list[Recorded] = []
        self.rate_limit = 5000
        self.used = 0
        self.reset_at = int(time.time()) + 3600
        self._ids = itertools.count(1001)
        self._pat_ids = itertools.count(25_381)
        self._docs = itertools.count(1)
        self._lock = threading.RLock()
        self.stopping = threading.Event()
        self._listen(handler_for(self._respond, date_header=False))

    # ----------------------------------------------------------------- state

    def add_member(
        self,
        login: str,
        *,
        role: str = "member",
        two_factor: bool = True,
        type: str = "User",
        email: str | None = None,
    ) -> int:
        with self._lock:
            member = Member(login, next(self._ids), role, two_factor, type, email)
            self.members[login.lower()] = member
            return member.id

    def member(self, login: str) -> Member | None:
        return self.members.get(login.lower())

    def add_pat(
        self,
        owner: str,
        name: str,
        *,
        permissions: dict[str, dict[str, str]] | None = None,
        repository_selection: str = "subset",
        expired: bool = False,
        expires_at: str | None = "2030-01-01T00:00:00Z",
        last_used_at: str | None = None,
        granted_at: str = "2024-03-01T10:00:00Z",
    ) -> int:
        with self._lock:
            user = self.members[owner.lower()]
            pat_id = next(self._pat_ids)
            self.pats[pat_id] = {
                "id": pat_id,
                "owner": user.simple(self.url),
                "repository_selection": repository_selection,
                "repositories_url": f"{self.url}/orgs/{self.org}/personal-access-tokens/"
                f"{pat_id}/repositories",
                "permissions": permissions
                if permissions is not None
                else {"repository": {"metadata": "read", "contents": "write"}},
                "access_granted_at": granted_at,
                "token_id": pat_id + 10_000,
                "token_name": name,
                "token_expired": expired,
                "token_expires_at": expires_at,
                "token_last_used_at": last_used_at,
            }
            return pat_id

    def add_saml_identity(
        self,
        login: str | None,
        name_id: str | None,
        *,
        emails: tuple[str, ...] = (),
        scim_username: str | None = None,
    ) -> None:
        """An external identity (``login`` None: not claimed; ``name_id`` None: no SAML part)."""
        with self._lock:
            guid = f"guid-{len(self.saml_identities) + 1:04d}"
            self.saml_identities.append(
                {
                    "guid": guid,
                    "login": login,
                    "name_id": name_id,
                    "emails": list(emails),
                    "scim_username": scim_username,
                }
            )

    def add_sso_authorization(
        self,
        login: str,
        *,
        credential_type: str = "personal access token",
        last_eight: str | None = "12345678",
        fingerprint: str | None = None,
        scopes: list[str] | None = None,
        authorized_at: str = "2024-02-01T09:00:00Z",
        accessed_at: str | None = None,
        title: str | None = None,
        expires_at: str | None = None,
    ) -> int:
        """A credential authorised for the org's SAML SSO by member ``login``."""
        with self._lock:
            credential_id = next(self._sso_ids)
            self.sso_authorizations[credential_id] = {
                "login": self.members[login.lower()].login,
                "credential_id": credential_id,
                "credential_type": credential_type,
                "token_last_eight": last_eight,
                "credential_authorized_at": authorized_at,
                "scopes": scopes if scopes is not None else ["repo", "read:org"],
                "fingerprint": fingerprint,
                "credential_accessed_at": accessed_at,
                "authorized_credential_id": credential_id + 1_000_000,
                "authorized_credential_title": title,
                "authorized_credential_note": None,
                "authorized_credential_expires_at": expires_at,
            }
            # Documented as "only included" for tokens / for SSH keys respectively.
            item = self.sso_authorizations[credential_id]
            for key in ("token_last_eight", "fingerprint"):
                if item[key] is None:
                    del item[key]
            return credential_id

    def add_audit(self, action: str, *, ts_ms: int | None = None, **fields: Any) -> dict[str, Any]:
        with self._lock:
            when = ts_ms if ts_ms is not None else int(time.time() * 1000)
            entry = {
                "@timestamp": when,
                "created_at": when,
                "_document_id": base64.urlsafe_b64encode(
                    f"doc-{next(self._docs):06d}".encode()
                ).decode(),
                "action": action,
                "org": self.org,
                "org_id": 4242,
                **({} if "actor" in fields else {"actor": self.actor, "actor_id": self.actor_id}),
                **fields,
            }
            self.audit.append(entry)
            return entry

    def inject(self, method: str, path: str, *replies: Reply) -> None:
        """The next requests ``method path`` get ``replies``, in order, once each."""
        with self._lock:
            self.faults.append(Fault(method.upper(), path, list(replies)))

    def expire(self, token: str) -> None:
        self.expired.add(token)

    def hits(self, method: str, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    # ----------------------------------------------------------------- protocol

    def _respond(self, record: Recorded) -> Reply | None:
        reply, resource = self._handle(record)
        if reply.delay:
            self.stopping.wait(reply.delay)
            if self.stopping.is_set():
                return None
        headers = {**self._common_headers(resource), **reply.headers}
        return replace(reply, headers=headers)

    def _common_headers(self, resource: str) -> dict[str, str]:
        with self._lock:
            return {
                "Date": email.utils.formatdate(usegmt=True),
                "X-GitHub-Media-Type": "github.v3; format=json",
                "X-GitHub-Api-Version-Selected": "2022-11-28",
                "X-GitHub-Request-Id": f"FAKE:{len(self.requests):08X}",
                "X-RateLimit-Limit": str(self.rate_limit),
                "X-RateLimit-Remaining": str(max(0, self.rate_limit - self.used)),
                "X-RateLimit-Reset": str(self.reset_at),
                "X-RateLimit-Used": str(self.used),
                "X-RateLimit-Resource": resource,
            }

    def _handle(self, record: Recorded) -> tuple[Reply, str]:
        with self._lock:
            self.requests.append(record)
            resource = "audit_log" if record.path.endswith("/audit-log") else "core"
            resource = "graphql" if record.path == "/graphql" else resource
            auth = record.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if not auth:
                return error(401, "Requires authentication"), resource
            if scheme.lower() not in ("bearer", "token") or token not in self.tokens:
                return error(401, "Bad credentials"), resource
            if token in self.expired:
                return error(401, "Bad credentials"), resource
            version = record.headers.get("x-github-api-version")
            if version is not None and version not in API_VERSIONS:
                return error(
                    400,
                    f"Unsupported 'X-GitHub-Api-Version' header version '{version}'",
                    "https://docs.github.com/rest/about-the-rest-api/api-versions",
                ), resource
            for fault in self.faults:
                if fault.method == record.method and fault.path == record.path and fault.replies:
                    self.used += 1
                    return fault.replies.pop(0), resource
            if self.used >= self.rate_limit:
                return error(
                    403,
                    "API rate limit exceeded for installation ID 4242.",
                    RATE_DOCS,
                ), resource
            self.used += 1
            return self._route(record), resource

    def _route(self, record: Recorded) -> Reply:
        if record.path == "/graphql" and record.method == "POST":
            return Reply(200, body=github_graphql.answer(self, self._body(record)))
        parts = [unquote(p) for p in record.path.strip("/").split("/")]
        if len(parts) == 2 and parts[0] == "users" and record.method == "GET":
            user = self.member(parts[1])
            if user is None:
                return error(404, "Not Found")
            return Reply(200, body={**user.simple(self.url), "name": None, "email": user.email})
        if len(parts) < 3 or parts[0] != "orgs" or parts[1].lower() != self.org.lower():
            return error(404, "Not Found")
        rest, method = parts[2:], record.method
        query = {k: v[-1] for k, v in parse_qs(urlsplit(record.target).query).items()}
        if rest == ["members"] and method == "GET":
            return self._list_members(record, query)
        if len(rest) == 2 and rest[0] in ("memberships", "members"):
            return self._membership(method, rest[0], rest[1])
        if rest == ["personal-access-tokens"]:
            if method == "GET":
                return self._page(record, list(self.pats.values()), query)
            if method == "POST":
                return self._revoke_bulk(record)
        if len(rest) == 2 and rest[0] == "personal-access-tokens" and method == "POST":
            return self._revoke_one(record, rest[1])
        if rest == ["audit-log"] and method == "GET":
            return self._audit_log(record, query)
        if rest and rest[0] == "credential-authorizations":
            return self._credential_authorizations(record, method, rest[1:], query)
        return error(404, "Not Found")

    def _credential_authorizations(
        self, record: Recorded, method: str, rest: list[str], query: dict[str, str]
    ) -> Reply:
        if not self.saml_sso:
            return error(404, "Not Found")
        if not rest and method == "GET":
            items = sorted(self.sso_authorizations.values(), key=lambda i: i["credential_id"])
            login = query.get("login")
            if login:
                items = [i for i in items if i["login"].lower() == login.lower()]
            return self._page(record, items, query)
        if len(rest) == 1 and method == "DELETE":
            raw = rest[0]
            if not raw.isdigit() or int(raw) not in self.sso_authorizations:
                return error(404, "Not Found")
            item = self.sso_authorizations.pop(int(raw))
            self.add_audit(
                "org.revoke_sso_authorization", user=item["login"], credential_id=int(raw)
            )
            return Reply(204)
        return error(404, "Not Found")

    def _page(self, record: Recorded, items: list[Any], query: dict[str, str]) -> Reply:
        try:
            per_page = min(100, max(1, int(query.get("per_page", 30))))
            page = max(1, int(query.get("page", 1)))
        except ValueError:
            return error(422, "Validation Failed")
        last = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(n: int, rel: str) -> str:
            q = dict(query, per_page=str(per_page), page=str(n))
            return f'<{self.url}{urlsplit(record.target).path}?{urlencode(q)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"Link": ", ".join(links)} if links else {}
        return Reply(200, headers=headers, body=chunk)

    def _list_members(self, record: Recorded, query: dict[str, str]) -> Reply:
        role = query.get("role", "all")
        flt = query.get("filter", "all")
        if role not in ("all", "admin", "member") or flt not in ("all", "2fa_disabled"):
            return error(422, "Validation Failed")
        if flt == "2fa_disabled" and not self.is_owner:
            return error(422, "Only organization owners can filter members by 2FA status.")
        chosen = sorted(self.members.values(), key=lambda m: m.id)
        if role != "all":
            chosen = [m for m in chosen if m.role == role]
        if flt == "2fa_disabled":
            chosen = [m for m in chosen if not m.two_factor]
        return self._page(record, [m.simple(self.url) for m in chosen], query)

    def _membership(self, method: str, kind: str, login: str) -> Reply:
        member = self.member(login)
        if kind == "memberships" and method == "GET":
            if member is None:
                return error(404, "Not Found")
            return Reply(
                200,
                body={
                    "url": f"{self.url}/orgs/{self.org}/memberships/{member.login}",
                    "state": "active",
                    "role": member.role,
                    "organization_url": f"{self.url}/orgs/{self.org}",
                    "user": member.simple(self.url),
                },
            )
        if method != "DELETE":
            return error(404, "Not Found")
        if member is None:
            # DELETE /members/{username} answers 204 whether or not the user is a member.
            return error(404, "Not Found") if kind == "memberships" else Reply(204)
        del self.members[login.lower()]
        self.add_audit("org.remove_member", user=member.login, user_id=member.id)
        return Reply(204)

    def _body(self, record: Recorded) -> Any:
        try:
            return json.loads(record.body or b"null")
        except ValueError:
            return None

    def _revoke_one(self, record: Recorded, raw_id: str) -> Reply:
        body = self._body(record)
        if not isinstance(body, dict) or body.get("action") != "revoke":
            return error(422, "Validation Failed")
        if not raw_id.isdigit() or int(raw_id) not in self.pats:
            return error(404, "Not Found")
        self._revoke(int(raw_id))
        return Reply(204)

    def _revoke_bulk(self, record: Recorded) -> Reply:
        body = self._body(record)
        ids = body.get("pat_ids") if isinstance(body, dict) else None
        if (
            not isinstance(body, dict)
            or body.get("action") != "revoke"
            or not isinstance(ids, list)
            or not 1 <= len(ids) <= 100
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)
        ):
            return error(422, "Validation Failed")
        if any(i not in self.pats for i in ids):
            return error(404, "Not Found")
        for pat_id in ids:
            self._revoke(pat_id)
        return Reply(202, body={})

    def _revoke(self, pat_id: int) -> None:
        pat = self.pats.pop(pat_id)
        self.add_audit(
            "personal_access_token.access_revoked",
            user=pat["owner"]["login"],
            user_id=pat["owner"]["id"],
            token_id=pat["token_id"],
        )

    def _audit_log(self, record: Recorded, query: dict[str, str]) -> Reply:
        if not self.audit_log_available:
            return error(404, "Not Found")
        order = query.get("order", "desc")
        include = query.get("include", "web")
        if order not in ("asc", "desc") or include not in ("web", "git", "all"):
            return error(422, "Validation Failed")
        try:
            per_page = min(100, max(1, int(query.get("per_page", 30))))
            matches = self._phrase(query.get("phrase", ""))
        except ValueError:
            return error(422, "Validation Failed")
        ordered = sorted(
            (
                e
                for e in self.audit
                if matches(e)
                and (include == "all" or (include == "git") == e["action"].startswith("git."))
            ),
            key=lambda e: (e["@timestamp"], e["_document_id"]),
            reverse=order == "desc",
        )
        keys = [(e["@timestamp"], e["_document_id"]) for e in ordered]
        start = 0
        if query.get("after"):
            try:
                after = json.loads(base64.urlsafe_b64decode(query["after"]))
            except ValueError:
                return error(422, "Validation Failed")
            key = (after[0], after[1])
            start = next(
                (i for i, k in enumerate(keys) if (k > key if order == "asc" else k < key)),
                len(keys),
            )
        chunk = ordered[start : start + per_page]
        headers = {}
        if start + per_page < len(ordered) and chunk:
            last = chunk[-1]
            cursor = base64.urlsafe_b64encode(
                json.dumps([last["@timestamp"], last["_document_id"]]).encode()
            ).decode()
            q = {k: v for k, v in query.items() if k not in ("after", "before", "page")}
            q["after"] = cursor
            q["before"] = ""
            headers["Link"] = (
                f'<{self.url}{urlsplit(record.target).path}?{urlencode(q)}>; rel="next"'
            )
        return Reply(200, headers=headers, body=chunk)

    def _phrase(self, phrase: str) -> Any:
        tests = []
        for negate, key, value in _PHRASE.findall(phrase):
            value = value.strip('"')
            if key == "created":
                match = re.fullmatch(r"(>=|<=|>|<)?(.+)", value)
                assert match is not None
                op, when = match.group(1) or "", match.group(2)
                lo, hi = _parse_when(when), _parse_when(when, upper=True)
                test = {
                    ">=": lambda e, lo=lo: e["@timestamp"] >= lo,
                    ">": lambda e, hi=hi: e["@timestamp"] > hi,
                    "<=": lambda e, hi=hi: e["@timestamp"] <= hi,
                    "<": lambda e, lo=lo: e["@timestamp"] < lo,
                    "": lambda e, lo=lo, hi=hi: lo <= e["@timestamp"] <= hi,
                }[op]
            elif key in ("action", "actor", "user", "repo"):
                test = lambda e, key=key, value=value: str(e.get(key, "")) == value  # noqa: E731
            else:
                raise ValueError(key)
            tests.append((bool(negate), test))
        return lambda e: all(t(e) != n for n, t in tests)


@pytest.fixture
def github_server() -> Iterator[GitHubFake]:
    server = GitHubFake()
    server.start()
    try:
        yield server
    finally:
        server.stop()
