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

The package's modules, one job each: ``settings`` (declared settings),
``calls`` (boto3 wrapper, AWS errors), ``inventory`` (users, keys, privileged),
``cloudtrail`` (the event stream and its cursor), ``revoke`` (revoke and
verify) and ``provider`` (the class that puts them together). The entry point
``pamtui.providers.aws_iam:AwsIamProvider`` is re-exported here.
"""

from pamtui.providers.aws_iam.calls import BOTO3_MISSING, AwsApiError
from pamtui.providers.aws_iam.cloudtrail import LOOKUP_MIN_INTERVAL_S, StreamPosition
from pamtui.providers.aws_iam.documents import broad_grant
from pamtui.providers.aws_iam.provider import AwsIamProvider
from pamtui.providers.aws_iam.revoke import REVOKE_SESSIONS_POLICY
from pamtui.providers.aws_iam.settings import SETTINGS, AwsSettings, parse_settings

__all__ = [
    "BOTO3_MISSING",
    "LOOKUP_MIN_INTERVAL_S",
    "REVOKE_SESSIONS_POLICY",
    "SETTINGS",
    "AwsApiError",
    "AwsIamProvider",
    "AwsSettings",
    "StreamPosition",
    "broad_grant",
    "parse_settings",
]
