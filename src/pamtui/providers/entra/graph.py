"""Graph requests: the shared client, with the access token redacted and OData paging.

Graph pages with ``@odata.nextLink`` in the body (an absolute URL carrying a
``$skiptoken``), not with a ``Link`` header, so :func:`pages` follows that;
a link to another origin is refused by the shared client, one that points
back to a page already read stops with an error (no endless loop).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from typing import TYPE_CHECKING, Any

from pamtui.providers.base import ProviderError
from pamtui.providers.entra.auth import TokenError, TokenSource
from pamtui.providers.http import DEFAULT_EXPECT, HttpClient, HttpError

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

MAX_PAGES = 10_000


class GraphHttp(HttpClient):
    """:class:`HttpClient` that also redacts the client secret and the access token."""

    tokens: TokenSource | None = None

    def redact(self, text: str) -> str:
        text = super().redact(text)
        return self.tokens.redact(text) if self.tokens is not None else text


class Graph:
    """Requests to Microsoft Graph for one provider; 401 and 403 explained once."""

    def __init__(self, http: GraphHttp, where: str) -> None:
        self.http = http
        self.where = where

    async def request(
        self,
        method: str,
        path: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        expect: Collection[int] = DEFAULT_EXPECT,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        try:
            return await self.http.request(
                method, path, params=params, json=json, expect=expect, idempotent=idempotent
            )
        except TokenError:
            raise
        except HttpError as exc:
            if exc.status == 401:
                raise HttpError(
                    f"{self.where}: Microsoft Graph refused the access token for {method} "
                    f"{exc.path or path} (HTTP 401) even after a fresh one was fetched; check "
                    "tenant_id, client_id and that the app registration still exists",
                    status=401,
                    method=method,
                    path=exc.path,
                ) from None
            if exc.status == 403:
                licence = "licen" in str(exc).lower()
                why = (
                    "the tenant lacks the Entra ID P1/P2 licence this needs"
                    if licence
                    else "the app registration lacks the Graph application permission for "
                    "this call (see the README's entra section)"
                )
                raise HttpError(
                    f"{exc}; {why}",
                    status=403,
                    method=method,
                    path=exc.path,
                ) from None
            raise

    async def get(self, path: str | httpx.URL, params: Mapping[str, Any] | None = None) -> Any:
        response = await self.request("GET", path, params=params, expect=(200,))
        return self.http.parse_json(response)

    async def pages(
        self, path: str, params: Mapping[str, Any] | None = None
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Each page's ``value`` (objects only), following ``@odata.nextLink``."""
        url: str | httpx.URL | None = path
        query = params
        seen: set[str] = set()
        while url is not None:
            if len(seen) >= MAX_PAGES:
                raise ProviderError(f"{self.where}: {path}: more than {MAX_PAGES} pages, stopping")
            response = await self.request("GET", url, params=query, expect=(200,))
            seen.add(str(response.request.url))
            data = self.http.parse_json(response)
            value = data.get("value") if isinstance(data, dict) else None
            if not isinstance(value, list):
                raise ProviderError(
                    f"{self.where}: GET /{path} did not return an OData collection (no 'value')"
                )
            yield [item for item in value if isinstance(item, dict)]
            following = data.get("@odata.nextLink")
            if not isinstance(following, str) or not following:
                return
            if following in seen:
                raise ProviderError(
                    f"{self.where}: {path}: the next-page link points back to a page already read"
                )
            url, query = following, None
