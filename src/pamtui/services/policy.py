"""Declarative policies that stage revocations automatically (``pamtui sweep``).

A policy is one ``[[policies]]`` table of the config file::

    [[policies]]
    name = "stale-tokens"                 # required, unique, [a-z0-9-]+
    match = { credential_kind = "api_token", unused_days_over = 90 }
    action = "revoke_token"               # a revoke action name, or "plan"
    providers = ["corp-okta", "github"]   # optional; default: every provider
    enabled = true                        # optional; default true
    approve = false                       # optional; default false

    [[policies]]
    name = "terminated-owners"
    match = { owner_status = "terminated" }
    action = "plan"                       # the account's full de-provisioning plan
    approve = true

What a policy selects
---------------------

``action`` decides whether the policy acts on credentials or on accounts:

- a credential action (``revoke_token``, ``deactivate_access_key``,
  ``delete_access_key``, ``end_session``) selects **credentials**: every live
  credential that meets the conditions gets the provider's action of that
  name (among ``provider.revoke_actions(credential)``). ``stale-tokens``
  above proposes ``revoke_token`` for each active API token whose last use
  (or creation, if never used) is more than 90 days old.
- an account action (``deactivate_account``, ``suspend_account``,
  ``delete_account``, ``remove_member``, ``clear_sessions``,
  ``delete_login_profile``) selects **accounts** and proposes the provider's
  action of that name for the account.
- ``"plan"`` selects **accounts** and proposes the whole de-provisioning plan
  (:func:`pamtui.services.queue.plan_for_account`): every live credential is
  revoked first, then the account-level actions. ``terminated-owners`` above
  stages bob's token, bob's session and the deactivation of his account, as
  one plan in the queue.

A provider-specific action name that pamtui does not know needs
``target = "credential"`` or ``target = "account"`` next to it.

Conditions (``match``; every condition given must hold, AND; at least one)
--------------------------------------------------------------------------

Credential conditions:

- ``credential_kind``: a kind (``api_token``, ``access_key``,
  ``personal_access_token``, ``session``, ``ssh_key``) or a list of kinds.
- ``unused_days_over = N`` (positive integer): active, and last used (or
  created, if never used) more than N days ago.
- ``expired = true``: past its expiry date but still active (``false``: not
  past an expiry date).
- ``admin_scope = true``: holds an admin scope
  (:func:`pamtui.services.risk.has_admin_scope`); ``false``: holds none.

Account conditions:

- ``owner_status``: ``"terminated"`` (the owner left, per the HR roster),
  ``"employed"`` or ``"unknown"``.
- ``account_kind``: ``human``, ``service`` or ``bot``, or a list of them.
- ``privileged = true|false``: the account is privileged, or holds a live
  credential with an admin scope (the same rule as the PRIVILEGED risk flag).

For a credential policy, account conditions apply to the credential's
account. For an account policy, credential conditions mean "the account has
at least one live credential meeting all of them": ``match = { owner_status =
"terminated", admin_scope = true }`` with ``action = "plan"`` de-provisions
terminated owners who still hold an admin token (and the plan then revokes
all their live credentials, not only that one).

Nothing is ever proposed for a credential that is not active, nor for an
account (or any credential of an account) that is deactivated or deleted.

Drift: ``action = "review"``
---------------------------

A review policy reacts to what changed in this sync (``services/drift.py``)
by putting the accounts into an access review; it never revokes::

    [[policies]]
    name = "new-admins"
    match = { drift = ["new_privileged_account", "privilege_granted", "admin_scope_added"] }
    action = "review"

- ``drift`` is a list of change kinds, each one of ``drift.KINDS``.
- ``drift`` is only valid with ``action = "review"``, and a review policy
  may use no other condition (only ``providers`` and ``enabled`` besides);
  ``target`` and ``approve`` are errors there.
- :func:`evaluate` ignores review policies; :func:`evaluate_drift` matches
  them against the :class:`~pamtui.services.drift.SyncRecord` of this sync
  (a provider's first sync is a baseline without changes: nothing happens).
- :func:`review_drift` starts one campaign per policy per sweep, scope
  ``drift:NAME``, actor ``policy:NAME``, journalled like any campaign start.
  An account already in an *open* campaign of the same policy is reported as
  a duplicate and not added again. In a dry run nothing is written, and
  ``pamtui sweep --dry-run`` diffs against the stored snapshot without
  storing one (:func:`preview_drift`), so it does not consume the drift.

Staging
-------

:func:`evaluate` is pure: it reads views and asks providers only for their
``revoke_actions``. :func:`sweep` stages its proposals in the revocation
queue, attributed to the actor ``policy:NAME`` with the reason ``policy
NAME: why``; with ``approve = true`` the items are approved at once (``pamtui
queue run`` executes them), otherwise they wait for an operator. A target
that already has an item in the queue that is pending, executing, done or
failed-and-retryable is skipped, so running ``pamtui sweep`` from cron does
not stage duplicates (a *cancelled* item does not block: the policy proposes
it again, so fix the policy if it is wrong).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from os import PathLike
from typing import Any

from pamtui.config import ConfigError
from pamtui.journal import JournalError
from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    OwnerStatus,
    QueueItem,
    QueueState,
    RevokeAction,
    TargetKind,
)
from pamtui.providers.base import Provider
from pamtui.sanitize import clean
from pamtui.services import drift, risk
from pamtui.services.inventory import AccountView
from pamtui.services.queue import QueueError, RevocationQueue, plan_for_account

PLAN = "plan"
REVIEW = "review"

CREDENTIAL_ACTIONS = frozenset(
    {"revoke_token", "deactivate_access_key", "delete_access_key", "end_session"}
)
ACCOUNT_ACTIONS = frozenset(
    {
        "deactivate_account",
        "suspend_account",
        "delete_account",
        "remove_member",
        "clear_sessions",
        "delete_login_profile",
    }
)

# A target with an item in one of these states is not staged again. FAILED is
# included: a failed item is still in the queue, waiting for `queue retry`.
BLOCKING_STATES = (
    QueueState.STAGED,
    QueueState.AWAITING_APPROVAL,
    QueueState.APPROVED,
    QueueState.EXECUTING,
    QueueState.REVOKED,
    QueueState.VERIFIED,
    QueueState.FAILED,
)

_NAME = re.compile(r"[a-z0-9-]+")
_ACTION = re.compile(r"[a-z][a-z0-9_]*")
_POLICY_KEYS = ("name", "match", "action", "target", "providers", "enabled", "approve")
_MATCH_KEYS = (
    "credential_kind",
    "unused_days_over",
    "expired",
    "admin_scope",
    "owner_status",
    "account_kind",
    "privileged",
    "drift",
)
_DEAD_ACCOUNT = (AccountStatus.DEACTIVATED, AccountStatus.DELETED)


# -- policies ---------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The conditions of a policy; None means "not a condition"."""

    credential_kind: frozenset[CredentialKind] | None = None
    unused_days_over: int | None = None
    expired: bool | None = None
    admin_scope: bool | None = None
    owner_status: OwnerStatus | None = None
    account_kind: frozenset[AccountKind] | None = None
    privileged: bool | None = None
    drift: frozenset[str] | None = None
    """Change kinds (``drift.KINDS``) found in this sync; only with ``action = "review"``."""

    @property
    def has_credential_conditions(self) -> bool:
        return any(
            v is not None
            for v in (self.credential_kind, self.unused_days_over, self.expired, self.admin_scope)
        )


