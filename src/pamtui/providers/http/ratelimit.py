"""Rate-limit hints: ``Retry-After``, Okta's and GitHub's reset headers, secondary limits."""

from __future__ import annotations

import email.utils
from typing import TYPE_CHECKING

from pamtui.providers.http.errors import provider_message

if TYPE_CHECKING:  # annotations only: httpx is imported when a client is built
    import httpx

SECONDARY_LIMIT_WAIT_S = 60.0
"""GitHub: "otherwise, wait for at least one minute before retrying"."""
_EPOCH_THRESHOLD = 1_000_000_000
"""A reset value above this is an epoch timestamp; below, a delay in seconds."""


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


def header_float(headers: httpx.Headers, *names: str) -> float | None:
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


REMAINING = ("x-rate-limit-remaining", "x-ratelimit-remaining")
RESET = ("x-rate-limit-reset", "x-ratelimit-reset")


def reset_wait(headers: httpx.Headers, local_now: float) -> float | None:
    reset = header_float(headers, *RESET)
    if reset is None:
        return None
    if reset > _EPOCH_THRESHOLD:
        return max(0.0, reset - _server_now(headers, local_now))
    return max(0.0, reset)


def rate_limit_wait(response: httpx.Response, local_now: float) -> float | None:
    """How long a 429/503/rate-limited-403 response asks us to wait, if it says."""
    headers = response.headers
    retry_after = parse_retry_after(headers.get("retry-after"), _server_now(headers, local_now))
    if retry_after is not None:
        return retry_after
    remaining = header_float(headers, *REMAINING)
    if response.status_code == 429 or remaining == 0:
        wait = reset_wait(headers, local_now)
        if wait is not None:
            return wait
    if response.status_code == 403:
        return SECONDARY_LIMIT_WAIT_S
    return None


def is_rate_limited_403(response: httpx.Response) -> bool:
    """GitHub answers some rate limits with 403; tell them from a permission error."""
    if response.status_code != 403:
        return False
    headers = response.headers
    if "retry-after" in headers:
        return True
    if header_float(headers, *REMAINING) == 0:
        return True
    return "rate limit" in provider_message(response).lower()
