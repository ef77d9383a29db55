"""The entra provider's declared settings and the actions it offers."""

from __future__ import annotations

from pamtui.model import TargetKind
from pamtui.providers.http import HTTP_SETTINGS
from pamtui.providers.kit.settings import (
    REQUIRED,
    Settings,
    action_list,
    endpoint_url,
    integer,
    page_size,
    poll_seconds,
    secret,
    string,
    strings,
)

DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://graph.microsoft.com/.default"

DEFAULT_PRIVILEGED_ROLES = (
    "Global Administrator",
    "Privileged Role Administrator",
    "Privileged Authentication Administrator",
    "Security Administrator",
    "User Administrator",
    "Application Administrator",
    "Cloud Application Administrator",
    "Authentication Administrator",
    "Conditional Access Administrator",
    "Exchange Administrator",
    "SharePoint Administrator",
    "Hybrid Identity Administrator",
    "Intune Administrator",
)
"""Directory roles (display names) whose members are privileged, by default."""

ACCOUNT_ACTIONS: dict[str, tuple[int, bool]] = {
    # name: (order, reversible)
    "revoke_sessions": (40, False),
    "remove_privileged_roles": (50, True),
    "disable_account": (90, True),
}
"""Actions on a user. Service principals and applications take none of their own:
their secrets are revoked one by one (credential actions)."""

DEFAULT_ACCOUNT_ACTIONS = ("revoke_sessions", "remove_privileged_roles", "disable_account")

CREDENTIAL_ACTIONS: dict[str, int] = {
    "delete_grant": 20,
    "remove_app_role_assignment": 22,
    "remove_password": 25,
    "remove_key": 26,
}

ACTIONS = {
    **{name: TargetKind.ACCOUNT for name in ACCOUNT_ACTIONS},
    **{name: TargetKind.CREDENTIAL for name in CREDENTIAL_ACTIONS},
}

MAX_PAGE_SIZE = 999
"""Graph's largest ``$top`` for users, service principals and applications."""

_GUID_OR_DOMAIN = r"[0-9A-Za-z][0-9A-Za-z.-]{0,252}"

SETTINGS = Settings(
    HTTP_SETTINGS.with_defaults(base_url=DEFAULT_BASE_URL),
    string(
        "tenant_id",
        "the directory (tenant) id, or a verified domain such as contoso.onmicrosoft.com",
        REQUIRED,
        pattern=_GUID_OR_DOMAIN,
        expected="a tenant GUID or domain name",
    ),
    string(
        "client_id",
        "the application (client) id of pamtui's app registration",
        REQUIRED,
        pattern=r"[0-9A-Fa-f-]{1,64}",
        expected="an application (client) GUID",
    ),
    secret(
        "client_secret",
        "the app registration's client secret (client-credentials flow); or client_certificate",
        None,
    ),
    secret(
        "client_certificate",
        "PEM of the app registration's certificate and its private key (a signed client "
        "assertion instead of a secret); or client_secret",
        None,
    ),
    endpoint_url(
        "authority",
        "the sign-in authority; the token endpoint is {authority}/{tenant_id}/oauth2/v2.0/token",
        DEFAULT_AUTHORITY,
    ),
    string(
        "scope",
        "the OAuth scope asked for (national clouds use their own Graph host)",
        DEFAULT_SCOPE,
        non_empty=True,
        pattern=r"\S+",
        expected="one scope, no spaces",
    ),
    strings(
        "privileged_roles",
        "directory roles (display names or role template ids) whose members are privileged",
        DEFAULT_PRIVILEGED_ROLES,
        non_empty=True,
        expected="a non-empty list of directory role names or template ids",
    ),
    action_list(
        "account_actions",
        "the actions offered on a user, in plan order",
        ACCOUNT_ACTIONS,
        DEFAULT_ACCOUNT_ACTIONS,
    ),
    page_size("objects per page ($top)", 999, maximum=MAX_PAGE_SIZE),
    poll_seconds("how long the audit-log stream waits once caught up", 60.0),
    integer(
        "backfill_minutes",
        "how far back a stream without a cursor starts (Entra keeps 30 days)",
        60,
        low=0,
        high=60 * 24 * 30,
        unit="minutes",
    ),
)
"""Settings of ``type = "entra"`` (``base_url`` defaults to Graph v1.0)."""