@dataclass(frozen=True)
class Policy:
    name: str
    match: Match
    action: str
    """A revoke action name, or ``"plan"`` (the account's full plan)."""
    target: TargetKind
    """What the policy selects: credentials, or accounts (always for ``plan``)."""
    providers: tuple[str, ...] | None = None
    """Provider names the policy applies to; None: every provider."""
    enabled: bool = True
    approve: bool = False

    @property
    def actor(self) -> str:
        return f"policy:{self.name}"

    @property
    def is_plan(self) -> bool:
        return self.action == PLAN

    @property
    def is_review(self) -> bool:
        return self.action == REVIEW

    def applies_to(self, provider: str) -> bool:
        return self.providers is None or provider in self.providers


def parse_policies(
    raw: Sequence[Mapping[str, Any]],
    where: str | PathLike[str] | None,
    *,
    providers: Collection[str] | None = None,
) -> tuple[Policy, ...]:
    """Validate the ``[[policies]]`` tables (``Config.policies``) of the file ``where``.

    With ``providers`` (the configured provider names), a policy naming any
    other provider is an error too. Raises :class:`ConfigError` naming the
    file, the policy's index and the key.
    """
    where = str(where) if where is not None else "<config>"
    policies: list[Policy] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        policy = _parse_one(table, where, f"policies[{index}]", providers)
        if policy.name in seen:
            raise ConfigError(
                f"{where}: policies[{index}].name: policy name {policy.name!r} is already "
                f"used by policies[{seen[policy.name]}]"
            )
        seen[policy.name] = index
        policies.append(policy)
    return tuple(policies)


