"""The aws-iam provider's declared settings and how its credentials go together."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pamtui.providers.base import (
    ProviderConfigError,
    ProviderContext,
)
from pamtui.providers.kit.settings import (
    Setting,
    Settings,
    boolean,
    ca_bundle,
    choice,
    integer,
    minutes,
    seconds,
    string,
    strings,
    url_check,
)
from pamtui.providers.kit.settings import secret as secret_ref

DEFAULT_PRIVILEGED_POLICIES = ("AdministratorAccess", "IAMFullAccess")


@dataclass(frozen=True)
class AwsSettings:
    region: str | None = None
    """None: the profile's (or environment's) region, else us-east-1."""
    endpoint_url: str | None = None
    cloudtrail_endpoint_url: str | None = None
    profile: str | None = None
    ca_bundle: Path | None = None
    timeout_s: float = 10.0
    max_retries: int = 4
    retry_mode: str = "standard"
    privileged_policies: tuple[str, ...] = DEFAULT_PRIVILEGED_POLICIES
    owner_tag: str = "owner"
    hr_tag: str = ""
    kind_tag: str = "kind"
    stream: bool = True
    poll_seconds: float = 30.0
    backfill_minutes: float = 60.0
    settle_seconds: float = 120.0


def _tag(name: str, help: str, default: str) -> Setting:
    return string(name, help, default, expected="a tag key string")


_ENDPOINT = url_check(("http", "https"), no_credentials=True)

SETTINGS = Settings(
    string(
        "region",
        "the region of the CloudTrail event history (IAM is global); default: the profile's, "
        "else us-east-1",
        non_empty=True,
        pattern=r"[a-z]{2}(-[a-z0-9]+)+-\d+",
        expected="an AWS region name such as 'eu-west-1'",
    ),
    secret_ref(
        "access_key_id",
        "the access key id: a string or a secret reference (with secret_access_key)",
        None,
        plain_ok=True,
    ),
    secret_ref("secret_access_key", "the secret access key: a secret reference only", None),
    secret_ref(
        "session_token", "a session token (temporary credentials): a secret reference", None
    ),
    string(
        "profile",
        "a named profile of ~/.aws/config (instead of the keys; SSO, credential_process work)",
        non_empty=True,
    ),
    string(
        "endpoint_url",
        "another IAM endpoint (VPC, FIPS, a test server)",
        non_empty=True,
        expected="an http(s) URL with a host",
        check=_ENDPOINT,
    ),
    string(
        "cloudtrail_endpoint_url",
        "another CloudTrail endpoint (default: endpoint_url)",
        non_empty=True,
        expected="an http(s) URL with a host",
        check=_ENDPOINT,
    ),
    ca_bundle(),
    seconds("timeout_s", "connect and read timeout", 10.0, low=0.1, high=300),
    integer(
        "max_retries",
        "botocore's retries of throttling, 5xx and connection errors",
        4,
        low=0,
        high=10,
    ),
    choice("retry_mode", "botocore's retry mode", ("standard", "adaptive"), "standard"),
    strings(
        "privileged_policies",
        "managed policy names that make a user privileged",
        DEFAULT_PRIVILEGED_POLICIES,
        expected="a list of managed policy names",
    ),
    _tag("owner_tag", "the user tag naming the responsible human (HR id or e-mail)", "owner"),
    _tag("hr_tag", "a user tag with the employment status (default: none)", ""),
    _tag("kind_tag", "a user tag saying human, service or bot", "kind"),
    boolean("stream", "read CloudTrail's event history as access events", True),
    seconds("poll_seconds", "CloudTrail poll interval", 30.0, low=0.05, high=3600),
    minutes(
        "backfill_minutes", "how far back a stream without a cursor starts", 60.0, high=90 * 24 * 60
    ),
    seconds(
        "settle_seconds",
        "events newer than this are left for the next poll (CloudTrail delivers late)",
        120.0,
        low=0,
        high=3600,
    ),
)
"""Settings of ``type = "aws-iam"``."""
_SECRET_KEYS = ("access_key_id", "secret_access_key", "session_token")


def parse_settings(
    where: str, settings: Mapping[str, Any], context: ProviderContext | None = None
) -> tuple[AwsSettings, dict[str, str | None]]:
    """The settings and the resolved credentials; every error names the key."""
    return credentials(where, SETTINGS.parse(where, settings, context, secret_what="secrets"))


def credentials(where: str, values: dict[str, Any]) -> tuple[AwsSettings, dict[str, str | None]]:
    """Split validated values into settings and credentials (which go together how)."""
    values = dict(values)
    has_key = values["access_key_id"] is not None or values["secret_access_key"] is not None
    if has_key and values["profile"] is not None:
        raise ProviderConfigError(
            f"{where}: setting 'profile' cannot be combined with access_key_id/"
            "secret_access_key; use one or the other"
        )
    if has_key:
        for key, other in (
            ("access_key_id", "secret_access_key"),
            ("secret_access_key", "access_key_id"),
        ):
            if values[key] is None:
                raise ProviderConfigError(f"{where}: setting {key!r} is required with {other}")
    elif values["session_token"] is not None:
        raise ProviderConfigError(
            f"{where}: setting 'session_token' needs access_key_id and secret_access_key"
        )
    secrets = {key: values.pop(key) for key in _SECRET_KEYS}
    for key, value in secrets.items():
        if isinstance(value, str) and any(c.isspace() for c in value.strip()):
            raise ProviderConfigError(f"{where}: setting {key!r}: the value contains whitespace")
        if isinstance(value, str):
            secrets[key] = value.strip()
    if values["cloudtrail_endpoint_url"] is None:
        values["cloudtrail_endpoint_url"] = values["endpoint_url"]
    return AwsSettings(**values), secrets
