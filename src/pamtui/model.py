"""Plain data shared by every layer. No I/O, no Textual, no SQLite.

Timestamps are timezone-aware UTC ``datetime`` objects. Identifiers are the
provider's own (strings); an account or credential is unique by
``(provider, id)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any


def utcnow() -> datetime:
    return datetime.now(UTC)


class AccountKind(StrEnum):
    HUMAN = "human"
    SERVICE = "service"
    BOT = "bot"


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"
    DELETED = "deleted"


class CredentialKind(StrEnum):
    API_TOKEN = "api_token"
    ACCESS_KEY = "access_key"
    PERSONAL_ACCESS_TOKEN = "personal_access_token"
    SESSION = "session"
    SSH_KEY = "ssh_key"


class CredentialStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REVOKED = "revoked"
    EXPIRED = "expired"


class OwnerStatus(StrEnum):
    """Employment status of the human behind an account, from the HR roster."""

    EMPLOYED = "employed"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"


class Capability(StrEnum):
    ACCOUNTS = "accounts"
    CREDENTIALS = "credentials"
    EVENTS = "events"
    REVOKE = "revoke"
    VERIFY = "verify"
    PEOPLE = "people"
    """Serves an HR roster (``list_people``): see providers/roster.py."""


class RiskFlag(StrEnum):
    PRIVILEGED = "privileged"
    STALE = "stale"
    ORPHANED = "orphaned"
    ANOMALOUS = "anomalous"
    REGRESSED = "regressed"
    """Access pamtui revoked came back (found by ``pamtui audit recheck``)."""
    UNOWNED = "unowned"
    """A human account that correlation linked to nobody on the roster (services/people)."""
    MOVER = "mover"
    """Holds access the person's previous role's baseline granted and the new one does not."""
    EXCESS = "excess"
    """Holds access beyond every role baseline that matches its person (services/movers)."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account as a provider reports it: a person's login, a service or a bot."""

    provider: str
    id: str
    name: str
    kind: AccountKind
    status: AccountStatus
    email: str = ""
    display_name: str = ""
    system: str = ""
    """The system inside the provider (e.g. a cloud account, an org) if any."""
    privileged: bool = False
    groups: tuple[str, ...] = ()
    owner: str = ""
    """HR identifier of the responsible human (the person, or a service's owner)."""
    owner_status: OwnerStatus = OwnerStatus.UNKNOWN
    created: datetime | None = None
    last_active: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.id)


class PersonStatus(StrEnum):
    """Employment status on the HR roster."""

    EMPLOYED = "employed"
    LEAVE = "leave"
    TERMINATED = "terminated"


@dataclass(frozen=True, slots=True)
class Person:
    """One human on an HR roster (``providers/roster.py``), the unit of offboarding."""

    id: str
    """The HR id (employee or contingent-worker number); unique within the roster."""
    name: str
    email: str = ""
    """Work email, the strongest link after the HR id."""
    aliases: tuple[str, ...] = ()
    """Other email addresses (old names, short forms); matched like the work email."""
    status: PersonStatus = PersonStatus.EMPLOYED
    terminated: datetime | None = None
    manager: str = ""
    """The manager's HR id."""
    department: str = ""
    title: str = ""
    organization: str = ""
    division: str = ""
    cost_center: str = ""
    """Further HR fields where a source has them (the SCIM enterprise extension)."""
    worker_type: str = "employee"
    """``employee`` or ``contractor`` (Workday's contingent worker)."""
    source: str = ""
    """The roster source it came from (a provider instance name)."""

    @property
    def owner_status(self) -> OwnerStatus:
        """The status accounts show for their owner (leave is still employed)."""
        if self.status is PersonStatus.TERMINATED:
            return OwnerStatus.TERMINATED
        return OwnerStatus.EMPLOYED


class LinkRule(StrEnum):
    """How an account was linked to a person, strongest first (see services/people.py)."""

    MANUAL = "manual"
    HR_ID = "hr_id"
    WORK_EMAIL = "work_email"
    ALIAS = "alias"
    PROVIDER = "provider"


class LinkRelation(StrEnum):
    """What the person is to the account."""

    HOLDER = "holder"
    """A human account: the person signs in with it."""
    OWNER = "owner"
    """A service account or bot: the person answers for it."""


@dataclass(frozen=True, slots=True)
class Identity:
    """An identity a provider found on an account, for correlation's ``provider`` rule.

    A provider may implement ``account_identities(account) -> Iterable[Identity]``
    (GitHub: the member's SAML identity or verified org email; AWS: a tag).
    """

    kind: str
    """``hr_id``, ``email``, or ``name_id`` (a SAML NameID: HR id, else work email, else alias)."""
    value: str
    evidence: str
    """Where it was read, e.g. ``SAML identity (NameID) in org acme``."""


@dataclass(frozen=True, slots=True)
class AccountLink:
    """One account linked to one person, with how and why (shown to operators and auditors)."""

    person_id: str
    account: tuple[str, str]
    """``(provider, account id)``, the account's key."""
    rule: LinkRule
    evidence: str
    """What matched, in words: ``owner E1111 (HR id reported by demo-idp)``."""
    relation: LinkRelation = LinkRelation.HOLDER