def _parse_one(table: Any, where: str, key: str, known_providers: Collection[str] | None) -> Policy:
    def fail(sub: str, expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}{sub}: expected {expected}")

    if not isinstance(table, Mapping):
        raise fail("", "a table ([[policies]])")
    unknown = sorted(str(k) for k in table if k not in _POLICY_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: {key}.{unknown[0]}: unknown key (known: {', '.join(_POLICY_KEYS)})"
        )

    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail(".name", "a name of lowercase letters, digits and '-' (e.g. 'stale-tokens')")

    if "match" not in table:
        raise fail(".match", "a table of conditions, e.g. match = { unused_days_over = 90 }")
    match = _parse_match(table["match"], where, f"{key}.match")

    action = table.get("action")
    if not isinstance(action, str) or not (action == PLAN or _ACTION.fullmatch(action)):
        raise fail(
            ".action",
            "a revoke action name such as 'revoke_token' or 'deactivate_account', 'plan' "
            "or 'review'",
        )
    _check_review(table, match, action, where, key)
    target = TargetKind.ACCOUNT if action == REVIEW else _parse_target(table, action, where, key)

    providers: tuple[str, ...] | None = None
    if "providers" in table:
        value = table["providers"]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(p, str) and p.strip() for p in value)
        ):
            raise fail(".providers", "a non-empty list of provider names")
        if known_providers is not None:
            for p in value:
                if p not in known_providers:
                    raise ConfigError(
                        f"{where}: {key}.providers: no provider named {p!r} is configured"
                    )
        providers = tuple(dict.fromkeys(value))

    flags = {}
    for flag, default in (("enabled", True), ("approve", False)):
        value = table.get(flag, default)
        if type(value) is not bool:
            raise fail(f".{flag}", "true or false")
        flags[flag] = value

    return Policy(
        name=name,
        match=match,
        action=action,
        target=target,
        providers=providers,
        enabled=flags["enabled"],
        approve=flags["approve"],
    )


def _check_review(
    table: Mapping[str, Any], match: Match, action: str, where: str, key: str
) -> None:
    """``drift`` only with ``action = "review"``, and a review policy uses only ``drift``."""
    if action != REVIEW:
        if match.drift is not None:
            raise ConfigError(
                f'{where}: {key}.match.drift: the drift condition needs action = "review" '
                f"(not {action!r}): drift puts accounts into review, it never revokes"
            )
        return
    if match.drift is None:
        raise ConfigError(
            f'{where}: {key}.match: action = "review" needs the drift condition, e.g. '
            'match = { drift = ["privilege_granted"] }'
        )
    others = sorted(
        k for k in table["match"] if k != "drift"
    )  # the table was validated by _parse_match
    if others:
        raise ConfigError(
            f"{where}: {key}.match.{others[0]}: a review policy may only use the drift "
            "condition (and providers)"
        )
    for flag in ("target", "approve"):
        if flag in table:
            raise ConfigError(f'{where}: {key}.{flag}: not allowed with action = "review"')


def _parse_target(table: Mapping[str, Any], action: str, where: str, key: str) -> TargetKind:
    implied: TargetKind | None = None
    if action == PLAN or action in ACCOUNT_ACTIONS:
        implied = TargetKind.ACCOUNT
    elif action in CREDENTIAL_ACTIONS:
        implied = TargetKind.CREDENTIAL
    if "target" not in table:
        if implied is None:
            raise ConfigError(
                f"{where}: {key}.action: unknown action {action!r}; for a provider-specific "
                'action add target = "credential" or target = "account"'
            )
        return implied
    value = table["target"]
    if value not in ("credential", "account"):
        raise ConfigError(f"{where}: {key}.target: expected 'credential' or 'account'")
    target = TargetKind(value)
    if implied is not None and target is not implied:
        raise ConfigError(
            f"{where}: {key}.target: action {action!r} acts on an {implied}, not a {target}"
        )
    return target


def _parse_match(value: Any, where: str, key: str) -> Match:
    def fail(sub: str, expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}.{sub}: expected {expected}")

    if not isinstance(value, Mapping):
        raise ConfigError(
            f"{where}: {key}: expected a table of conditions, e.g. match = {{ unused_days_over = 90 }}"
        )
    unknown = sorted(str(k) for k in value if k not in _MATCH_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: {key}.{unknown[0]}: unknown condition (known: {', '.join(_MATCH_KEYS)})"
        )
    if not value:
        raise ConfigError(
            f"{where}: {key}: expected at least one condition (a policy never matches everything)"
        )

    def kinds(sub: str, enum: type[Any]) -> frozenset[Any] | None:
        if sub not in value:
            return None
        raw = value[sub]
        items = raw if isinstance(raw, list) else [raw]
        choices = ", ".join(e.value for e in enum)
        if not items or not all(isinstance(i, str) and i in enum._value2member_map_ for i in items):
            raise fail(sub, f"one of {choices}, or a list of them")
        return frozenset(enum(i) for i in items)

    def boolean(sub: str) -> bool | None:
        if sub not in value:
            return None
        if type(value[sub]) is not bool:
            raise fail(sub, "true or false")
        return bool(value[sub])

    unused = value.get("unused_days_over")
    if "unused_days_over" in value and (type(unused) is not int or unused <= 0):
        raise fail("unused_days_over", "a positive integer")

    owner: OwnerStatus | None = None
    if "owner_status" in value:
        raw = value["owner_status"]
        if not isinstance(raw, str) or raw not in OwnerStatus._value2member_map_:
            raise fail("owner_status", f"one of {', '.join(s.value for s in OwnerStatus)}")
        owner = OwnerStatus(raw)

    change_kinds: frozenset[str] | None = None
    if "drift" in value:
        raw = value["drift"]
        items = raw if isinstance(raw, list) else [raw]
        known = ", ".join(drift.KINDS)
        if not items or not all(isinstance(i, str) for i in items):
            raise fail("drift", f"a list of change kinds ({known})")
        bad = [i for i in items if i not in drift.KINDS]
        if bad:
            raise ConfigError(
                f"{where}: {key}.drift: unknown change kind {bad[0]!r} (known: {known})"
            )
        change_kinds = frozenset(items)

    return Match(
        credential_kind=kinds("credential_kind", CredentialKind),
        unused_days_over=unused,
        expired=boolean("expired"),
        admin_scope=boolean("admin_scope"),
        owner_status=owner,
        account_kind=kinds("account_kind", AccountKind),
        privileged=boolean("privileged"),
        drift=change_kinds,
    )


