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

The package's modules, one job each: ``settings``, ``auth``, ``errors``,
``ratelimit``, ``client``, ``pagination``; everything public is re-exported
here, so ``from pamtui.providers.http import HttpClient`` keeps working.
"""

from pamtui.providers.http.auth import TokenAuth, bearer_auth, ssws_auth, token_auth
from pamtui.providers.http.client import (
    DEFAULT_EXPECT,
    IDEMPOTENT_METHODS,
    RETRY_STATUSES,
    SAFE_RETRY_STATUSES,
    HttpClient,
    Sleep,
    http_client,
)
from pamtui.providers.http.errors import HttpError, provider_message
from pamtui.providers.http.pagination import (
    ci_get,
    iter_link_pages,
    iter_scim_pages,
    next_link,
    parse_link_header,
)
from pamtui.providers.http.ratelimit import SECONDARY_LIMIT_WAIT_S, parse_retry_after
from pamtui.providers.http.settings import (
    HTTP_KEYS,
    HTTP_SETTINGS,
    HttpSettings,
    default_user_agent,
    http_from,
    http_settings,
    httpx_client_options,
)

__all__ = [
    "DEFAULT_EXPECT",
    "HTTP_KEYS",
    "HTTP_SETTINGS",
    "IDEMPOTENT_METHODS",
    "RETRY_STATUSES",
    "SAFE_RETRY_STATUSES",
    "SECONDARY_LIMIT_WAIT_S",
    "HttpClient",
    "HttpError",
    "HttpSettings",
    "Sleep",
    "TokenAuth",
    "bearer_auth",
    "ci_get",
    "default_user_agent",
    "http_client",
    "http_from",
    "http_settings",
    "httpx_client_options",
    "iter_link_pages",
    "iter_scim_pages",
    "next_link",
    "parse_link_header",
    "parse_retry_after",
    "provider_message",
    "ssws_auth",
    "token_auth",
]
