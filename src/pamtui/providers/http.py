"""The one HTTP client every HTTP provider uses (httpx, async).

What it does for a provider:

- settings: :func:`http_settings` validates the HTTP part of a provider's
  config (``base_url``, timeouts, retries, TLS, proxy, ...) and hands back the
  rest; every error names the key.
- retries: connect errors, timeouts, read errors, HTTP 500/502/503/504 and 429
  are retried up to ``max_retries`` times with exponential backoff and full
  jitter (``uniform(0, min(backoff_max_s, backoff_base_s * 2**n))``). Requests
  that are not idempotent (POST, PATCH unless ``idempotent=True``) are only
  retried when the server cannot have acted on them: connect errors, 429, 503.
- rate limits: ``Retry-After`` (delay-seconds or HTTP-date, RFC 9110 §10.2.3),
  Okta's ``X-Rate-Limit-Remaining``/``X-Rate-Limit-Reset`` and GitHub's
  ``X-RateLimit-Remaining``/``X-RateLimit-Reset`` (UTC epoch seconds), and
  GitHub's secondary limits (403/429 with ``retry-after``, or with a message
  about a rate limit: wait a minute). A rate-limit wait pauses the whole client
  (every request waits), not only the request that was told to wait. Epoch
  resets are measured against the response's ``Date`` header when there is one
  (so a skewed local clock does not matter), else against the local clock.
  No single wait is longer than ``rate_limit_max_wait_s`` (default 60 s: one
  Okta window, one GitHub secondary-limit minute); when the provider asks for
  more (e.g. GitHub's hourly primary limit), the request fails at once with a
  retryable :class:`HttpError` that says when the limit resets, rather than
  hanging a UI or a sweep for an hour.
- errors: a non-retryable status raises :class:`HttpError` at once with the
  provider's own message (SCIM ``detail``/``scimType``, Okta
  ``errorSummary``/``errorCauses``, GitHub ``message``/``documentation_url``,
  RFC 9457 ``title``/``detail``, OAuth ``error_description``) or a short
  excerpt of the body. Messages never contain request headers, query strings
  or the secret (which is also scrubbed from anything the server echoes).
- pagination: :func:`iter_link_pages` (RFC 8288 ``Link: <...>; rel="next"``)
  and :func:`iter_scim_pages` (RFC 7644 §3.4.2.4 ``startIndex``/``count``).
- credentials are only ever sent to ``base_url``'s origin: an absolute URL or
  a ``next`` link pointing elsewhere is refused.

No Textual, journal, queue or UI knowledge lives here.
"""

from __future__ import annotations

import asyncio
import email.utils
import json as jsonlib
import logging
import random
import re
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Generator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from pamtui import __version__
from pamtui.providers.base import ProviderConfigError, ProviderError
from pamtui.providers.kit.settings import (
    REQUIRED,
    Setting,
    SettingError,
    Settings,
    boolean,
    ca_bundle,
    integer,
    number,
    string,
    url_check,
)