# -- evaluation -------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    policy: Policy
    action: RevokeAction
    why: str
    plan: str = ""
    """Proposals of one policy sharing a non-empty ``plan`` are staged as one plan."""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return _action_key(self.action)


@dataclass(frozen=True)
class Skip:
    """Something a policy matched but could not propose."""

    policy: Policy
    provider: str
    subject: str
    why: str
    error: bool = False
    """True when a provider failed (a failure), False when it has no such action."""


class Proposals(list[Proposal]):
    """The proposals of :func:`evaluate`, with what was matched but skipped."""

    def __init__(self, items: Iterable[Proposal] = (), skipped: Iterable[Skip] = ()) -> None:
        super().__init__(items)
        self.skipped: list[Skip] = list(skipped)


def _action_key(action: RevokeAction) -> tuple[str, str, str, str]:
    return (action.provider, action.name, str(action.target_kind), action.target_id)


def _days(delta: timedelta) -> int:
    return int(delta.total_seconds() // 86400)


def _is_privileged(view: AccountView) -> bool:
    return view.account.privileged or any(
        risk.has_admin_scope(c) for c in risk.live_credentials(view.credentials)
    )


def _account_reasons(match: Match, view: AccountView) -> list[str] | None:
    """Why the account meets the account conditions, or None if it does not."""
    account = view.account
    reasons: list[str] = []
    if match.owner_status is not None:
        if account.owner_status is not match.owner_status:
            return None
        owner = f" ({account.owner})" if account.owner else ""
        if match.owner_status is OwnerStatus.TERMINATED:
            reasons.append(f"owner{owner} left (terminated per HR roster)")
        else:
            reasons.append(f"owner{owner} is {match.owner_status}")
    if match.account_kind is not None:
        if account.kind not in match.account_kind:
            return None
        reasons.append(f"{account.kind} account")
    if match.privileged is not None:
        if _is_privileged(view) is not match.privileged:
            return None
        reasons.append("privileged" if match.privileged else "not privileged")
    return reasons


def _credential_reasons(match: Match, credential: Credential, now: datetime) -> list[str] | None:
    """Why the (active) credential meets the credential conditions, or None."""
    reasons: list[str] = []
    if match.credential_kind is not None:
        if credential.kind not in match.credential_kind:
            return None
        reasons.append(str(credential.kind))
    if match.unused_days_over is not None:
        if not risk.is_stale(credential, now, match.unused_days_over):
            return None
        if credential.last_used is not None:
            ago = _days(now - credential.last_used)
            reasons.append(f"last used {ago} days ago (over {match.unused_days_over})")
        else:
            ago = _days(now - credential.created) if credential.created else 0
            reasons.append(f"never used, created {ago} days ago (over {match.unused_days_over})")
    if match.expired is not None:
        is_expired = credential.expires is not None and credential.expires <= now
        if is_expired is not match.expired:
            return None
        if is_expired and credential.expires is not None:
            reasons.append(f"expired {_days(now - credential.expires)} days ago but still active")
        else:
            reasons.append("not expired")
    if match.admin_scope is not None:
        admin = risk.has_admin_scope(credential)
        if admin is not match.admin_scope:
            return None
        if admin:
            scopes = [
                s
                for s in credential.scopes
                if any(m in s.lower() for m in risk.ADMIN_SCOPE_MARKERS)
            ]
            reasons.append(f"admin scope {', '.join(scopes)}")
        else:
            reasons.append("no admin scope")
    return reasons


def _describe_credential(credential: Credential) -> str:
    label = f" {credential.label}" if credential.label else ""
    return f"{credential.kind}{label} ({credential.id})"


def _describe_account(account: Account) -> str:
    return f"account {account.name or account.id}"


def evaluate(
    policies: Iterable[Policy],
    views: Iterable[AccountView],
    providers: Mapping[str, Provider],
    now: datetime,
) -> Proposals:
    """What the enabled policies propose for these accounts, in policy order.

    Pure: nothing is staged; providers are asked only for ``revoke_actions``.
    Matches that cannot be proposed (the provider offers no such action, or
    failed to say) are in the result's ``skipped``.
    """
    views = sorted(views, key=lambda v: v.key)
    result = Proposals()
    for policy in policies:
        if not policy.enabled or policy.is_review:
            continue  # review policies react to drift: see evaluate_drift
        for view in views:
            account = view.account
            if account.status in _DEAD_ACCOUNT or not policy.applies_to(account.provider):
                continue
            account_reasons = _account_reasons(policy.match, view)
            if account_reasons is None:
                continue
            provider = providers.get(account.provider)
            live = risk.live_credentials(view.credentials)
            if policy.target is TargetKind.CREDENTIAL:
                for credential in live:
                    reasons = _credential_reasons(policy.match, credential, now)
                    if reasons is None:
                        continue
                    why = "; ".join(
                        [
                            f"{_describe_credential(credential)} of {_describe_account(account)}",
                            *reasons,
                            *account_reasons,
                        ]
                    )
                    _propose_for_credential(result, policy, provider, account, credential, why)
                continue
            cred_reasons: list[str] = []
            if policy.match.has_credential_conditions:
                hits = [
                    (c, r)
                    for c in live
                    if (r := _credential_reasons(policy.match, c, now)) is not None
                ]
                if not hits:
                    continue
                credential, reasons = hits[0]
                more = f" (and {len(hits) - 1} more)" if len(hits) > 1 else ""
                cred_reasons = [
                    f"holds {_describe_credential(credential)}{more}: {', '.join(reasons)}"
                ]
            why = "; ".join([_describe_account(account), *account_reasons, *cred_reasons])
            _propose_for_account(result, policy, provider, view, why)
    return result


def _provider_for(
    result: Proposals, policy: Policy, provider: Provider | None, name: str, subject: str
) -> Provider | None:
    if provider is None:
        result.skipped.append(Skip(policy, name, subject, f"provider {name!r} is not configured"))
        return None
    if Capability.REVOKE not in provider.capabilities:
        result.skipped.append(Skip(policy, name, subject, f"provider {name!r} cannot revoke"))
        return None
    return provider


def _propose_for_credential(
    result: Proposals,
    policy: Policy,
    provider: Provider | None,
    account: Account,
    credential: Credential,
    why: str,
) -> None:
    subject = f"{TargetKind.CREDENTIAL}:{credential.id}"
    provider = _provider_for(result, policy, provider, credential.provider, subject)
    if provider is None:
        return
    try:
        offered = provider.revoke_actions(credential)
    except Exception as exc:  # a provider (or plugin) failure skips this match only
        result.skipped.append(
            Skip(policy, credential.provider, subject, _error("revoke_actions", exc), error=True)
        )
        return
    action = next((a for a in offered if a.name == policy.action), None)
    if action is None:
        names = ", ".join(a.name for a in offered) or "none"
        result.skipped.append(
            Skip(
                policy,
                credential.provider,
                subject,
                f"{credential.provider} offers no {policy.action} for "
                f"{_describe_credential(credential)} (offers: {names})",
            )
        )
        return
    result.append(Proposal(policy, action, why))


def _propose_for_account(
    result: Proposals,
    policy: Policy,
    provider: Provider | None,
    view: AccountView,
    why: str,
) -> None:
    account = view.account
    subject = f"{TargetKind.ACCOUNT}:{account.id}"
    provider = _provider_for(result, policy, provider, account.provider, subject)
    if provider is None:
        return
    try:
        if policy.is_plan:
            actions = plan_for_account(provider, account, risk.live_credentials(view.credentials))
        else:
            actions = [a for a in provider.revoke_actions(account) if a.name == policy.action][:1]
    except Exception as exc:  # a provider (or plugin) failure skips this match only
        result.skipped.append(
            Skip(policy, account.provider, subject, _error("revoke_actions", exc), error=True)
        )
        return
    if not actions:
        what = "revoke actions" if policy.is_plan else policy.action
        result.skipped.append(
            Skip(
                policy,
                account.provider,
                subject,
                f"{account.provider} offers no {what} for {_describe_account(account)}",
            )
        )
        return
    plan = f"{account.provider}/{account.id}" if policy.is_plan else ""
    result.extend(Proposal(policy, action, why, plan) for action in actions)


def _error(what: str, exc: Exception) -> str:
    return f"{what} failed: {type(exc).__name__}: {exc}"


# -- sweeping ---------------------------------------------------------------

STAGED = "staged"
DUPLICATE = "duplicate"
UNSUPPORTED = "unsupported"
FAILED = "failed"
_OUTCOMES = (STAGED, DUPLICATE, UNSUPPORTED, FAILED)


@dataclass(frozen=True)
class SweepEntry:
    outcome: str
    """``staged`` (or would be, in a dry run), ``duplicate``, ``unsupported``, ``failed``."""
    policy: str
    provider: str
    action: str
    subject: str
    message: str
    item_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "policy": self.policy,
            "provider": self.provider,
            "action": self.action,
            "subject": self.subject,
            "message": self.message,
            "item": self.item_id,
        }


