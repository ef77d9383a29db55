"""Reading Okta's values: timestamps, ISO 8601 durations, nested fields, log cursors."""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pamtui.providers.base import iso_time
from pamtui.providers.base import text as _text

log = logging.getLogger("pamtui.providers.okta")


_CURSOR_PREFIX = "okta-log.v1."


_timestamp = iso_time


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _duration(value: Any) -> timedelta | None:
    """An ISO 8601 duration such as Okta's ``tokenWindow`` (``P30D``, ``PT5M``)."""
    match = re.fullmatch(
        r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", _text(value).upper()
    )
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _encode_cursor(published: str, uuids: list[str], query: dict[str, str] | None) -> str:
    state: dict[str, Any] = {"p": published, "u": uuids}
    if query:
        state["q"] = query
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")