log = logging.getLogger("pamtui.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses retried for idempotent requests."""
SAFE_RETRY_STATUSES = frozenset({429, 503})
"""Statuses retried even for requests that are not idempotent (not processed)."""
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
DEFAULT_EXPECT: tuple[int, ...] = (200, 201, 202, 204)
SECONDARY_LIMIT_WAIT_S = 60.0
"""GitHub: "otherwise, wait for at least one minute before retrying"."""
_EPOCH_THRESHOLD = 1_000_000_000
"""A reset value above this is an epoch timestamp; below, a delay in seconds."""
_EXCERPT = 200


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class HttpSettings:
    base_url: str
    timeout_s: float = 10.0
    max_retries: int = 4
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    verify_tls: bool = True
    ca_bundle: Path | None = None
    proxy: str | None = None
    user_agent: str | None = None
    """None: ``pamtui/<version> (+provider NAME)``."""
    max_concurrency: int = 8
    rate_limit_max_wait_s: float = 60.0
    """Longest single wait a rate limit may impose before the request fails (retryable)."""
    max_response_bytes: int = 32 * 1024 * 1024
    """Largest response body read; a longer one fails the call (a provider error)."""


def default_user_agent(name: str) -> str:
    return f"pamtui/{__version__} (+provider {name})"


def _single_line(value: str) -> str:
    if _has_crlf(value):
        raise SettingError("must be a non-empty single-line string")
    return value


def _seconds(
    name: str, help: str, default: float, *, high: float, low_open: bool = False
) -> Setting:
    return number(name, help, default, low=0, high=high, low_open=low_open, unit="seconds")


HTTP_SETTINGS = Settings(
    string(
        "base_url",
        "the API root, e.g. https://idp.example.com/scim/v2 (no credentials, no query)",
        REQUIRED,
        non_empty=True,
        expected="a non-empty URL string",
        check=url_check(("http", "https"), no_credentials=True, no_query=True),
    ),
    _seconds(
        "timeout_s",
        "connect, read and write timeout of each request",
        10.0,
        high=600,
        low_open=True,
    ),
    integer(
        "max_retries", "retries of a failed idempotent request (or a 429/503)", 4, low=0, high=20
    ),
    _seconds(
        "backoff_base_s", "first retry backoff; doubles each retry, with full jitter", 0.5, high=600
    ),
    _seconds("backoff_max_s", "longest retry backoff (at least backoff_base_s)", 30.0, high=3600),
    boolean("verify_tls", "check the server's TLS certificate", True),
    ca_bundle(),
    string(
        "proxy",
        "an http, https or socks5 proxy URL (default: the environment's)",
        non_empty=True,
        expected="a non-empty URL string",
        check=url_check(("http", "https", "socks5", "socks5h")),
    ),
    string(
        "user_agent",
        "the User-Agent header (default: pamtui/VERSION (+provider NAME))",
        non_empty=True,
        expected="a non-empty single-line string",
        check=_single_line,
    ),
    integer("max_concurrency", "requests in flight at once", 8, low=1, high=256),
    _seconds(
        "rate_limit_max_wait_s",
        "longest wait a rate limit may impose before the call fails (retryable)",
        60.0,
        high=86400,
    ),
    integer(
        "max_response_bytes",
        "largest response body read; a larger one fails the call",
        32 * 1024 * 1024,
        low=1024,
        high=1024**3,
        unit="bytes",
    ),
    group="http",
)
"""The settings every HTTP provider takes (its own come after them)."""

HTTP_KEYS = frozenset(HTTP_SETTINGS.names())


def http_from(name: str, where: str, values: Mapping[str, Any]) -> HttpSettings:
    """:class:`HttpSettings` from validated values (the HTTP part of ``values``)."""
    if values["backoff_max_s"] < values["backoff_base_s"]:
        raise ProviderConfigError(
            f"{where}: setting 'backoff_max_s' must be >= backoff_base_s "
            f"({values['backoff_base_s']:g})"
        )
    if values["ca_bundle"] is not None and not values["verify_tls"]:
        raise ProviderConfigError(
            f"{where}: setting 'ca_bundle' is set but 'verify_tls' is false; choose one"
        )
    fields = {key: values[key] for key in HTTP_KEYS}
    fields["user_agent"] = values["user_agent"] or default_user_agent(name)
    return HttpSettings(**fields)


def http_settings(
    name: str,
    settings: Mapping[str, Any],
    *,
    allowed_extra_keys: Collection[str] = (),
    type_name: str | None = None,
) -> tuple[HttpSettings, dict[str, Any]]:
    """Validate the HTTP settings of provider ``name``; return them and the other keys.

    For code that declares only some of its settings: keys that are neither
    HTTP settings nor in ``allowed_extra_keys`` are an error, the extra ones
    are handed back unchecked.
    """
    where = f"provider {name!r}" + (f" (type {type_name})" if type_name else "")
    # The extra keys are only allowed here, not checked: the caller checks them.
    extra = Settings(Setting(key, "any", "") for key in allowed_extra_keys if key not in HTTP_KEYS)
    values = Settings(HTTP_SETTINGS, extra).parse(where, settings)
    rest = {key: settings[key] for key in settings if key not in HTTP_KEYS}
    return http_from(name, where, values), rest


def _has_crlf(text: str) -> bool:
    return "\r" in text or "\n" in text or "\x00" in text


def httpx_client_options(name: str, settings: HttpSettings) -> dict[str, Any]:
    """Keyword arguments for ``httpx.AsyncClient`` built from ``settings``."""
    verify: bool | ssl.SSLContext
    if not settings.verify_tls:
        verify = False
    elif settings.ca_bundle is not None:
        try:
            verify = ssl.create_default_context(cafile=str(settings.ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise ProviderConfigError(
                f"provider {name!r}: setting 'ca_bundle': cannot load {str(settings.ca_bundle)!r}: "
                f"{exc}"
            ) from exc
    else:
        verify = True
    options: dict[str, Any] = {
        "timeout": httpx.Timeout(settings.timeout_s),
        "verify": verify,
        "limits": httpx.Limits(
            max_connections=settings.max_concurrency,
            max_keepalive_connections=settings.max_concurrency,
        ),
        "follow_redirects": True,  # httpx drops Authorization on a cross-origin redirect
        "headers": {
            "User-Agent": settings.user_agent or default_user_agent(name),
            "Accept": "application/json",
        },
        "trust_env": settings.proxy is None,
    }
    if settings.proxy is not None:
        options["proxy"] = settings.proxy
    return options


# --------------------------------------------------------------------------- auth


class TokenAuth(httpx.Auth):
    """``Authorization: <scheme> <token>``: ``Bearer`` (SCIM, GitHub) or ``SSWS`` (Okta).

    The token is resolved elsewhere and handed in; it never appears in a repr
    or an error message.
    """

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        if not isinstance(token, str) or not token.strip():
            raise ProviderConfigError("the API token is empty")
        if _has_crlf(token):
            raise ProviderConfigError("the API token contains a line break")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*", scheme):
            raise ProviderConfigError(f"invalid authorization scheme {scheme!r}")
        self.scheme = scheme
        self._token = token.strip()

    @property
    def secret(self) -> str:
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"{self.scheme} {self._token}"
        yield request

    def __repr__(self) -> str:
        return f"TokenAuth(scheme={self.scheme!r}, token=<redacted>)"


def token_auth(where: str, token: str, scheme: str = "Bearer", key: str = "token") -> TokenAuth:
    """:class:`TokenAuth` for the resolved secret of setting ``key``; errors name the key."""
    try:
        return TokenAuth(token, scheme)
    except ProviderConfigError as exc:
        raise ProviderConfigError(f"{where}: setting {key!r}: {exc}") from exc


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


def bearer_auth(token: str) -> TokenAuth:
    return TokenAuth(token, "Bearer")


def ssws_auth(token: str) -> TokenAuth:
    """Okta API tokens: ``Authorization: SSWS <token>``."""
    return TokenAuth(token, "SSWS")


# --------------------------------------------------------------------------- errors


class HttpError(ProviderError):
    """An HTTP call failed; ``status`` is None when no response arrived."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        method: str = "",
        path: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.method = method
        self.path = path
        self.detail = detail


def _collapse(text: str, limit: int = _EXCERPT) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def provider_message(response: httpx.Response) -> str:
    """The provider's own explanation of an error response, short, one line."""
    body = response.content
    if not body:
        return ""
    try:
        data = jsonlib.loads(body)
    except ValueError:
        data = None
    if isinstance(data, dict):
        found = _message_from_json(data)
        if found:
            return _collapse(found, 400)
    text = body[:4096].decode("utf-8", "replace")
    if "<html" in text.lower()[:512]:
        match = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
        return _collapse(match.group(1)) if match else ""
    return _collapse(text)


def _message_from_json(data: dict[str, Any]) -> str:
    # Okta: {"errorCode","errorSummary","errorCauses":[{"errorSummary"}]}
    summary = _str(data.get("errorSummary"))
    if summary:
        causes = [
            _str(c.get("errorSummary"))
            for c in data.get("errorCauses") or []
            if isinstance(c, dict) and _str(c.get("errorSummary"))
        ]
        code = _str(data.get("errorCode"))
        text = summary + (f" ({code})" if code else "")
        if causes:
            text += ": " + "; ".join(causes)
        return text
    # SCIM (RFC 7644 §3.12): {"schemas":[...Error], "status", "scimType", "detail"}
    detail = _str(data.get("detail"))
    scim_type = _str(data.get("scimType"))
    if scim_type or (detail and "schemas" in data):
        return f"{scim_type}: {detail}" if scim_type and detail else scim_type or detail
    # GitHub: {"message", "documentation_url", "errors":[...]}
    message = _str(data.get("message"))
    if message:
        errors = [
            _str(e.get("message")) or _str(e.get("code"))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        errors = [e for e in errors if e]
        if errors:
            message += ": " + "; ".join(errors)
        doc = _str(data.get("documentation_url"))
        return message + (f" (see {doc})" if doc else "")
    # RFC 9457 problem details, OAuth 2.0 errors, and the common {"error": "..."}.
    title = _str(data.get("title"))
    if title or detail:
        return f"{title}: {detail}" if title and detail else title or detail
    oauth = _str(data.get("error_description"))
    error = data.get("error")
    if isinstance(error, dict):
        return _message_from_json(error)
    if oauth or _str(error):
        return f"{_str(error)}: {oauth}" if oauth and _str(error) else oauth or _str(error)
    return ""


# --------------------------------------------------------------------------- rate-limit hints


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or HTTP-date)."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now)


def _header_float(headers: httpx.Headers, *names: str) -> float | None:
    for name in names:
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw.strip())
        except ValueError:
            continue
        if value == value:  # not NaN
            return value
    return None


def _server_now(headers: httpx.Headers, local_now: float) -> float:
    """The server's idea of now (``Date``), so epoch resets survive local clock skew."""
    raw = headers.get("date")
    if raw:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return when.timestamp()
    return local_now


_REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining")
_RESET = ("x-rate-limit-reset", "x-ratelimit-reset")


def _reset_wait(headers: httpx.Headers, local_now: float) -> float | None:
    reset = _header_float(headers, *_RESET)
    if reset is None:
        return None
    if reset > _EPOCH_THRESHOLD:
        return max(0.0, reset - _server_now(headers, local_now))
    return max(0.0, reset)


def _rate_limit_wait(response: httpx.Response, local_now: float) -> float | None:
    """How long a 429/503/rate-limited-403 response asks us to wait, if it says."""
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"), _server_now(headers, local_now))
    if retry_after is not None:
        return retry_after
    remaining = _header_float(headers, *_REMAINING)
    if response.status_code == 429 or remaining == 0:
        wait = _reset_wait(headers, local_now)
        if wait is not None:
            return wait
    if response.status_code == 403:
        return SECONDARY_LIMIT_WAIT_S
    return None


def _is_rate_limited_403(response: httpx.Response) -> bool:
    """GitHub answers some rate limits with 403; tell them from a permission error."""
    if response.status_code != 403:
        return False
    headers = response.headers
    if "retry-after" in headers:
        return True
    if _header_float(headers, *_REMAINING) == 0:
        return True
    return "rate limit" in provider_message(response).lower()


# --------------------------------------------------------------------------- client


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    port = url.port
    if port is None:
        port = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, port)


Sleep = Callable[[float], Awaitable[Any]]


class HttpClient:
    """An ``httpx.AsyncClient`` with pamtui's retry, rate-limit and error rules.

    ``sleep``, ``clock`` (wall-clock epoch seconds) and ``jitter`` (given the
    backoff cap, returns the delay) are injectable for tests; ``transport``
    too, for tests of providers that do not need a real server.
    """

    def __init__(
        self,
        name: str,
        settings: HttpSettings,
        *,
        auth: httpx.Auth | None = None,
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
        options = httpx_client_options(name, settings)
        if headers:
            options["headers"].update(headers)
        if transport is not None:
            options["transport"] = transport
        self._base = httpx.URL(settings.base_url.rstrip("/") + "/")
        self._client = httpx.AsyncClient(auth=auth, **options)
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
    def base_url(self) -> httpx.URL:
        return self._base

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
        await self._client.aclose()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # ----------------------------------------------------------------- URLs

    def url_for(self, path_or_url: str | httpx.URL) -> httpx.URL:
        """Resolve ``path_or_url`` against ``base_url``; refuse other origins."""
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
            rate_limited = status == 429 or _is_rate_limited_403(response)
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
            wait = _rate_limit_wait(response, self._clock())
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

    def _too_large(self, method: str, path: str, response: httpx.Response, size: str) -> HttpError:
        cap = self.settings.max_response_bytes
        return HttpError(
            f"{self.where}: {method} {path} answered HTTP {response.status_code} with a body "
            f"larger than max_response_bytes ({cap:,} bytes): {size}; stopped reading",
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
            excerpt = self.redact(_collapse(response.content[:512].decode("utf-8", "replace"), 80))
            raise ProviderError(
                f"{self.where}: {request.method} {request.url.path} returned malformed JSON "
                f"(HTTP {response.status_code}, {_collapse(kind, 60)}): {excerpt!r}"
            ) from exc

    # ----------------------------------------------------------------- internals

    def _backoff(self, attempt: int) -> float:
        s = self.settings
        cap = min(s.backoff_max_s, s.backoff_base_s * (2**attempt))
        return max(0.0, min(cap, self._jitter(cap)))

    def _describe_transport(self, exc: httpx.TransportError) -> str:
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
        return self.redact(_collapse(text, 300))

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
        if _header_float(response.headers, *_REMAINING) != 0:
            return
        wait = _reset_wait(response.headers, self._clock())
        if wait:
            self._set_pause(wait)

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


# --------------------------------------------------------------------------- pagination

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