@dataclass
class SweepReport:
    dry_run: bool = False
    entries: list[SweepEntry] = field(default_factory=list)
    items: list[QueueItem] = field(default_factory=list)
    """The queue items staged (none in a dry run)."""
    reviews: list[ReviewEntry] = field(default_factory=list)
    """What review policies did with this sync's drift (see :func:`review_drift`)."""
    campaigns: list[int] = field(default_factory=list)
    """The review campaigns started (none in a dry run)."""

    def _of(self, outcome: str) -> list[SweepEntry]:
        return [e for e in self.entries if e.outcome == outcome]

    @property
    def staged(self) -> list[SweepEntry]:
        return self._of(STAGED)

    @property
    def duplicates(self) -> list[SweepEntry]:
        return self._of(DUPLICATE)

    @property
    def unsupported(self) -> list[SweepEntry]:
        return self._of(UNSUPPORTED)

    @property
    def failed(self) -> list[SweepEntry]:
        return self._of(FAILED)

    def counts(self) -> dict[str, int]:
        return {outcome: len(self._of(outcome)) for outcome in _OUTCOMES}

    @property
    def reviewed(self) -> list[ReviewEntry]:
        return [e for e in self.reviews if e.outcome == REVIEWED]

    def review_counts(self) -> dict[str, int]:
        return {o: sum(e.outcome == o for e in self.reviews) for o in _REVIEW_OUTCOMES}

    @property
    def ok(self) -> bool:
        """Nothing failed (the CLI exits 1 otherwise)."""
        return not self.failed and not any(e.outcome == FAILED for e in self.reviews)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": {**self.counts(), "reviewed": len(self.reviewed)},
            "entries": [e.as_dict() for e in self.entries],
            "reviews": {
                "counts": self.review_counts(),
                "campaigns": list(self.campaigns),
                "entries": [e.as_dict() for e in self.reviews],
            },
        }

    def summary_lines(self) -> list[str]:
        """A one-line summary, then one line per entry; provider text is cleaned."""
        c = self.counts()
        staged = "would stage" if self.dry_run else "staged"
        lines = [
            f"sweep{' (dry run)' if self.dry_run else ''}: {c[STAGED]} {staged}, "
            f"{c[DUPLICATE]} already queued, {c[UNSUPPORTED]} unsupported, {c[FAILED]} failed"
        ]
        labels = {
            STAGED: "would stage" if self.dry_run else "staged",
            DUPLICATE: "queued",
            UNSUPPORTED: "unsupported",
            FAILED: "FAILED",
        }
        for e in self.entries:
            item = f" #{e.item_id}" if e.item_id is not None else ""
            action = f" {e.action}" if e.action else ""
            lines.append(
                clean(
                    f"  {labels[e.outcome]:<11} policy:{e.policy}{item} {e.provider}"
                    f"{action} {e.subject}: {e.message}",
                    max_length=1000,
                )
            )
        if self.reviews:
            r = self.review_counts()
            put = "would put" if self.dry_run else "put"
            started = ", ".join(f"#{c}" for c in self.campaigns)
            lines.append(
                f"review{' (dry run)' if self.dry_run else ''}: {r[REVIEWED]} {put} into review"
                f"{f' (campaign {started})' if started else ''}, {r[DUPLICATE]} already in "
                f"review, {r[UNSUPPORTED]} gone, {r[FAILED]} failed"
            )
            review_labels = {
                REVIEWED: "would review" if self.dry_run else "reviewed",
                DUPLICATE: "in review",
                UNSUPPORTED: "gone",
                FAILED: "FAILED",
            }
            for rev in self.reviews:
                campaign = f" #{rev.campaign_id}" if rev.campaign_id is not None else ""
                lines.append(
                    clean(
                        f"  {review_labels[rev.outcome]:<12} policy:{rev.policy} drift:{rev.policy}"
                        f"{campaign} {rev.provider} {rev.subject} ({rev.account_name}): {rev.message}",
                        max_length=1000,
                    )
                )
        return lines


