"""Pagination: RFC 8288 ``Link: rel="next"`` pages and SCIM's ``startIndex``/``count`` pages."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from pamtui.providers.base import ProviderError
from pamtui.providers.http.client import HttpClient

if TYPE_CHECKING:  # annotations only: httpx is imported when a client is built
    import httpx

_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_LINK_PARAM = re.compile(
    rf"\s*;\s*(?P<key>{_TOKEN})\s*(?:=\s*(?:\"(?P<quoted>(?:[^\"\\]|\\.)*)\"|(?P<bare>[^\s;,]*)))?"
)


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """Parse an RFC 8288 ``Link`` field value into ``(target, params)`` pairs.

    Commas inside ``<...>`` and inside quoted strings do not split links;
    parameter names are lower-cased; ``rel`` keeps its (space-separated) value.
    Anything unparseable is skipped, never raised.
    """
    links: list[tuple[str, dict[str, str]]] = []
    pos, end = 0, len(value)
    while pos < end:
        start = value.find("<", pos)
        if start < 0:
            break
        close = value.find(">", start + 1)
        if close < 0:
            break
        target = value[start + 1 : close].strip()
        pos = close + 1
        params: dict[str, str] = {}
        while True:
            match = _LINK_PARAM.match(value, pos)
            if match is None:
                break
            key = match.group("key").lower()
            if match.group("quoted") is not None:
                param = re.sub(r"\\(.)", r"\1", match.group("quoted"))
            else:
                param = match.group("bare") or ""
            params.setdefault(key, param)  # RFC 8288: only the first occurrence counts
            pos = match.end()
        links.append((target, params))
        # Skip to the comma that ends this link-value (outside quotes).
        in_quote = False
        while pos < end:
            char = value[pos]
            if in_quote:
                if char == "\\":
                    pos += 1
                elif char == '"':
                    in_quote = False
            elif char == '"':
                in_quote = True
            elif char == ",":
                pos += 1
                break
            pos += 1
    return links


def next_link(response: httpx.Response) -> httpx.URL | None:
    """The absolute URL of ``rel="next"``, resolved against the response URL."""
    values = response.headers.get_list("link")
    if not values:
        return None
    for target, params in parse_link_header(", ".join(values)):
        rels = params.get("rel", "").lower().split()
        if "next" in rels and target:
            return response.request.url.join(target)
    return None


async def iter_link_pages(
    client: HttpClient,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    max_pages: int = 10_000,
) -> AsyncIterator[Any]:
    """Yield each page's parsed JSON, following ``Link: <...>; rel="next"``.

    ``params`` go with the first request only; next links carry their own
    query. A next link to another origin or back to a page already seen is a
    ProviderError (no credentials leak, no endless loop).
    """
    url: httpx.URL | str | None = path
    request_params = params
    seen: set[str] = set()
    pages = 0
    while url is not None:
        if pages >= max_pages:
            raise ProviderError(f"{client.where}: {path}: more than {max_pages} pages, stopping")
        response = await client.request("GET", url, params=request_params, headers=headers)
        seen.add(str(response.request.url))
        pages += 1
        yield client.parse_json(response)
        request_params = None
        following = next_link(response)
        if following is not None and str(following) in seen:
            raise ProviderError(
                f"{client.where}: {path}: the next-page link points back to a page already read"
            )
        url = following


def ci_get(data: Mapping[str, Any], key: str) -> Any:
    """SCIM attribute names are case-insensitive (RFC 7643 §2.1)."""
    if key in data:
        return data[key]
    lower = key.lower()
    for k, v in data.items():
        if isinstance(k, str) and k.lower() == lower:
            return v
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


async def iter_scim_pages(
    client: HttpClient,
    path: str,
    params: Mapping[str, Any] | None = None,
    page_size: int = 100,
    *,
    headers: Mapping[str, str] | None = None,
    max_pages: int = 10_000,
) -> AsyncIterator[dict[str, Any]]:
    """Yield SCIM ListResponse pages (dicts; ``Resources`` is always a list).

    Index-based pagination (RFC 7644 §3.4.2.4): ``startIndex`` is 1-based and
    advances by the number of resources actually returned, so a server that
    ignores ``count`` (returns more, or caps lower) is still walked correctly.
    Stops on an empty page, when ``startIndex`` passes ``totalResults``, or,
    without ``totalResults``, on a short page. A server that ignores
    ``startIndex`` (answers another index than asked) is a ProviderError.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    start = 1
    for _ in range(max_pages):
        query = dict(params or {})
        query["startIndex"] = start
        query["count"] = page_size
        response = await client.request("GET", path, params=query, headers=headers)
        page = client.parse_json(response)
        if not isinstance(page, dict):
            raise ProviderError(
                f"{client.where}: GET {response.request.url.path} did not return a SCIM "
                f"ListResponse (got {type(page).__name__})"
            )
        resources = ci_get(page, "Resources")
        if resources is None:
            # RFC 7644 §3.4.2: Resources is REQUIRED unless totalResults is 0. Anything
            # else is not a ListResponse (an error page, another API): never "0 accounts".
            if _as_int(ci_get(page, "totalResults")) != 0:
                raise ProviderError(
                    f"{client.where}: GET {response.request.url.path} did not return a SCIM "
                    "ListResponse (no 'Resources' list and totalResults is not 0)"
                )
            resources = []
        if not isinstance(resources, list):
            raise ProviderError(
                f"{client.where}: GET {response.request.url.path}: 'Resources' is not a list"
            )
        page = dict(page)
        page["Resources"] = resources
        answered = _as_int(ci_get(page, "startIndex"))
        if answered is not None and resources and answered != start:
            raise ProviderError(
                f"{client.where}: GET {response.request.url.path}: asked for startIndex {start}, "
                f"the server answered startIndex {answered}"
            )
        yield page
        count = len(resources)
        if count == 0:
            return
        total = _as_int(ci_get(page, "totalResults"))
        start += count
        if total is not None:
            if start > total:
                return
        elif count < page_size:
            return
    raise ProviderError(f"{client.where}: {path}: more than {max_pages} pages, stopping")
