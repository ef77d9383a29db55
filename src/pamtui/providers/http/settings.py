"""The HTTP settings every HTTP provider takes, declared once.

``HTTP_SETTINGS`` goes at the head of a provider's own declaration;
:func:`http_from` turns the validated values into :class:`HttpSettings`
(after the cross-field checks) and :func:`httpx_client_options` into the
keyword arguments of ``httpx.AsyncClient``.

Nothing here imports httpx at module level: a session validates these settings
as it opens, and httpx is imported when a provider first talks to its service
(``HttpClient`` builds its ``httpx.AsyncClient`` then). What httpx itself would
refuse when that client is built (a header it cannot encode, a SOCKS proxy
without ``socksio``) is checked here instead, so it still fails the start.
"""

from __future__ import annotations

import ssl
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from pamtui import __version__
from pamtui.providers.base import ProviderConfigError
from pamtui.providers.kit.settings import (
    Setting,
    SettingError,
    Settings,
    boolean,
    ca_bundle,
    endpoint_url,
    integer,
    seconds,
    string,
    url_check,
)


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


def _header_value(value: str) -> str:
    # httpx encodes header values as ASCII when it builds the client: refuse here, at open.
    if has_crlf(value) or not value.isascii():
        raise SettingError("must be a non-empty single-line ASCII string")
    return value


HTTP_SETTINGS = Settings(
    endpoint_url(
        "base_url", "the API root, e.g. https://idp.example.com/scim/v2 (no credentials, no query)"
    ),
    seconds(
        "timeout_s",
        "connect, read and write timeout of each request",
        10.0,
        high=600,
        low_open=True,
    ),
    integer(
        "max_retries", "retries of a failed idempotent request (or a 429/503)", 4, low=0, high=20
    ),
    seconds(
        "backoff_base_s", "first retry backoff; doubles each retry, with full jitter", 0.5, high=600
    ),
    seconds("backoff_max_s", "longest retry backoff (at least backoff_base_s)", 30.0, high=3600),
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
        expected="a non-empty single-line ASCII string",
        check=_header_value,
    ),
    integer("max_concurrency", "requests in flight at once", 8, low=1, high=256),
    seconds(
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


def has_crlf(text: str) -> bool:
    return "\r" in text or "\n" in text or "\x00" in text


def tls_verify(name: str, settings: HttpSettings) -> bool | ssl.SSLContext:
    """The ``verify`` option of the client: False, True, or a context from ``ca_bundle``.

    Built as the provider is created (a ``ca_bundle`` that cannot be loaded fails the start).
    """
    if not settings.verify_tls:
        return False
    if settings.ca_bundle is None:
        return True
    try:
        return ssl.create_default_context(cafile=str(settings.ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        raise ProviderConfigError(
            f"provider {name!r}: setting 'ca_bundle': cannot load {str(settings.ca_bundle)!r}: "
            f"{exc}"
        ) from exc


def check_proxy_support(name: str, settings: HttpSettings) -> None:
    """A SOCKS proxy needs ``socksio``: say so as the provider is created, not at its first call."""
    proxy = settings.proxy or ""
    if proxy.lower().startswith(("socks5:", "socks5h:")) and find_spec("socksio") is None:
        raise ProviderConfigError(
            f"provider {name!r}: setting 'proxy': a SOCKS proxy needs the socksio package "
            "(pip install 'httpx[socks]')"
        )


def httpx_client_options(
    name: str, settings: HttpSettings, *, verify: bool | ssl.SSLContext | None = None
) -> dict[str, Any]:
    """Keyword arguments for ``httpx.AsyncClient`` built from ``settings``.

    ``verify``: the result of :func:`tls_verify` when the caller already has it.
    """
    import httpx

    if verify is None:
        verify = tls_verify(name, settings)
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