def sweep(queue: RevocationQueue, proposals: Iterable[Proposal], *, dry_run: bool) -> SweepReport:
    """Stage the proposals in the queue, as their policies say; never raises for one.

    Each target already in the queue (see ``BLOCKING_STATES``) or staged
    earlier in this sweep is skipped as a duplicate. Proposals of one plan
    are staged together, as one plan. A staging failure is recorded and the
    sweep goes on with the next. With ``dry_run`` nothing is staged or
    journalled. The ``skipped`` matches of :func:`evaluate`'s result are
    reported as unsupported (or failed, when a provider failed).
    """
    report = SweepReport(dry_run=dry_run)
    for skip in getattr(proposals, "skipped", ()):
        report.entries.append(
            SweepEntry(
                FAILED if skip.error else UNSUPPORTED,
                skip.policy.name,
                skip.provider,
                "" if skip.policy.is_plan else skip.policy.action,
                skip.subject,
                skip.why,
            )
        )

    groups: dict[tuple[str, int | str], list[Proposal]] = {}
    for n, proposal in enumerate(proposals):
        plan_key = proposal.plan or n
        groups.setdefault((proposal.policy.name, plan_key), []).append(proposal)

    def entry(outcome: str, proposal: Proposal, message: str, item: int | None = None) -> None:
        report.entries.append(
            SweepEntry(
                outcome,
                proposal.policy.name,
                proposal.action.provider,
                proposal.action.name,
                proposal.action.subject,
                message,
                item,
            )
        )

    try:
        queued = {_action_key(i.action) for i in queue.items(BLOCKING_STATES, limit=-1)}
    except (QueueError, JournalError, sqlite3.Error) as exc:
        for group in groups.values():
            for proposal in group:
                entry(FAILED, proposal, f"not staged: cannot read the queue: {exc}")
        return report

    for group in groups.values():
        fresh: list[Proposal] = []
        for proposal in group:
            if proposal.key in queued:
                entry(DUPLICATE, proposal, "already in the queue")
            else:
                fresh.append(proposal)
        if not fresh:
            continue
        policy = fresh[0].policy
        if dry_run:
            for proposal in fresh:
                queued.add(proposal.key)
                entry(STAGED, proposal, proposal.why)
            continue
        try:
            items = queue.stage(
                [p.action for p in fresh],
                f"policy {policy.name}: {fresh[0].why}",
                actor=policy.actor,
                approve=policy.approve,
            )
        except (QueueError, JournalError, sqlite3.Error) as exc:
            for proposal in fresh:
                entry(FAILED, proposal, f"not staged: {exc}")
            continue
        report.items.extend(items)
        for proposal, item in zip(fresh, items, strict=True):
            queued.add(proposal.key)
            state = " (approved)" if item.state is QueueState.APPROVED else ""
            entry(STAGED, proposal, f"{proposal.why}{state}", item.id)
    return report


