"""The okta provider's declared settings and the actions it offers."""

from __future__ import annotations

from pamtui.model import TargetKind
from pamtui.providers.http import HTTP_SETTINGS
from pamtui.providers.kit.settings import (
    Settings,
    action_list,
    boolean,
    integer,
    page_size,
    poll_seconds,
    secret,
    string,
    strings,
)

ACCOUNT_ACTIONS: dict[str, tuple[int, bool]] = {
    # name: (order, reversible)
    "clear_sessions": (40, False),
    "suspend_account": (60, True),
    "deactivate_account": (90, False),
    "delete_account": (95, False),
}


DEFAULT_ACCOUNT_ACTIONS = ("clear_sessions", "deactivate_account")


CREDENTIAL_ACTIONS = ("revoke_token",)


_ACTIONS = {
    **{name: TargetKind.ACCOUNT for name in ACCOUNT_ACTIONS},
    **{name: TargetKind.CREDENTIAL for name in CREDENTIAL_ACTIONS},
}


MAX_PAGE_SIZE = 200
"""Okta's maximum ``limit`` for users and API tokens (the System Log allows 1000)."""


SETTINGS = Settings(
    HTTP_SETTINGS,
    secret("token", "an Okta API token, sent as Authorization: SSWS <token>"),
    string(
        "search",
        "an Okta search expression for GET /api/v1/users (default: every user not DEPROVISIONED)",
        "",
        expected="an Okta search expression string",
    ),
    strings(
        "privileged_roles",
        "admin role types that make an account privileged (default: any admin role)",
        pattern=r"[A-Za-z_]+",
        expected='a list of Okta admin role types such as "SUPER_ADMIN"',
        check=lambda roles: tuple(r.upper() for r in roles),
    ),
    string(
        "hr_attribute",
        "the profile attribute carrying employment status (e.g. employmentStatus)",
        "",
        pattern=r"[A-Za-z_][A-Za-z0-9_]*",
        expected="an Okta profile attribute name",
    ),
    action_list(
        "account_actions",
        "the account-level actions offered, in plan order",
        ACCOUNT_ACTIONS,
        DEFAULT_ACCOUNT_ACTIONS,
    ),
    boolean(
        "forget_devices",
        "clear_sessions also forgets remembered devices (forgetDevices), so MFA is asked again",
        True,
    ),
    boolean(
        "roster", "also serve the org's users as an HR roster (people, for offboarding)", False
    ),
    string(
        "person_id_attribute",
        "with roster: the profile attribute holding the HR id",
        "employeeNumber",
        pattern=r"[A-Za-z_][A-Za-z0-9_]*",
        expected="an Okta profile attribute name",
    ),
    page_size("objects per page (limit)", MAX_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
    poll_seconds("how long the System Log stream waits once caught up", 15.0),
    integer(
        "backfill_minutes",
        "how far back a stream without a cursor starts (Okta keeps 90 days)",
        60,
        low=0,
        high=60 * 24 * 90,
        unit="minutes",
    ),
)
"""Settings of ``type = "okta"``."""
