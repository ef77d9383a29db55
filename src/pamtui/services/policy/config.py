"""Policies as configured: the ``[[policies]]`` tables, parsed and validated.

What each key means is documented in the package (``pamtui.services.policy``);
this module only turns the tables into :class:`Policy` values, or raises a
:class:`~pamtui.config.ConfigError` naming the file, the policy and the key.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

from pamtui.config import ConfigError
from pamtui.model import AccountKind, CredentialKind, OwnerStatus, TargetKind
from pamtui.services import drift

PLAN = "plan"
REVIEW = "review"
OFFBOARD = "offboard"
"""A person-level action: the person's whole offboarding plan (``policy/people.py``)."""
OFFBOARD_MATCH_KEYS = ("owner_status", "terminated_days_over")
REMOVE_EXCESS = "remove_excess"
"""A person-level action: remove a mover's old grants or excess grants (``policy/access.py``)."""
ACCESS_KINDS = ("mover", "excess")

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
    "terminated_days_over",
    "access",
)


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
    terminated_days_over: int | None = None
    """The person left more than N days ago (0: any time before now); only with ``offboard``."""
    access: frozenset[str] | None = None
    """``mover`` and/or ``excess`` grants (services/movers.py); only with ``remove_excess``."""

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

    @property
    def is_offboard(self) -> bool:
        """A person-level policy: ``evaluate`` skips it, ``policy.people`` handles it."""
        return self.action == OFFBOARD

    @property
    def is_access(self) -> bool:
        """A mover/excess policy: ``evaluate`` skips it, ``policy.access`` handles it."""
        return self.action == REMOVE_EXCESS

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
            "a revoke action name such as 'revoke_token' or 'deactivate_account', 'plan', "
            "'review', 'offboard' or 'remove_excess'",
        )
    _check_review(table, match, action, where, key)
    _check_offboard(table, action, where, key)
    _check_access(table, action, where, key)
    if action in (REVIEW, OFFBOARD, REMOVE_EXCESS):
        target = TargetKind.ACCOUNT
    else:
        target = _parse_target(table, action, where, key)

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


def _check_offboard(table: Mapping[str, Any], action: str, where: str, key: str) -> None:
    """``offboard`` matches people: only ``owner_status`` and ``terminated_days_over``."""
    match = table["match"]  # validated by _parse_match
    if action != OFFBOARD:
        if "terminated_days_over" in match:
            raise ConfigError(
                f'{where}: {key}.match.terminated_days_over: only with action = "offboard" '
                "(it is a condition on a person, not an account)"
            )
        return
    others = sorted(str(k) for k in match if k not in OFFBOARD_MATCH_KEYS)
    if others:
        raise ConfigError(
            f"{where}: {key}.match.{others[0]}: an offboard policy matches people: use only "
            f"{' and '.join(OFFBOARD_MATCH_KEYS)}"
        )
    if match.get("owner_status", "terminated") != "terminated":
        raise ConfigError(
            f'{where}: {key}.match.owner_status: an offboard policy needs "terminated"'
        )
    for flag in ("target", "providers"):
        if flag in table:
            raise ConfigError(
                f'{where}: {key}.{flag}: not allowed with action = "offboard" (a person is '
                "offboarded in every provider)"
            )


def _check_access(table: Mapping[str, Any], action: str, where: str, key: str) -> None:
    """``remove_excess`` matches people's grants: only ``access``; ``access`` only with it."""
    match = table["match"]  # validated by _parse_match
    if action != REMOVE_EXCESS:
        if "access" in match:
            raise ConfigError(
                f'{where}: {key}.match.access: only with action = "remove_excess" '
                "(it is a condition on a person's grants)"
            )
        return
    others = sorted(str(k) for k in match if k != "access")
    if others or "access" not in match:
        raise ConfigError(
            f"{where}: {key}.match{'.' + others[0] if others else ''}: a remove_excess policy "
            'matches only access, e.g. match = { access = ["mover", "excess"] }'
        )
    if "target" in table:
        raise ConfigError(f'{where}: {key}.target: not allowed with action = "remove_excess"')


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

    days_left = value.get("terminated_days_over")
    if "terminated_days_over" in value and (type(days_left) is not int or days_left < 0):
        raise fail("terminated_days_over", "a whole number of days, 0 or more")

    access: frozenset[str] | None = None
    if "access" in value:
        raw = value["access"]
        items = raw if isinstance(raw, list) else [raw]
        if not items or not all(isinstance(i, str) and i in ACCESS_KINDS for i in items):
            raise fail("access", f"one of {', '.join(ACCESS_KINDS)}, or a list of them")
        access = frozenset(items)

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
        terminated_days_over=days_left,
        access=access,
    )
