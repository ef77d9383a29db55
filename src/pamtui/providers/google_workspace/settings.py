"""The google-workspace provider's declared settings, its OAuth scopes and its actions."""

from __future__ import annotations

from pamtui.model import TargetKind
from pamtui.providers.http import HTTP_SETTINGS
from pamtui.providers.kit.settings import (
    REQUIRED,
    Settings,
    action_list,
    boolean,
    endpoint_url,
    existing_file,
    integer,
    page_size,
    poll_seconds,
    secret,
    string,
)

DEFAULT_BASE_URL = "https://admin.googleapis.com"
DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token"

SCOPE = "https://www.googleapis.com/auth/"
READ_SCOPES = (
    SCOPE + "admin.directory.user.readonly",
    SCOPE + "admin.directory.user.security",  # tokens.list and asps.list have no read-only scope
    SCOPE + "admin.directory.rolemanagement.readonly",
    SCOPE + "admin.reports.audit.readonly",
)
"""What ``read_only = true`` asks for (the discovery documents' scopes of each read)."""
REVOKE_SCOPES = (
    SCOPE + "admin.directory.user",  # users.update (suspend)
    SCOPE + "admin.directory.user.security",  # tokens.delete, asps.delete, users.signOut
    SCOPE + "admin.directory.rolemanagement",  # roleAssignments.delete
    SCOPE + "admin.reports.audit.readonly",
)
"""What the provider asks for when it may revoke."""

ACCOUNT_ACTIONS: dict[str, tuple[int, bool]] = {
    # name: (order, reversible)
    "remove_admin_roles": (30, False),
    "sign_out": (40, False),
    "suspend_account": (60, True),
}
DEFAULT_ACCOUNT_ACTIONS = tuple(ACCOUNT_ACTIONS)
CREDENTIAL_ACTIONS = ("revoke_token", "delete_asp")
ACTIONS = {
    **{name: TargetKind.ACCOUNT for name in ACCOUNT_ACTIONS},
    **{name: TargetKind.CREDENTIAL for name in CREDENTIAL_ACTIONS},
}

APPLICATIONS = ("login", "token", "admin", "saml", "user_accounts")
"""Reports API applications the stream may poll (a subset of the discovery enum)."""

MAX_PAGE_SIZE = 500
"""users.list's maximum ``maxResults``."""


SETTINGS = Settings(
    HTTP_SETTINGS.with_defaults(base_url=DEFAULT_BASE_URL),
    string(
        "subject",
        "the admin the service account acts as (domain-wide delegation), e.g. admin@example.com",
        REQUIRED,
        non_empty=True,
        pattern=r"[^@\s]+@[^@\s]+",
        expected="an admin's email address",
    ),
    secret(
        "credentials",
        "the service account's JSON key (its contents) as a secret reference",
        None,
    ),
    string(
        "credentials_file",
        "a path to the service account's JSON key file (instead of credentials)",
        non_empty=True,
        expected="a path to a JSON key file",
        check=existing_file,
    ),
    endpoint_url(
        "token_uri",
        "the OAuth 2.0 token endpoint the signed JWT is exchanged at",
        DEFAULT_TOKEN_URI,
    ),
    string(
        "customer",
        "the Workspace customer id (C0xxxxxxx) or my_customer",
        "my_customer",
        pattern=r"my_customer|C[0-9A-Za-z]+",
        expected="my_customer or a customer id such as C01abcde",
    ),
    boolean(
        "read_only",
        "ask only for read-only scopes and offer no revoke actions",
        False,
    ),
    action_list(
        "account_actions",
        "the account-level actions offered, in plan order",
        ACCOUNT_ACTIONS,
        DEFAULT_ACCOUNT_ACTIONS,
    ),
    string(
        "hr_id_type",
        "the externalIds type holding the HR id (organization, or custom:NAME)",
        "organization",
        pattern=r"[a-z_]+|custom:.+",
        expected="an externalIds type such as organization or custom:employee",
    ),
    action_list(
        "applications",
        "Reports API applications streamed as events",
        APPLICATIONS,
        ("login", "token", "admin"),
    ),
    page_size("users per page (maxResults)", MAX_PAGE_SIZE, maximum=MAX_PAGE_SIZE),
    poll_seconds("how long the Reports stream waits once caught up", 30.0),
    integer(
        "backfill_minutes",
        "how far back a stream without a cursor starts",
        60,
        low=0,
        high=60 * 24 * 180,
        unit="minutes",
    ),
)
"""Settings of ``type = "google-workspace"``."""
