"""The github provider's declared settings."""

from __future__ import annotations

import re

from pamtui.providers.http import (
    HTTP_SETTINGS,
)
from pamtui.providers.kit.settings import (
    REQUIRED,
    Settings,
    boolean,
    choice,
    hours,
    page_size,
    poll_seconds,
    secret,
    string,
    strings,
)

DEFAULT_BASE_URL = "https://api.github.com"


API_VERSION = "2022-11-28"


GITHUB_JSON = "application/vnd.github+json"


_INCLUDE = ("web", "git", "all")


_ORG_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")


SETTINGS = Settings(
    HTTP_SETTINGS.with_defaults(base_url=DEFAULT_BASE_URL),
    string(
        "org",
        "the organisation's login",
        REQUIRED,
        pattern=_ORG_RE.pattern,
        expected="a GitHub organisation login (letters, digits and hyphens, at most 39 characters)",
    ),
    secret("token", "a GitHub App installation token (bearer)"),
    page_size("per_page of every listing", 100, maximum=100),
    poll_seconds("audit-log poll interval", 60.0),
    hours(
        "backfill_hours", "how far back a stream without a saved cursor starts", 24.0, high=24 * 180
    ),
    boolean("audit_log", "read the organisation audit log (Enterprise Cloud) as the stream", True),
    boolean(
        "sso_credentials",
        "list and revoke classic PATs and SSH keys authorised for the org's SAML SSO",
        True,
    ),
    boolean(
        "saml_identities",
        "link members to people by their SAML SSO identity (NameID and emails, via GraphQL; "
        "needs an org owner's token with read:org, or an App with members read)",
        False,
    ),
    strings(
        "identity_domains",
        "email domains whose members' (GitHub-verified) public emails link them to people",
        pattern=r"[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
        expected='a list of email domains such as "acme.example"',
        check=lambda domains: tuple(d.lower() for d in domains),
    ),
    choice("audit_include", "the audit log's include: web, git (7 days) or all", _INCLUDE, "all"),
)
"""Settings of ``type = "github"`` (``base_url`` defaults to GitHub.com's API)."""
