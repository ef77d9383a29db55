"""Helpers for what AWS answers: timestamps, lists, policy documents, HR tags."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from pamtui.model import OwnerStatus

_EMPLOYED = frozenset({"active", "employed", "current", "hired", "true", "yes"})

_TERMINATED = frozenset(
    {"terminated", "inactive", "separated", "leaver", "left", "former", "offboarded", "false", "no"}
)


def _utc(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _document(value: Any) -> dict[str, Any]:
    """A policy document: IAM returns it URL-encoded; boto3 usually decodes it."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        for text in (value, unquote(value)):
            try:
                parsed = json.loads(text)
            except ValueError:
                continue
            if isinstance(parsed, dict):
                return parsed
    return {}


def broad_grant(document: Any) -> str:
    """Why a policy document grants (nearly) everything, or "" when it does not.

    An ``Allow`` on ``Resource: "*"`` of ``*``, ``*:*`` or ``iam:*``, or an
    ``Allow`` with ``NotAction`` on ``"*"``. Conditions are not evaluated.
    """
    for statement in _as_list(_document(document).get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "*" not in [r for r in _as_list(statement.get("Resource")) if isinstance(r, str)]:
            continue
        if "NotAction" in statement:
            return "Allow with NotAction on *"
        for action in _as_list(statement.get("Action")):
            if isinstance(action, str) and action.lower() in ("*", "*:*", "iam:*"):
                return f"Allow {action} on *"
    return ""


def _owner_status(value: str) -> OwnerStatus:
    text = value.strip().lower()
    if text in _EMPLOYED:
        return OwnerStatus.EMPLOYED
    if text in _TERMINATED:
        return OwnerStatus.TERMINATED
    return OwnerStatus.UNKNOWN
