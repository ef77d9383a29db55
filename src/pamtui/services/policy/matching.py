"""Which accounts and credentials the enabled policies select, and what they propose.

Pure: :func:`evaluate` reads account views and asks providers only for their
``revoke_actions``; nothing is staged here (see ``staging``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from pamtui.model import (
    Account,
    AccountStatus,
    Capability,
    Credential,
    OwnerStatus,
    RevokeAction,
    RiskFlag,
    TargetKind,
)
from pamtui.providers.base import Provider
from pamtui.services import risk
from pamtui.services.inventory import AccountView
from pamtui.services.plans import plan_for_account
from pamtui.services.policy.config import Match, Policy

_DEAD_ACCOUNT = (AccountStatus.DEACTIVATED, AccountStatus.DELETED)


@dataclass(frozen=True)
class Proposal:
    policy: Policy
    action: RevokeAction
    why: str
    plan: str = ""
    """Proposals of one policy sharing a non-empty ``plan`` are staged as one plan."""
    privileged: bool = False
    """The target's account is privileged: four eyes applies when the policy asks for it."""

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


def _needs_four_eyes(view: AccountView) -> bool:
    """Privileged for four eyes: flagged so, or by the flag's rule (a view without flags)."""
    return RiskFlag.PRIVILEGED in view.flags or _is_privileged(view)


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
        if not policy.enabled or policy.is_review or policy.is_offboard or policy.is_access:
            continue  # review: see evaluate_drift; offboard (people): see policy.people
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
                    _propose_for_credential(
                        result,
                        policy,
                        provider,
                        account,
                        credential,
                        why,
                        privileged=_needs_four_eyes(view),
                    )
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
    *,
    privileged: bool,
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
    result.append(Proposal(policy, action, why, privileged=privileged))


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
    privileged = _needs_four_eyes(view)
    result.extend(Proposal(policy, action, why, plan, privileged) for action in actions)


def _error(what: str, exc: Exception) -> str:
    return f"{what} failed: {type(exc).__name__}: {exc}"