@dataclass(frozen=True, slots=True)
class Credential:
    """Something that authenticates as an account: a key, a token, a session, a password."""

    provider: str
    id: str
    account_id: str
    kind: CredentialKind
    status: CredentialStatus
    label: str = ""
    scopes: tuple[str, ...] = ()
    fingerprint: str = ""
    """Never the secret itself: last four characters and a short hash prefix."""
    created: datetime | None = None
    expires: datetime | None = None
    last_used: datetime | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.provider, self.id)

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.provider, self.account_id)


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One API call a provider's stream reported: who, with what, from where, and how it ended."""

    provider: str
    ts: datetime
    account_id: str
    credential_id: str
    method: str
    path: str
    status: int
    source_ip: str = ""
    user_agent: str = ""
    cursor: str = ""
    """Opaque provider cursor; resuming after it yields the events that follow."""

    @property
    def denied(self) -> bool:
        return self.status in (401, 403)


class TargetKind(StrEnum):
    ACCOUNT = "account"
    CREDENTIAL = "credential"
    GRANT = "grant"
    """One group, team or role membership of an account (``RevokeAction.on_grant``)."""


GRANT_SEPARATOR = "#"
"""A grant target's id is ``ACCOUNT_ID#GRANT``: the account id is known, so no escaping."""


@dataclass(frozen=True, slots=True)
class RevokeAction:
    """One thing a provider can do to remove access, e.g. revoke one token."""

    provider: str
    name: str
    """Machine name: revoke_token, deactivate_account, clear_sessions, ..."""
    target_kind: TargetKind
    target_id: str
    account_id: str
    label: str
    reversible: bool = False
    order: int = 50
    """Plans run in ascending order: credentials before the account itself."""

    @property
    def subject(self) -> str:
        return f"{self.target_kind}:{self.target_id}"

    @classmethod
    def on_credential(
        cls,
        provider: str,
        credential: Credential,
        name: str,
        label: str,
        order: int,
        *,
        reversible: bool = False,
    ) -> RevokeAction:
        return cls(
            provider,
            name,
            TargetKind.CREDENTIAL,
            credential.id,
            credential.account_id,
            label,
            reversible,
            order,
        )

    @classmethod
    def on_account(
        cls,
        provider: str,
        account: Account,
        name: str,
        label: str,
        order: int,
        *,
        reversible: bool = False,
    ) -> RevokeAction:
        return cls(
            provider, name, TargetKind.ACCOUNT, account.id, account.id, label, reversible, order
        )

    @classmethod
    def on_grant(
        cls,
        provider: str,
        account: Account,
        grant: str,
        name: str,
        label: str,
        order: int,
        *,
        reversible: bool = True,
    ) -> RevokeAction:
        """Remove one group, team or role (``grant``, as in ``Account.groups``) from an account."""
        target = f"{account.id}{GRANT_SEPARATOR}{grant}"
        return cls(provider, name, TargetKind.GRANT, target, account.id, label, reversible, order)

    @property
    def grant(self) -> str:
        """A grant target's group, team or role; '' for any other target."""
        prefix = f"{self.account_id}{GRANT_SEPARATOR}"
        if self.target_kind is not TargetKind.GRANT or not self.target_id.startswith(prefix):
            return ""
        return self.target_id[len(prefix) :]


@dataclass(frozen=True, slots=True)
class RevokeResult:
    """What a provider said when asked to end access (``already_done``: it had ended)."""

    ok: bool
    already_done: bool = False
    detail: str = ""
    provider_response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What a provider said when asked again whether the access is really gone."""

    gone: bool
    detail: str = ""
    provider_response: dict[str, Any] = field(default_factory=dict)


class QueueState(StrEnum):
    STAGED = "staged"
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    EXECUTING = "executing"
    REVOKED = "revoked"
    VERIFIED = "verified"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL_STATES = frozenset({QueueState.VERIFIED, QueueState.CANCELLED})


@dataclass(frozen=True, slots=True)
class QueueItem:
    """One revocation in the queue: its action, its state, who asked and who approved."""

    id: int
    state: QueueState
    action: RevokeAction
    reason: str
    requested_by: str
    idempotency_key: str
    created: datetime
    updated: datetime
    plan_id: str = ""
    attempts: int = 0
    last_error: str = ""
    approved_by: str = ""
    four_eyes: bool = False
    lease_owner: str = ""
    lease_until: str = ""


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One hash-chained entry of the audit journal, as stored."""

    seq: int
    ts: str
    actor: str
    action: str
    provider: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


ROLES = ("operator", "approver", "admin")
"""What an acting identity may do (services/roles.py says which act needs which)."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: the OS account of the real uid (local) or an SSH key's operator.

    Never from ``USER``/``LOGNAME``, a config file or a flag; see
    services/identity.py for where each comes from.
    """

    name: str
    key_fingerprint: str | None = None
    """The authenticated SSH key's ``SHA256:...`` fingerprint (bastion mode only)."""
    roles: frozenset[str] = frozenset()
    via: str = "local"
    """``local`` (the OS account) or ``ssh`` (an authenticated key)."""

    def has(self, role: str) -> bool:
        return role in self.roles
