"""Reading GitHub's values: numeric ids, timestamps."""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from typing import Any

from pamtui.providers.base import iso_time
from pamtui.providers.base import text as _text

log = logging.getLogger("pamtui.providers.github")


def _id(value: Any) -> str:
    """GitHub ids are integers; keep them as decimal strings."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    text = _text(value)
    return text if text.isdigit() else ""


def _timestamp(value: Any) -> datetime | None:
    """ISO 8601 (``2023-01-01T00:00:00Z``) or epoch milliseconds (the audit log)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        if not math.isfinite(value):
            return None
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return iso_time(value)


def _epoch_ms(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    parsed = _timestamp(value) if isinstance(value, str) else None
    return int(parsed.timestamp() * 1000) if parsed is not None else None
