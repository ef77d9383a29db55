"""The scim provider's declared settings and the SCIM names it reads."""

from __future__ import annotations

from pamtui.providers.http import HTTP_SETTINGS
from pamtui.providers.kit.settings import (
    SettingError,
    Settings,
    boolean,
    integer,
    secret,
    string,
    strings,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCIM_JSON = "application/scim+json"

AttributePath = tuple[str, tuple[str, ...]]
"""``(schema urn, path inside it)``: where an attribute lives in a SCIM User."""


def parse_attribute(value: str) -> AttributePath:
    """A full ``urn:...:attribute`` path, or a name inside the enterprise extension."""
    if value.lower().startswith("urn:"):
        schema, sep, attribute = value.rpartition(":")
        if not sep or not attribute or not schema.count(":"):
            raise SettingError("must look like 'urn:...:User:attribute'")
    else:
        schema, attribute = ENTERPRISE_USER, value
    parts = tuple(attribute.split("."))
    if any(not p for p in parts):
        raise SettingError("has an empty path segment")
    return schema, parts


def _check_attribute(value: str) -> str:
    parse_attribute(value)
    return value


SETTINGS = Settings(
    HTTP_SETTINGS,
    secret("token", "the bearer token"),
    strings(
        "privileged_groups",
        "group display names that make a member privileged",
        expected="a list of group display names",
    ),
    string(
        "hr_attribute",
        "the employment-status attribute: a full urn:... path or a name in the enterprise "
        "extension (e.g. employmentStatus)",
        non_empty=True,
        expected="a non-empty attribute path string",
        check=parse_attribute,
    ),
    boolean(
        "roster",
        "also serve the users as an HR roster (people, for offboarding): the enterprise "
        "extension's employeeNumber, manager, department; active = false is terminated",
        False,
    ),
    string(
        "person_id_attribute",
        "the HR id: a name in the enterprise extension or a full urn:... path; accounts "
        "report it as their owner, the roster as the person id",
        "employeeNumber",
        non_empty=True,
        expected="a non-empty attribute path string",
        check=_check_attribute,
    ),
    integer("page_size", "resources per GET /Users page", 100, low=1, high=1000),
)
"""Settings of ``type = "scim"``."""