# -- drift reviews ----------------------------------------------------------

REVIEWED = "reviewed"
_REVIEW_OUTCOMES = (REVIEWED, DUPLICATE, UNSUPPORTED, FAILED)


@dataclass(frozen=True)
class ReviewProposal:
    """An account whose changes in this sync meet a review policy's ``drift``."""

    policy: Policy
    provider: str
    account_id: str
    account_name: str
    changes: tuple[drift.Change, ...]
    view: AccountView | None
    """The account as this sync reported it; None if it is gone (nothing to review)."""

    @property
    def kinds(self) -> list[str]:
        return list(dict.fromkeys(c.kind for c in self.changes))

    @property
    def why(self) -> str:
        parts = []
        for change in self.changes:
            summary = change.summary
            label = drift.KIND_LABEL.get(change.kind, change.kind).lower()
            parts.append(f"{label}: {summary}" if summary else label)
        return "; ".join(dict.fromkeys(parts))


def evaluate_drift(
    policies: Iterable[Policy],
    records: Iterable[drift.SyncRecord],
    views: Iterable[AccountView],
) -> list[ReviewProposal]:
    """Which accounts the enabled review policies put into review, for this sync's records.

    Pure. ``records`` must be the :class:`~pamtui.services.drift.SyncRecord`
    of this sync only (a baseline has no changes, so proposes nothing).
    """
    by_key = {v.key: v for v in views}
    records = list(records)
    out: list[ReviewProposal] = []
    for policy in policies:
        mine: list[ReviewProposal] = []
        if not policy.enabled or not policy.is_review or not policy.match.drift:
            continue
        wanted = policy.match.drift
        for record in sorted(records, key=lambda r: r.provider):
            if record.baseline or not policy.applies_to(record.provider):
                continue
            grouped: dict[str, list[drift.Change]] = {}
            for change in record.changes:
                if change.kind in wanted:
                    grouped.setdefault(change.account_id, []).append(change)
            for account_id, changes in grouped.items():
                view = by_key.get((record.provider, account_id))
                name = view.account.name if view is not None else changes[0].account_name
                mine.append(
                    ReviewProposal(policy, record.provider, account_id, name, tuple(changes), view)
                )
        mine.sort(key=lambda p: (p.provider, p.account_name.casefold(), p.account_id))
        out.extend(mine)
    return out


