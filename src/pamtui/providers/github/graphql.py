"""GitHub's GraphQL API, ``POST /graphql``, with the REST calls' retry and rate-limit rules.

GitHub answers a GraphQL request with HTTP 200 even when it failed: the body's
``errors`` array says why (a field that does not exist, a forbidden field, an
organisation not found, a spent rate limit). HTTP-level failures (401 bad
credentials, 5xx, 403/429 secondary limits) come from :class:`HttpClient`
exactly as for REST calls; a query is idempotent, so it is retried like a GET.

Rate limits (docs: "Rate limits and query limits for the GraphQL API"): the
primary limit is spent when ``x-ratelimit-remaining`` is 0, and GitHub then
answers ``{"errors": [{"type": "RATE_LIMIT" ...}]}`` (older answers say
``RATE_LIMITED``), sometimes with 200. The client pauses until the reset (or
``Retry-After``, or one minute) and asks again, up to ``max_retries`` times; a
reset further away than ``rate_limit_max_wait_s`` fails at once with a
retryable error that says when, as REST calls do.

The endpoint is ``/graphql`` on GitHub.com's and GHE.com's API hosts, and
``/api/graphql`` on GitHub Enterprise Server (whose REST base is ``/api/v3``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pamtui.providers.base import ProviderError
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient
from pamtui.providers.http.errors import collapse

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

RATE_LIMIT_TYPES = frozenset({"RATE_LIMIT", "RATE_LIMITED"})


class GraphQLError(ProviderError):
    """GitHub's GraphQL answer carried ``errors``; ``types`` are their ``type`` values."""

    def __init__(self, message: str, *, types: frozenset[str], retryable: bool = False) -> None:
        super().__init__(message, retryable=retryable)
        self.types = types


def graphql_url(base_url: httpx.URL) -> httpx.URL:
    """The GraphQL endpoint of the REST ``base_url`` (GHES: ``/api/v3`` -> ``/api/graphql``)."""
    path = base_url.path.rstrip("/")
    if path.endswith("/api/v3"):
        return base_url.copy_with(path=path[: -len("v3")] + "graphql", query=None)
    return base_url.copy_with(path=path + "/graphql", query=None)


def _errors(body: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    raw = body.get("errors")
    if not isinstance(raw, list):
        return []
    return [e if isinstance(e, dict) else {"message": _text(e)} for e in raw]


def _describe(errors: list[Mapping[str, Any]], redact: Callable[[str], str]) -> str:
    parts = []
    for error in errors[:3]:
        message = _text(error.get("message")) or _text(error.get("type")) or "error"
        path = error.get("path")
        if isinstance(path, list) and path:
            message += f" (at {'.'.join(str(p) for p in path)})"
        parts.append(message)
    more = f" and {len(errors) - 3} more" if len(errors) > 3 else ""
    return redact(collapse("; ".join(parts), 400)) + more


async def graphql(
    http: HttpClient,
    where: str,
    query: str,
    variables: Mapping[str, Any],
    *,
    what: str = "the query",
) -> Mapping[str, Any]:
    """Run one query; its ``data``, or :class:`GraphQLError` (or ``HttpError``) naming why.

    A spent rate limit is waited out (see the module docstring); any other
    ``errors`` entry fails the call, even when partial ``data`` came with it:
    a half-answered identity listing would silently drop links.
    """
    url = graphql_url(http.base_url)
    attempts = http.settings.max_retries + 1
    for attempt in range(attempts):
        response = await http.request(
            "POST",
            url,
            json={"query": query, "variables": dict(variables)},
            expect=(200,),
            idempotent=True,
        )
        body = http.parse_json(response)
        if not isinstance(body, dict):
            raise ProviderError(
                f"{where}: POST {url.path} ({what}) did not return a JSON object "
                f"(got {type(body).__name__})"
            )
        errors = _errors(body)
        types = frozenset(_text(e.get("type")).upper() for e in errors) - {""}
        if errors and types & RATE_LIMIT_TYPES:
            if attempt == attempts - 1:
                raise GraphQLError(
                    f"{where}: POST {url.path} ({what}): GitHub's GraphQL rate limit is spent "
                    f"(gave up after {attempts} attempts): {_describe(errors, http.redact)}",
                    types=types,
                    retryable=True,
                )
            http.pause_for(response, "POST", url.path)  # raises when the wait is too long
            continue
        if errors:
            hint = ""
            if types & {"FORBIDDEN", "INSUFFICIENT_SCOPES"}:
                hint = (
                    "; the token cannot read this (an organisation owner's token with "
                    "read:org, or a GitHub App installation with members read access)"
                )
            raise GraphQLError(
                f"{where}: POST {url.path} ({what}) failed: {_describe(errors, http.redact)}{hint}",
                types=types,
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderError(f"{where}: POST {url.path} ({what}) returned no data")
        return data
    raise AssertionError("unreachable")  # pragma: no cover
