"""``HttpClient``: httpx with pamtui's retry, rate-limit, size-cap and error rules.

httpx is imported, and the ``httpx.AsyncClient`` built, when the client is first
used (a request, ``url_for``, ``httpx_client``), not when it is created: a
session creates its providers as it opens, and the TUI draws its first frame
before any provider is asked anything (settings are still validated at once).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pamtui.providers.base import ProviderError
from pamtui.providers.http.auth import AuthFlow, httpx_auth, token_auth
from pamtui.providers.http.errors import HttpError, collapse, provider_message
from pamtui.providers.http.ratelimit import (
    REMAINING,
    SECONDARY_LIMIT_WAIT_S,
    header_float,
    is_rate_limited_403,
    rate_limit_wait,
    reset_wait,
)
from pamtui.providers.http.settings import (
    HttpSettings,
    check_proxy_support,
    http_from,
    httpx_client_options,
    tls_verify,
)

if TYPE_CHECKING:  # imported on first use (see the module's docstring)
    import httpx

log = logging.getLogger("pamtui.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses retried for idempotent requests."""
SAFE_RETRY_STATUSES = frozenset({429, 503})
"""Statuses retried even for requests that are not idempotent (not processed)."""
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
DEFAULT_EXPECT: tuple[int, ...] = (200, 201, 202, 204)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port
    if port is None:
        port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, port)


Sleep = Callable[[float], Awaitable[Any]]


