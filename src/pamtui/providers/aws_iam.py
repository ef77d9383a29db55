"""``AwsIamProvider``: IAM users and their access keys in one AWS account.

Settings (``[[providers]]`` with ``type = "aws-iam"``):

- ``region``: the region of the CloudTrail event history to read (IAM itself is
  global); default: the profile's or environment's region, else ``us-east-1``;
- credentials, one of:

  - ``access_key_id`` (a string or a secret reference) and ``secret_access_key``
    (a secret *reference*: ``{ env = "VAR" }`` or ``{ keyring = "NAME" }``; a
    secret written into the config is refused), optionally ``session_token``
    (a reference) for temporary credentials;
  - ``profile``: a named profile of ``~/.aws/config`` / ``~/.aws/credentials``
    (SSO, ``credential_process``, role chaining all work; no secret in pamtui's
    config);
  - neither: boto3's default chain (environment, instance or task role);

- ``endpoint_url`` / ``cloudtrail_endpoint_url``: other endpoints for IAM and
  CloudTrail (VPC endpoints, FIPS, a test server); ``cloudtrail_endpoint_url``
  defaults to ``endpoint_url`` when only that is given;
- ``ca_bundle``: a PEM file of CAs to trust (corporate TLS inspection);
- ``timeout_s`` (connect and read timeout, default 10), ``max_retries``
  (0-10, default 4) and ``retry_mode`` (``standard`` or ``adaptive``): botocore's
  own retries of throttling, 5xx and connection errors, with its capped
  exponential backoff;
- ``privileged_policies``: managed policy names that make a user privileged
  (default ``AdministratorAccess``, ``IAMFullAccess``);
- ``owner_tag`` (default ``owner``): the user tag naming the responsible human
  (HR id or e-mail); ``hr_tag`` (default none): a tag with the employment status
  (``employed``/``active`` vs ``terminated``/``leaver``...); ``kind_tag``
  (default ``kind``): ``human``, ``service`` or ``bot``;
- ``stream`` (default true): read CloudTrail's event history as access events;
  ``poll_seconds`` (default 30), ``backfill_minutes`` (default 60: how far back
  a stream without a cursor starts), ``settle_seconds`` (default 120: events
  newer than this are left for the next poll, see below).

Privileged, bounded on purpose (at most :data:`MAX_POLICY_DOCUMENTS` policy
documents read per user; group and managed-policy results are cached per
listing): a user is privileged when a managed policy named in
``privileged_policies`` is attached to it or to one of its groups, or when an
inline policy (user or group) or a customer-managed policy attached to either
has an ``Allow`` statement on ``Resource: "*"`` whose ``Action`` is ``*``,
``*:*`` or ``iam:*``, or that uses ``NotAction``. Conditions, permission
boundaries, SCPs and AWS-managed policies other than the named ones are not
evaluated: this is a triage hint, not an access analyser.

Revoke actions: ``deactivate_access_key`` (reversible), ``delete_access_key``,
``delete_login_profile`` (the console password) and ``revoke_older_sessions``.
The last one exists because STS temporary credentials (``GetSessionToken``,
``AssumeRole`` from the user's key) stay valid until they expire even after the
key that minted them is gone. It puts the inline policy
:data:`REVOKE_SESSIONS_POLICY` on the user: deny everything when
``aws:TokenIssueTime`` is before now (the documented pattern for users; long-term
key calls carry no ``aws:TokenIssueTime`` and are not affected). "Now" is the
time in IAM's own ``Date`` header when there is one, so a skewed local clock does
not matter; the cut-off only moves forward. Every action is idempotent: a key
that is already inactive or gone, a missing login profile, a deny policy already
put for the same idempotency key all answer ``already_done``.

Verification reads state, it never tries a credential (moto, and AWS during
propagation, can still accept a deactivated key): the key's status from
``ListAccessKeys``; the login profile's absence (``NoSuchEntity``); the deny
policy's presence (``GetUserPolicy``).

Events: CloudTrail ``LookupEvents`` is polled (at most 2 requests a second, the
service's limit). Windows are read in slices (15 minutes at first, growing over
quiet stretches and shrinking over busy ones, see :data:`SLICE`); all pages of a
slice are read (CloudTrail answers newest first), sorted by (time, EventId) and
emitted oldest first. An event's ``cursor`` is ``ct1|<time>|<ids>``: the time of
the latest event and the EventIds already emitted at exactly that time (the
history has one-second resolution), so ``stream_events(since=cursor)`` resumes
with neither gap nor duplicate. The stream's position is also kept in
``state_dir`` and used when ``since`` is None. CloudTrail delivers events
minutes after they happen; events older than ``settle_seconds`` only are read,
and an event delivered later than that is missed.

boto3 is an optional dependency (``pip install 'pamtui[aws]'``), imported when a
provider is created. boto3 is synchronous: every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from pamtui import __version__
from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import (
    ProviderConfigError,
    ProviderContext,
    ProviderError,
    secret_setting,
)

log = logging.getLogger("pamtui.providers.aws_iam")

Sleep = Callable[[float], Awaitable[None]]

BOTO3_MISSING = "the aws-iam provider needs boto3: pip install 'pamtui[aws]'"
REVOKE_SESSIONS_POLICY = "AWSRevokeOlderSessions"
"""Name of the inline deny policy (the name the IAM console uses for roles)."""
_SID_PREFIX = "PamtuiRevokeOlderSessions"
DEFAULT_PRIVILEGED_POLICIES = ("AdministratorAccess", "IAMFullAccess")
MAX_POLICY_DOCUMENTS = 50
"""Policy documents read per user when looking for ``*:*`` grants."""
SLICE = timedelta(minutes=15)
"""First time window read (all pages) before its events are emitted; it doubles
after a window that fit in one page and halves after one that took more than
:data:`SLICE_MAX_PAGES`, between :data:`SLICE_MIN` and the 90 days CloudTrail keeps."""
SLICE_MIN = timedelta(minutes=1)
SLICE_MAX_PAGES = 8
HISTORY = timedelta(days=90)
"""How far back CloudTrail's event history goes."""
LOOKUP_MIN_INTERVAL_S = 0.5
"""CloudTrail LookupEvents allows 2 requests per second per account and region."""
LOOKUP_PAGE = 50
USER_CONCURRENCY = 4
"""Users whose details are read at the same time (each in a worker thread)."""
LIST_PAGE = 100
"""``MaxItems`` of IAM list calls (AWS's own default and maximum is 1000)."""
"""Users whose details are read at the same time (each in a worker thread)."""
_AWS_MANAGED = "arn:aws:iam::aws:policy/"

