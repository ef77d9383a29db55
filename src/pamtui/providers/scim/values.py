"""Reading values out of SCIM User resources (attribute names are case-insensitive)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pamtui.model import OwnerStatus
from pamtui.providers.base import text as _text
from pamtui.providers.http import ci_get as _ci
from pamtui.providers.scim.settings import CORE_USER, AttributePath

_EMPLOYED = frozenset({"active", "employed", "current", "hired", "true", "yes"})
_TERMINATED = frozenset(
    {
        "terminated",
        "inactive",
        "separated",
        "leaver",
        "left",
        "former",
        "offboarded",
        "retired",
        "false",
        "no",
    }
)


def _owner_status(value: Any) -> OwnerStatus:
    """An employment-status value in words (or a boolean) as an owner status."""
    if isinstance(value, bool):
        return OwnerStatus.EMPLOYED if value else OwnerStatus.TERMINATED
    text = _text(value).lower()
    if text in _EMPLOYED:
        return OwnerStatus.EMPLOYED
    if text in _TERMINATED:
        return OwnerStatus.TERMINATED
    return OwnerStatus.UNKNOWN


def attribute(user: Mapping[str, Any], where: AttributePath) -> Any:
    """The value at ``where`` in ``user`` (core attributes sit at the top level), or None."""
    schema, path = where
    node: Any = _ci(user, schema)
    if node is None and schema.lower() == CORE_USER.lower():
        node = user
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = _ci(node, part)
    return node


def emails(user: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The user's ``emails`` entries that carry a value."""
    return [e for e in _ci(user, "emails") or [] if isinstance(e, dict) and _text(_ci(e, "value"))]


def primary_email(user: Mapping[str, Any]) -> str:
    """The primary email, else the first one, else ''."""
    found = emails(user)
    for email in found:
        if _ci(email, "primary") is True:
            return _text(_ci(email, "value"))
    return _text(_ci(found[0], "value")) if found else ""


def work_email(user: Mapping[str, Any]) -> str:
    """The email of type ``work`` (primary first), else the primary or first one."""
    work = [e for e in emails(user) if _text(_ci(e, "type")).lower() == "work"]
    for email in work:
        if _ci(email, "primary") is True:
            return _text(_ci(email, "value"))
    return _text(_ci(work[0], "value")) if work else primary_email(user)


def display_name(user: Mapping[str, Any]) -> str:
    """``displayName``, else ``name.formatted``, else given and family names."""
    display = _text(_ci(user, "displayName"))
    name = _ci(user, "name")
    if not display and isinstance(name, dict):
        display = _text(_ci(name, "formatted")) or " ".join(
            p for p in (_text(_ci(name, "givenName")), _text(_ci(name, "familyName"))) if p
        )
    return display


def user_type(user: Mapping[str, Any]) -> str:
    return _text(_ci(user, "userType")).lower()