class HttpClient:
    """An ``httpx.AsyncClient`` with pamtui's retry, rate-limit and error rules.

    ``auth`` is an ``httpx.Auth`` or an :class:`~pamtui.providers.http.auth.AuthFlow`
    (which needs no httpx until the client is built). ``sleep``, ``clock`` (wall-clock epoch seconds) and ``jitter`` (given the
    backoff cap, returns the delay) are injectable for tests; ``transport``
    too, for tests of providers that do not need a real server.
    """

    def __init__(
        self,
        name: str,
        settings: HttpSettings,
        *,
        auth: httpx.Auth | AuthFlow | None = None,
        headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[float], float] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.name = name
        self.settings = settings
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter or (lambda cap: random.uniform(0.0, cap))
        # What building the httpx client later could refuse is checked now, at creation.
        self._verify = tls_verify(name, settings)
        check_proxy_support(name, settings)
        self._auth = auth
        self._headers = dict(headers or {})
        self._transport = transport
        self._httpx: httpx.AsyncClient | None = None
        self._base_url: httpx.URL | None = None
        self._semaphore = asyncio.Semaphore(settings.max_concurrency)
        self._resume_at = 0.0
        self._secrets: tuple[str, ...] = tuple(
            s for s in (getattr(auth, "secret", None), self._proxy_password()) if s and len(s) >= 4
        )
        self.requests = 0
        """Requests sent (each attempt counts)."""
        self.retries = 0
        """Attempts beyond the first."""
        self.rate_limited_waits = 0
        """Times a request waited because the provider said so (Retry-After, reset headers)."""

    @property
    def where(self) -> str:
        return f"provider {self.name!r}"

    @property
    def _base(self) -> httpx.URL:
        if self._base_url is None:
            import httpx

            self._base_url = httpx.URL(self.settings.base_url.rstrip("/") + "/")
        return self._base_url

    @property
    def base_url(self) -> httpx.URL:
        return self._base

    @property
    def _client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient``, built (and httpx imported) on first use."""
        if self._httpx is None:
            import httpx

            options = httpx_client_options(self.name, self.settings, verify=self._verify)
            options["headers"].update(self._headers)
            if self._transport is not None:
                options["transport"] = self._transport
            self._httpx = httpx.AsyncClient(auth=httpx_auth(self._auth), **options)
        return self._httpx

    @property
    def httpx_client(self) -> httpx.AsyncClient:
        return self._client

    def _proxy_password(self) -> str | None:
        if self.settings.proxy is None:
            return None
        try:
            return urlsplit(self.settings.proxy).password
        except ValueError:
            return None

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text

    async def aclose(self) -> None:
        if self._httpx is not None:  # never built: nothing to close
            await self._httpx.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ----------------------------------------------------------------- URLs

    def url_for(self, path_or_url: str | httpx.URL) -> httpx.URL:
        """Resolve ``path_or_url`` against ``base_url``; refuse other origins."""
        import httpx

        raw = str(path_or_url)
        if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", raw):
            url = httpx.URL(raw)
        else:
            url = httpx.URL(str(self._base) + raw.lstrip("/"))
        if _origin(url) != _origin(self._base):
            raise ProviderError(
                f"{self.where}: refusing to send a request to {url.scheme}://{url.host}"
                f" (credentials only go to {self._base.scheme}://{self._base.host})"
            )
        return url

    # ----------------------------------------------------------------- requests

    async def request(
        self,
        method: str,
        path_or_url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = DEFAULT_EXPECT,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one request with retries; return the response if its status is in ``expect``.

        ``idempotent`` (default: by method) decides whether failures after which
        the server may have acted (timeouts, 500/502/504) are retried.
        """
        import httpx

        method = method.upper()
        url = self.url_for(path_or_url)
        path = url.path
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        attempts = self.settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            await self._respect_pause(method, path)
            if attempt:
                self.retries += 1
            try:
                async with self._semaphore:
                    self.requests += 1
                    response = await self._send(method, url, params, json, headers)
            except httpx.TransportError as exc:
                safe = isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                )
                what = self._describe_transport(exc)
                log.debug("%s %s %s: %s (attempt %d)", self.name, method, path, what, attempt + 1)
                if not (idempotent or safe):
                    raise HttpError(
                        f"{self.where}: {method} {path} {what}; not retried automatically "
                        f"because {method} is not idempotent",
                        retryable=True,
                        method=method,
                        path=path,
                    ) from exc
                if last:
                    raise HttpError(
                        f"{self.where}: {method} {path} {what} "
                        f"(gave up after {attempts} attempt{'s' if attempts > 1 else ''})",
                        retryable=True,
                        method=method,
                        path=path,
                    ) from exc
                await self._sleep(self._backoff(attempt))
                continue

            status = response.status_code
            log.debug("%s %s %s -> %d (attempt %d)", self.name, method, path, status, attempt + 1)
            self._note_rate_limit(response)
            if status in expect:
                return response
            rate_limited = status == 429 or is_rate_limited_403(response)
            retry_statuses = RETRY_STATUSES if idempotent else SAFE_RETRY_STATUSES
            if not (rate_limited or status in retry_statuses):
                unsafe = status in RETRY_STATUSES  # a 5xx on a non-idempotent request
                raise self._status_error(
                    method,
                    path,
                    response,
                    retryable=unsafe,
                    note=f"not retried automatically because {method} is not idempotent"
                    if unsafe
                    else "",
                )
            if last:
                raise self._status_error(method, path, response, retryable=True, attempts=attempts)
            wait = rate_limit_wait(response, self._clock())
            if wait is not None:
                self._pause(wait, method, path, response)
            else:
                await self._sleep(self._backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        """One attempt; the body is read streamed and never beyond ``max_response_bytes``.

        An endless or huge body (a broken or hostile endpoint) fails the call
        with an :class:`HttpError` instead of filling memory: without the cap a
        600 MB SCIM answer took the process to 3 GB. The cap counts decoded
        bytes, so a compressed bomb is caught too.
        """
        request = self._client.build_request(method, url, params=params, json=json, headers=headers)
        response = await self._client.send(request, stream=True)
        cap = self.settings.max_response_bytes
        try:
            declared = response.headers.get("content-length", "")
            if declared.strip().isdigit() and int(declared) > cap:
                raise self._too_large(method, url.path, response, int(declared))
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > cap:
                    raise self._too_large(method, url.path, response, None)
            response._content = bytes(body)  # what Response.aread() sets; now .json() works
        finally:
            await response.aclose()
        return response

    def _too_large(
        self, method: str, path: str, response: httpx.Response, declared: int | None
    ) -> HttpError:
        """The error for a body over the cap; ``declared`` is its Content-Length, if sent."""
        cap = self.settings.max_response_bytes
        size = f": Content-Length {declared:,}" if declared is not None else ""
        return HttpError(
            f"{self.where}: {method} {path} answered HTTP {response.status_code} with a body "
            f"larger than max_response_bytes ({cap:,} bytes){size}; stopped reading",
            status=response.status_code,
            method=method,
            path=path,
        )

    async def get_json(
        self,
        path_or_url: str | httpx.URL,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        expect: Collection[int] = (200,),
    ) -> Any:
        response = await self.request(
            "GET", path_or_url, params=params, headers=headers, expect=expect
        )
        return self.parse_json(response)

    def parse_json(self, response: httpx.Response) -> Any:
        """The JSON body, or a ProviderError naming the request (never a crash)."""
        try:
            return response.json()
        except (ValueError, UnicodeDecodeError) as exc:
            request = response.request
            kind = response.headers.get("content-type", "no content type")
            excerpt = self.redact(collapse(response.content[:512].decode("utf-8", "replace"), 80))
            raise ProviderError(
                f"{self.where}: {request.method} {request.url.path} returned malformed JSON "
                f"(HTTP {response.status_code}, {collapse(kind, 60)}): {excerpt!r}"
            ) from exc

    # ----------------------------------------------------------------- internals

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        cap = min(s.backoff_max_s, s.backoff_base_s * (2**attempt))
        return max(0.0, min(cap, self._jitter(cap)))

    def _describe_transport(self, exc: httpx.TransportError) -> str:
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            kind = {
                httpx.ConnectTimeout: "connecting",
                httpx.ReadTimeout: "waiting for the response",
                httpx.WriteTimeout: "sending the request",
                httpx.PoolTimeout: "waiting for a free connection",
            }.get(type(exc), "")
            text = f"timed out {kind} (timeout {self.settings.timeout_s:g} s)".replace("  ", " ")
        elif isinstance(exc, httpx.ConnectError):
            text = f"could not connect: {exc}" if str(exc) else "could not connect"
        else:
            detail = str(exc)
            text = f"failed: {type(exc).__name__}" + (f": {detail}" if detail else "")
        return self.redact(collapse(text, 300))

    def _status_error(
        self,
        method: str,
        path: str,
        response: httpx.Response,
        *,
        retryable: bool = False,
        attempts: int = 1,
        note: str = "",
    ) -> HttpError:
        status = response.status_code
        detail = self.redact(provider_message(response))
        reason = response.reason_phrase or ""
        text = f"{self.where}: {method} {path} failed with HTTP {status}"
        if reason:
            text += f" {reason}"
        if detail:
            text += f": {detail}"
        if attempts > 1:
            text += f" (gave up after {attempts} attempts)"
        if note:
            text += f"; {note}"
        return HttpError(
            text, status=status, retryable=retryable, method=method, path=path, detail=detail
        )

    def _note_rate_limit(self, response: httpx.Response) -> None:
        """On any response saying the budget is spent, pause until it resets."""
        if header_float(response.headers, *REMAINING) != 0:
            return
        wait = reset_wait(response.headers, self._clock())
        if wait:
            self._set_pause(wait)

    def pause_for(self, response: httpx.Response, method: str, path: str) -> None:
        """Pause the whole client as a rate-limited ``response`` asks, when its status did not.

        For APIs that say "rate limited" in a 200 body (GitHub's GraphQL
        ``RATE_LIMIT`` errors): the wait comes from ``Retry-After`` or the
        reset headers, else GitHub's one secondary-limit minute. The next
        request waits; a wait over ``rate_limit_max_wait_s`` raises the same
        retryable :class:`HttpError` as a rate-limited status would.
        """
        wait = rate_limit_wait(response, self._clock())
        if wait is None:
            wait = SECONDARY_LIMIT_WAIT_S
        self._pause(wait, method, path, response)

    def _set_pause(self, wait: float) -> None:
        self._resume_at = max(self._resume_at, self._clock() + wait)

    def _pause(self, wait: float, method: str, path: str, response: httpx.Response) -> None:
        if wait > self.settings.rate_limit_max_wait_s:
            raise self._too_long(method, path, wait, response)
        self._set_pause(wait)

    def _too_long(
        self, method: str, path: str, wait: float, response: httpx.Response | None = None
    ) -> HttpError:
        resume = time.strftime("%H:%M:%SZ", time.gmtime(self._clock() + wait))
        text = (
            f"{self.where}: {method} {path}: rate limited by the provider until {resume} "
            f"(in {wait:.0f} s, longer than rate_limit_max_wait_s = "
            f"{self.settings.rate_limit_max_wait_s:g} s)"
        )
        detail = ""
        if response is not None:
            detail = self.redact(provider_message(response))
            if detail:
                text += f": {detail}"
        return HttpError(
            text,
            status=None if response is None else response.status_code,
            retryable=True,
            method=method,
            path=path,
            detail=detail,
        )

    async def _respect_pause(self, method: str, path: str) -> None:
        target = self._resume_at
        delay = target - self._clock()
        if delay <= 0:
            return
        if delay > self.settings.rate_limit_max_wait_s:
            raise self._too_long(method, path, delay)
        self.rate_limited_waits += 1
        log.debug("%s: rate limited, waiting %.1f s", self.name, delay)
        await self._sleep(delay)
        if self._resume_at == target:
            self._resume_at = 0.0


def http_client(
    name: str,
    where: str,
    values: Mapping[str, Any],
    *,
    scheme: str = "Bearer",
    headers: Mapping[str, str] | None = None,
    **options: Any,
) -> HttpClient:
    """The :class:`HttpClient` of an HTTP provider from its validated settings.

    ``values`` holds the HTTP settings and the resolved ``token``; ``options``
    go to the client (``sleep`` in tests).
    """
    auth = token_auth(where, values["token"], scheme)
    return HttpClient(name, http_from(name, where, values), auth=auth, headers=headers, **options)