_KEYS = frozenset(
    {
        "region",
        "endpoint_url",
        "cloudtrail_endpoint_url",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "profile",
        "ca_bundle",
        "timeout_s",
        "max_retries",
        "retry_mode",
        "privileged_policies",
        "owner_tag",
        "hr_tag",
        "kind_tag",
        "stream",
        "poll_seconds",
        "backfill_minutes",
        "settle_seconds",
    }
)

_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "ServiceFailure",
    }
)
_AUTH_FAILURES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "IncompleteSignature",
        "AuthFailure",
    }
)
_EMPLOYED = frozenset({"active", "employed", "current", "hired", "true", "yes"})
_TERMINATED = frozenset(
    {"terminated", "inactive", "separated", "leaver", "left", "former", "offboarded", "false", "no"}
)
_USER_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")
_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")
_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

_CREDENTIAL_ACTIONS = ("deactivate_access_key", "delete_access_key")
_ACCOUNT_ACTIONS = ("delete_login_profile", "revoke_older_sessions")


class AwsApiError(ProviderError):
    """An AWS API answered with an error; ``code`` is AWS's (``NoSuchEntity``...)."""

    def __init__(self, message: str, *, code: str, status: int, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code
        self.status = status


# --------------------------------------------------------------------------- helpers


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


@dataclass
class StreamPosition:
    """Every event before ``ts``, and those at ``ts`` in ``ids``, were emitted."""

    ts: datetime
    ids: set[str] = field(default_factory=set)

    def encode(self) -> str:
        return f"ct1|{self.ts.isoformat()}|{','.join(sorted(self.ids))}"

    @classmethod
    def decode(cls, cursor: str) -> StreamPosition:
        parts = cursor.split("|")
        ts = _utc(parts[1]) if len(parts) == 3 and parts[0] == "ct1" else None
        ids = {i for i in parts[2].split(",") if i} if ts is not None else set()
        if ts is None or not all(_EVENT_ID.match(i) for i in ids):
            raise ProviderError(f"not an aws-iam stream cursor: {cursor[:80]!r}")
        return cls(ts, ids)

    def seen(self, ts: datetime, event_id: str) -> bool:
        return ts < self.ts or (ts == self.ts and event_id in self.ids)

    def advance(self, ts: datetime, event_id: str) -> None:
        if ts > self.ts:
            self.ts, self.ids = ts, {event_id}
        else:
            self.ids.add(event_id)


# --------------------------------------------------------------------------- settings


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


def _number(where: str, key: str, value: Any, *, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderConfigError(
            f"{where}: setting {key!r} must be a number, not {type(value).__name__}"
        )
    if not math.isfinite(value) or not low <= value <= high:
        raise ProviderConfigError(f"{where}: setting {key!r} must be between {low:g} and {high:g}")
    return float(value)


def _string(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ProviderConfigError(f"{where}: setting {key!r} must be a non-empty string")
    return value.strip()


def _endpoint(where: str, key: str, value: Any) -> str:
    # Not echoed: a URL may carry credentials.
    text = _string(where, key, value)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise ProviderConfigError(f"{where}: setting {key!r} is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ProviderConfigError(f"{where}: setting {key!r} must be an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ProviderConfigError(f"{where}: setting {key!r} must not contain credentials")
    return text


def parse_settings(where: str, settings: Mapping[str, Any]) -> AwsSettings:
    """The non-secret settings; every error names the key."""
    for key in settings:
        if key not in _KEYS:
            known = ", ".join(sorted(_KEYS))
            raise ProviderConfigError(f"{where}: unknown setting {key!r} (known settings: {known})")
    d = AwsSettings()
    region = d.region
    if "region" in settings:
        region = _string(where, "region", settings["region"])
        if not re.fullmatch(r"[a-z]{2}(-[a-z0-9]+)+-\d+", region):
            raise ProviderConfigError(
                f"{where}: setting 'region' must be an AWS region name such as 'eu-west-1'"
            )
    endpoint = None
    if settings.get("endpoint_url") is not None:
        endpoint = _endpoint(where, "endpoint_url", settings["endpoint_url"])
    trail_endpoint = endpoint
    if settings.get("cloudtrail_endpoint_url") is not None:
        trail_endpoint = _endpoint(
            where, "cloudtrail_endpoint_url", settings["cloudtrail_endpoint_url"]
        )
    profile = None
    if settings.get("profile") is not None:
        profile = _string(where, "profile", settings["profile"])
    ca_bundle = None
    if settings.get("ca_bundle") is not None:
        ca_bundle = Path(_string(where, "ca_bundle", settings["ca_bundle"])).expanduser()
        if not ca_bundle.is_file():
            raise ProviderConfigError(
                f"{where}: setting 'ca_bundle': no such file {str(ca_bundle)!r}"
            )
    timeout_s = d.timeout_s
    if "timeout_s" in settings:
        timeout_s = _number(where, "timeout_s", settings["timeout_s"], low=0.1, high=300)
    max_retries = d.max_retries
    if "max_retries" in settings:
        raw = settings["max_retries"]
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 10:
            raise ProviderConfigError(
                f"{where}: setting 'max_retries' must be an integer between 0 and 10"
            )
        max_retries = raw
    retry_mode = settings.get("retry_mode", d.retry_mode)
    if retry_mode not in ("standard", "adaptive"):
        raise ProviderConfigError(f"{where}: setting 'retry_mode' must be 'standard' or 'adaptive'")
    policies = settings.get("privileged_policies", list(d.privileged_policies))
    if not isinstance(policies, list | tuple) or not all(
        isinstance(p, str) and p.strip() for p in policies
    ):
        raise ProviderConfigError(
            f"{where}: setting 'privileged_policies' must be a list of managed policy names"
        )
    tags = {}
    for key in ("owner_tag", "hr_tag", "kind_tag"):
        value = settings.get(key, getattr(d, key))
        if not isinstance(value, str):
            raise ProviderConfigError(f"{where}: setting {key!r} must be a tag key string")
        tags[key] = value.strip()
    stream = settings.get("stream", True)
    if not isinstance(stream, bool):
        raise ProviderConfigError(f"{where}: setting 'stream' must be true or false")
    poll = d.poll_seconds
    if "poll_seconds" in settings:
        poll = _number(where, "poll_seconds", settings["poll_seconds"], low=0.05, high=3600)
    backfill = d.backfill_minutes
    if "backfill_minutes" in settings:
        backfill = _number(
            where, "backfill_minutes", settings["backfill_minutes"], low=0, high=90 * 24 * 60
        )
    settle = d.settle_seconds
    if "settle_seconds" in settings:
        settle = _number(where, "settle_seconds", settings["settle_seconds"], low=0, high=3600)
    return AwsSettings(
        region=region,
        endpoint_url=endpoint,
        cloudtrail_endpoint_url=trail_endpoint,
        profile=profile,
        ca_bundle=ca_bundle,
        timeout_s=timeout_s,
        max_retries=max_retries,
        retry_mode=retry_mode,
        privileged_policies=tuple(p.strip() for p in policies),
        stream=stream,
        poll_seconds=poll,
        backfill_minutes=backfill,
        settle_seconds=settle,
        **tags,
    )


def _secret(where: str, key: str, ref: Any, context: ProviderContext, *, plain_ok: bool) -> str:
    if isinstance(ref, str) and plain_ok:
        value = ref
        if not value.strip():
            raise ProviderConfigError(f"{where}: setting {key!r}: the secret is empty")
    else:
        value = secret_setting(where, key, ref, context, what="secrets")
    if any(c.isspace() for c in value.strip()):
        raise ProviderConfigError(f"{where}: setting {key!r}: the value contains whitespace")
    return value.strip()


# --------------------------------------------------------------------------- provider


class AwsIamProvider:
    """IAM users and access keys of one AWS account; CloudTrail as the event stream."""

    type: ClassVar[str] = "aws-iam"

    def __init__(
        self,
        name: str,
        settings: AwsSettings,
        iam: Any,
        cloudtrail: Any,
        *,
        state_dir: Path | None = None,
        secrets: Iterable[str] = (),
        sleep: Sleep = asyncio.sleep,
        lookup_interval_s: float = LOOKUP_MIN_INTERVAL_S,
    ) -> None:
        self.name = name
        self.settings = settings
        self.iam = iam
        self.cloudtrail = cloudtrail
        self.state_dir = state_dir
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._lookup_interval_s = lookup_interval_s
        self._last_lookup = -math.inf
        self._lookup_lock = asyncio.Lock()
        self._privileged_names = frozenset(p.casefold() for p in settings.privileged_policies)
        caps = {Capability.ACCOUNTS, Capability.CREDENTIALS, Capability.REVOKE, Capability.VERIFY}
        if settings.stream:
            caps.add(Capability.EVENTS)
        self.capabilities = frozenset(caps)
        self.lookups = 0
        """LookupEvents calls made (pages read), for tests and diagnostics."""

    @property
    def where(self) -> str:
        return f"provider {self.name!r} (type aws-iam)"

    @classmethod
    def from_config(
        cls,
        name: str,
        settings: Mapping[str, Any],
        context: ProviderContext,
        *,
        sleep: Sleep = asyncio.sleep,
        lookup_interval_s: float = LOOKUP_MIN_INTERVAL_S,
    ) -> AwsIamProvider:
        where = f"provider {name!r} (type aws-iam)"
        parsed = parse_settings(where, settings)
        has_key = "access_key_id" in settings or "secret_access_key" in settings
        if has_key and parsed.profile is not None:
            raise ProviderConfigError(
                f"{where}: setting 'profile' cannot be combined with access_key_id/"
                "secret_access_key; use one or the other"
            )
        key_id = secret = token = None
        if has_key:
            for key in ("access_key_id", "secret_access_key"):
                if key not in settings:
                    raise ProviderConfigError(
                        f"{where}: setting {key!r} is required with "
                        f"{'secret_access_key' if key == 'access_key_id' else 'access_key_id'}"
                    )
            key_id = _secret(
                where, "access_key_id", settings["access_key_id"], context, plain_ok=True
            )
            secret = _secret(
                where, "secret_access_key", settings["secret_access_key"], context, plain_ok=False
            )
            if settings.get("session_token") is not None:
                token = _secret(
                    where, "session_token", settings["session_token"], context, plain_ok=False
                )
        elif settings.get("session_token") is not None:
            raise ProviderConfigError(
                f"{where}: setting 'session_token' needs access_key_id and secret_access_key"
            )

        try:
            import boto3
            import boto3.session
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ProfileNotFound
        except ImportError as exc:
            raise ProviderConfigError(BOTO3_MISSING) from exc

        try:
            session = boto3.session.Session(
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                aws_session_token=token,
                region_name=parsed.region,
                profile_name=parsed.profile,
            )
        except ProfileNotFound as exc:
            raise ProviderConfigError(
                f"{where}: setting 'profile': no AWS profile {parsed.profile!r} "
                "in ~/.aws/config or ~/.aws/credentials"
            ) from exc
        except BotoCoreError as exc:
            raise ProviderConfigError(f"{where}: cannot create an AWS session: {exc}") from exc
        region = parsed.region or session.region_name or "us-east-1"
        if parsed.region is None:
            parsed = dataclasses.replace(parsed, region=region)
        config = Config(
            region_name=region,
            connect_timeout=parsed.timeout_s,
            read_timeout=parsed.timeout_s,
            retries={"total_max_attempts": parsed.max_retries + 1, "mode": parsed.retry_mode},
            user_agent_extra=f"pamtui/{__version__}",
            max_pool_connections=USER_CONCURRENCY + 2,
        )
        verify: Any = str(parsed.ca_bundle) if parsed.ca_bundle else None
        try:
            iam = session.client(
                "iam", endpoint_url=parsed.endpoint_url, config=config, verify=verify
            )
            cloudtrail = session.client(
                "cloudtrail",
                endpoint_url=parsed.cloudtrail_endpoint_url,
                config=config,
                verify=verify,
            )
        except BotoCoreError as exc:
            raise ProviderConfigError(f"{where}: cannot create the AWS clients: {exc}") from exc
        return cls(
            name,
            parsed,
            iam,
            cloudtrail,
            state_dir=context.state_dir,
            secrets=[s for s in (secret, token) if s],
            sleep=sleep,
            lookup_interval_s=lookup_interval_s,
        )

    # -- calls ---------------------------------------------------------------

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _translate(self, client: Any, op: str, exc: Exception) -> Exception:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )
        from botocore.parsers import ResponseParserError

        service = client.meta.service_model.service_name if client is not None else "aws"
        api = client.meta.method_to_api_mapping.get(op, op) if client is not None else op
        what = f"{self.where}: {service}:{api}"
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {}) or {}
            code = str(error.get("Code") or "Unknown")
            message = str(error.get("Message") or "").strip()
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            text = f"{what} failed: {code}" + (f": {message}" if message else "")
            text += f" (HTTP {status})" if status else ""
            if code.startswith("AccessDenied") or code == "UnauthorizedOperation":
                text += f"; the provider's AWS credentials need {service}:{api}"
            elif code in _AUTH_FAILURES:
                text += "; check the access key id and secret (or the profile) of this provider"
            retryable = code in _THROTTLING or status >= 500 or status == 429
            return AwsApiError(self._redact(text), code=code, status=status, retryable=retryable)
        if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
            return ProviderError(self._redact(f"{what}: cannot connect: {exc}"), retryable=True)
        if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            return ProviderError(self._redact(f"{what}: timed out: {exc}"), retryable=True)
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return ProviderError(
                f"{what}: no usable AWS credentials ({exc}); set access_key_id and "
                "secret_access_key, or profile"
            )
        if isinstance(exc, BotoCoreError):
            return ProviderError(self._redact(f"{what}: {exc}"))
        if isinstance(exc, ResponseParserError):  # not a BotoCoreError: a malformed answer
            first = " ".join(str(exc).split("\n", 1)[0].split())[:200]
            text = f"{what}: malformed response ({first})"
            return ProviderError(self._redact(text), retryable=True)
        return exc

    def _sync(self, client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, in the current (worker) thread; errors translated."""
        try:
            return getattr(client, op)(**kwargs)
        except Exception as exc:
            raise self._translate(client, op, exc) from exc

    async def _call(self, client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync, client, op, **kwargs)

    def _pages(self, op: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item of an IAM list call (``Marker``/``IsTruncated``), synchronously."""
        items: list[Any] = []
        marker: str | None = None
        while True:
            more = {"MaxItems": LIST_PAGE, **({"Marker": marker} if marker else {})}
            page = self._sync(self.iam, op, **kwargs, **more)
            items.extend(page.get(key) or [])
            marker = page.get("Marker")
            if not page.get("IsTruncated") or not marker:
                return items

    # -- listings ------------------------------------------------------------

    async def _users(self) -> AsyncIterator[dict[str, Any]]:
        marker: str | None = None
        while True:
            page = await self._call(
                self.iam, "list_users", MaxItems=LIST_PAGE, **({"Marker": marker} if marker else {})
            )
            for user in page.get("Users") or []:
                if isinstance(user, dict) and user.get("UserName"):
                    yield user
            marker = page.get("Marker")
            if not page.get("IsTruncated") or not marker:
                return

    async def _per_user(self, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Any]:
        """``fn(user, *args)`` in worker threads, :data:`USER_CONCURRENCY` users at a time.

        Results come in ``ListUsers`` order; a user deleted meanwhile is skipped.
        """

        async def one(user: dict[str, Any]) -> Any:
            try:
                return await asyncio.to_thread(fn, user, *args)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                log.debug("%s: user %s vanished while listing", self.name, user["UserName"])
                return None

        batch: list[dict[str, Any]] = []

        async def flush() -> list[Any]:
            results = await asyncio.gather(*(one(u) for u in batch))
            batch.clear()
            return [r for r in results if r is not None]

        async for user in self._users():
            batch.append(user)
            if len(batch) >= USER_CONCURRENCY:
                for result in await flush():
                    yield result
        for result in await flush():
            yield result

    async def list_accounts(self) -> AsyncIterator[Account]:
        cache: dict[str, Any] = {}
        async for account in self._per_user(self._account, cache):
            yield account

    def _policy_reasons(
        self, state: dict[str, Any], budget: list[int], user: str, group_names: list[str]
    ) -> list[str]:
        """Why ``user`` is privileged (synchronous, in a worker thread)."""
        reasons: list[str] = []

        def managed(policies: list[dict[str, Any]], via: str) -> None:
            for policy in policies:
                pname, arn = policy.get("PolicyName", ""), policy.get("PolicyArn", "")
                if pname.casefold() in self._privileged_names:
                    reasons.append(f"{pname} via {via}")
                elif arn and not arn.startswith(_AWS_MANAGED) and budget[0] > 0:
                    docs: dict[str, str] = state.setdefault("managed", {})
                    if arn not in docs:
                        budget[0] -= 1
                        info = self._sync(self.iam, "get_policy", PolicyArn=arn)["Policy"]
                        version = self._sync(
                            self.iam,
                            "get_policy_version",
                            PolicyArn=arn,
                            VersionId=info["DefaultVersionId"],
                        )["PolicyVersion"]
                        docs[arn] = broad_grant(version.get("Document"))
                    if docs[arn]:
                        reasons.append(f"{pname} ({docs[arn]}) via {via}")

        def inline(names: list[str], get: str, via: str, **who: str) -> None:
            for pname in names:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
                doc = self._sync(self.iam, get, PolicyName=pname, **who).get("PolicyDocument")
                why = broad_grant(doc)
                if why:
                    reasons.append(f"inline {pname} ({why}) via {via}")

        managed(
            self._pages("list_attached_user_policies", "AttachedPolicies", UserName=user), "user"
        )
        inline(
            self._pages("list_user_policies", "PolicyNames", UserName=user),
            "get_user_policy",
            "user",
            UserName=user,
        )
        groups: dict[str, list[str]] = state.setdefault("groups", {})
        for gname in group_names:
            if gname not in groups:
                before = len(reasons)
                managed(
                    self._pages(
                        "list_attached_group_policies", "AttachedPolicies", GroupName=gname
                    ),
                    f"group {gname}",
                )
                inline(
                    self._pages("list_group_policies", "PolicyNames", GroupName=gname),
                    "get_group_policy",
                    f"group {gname}",
                    GroupName=gname,
                )
                groups[gname] = reasons[before:]
                del reasons[before:]
            reasons.extend(groups[gname])
        return reasons

    def _account(self, user: dict[str, Any], cache: dict[str, Any]) -> Account:
        name = user["UserName"]
        groups = [
            str(g.get("GroupName"))
            for g in self._pages("list_groups_for_user", "Groups", UserName=name)
            if g.get("GroupName")
        ]
        reasons = self._policy_reasons(cache, [MAX_POLICY_DOCUMENTS], name, groups)
        tags = {
            t.get("Key", ""): str(t.get("Value", ""))
            for t in self._pages("list_user_tags", "Tags", UserName=name)
        }
        console = True
        try:
            self._sync(self.iam, "get_login_profile", UserName=name)
        except AwsApiError as exc:
            if exc.code != "NoSuchEntity":
                raise
            console = False
        last_active = _utc(user.get("PasswordLastUsed"))
        for key in self._pages("list_access_keys", "AccessKeyMetadata", UserName=name):
            used = self._last_used(key.get("AccessKeyId", "")).get("LastUsedDate")
            used = _utc(used)
            if used and (last_active is None or used > last_active):
                last_active = used
        s = self.settings
        owner = tags.get(s.owner_tag, "").strip() if s.owner_tag else ""
        kind_text = tags.get(s.kind_tag, "").strip().lower() if s.kind_tag else ""
        if "bot" in kind_text:
            kind = AccountKind.BOT
        elif "service" in kind_text:
            kind = AccountKind.SERVICE
        elif kind_text or console or user.get("PasswordLastUsed"):
            kind = AccountKind.HUMAN
        else:
            kind = AccountKind.SERVICE
        arn = str(user.get("Arn", ""))
        account_number = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if reasons:
            log.debug("%s: %s is privileged: %s", self.name, name, "; ".join(reasons))
        return Account(
            provider=self.name,
            id=name,
            name=name,
            kind=kind,
            status=AccountStatus.ACTIVE,
            email=owner if "@" in owner else "",
            display_name=tags.get("Name", "").strip(),
            system=f"aws:{account_number}" if account_number else "aws",
            privileged=bool(reasons),
            groups=tuple(groups),
            owner=owner,
            owner_status=_owner_status(tags.get(s.hr_tag, "")) if s.hr_tag else OwnerStatus.UNKNOWN,
            created=_utc(user.get("CreateDate")),
            last_active=last_active,
        )

    def _last_used(self, key_id: str) -> dict[str, Any]:
        if not key_id:
            return {}
        try:
            answer = self._sync(self.iam, "get_access_key_last_used", AccessKeyId=key_id)
        except AwsApiError as exc:
            if exc.code in ("NoSuchEntity", "AccessDenied"):
                return {}
            raise
        return answer.get("AccessKeyLastUsed") or {}

    def _credentials_of(self, user: str) -> list[Credential]:
        creds = []
        for key in self._pages("list_access_keys", "AccessKeyMetadata", UserName=user):
            key_id = key.get("AccessKeyId", "")
            if not key_id:
                continue
            used = self._last_used(key_id)
            service, region = used.get("ServiceName", ""), used.get("Region", "")
            label = f"access key {key_id}"
            if service and service != "N/A":
                label += f" (last used: {service}" + (
                    f" in {region})" if region and region != "N/A" else ")"
                )
            status = (
                CredentialStatus.ACTIVE
                if key.get("Status") == "Active"
                else CredentialStatus.INACTIVE
            )
            creds.append(
                Credential(
                    provider=self.name,
                    id=key_id,
                    account_id=user,
                    kind=CredentialKind.ACCESS_KEY,
                    status=status,
                    label=label,
                    fingerprint=f"…{key_id[-4:]}",
                    created=_utc(key.get("CreateDate")),
                    last_used=_utc(used.get("LastUsedDate")),
                )
            )
        return creds

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        if account is not None:
            try:
                creds = await asyncio.to_thread(self._credentials_of, account.id)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                creds = []  # the user is gone, and its keys with it
            for cred in creds:
                yield cred
            return
        async for creds in self._per_user(lambda user: self._credentials_of(user["UserName"])):
            for cred in creds:
                yield cred

    # -- events --------------------------------------------------------------

    def _cursor_file(self) -> Path | None:
        if self.state_dir is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.name)
        return self.state_dir / f"aws-iam-{safe}.cursor"

    def _load_position(self) -> StreamPosition | None:
        path = self._cursor_file()
        if path is None or not path.is_file():
            return None
        try:
            return StreamPosition.decode(path.read_text(encoding="utf-8").strip())
        except (OSError, ProviderError) as exc:
            log.warning("%s: ignoring the saved stream position: %s", self.name, exc)
            return None

    def _save_position(self, position: StreamPosition) -> None:
        path = self._cursor_file()
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(position.encode())
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("%s: cannot save the stream position: %s", self.name, exc)

    async def _lookup(self, **kwargs: Any) -> dict[str, Any]:
        async with self._lookup_lock:
            wait = self._last_lookup + self._lookup_interval_s - time.monotonic()
            if wait > 0:
                await self._sleep(wait)
            try:
                return await self._call(self.cloudtrail, "lookup_events", **kwargs)
            finally:
                self._last_lookup = time.monotonic()
                self.lookups += 1

    async def _read_slice(self, start: datetime, end: datetime) -> tuple[list[dict[str, Any]], int]:
        """Every event from ``start`` to ``end`` (both inclusive), and the pages read."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        pages = 0
        while True:
            pages += 1
            page = await self._lookup(
                StartTime=start,
                EndTime=end,
                MaxResults=LOOKUP_PAGE,
                **({"NextToken": token} if token else {}),
            )
            if not isinstance(page.get("Events"), list):
                # LookupEvents always answers an Events list; botocore parses a body that is
                # not JSON into an answer without one. Read as "no events", the stream would
                # skip this window for good.
                raise ProviderError(
                    f"{self.where}: cloudtrail:LookupEvents returned a malformed response "
                    "(no Events list)",
                    retryable=True,
                )
            events.extend(e for e in page.get("Events") or [] if isinstance(e, dict))
            token = page.get("NextToken")
            if not token:
                return events, pages

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """CloudTrail management events, oldest first, polled forever."""
        if not self.settings.stream:
            return
        if since:
            try:
                position = StreamPosition.decode(since)
            except ProviderError as exc:
                raise ProviderError(f"{self.where}: {exc}") from None
        else:
            position = self._load_position() or StreamPosition(
                datetime.now(UTC).replace(microsecond=0)
                - timedelta(minutes=self.settings.backfill_minutes)
            )
        span = SLICE
        try:
            while True:
                end = datetime.now(UTC).replace(microsecond=0) - timedelta(
                    seconds=self.settings.settle_seconds
                )
                oldest = end - HISTORY + timedelta(minutes=1)
                if position.ts < oldest:
                    log.warning(
                        "%s: the stream position %s is older than CloudTrail's 90-day "
                        "history; resuming at %s",
                        self.name,
                        position.ts.isoformat(),
                        oldest.isoformat(),
                    )
                    position = StreamPosition(oldest)
                while position.ts <= end:
                    stop = min(end, position.ts + span)
                    raw, pages = await self._read_slice(position.ts, stop)
                    if pages == 1 and len(raw) < LOOKUP_PAGE:
                        span = min(span * 2, HISTORY)
                    elif pages > SLICE_MAX_PAGES:
                        span = max(span / 2, SLICE_MIN)
                    batch = []
                    for item in raw:
                        ts, event_id = _utc(item.get("EventTime")), str(item.get("EventId") or "")
                        if ts is None or ts > stop or not _EVENT_ID.match(event_id):
                            continue
                        batch.append((ts, event_id, item))
                    batch.sort(key=lambda t: (t[0], t[1]))
                    for ts, event_id, item in batch:
                        if position.seen(ts, event_id):
                            continue
                        position.advance(ts, event_id)
                        yield self._event(item, ts, position.encode())
                    if position.ts < stop:
                        position = StreamPosition(stop)
                    self._save_position(position)
                    if stop >= end:
                        break
                await self._sleep(self.settings.poll_seconds)
        finally:
            # Closed by the consumer (or failed): keep what was handed out.
            self._save_position(position)

    def _event(self, item: dict[str, Any], ts: datetime, cursor: str) -> AccessEvent:
        detail: dict[str, Any] = {}
        raw = item.get("CloudTrailEvent")
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
                if isinstance(parsed, dict):
                    detail = parsed
        identity = (
            detail.get("userIdentity") if isinstance(detail.get("userIdentity"), dict) else {}
        )
        issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
        account = (
            str(identity.get("userName") or "")
            or str(item.get("Username") or "")
            or (str(issuer.get("userName") or "") if isinstance(issuer, dict) else "")
            or ("root" if identity.get("type") == "Root" else "")
            or str(identity.get("principalId") or "")
        )
        source = str(detail.get("eventSource") or item.get("EventSource") or "")
        error = str(detail.get("errorCode") or "")
        if not error:
            status = 200
        elif error.startswith(("AccessDenied", "Client.UnauthorizedOperation")) or error in (
            "UnauthorizedOperation",
            "Forbidden",
        ):
            status = 403
        elif error in _AUTH_FAILURES:
            status = 401
        elif error in _THROTTLING:
            status = 429
        elif error.startswith("Server.") or error in ("InternalError", "InternalFailure"):
            status = 500
        else:
            status = 400
        return AccessEvent(
            provider=self.name,
            ts=ts,
            account_id=account,
            credential_id=str(identity.get("accessKeyId") or item.get("AccessKeyId") or ""),
            method=source.removesuffix(".amazonaws.com") or "aws",
            path=str(detail.get("eventName") or item.get("EventName") or ""),
            status=status,
            source_ip=str(detail.get("sourceIPAddress") or ""),
            user_agent=str(detail.get("userAgent") or ""),
            cursor=cursor,
        )

    # -- revocation ----------------------------------------------------------

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            if target.kind is not CredentialKind.ACCESS_KEY:
                raise ProviderError(f"{self.where}: cannot revoke a {target.kind} credential")
            who = target.account_id

            def on_key(name: str, label: str, order: int, reversible: bool = False):
                return RevokeAction.on_credential(
                    self.name, target, name, label, order, reversible=reversible
                )

            return [
                on_key(
                    "deactivate_access_key",
                    f"Deactivate access key {target.id} of IAM user {who}",
                    20,
                    True,
                ),
                on_key("delete_access_key", f"Delete access key {target.id} of IAM user {who}", 30),
                RevokeAction(
                    self.name,
                    "revoke_older_sessions",
                    TargetKind.ACCOUNT,
                    who,
                    who,
                    f"Deny STS sessions issued before now to IAM user {who} "
                    f"(temporary credentials outlive the key)",
                    True,
                    50,
                ),
            ]
        if isinstance(target, Account):
            who = target.name or target.id

            def on_account(name: str, label: str, order: int, reversible: bool = False):
                return RevokeAction.on_account(
                    self.name, target, name, label, order, reversible=reversible
                )

            return [
                on_account(
                    "delete_login_profile", f"Delete console password of IAM user {who}", 45
                ),
                on_account(
                    "revoke_older_sessions",
                    f"Deny STS sessions issued before now to IAM user {who} "
                    f"(inline policy {REVOKE_SESSIONS_POLICY})",
                    50,
                    True,
                ),
            ]
        raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")

    def _check(self, action: RevokeAction) -> None:
        if action.provider != self.name:
            raise ProviderError(
                f"action for provider {action.provider!r} sent to aws-iam provider {self.name!r}"
            )
        if action.name in _CREDENTIAL_ACTIONS:
            kind = TargetKind.CREDENTIAL
            if not _KEY_ID.match(action.target_id):
                raise ProviderError(f"{self.where}: invalid access key id {action.target_id!r}")
        elif action.name in _ACCOUNT_ACTIONS:
            kind = TargetKind.ACCOUNT
        else:
            raise ProviderError(f"{self.where}: unknown action {action.name!r}")
        if action.target_kind is not kind:
            raise ProviderError(f"{self.where}: action {action.name!r} needs a {kind} target")
        if not _USER_NAME.match(action.account_id):
            raise ProviderError(f"{self.where}: invalid IAM user name {action.account_id!r}")

    async def _key_status(self, user: str, key_id: str) -> str | None:
        """``Active``/``Inactive``, or None when the key (or its user) does not exist."""
        try:
            keys = await asyncio.to_thread(
                self._pages, "list_access_keys", "AccessKeyMetadata", UserName=user
            )
        except AwsApiError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        for key in keys:
            if key.get("AccessKeyId") == key_id:
                return str(key.get("Status") or "")
        return None

    async def _session_policy(self, user: str) -> tuple[dict[str, Any] | None, str]:
        """Our deny policy on ``user`` (or None) and the ``Date`` of IAM's answer."""
        try:
            answer = await self._call(
                self.iam, "get_user_policy", UserName=user, PolicyName=REVOKE_SESSIONS_POLICY
            )
        except AwsApiError as exc:
            if exc.code == "NoSuchEntity":
                cause = exc.__cause__
                headers = getattr(cause, "response", {}).get("ResponseMetadata", {})
                return None, str(headers.get("HTTPHeaders", {}).get("date", ""))
            raise
        date = str(answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date", ""))
        return _document(answer.get("PolicyDocument")), date

    @staticmethod
    def _cutoff(document: dict[str, Any] | None) -> datetime | None:
        """The ``aws:TokenIssueTime`` cut-off of our deny policy, if it is one."""
        for statement in _as_list((document or {}).get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
                continue
            if "*" not in _as_list(statement.get("Action")):
                continue
            condition = (statement.get("Condition") or {}).get("DateLessThan") or {}
            if isinstance(condition, dict):
                cutoff = _utc(condition.get("aws:TokenIssueTime"))
                if cutoff is not None:
                    return cutoff
        return None

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        self._check(action)
        user, target = action.account_id, action.target_id
        if action.name == "deactivate_access_key":
            status = await self._key_status(user, target)
            if status is None:
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} does not exist (already deleted)",
                    provider_response={"status": "absent"},
                )
            if status == "Inactive":
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} is already inactive",
                    provider_response={"status": "Inactive"},
                )
            await self._call(
                self.iam, "update_access_key", UserName=user, AccessKeyId=target, Status="Inactive"
            )
            return RevokeResult(
                ok=True,
                detail=f"access key {target} of {user} deactivated",
                provider_response={"status": "Inactive"},
            )
        if action.name == "delete_access_key":
            try:
                await self._call(self.iam, "delete_access_key", UserName=user, AccessKeyId=target)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} was already deleted",
                    provider_response={"code": exc.code},
                )
            return RevokeResult(
                ok=True,
                detail=f"access key {target} of {user} deleted",
                provider_response={"status": "deleted"},
            )
        if action.name == "delete_login_profile":
            try:
                await self._call(self.iam, "delete_login_profile", UserName=user)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"IAM user {user} has no console password (already removed)",
                    provider_response={"code": exc.code},
                )
            return RevokeResult(
                ok=True,
                detail=f"console password of IAM user {user} deleted",
                provider_response={"status": "deleted"},
            )
        return await self._revoke_sessions(user, idempotency_key)

    async def _revoke_sessions(self, user: str, idempotency_key: str) -> RevokeResult:
        sid = _SID_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        document, date = await self._session_policy(user)
        existing = self._cutoff(document)
        if existing is not None and any(
            isinstance(s, dict) and s.get("Sid") == sid
            for s in _as_list((document or {}).get("Statement"))
        ):
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"sessions of IAM user {user} issued before "
                f"{existing:%Y-%m-%dT%H:%M:%SZ} are already denied",
                provider_response={
                    "policy": REVOKE_SESSIONS_POLICY,
                    "cutoff": existing.isoformat(),
                },
            )
        now = None
        if date:
            with contextlib.suppress(TypeError, ValueError):
                from email.utils import parsedate_to_datetime

                now = parsedate_to_datetime(date).astimezone(UTC)
        cutoff = (now or datetime.now(UTC)).replace(microsecond=0)
        if existing is not None and existing > cutoff:
            cutoff = existing  # never move the cut-off backwards
        stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": stamp}},
                }
            ],
        }
        try:
            await self._call(
                self.iam,
                "put_user_policy",
                UserName=user,
                PolicyName=REVOKE_SESSIONS_POLICY,
                PolicyDocument=json.dumps(policy),
            )
        except AwsApiError as exc:
            if exc.code != "NoSuchEntity":
                raise
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"IAM user {user} does not exist (no sessions to revoke)",
                provider_response={"code": exc.code},
            )
        return RevokeResult(
            ok=True,
            detail=f"STS sessions of IAM user {user} issued before {stamp} are denied "
            f"(inline policy {REVOKE_SESSIONS_POLICY})",
            provider_response={"policy": REVOKE_SESSIONS_POLICY, "cutoff": stamp},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        self._check(action)
        user, target = action.account_id, action.target_id
        if action.name in _CREDENTIAL_ACTIONS:
            status = await self._key_status(user, target)
            if status is None:
                return VerifyResult(
                    gone=True,
                    detail=f"access key {target} of {user} does not exist",
                    provider_response={"status": "absent"},
                )
            gone = action.name == "deactivate_access_key" and status == "Inactive"
            return VerifyResult(
                gone=gone,
                detail=f"access key {target} of {user} exists, status {status}",
                provider_response={"status": status},
            )
        if action.name == "delete_login_profile":
            try:
                await self._call(self.iam, "get_login_profile", UserName=user)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return VerifyResult(
                    gone=True,
                    detail=f"IAM user {user} has no console password",
                    provider_response={"code": exc.code},
                )
            return VerifyResult(
                gone=False,
                detail=f"IAM user {user} still has a console password",
                provider_response={"login_profile": True},
            )
        document, _ = await self._session_policy(user)
        cutoff = self._cutoff(document)
        if cutoff is None:
            return VerifyResult(
                gone=False,
                detail=f"IAM user {user} has no {REVOKE_SESSIONS_POLICY} deny policy",
                provider_response={"policy": None},
            )
        return VerifyResult(
            gone=True,
            detail=f"STS sessions of IAM user {user} issued before "
            f"{cutoff:%Y-%m-%dT%H:%M:%SZ} are denied",
            provider_response={"policy": REVOKE_SESSIONS_POLICY, "cutoff": cutoff.isoformat()},
        )

    async def aclose(self) -> None:
        for client in (self.iam, self.cloudtrail):
            close = getattr(client, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    def __repr__(self) -> str:
        return (
            f"AwsIamProvider(name={self.name!r}, region={self.settings.region!r}, "
            f"endpoint_url={self.settings.endpoint_url!r})"
        )