def preview_drift(
    store: drift.SnapshotStore, by_provider: Mapping[str, Sequence[AccountView]]
) -> list[drift.SyncRecord]:
    """The changes these views would record, without storing anything (``--dry-run``).

    Returns one :class:`~pamtui.services.drift.SyncRecord` per provider with a
    stored snapshot; a provider never synced before would be a baseline.
    """
    records: list[drift.SyncRecord] = []
    if not store.path.exists():
        return [drift.SyncRecord(0, p, len(v), True) for p, v in by_provider.items()]
    conn = sqlite3.connect(f"file:{store.path}?mode=ro", uri=True, timeout=10)
    try:
        for provider, views in by_provider.items():
            known = {
                aid: json.loads(text)
                for aid, text in conn.execute(
                    "SELECT account_id, record FROM current WHERE provider = ?", (provider,)
                )
            }
            synced = conn.execute(
                "SELECT 1 FROM syncs WHERE provider = ? LIMIT 1", (provider,)
            ).fetchone()
            record = drift.SyncRecord(0, provider, len(views), not known and synced is None)
            records.append(record)
            if record.baseline:
                continue
            ts = drift.timestamp()
            seen = set()
            for view in views:
                aid = view.account.id
                seen.add(aid)
                new = json.loads(json.dumps(drift.record_of(view), sort_keys=True))
                old = known.get(aid)
                if old == new:
                    continue
                for kind, detail in drift.diff(aid, old, new):
                    record.changes.append(
                        drift.Change(ts, provider, aid, view.account.name, kind, detail)
                    )
            for aid, old in known.items():
                if aid not in seen:
                    for kind, detail in drift.diff(aid, old, None):
                        record.changes.append(
                            drift.Change(ts, provider, aid, old.get("n", aid), kind, detail)
                        )
    finally:
        conn.close()
    return records


@dataclass(frozen=True)
class ReviewEntry:
    outcome: str
    """``reviewed`` (or would be, in a dry run), ``duplicate``, ``unsupported``, ``failed``."""
    policy: str
    provider: str
    account_id: str
    account_name: str
    changes: tuple[str, ...]
    message: str
    campaign_id: int | None = None

    @property
    def subject(self) -> str:
        return f"account:{self.account_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "policy": self.policy,
            "provider": self.provider,
            "subject": self.subject,
            "account": self.account_name,
            "changes": list(self.changes),
            "message": self.message,
            "campaign": self.campaign_id,
        }


def review_drift(reviews: Any, proposals: Iterable[ReviewProposal], report: SweepReport) -> None:
    """Put the proposals into review campaigns (``reviews``: a ReviewService); never raises.

    One campaign per policy, scope ``drift:NAME``, actor ``policy:NAME``. An
    account already in an open campaign of the same policy is a duplicate. In
    a dry run (``report.dry_run``) nothing is written.
    """
    from pamtui.services.review import ReviewError, Scope

    by_policy: dict[str, list[ReviewProposal]] = {}
    for proposal in proposals:
        by_policy.setdefault(proposal.policy.name, []).append(proposal)

    def entry(outcome: str, p: ReviewProposal, message: str, campaign: int | None = None) -> None:
        report.reviews.append(
            ReviewEntry(
                outcome,
                p.policy.name,
                p.provider,
                p.account_id,
                p.account_name,
                tuple(p.kinds),
                message,
                campaign,
            )
        )

    for name, group in by_policy.items():
        policy = group[0].policy
        scope = Scope("drift", label=name)
        try:
            open_items: dict[tuple[str, str], int] = {}
            for campaign in reviews.campaigns():
                if campaign.scope != str(scope) or campaign.status != "open":
                    continue
                for item in reviews.items(campaign.id):
                    open_items.setdefault((item.provider, item.account_id), campaign.id)
        except (ReviewError, JournalError, sqlite3.Error) as exc:
            for p in group:
                entry(FAILED, p, f"not put into review: cannot read the campaigns: {exc}")
            continue
        fresh: list[ReviewProposal] = []
        for p in group:
            if p.view is None:
                entry(UNSUPPORTED, p, f"{p.why}; the account is gone: nothing to review")
            elif (p.provider, p.account_id) in open_items:
                campaign_id = open_items[(p.provider, p.account_id)]
                entry(DUPLICATE, p, f"already in open review #{campaign_id}", campaign_id)
            else:
                fresh.append(p)
        if not fresh:
            continue
        if report.dry_run:
            for p in fresh:
                entry(REVIEWED, p, p.why)
            continue
        try:
            campaign = reviews.start(
                scope,
                [p.view for p in fresh],
                actor=policy.actor,
                detail={
                    "policy": name,
                    "drift": {f"{p.provider}/{p.account_id}": p.kinds for p in fresh},
                },
            )
        except (ReviewError, JournalError, sqlite3.Error) as exc:
            for p in fresh:
                entry(FAILED, p, f"not put into review: {exc}")
            continue
        report.campaigns.append(campaign.id)
        for p in fresh:
            entry(REVIEWED, p, p.why, campaign.id)
