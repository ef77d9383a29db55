"""A person's offboarding steps, in the documented order, across every provider.

Pure functions over what the providers propose (``plans.plan_for_account``);
:meth:`pamtui.services.revoke.RevocationService.plan_person` turns them into a
:class:`~pamtui.services.revoke.Plan` the operator confirms.

The order, by phase (a step's ``order`` becomes ``phase * 100 + its own
order``, so the provider's order still holds inside a phase):

1. **block new logins at the identity provider**: suspend (else deactivate)
   the person's account at every identity provider. These are the plan's
   *gates*: every other provider's steps wait for them in the queue;
2. **end sessions**: ``clear_sessions``, ``end_session``, ``revoke_sessions``, STS sessions;
3. **revoke tokens and keys** in every system (and console passwords);
4. **remove memberships** (``remove_member``, directory roles, app role assignments);
5. **disable or delete accounts**.

Why this order: once the identity provider refuses new logins, the person
cannot sign in through SSO to mint a new token while the old ones are being
revoked; sessions go before tokens so a live session cannot create one; an
account is disabled last, because disabling it first hides (in some systems)
the tokens that still work.

Accounts the person only *owns* (service accounts, bots: relation
``owner``) are not deprovisioned: ending them would break what they run. They
are listed as "needs a new owner" for the operator to hand over.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pamtui.model import (
    AccountLink,
    AccountStatus,
    CredentialStatus,
    LinkRelation,
    RevokeAction,
    TargetKind,
)
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.plans import plan_for_account

PHASE_BLOCK_LOGINS = 1
PHASE_SESSIONS = 2
PHASE_CREDENTIALS = 3
PHASE_MEMBERSHIPS = 4
PHASE_ACCOUNTS = 5

PHASES: dict[int, str] = {
    PHASE_BLOCK_LOGINS: "block new logins at the identity provider",
    PHASE_SESSIONS: "end sessions",
    PHASE_CREDENTIALS: "revoke tokens and keys",
    PHASE_MEMBERSHIPS: "remove memberships",
    PHASE_ACCOUNTS: "disable or delete accounts",
}

_SESSION_ACTIONS = frozenset(
    {"clear_sessions", "end_session", "revoke_older_sessions", "revoke_sessions"}
)
_MEMBERSHIP_ACTIONS = frozenset(
    {
        "remove_member",
        "remove_from_group",
        "remove_membership",
        "remove_privileged_roles",  # entra: directory roles
        "remove_app_role_assignment",
    }
)
_CREDENTIAL_ACCOUNT_ACTIONS = frozenset({"revoke_all_tokens", "delete_login_profile"})
_BLOCK_ACTIONS = ("suspend_account", "deactivate_account", "disable_account")
"""At an identity provider, the first of these that it offers blocks new logins."""
IDENTITY_PROVIDER_TYPES = frozenset({"okta", "scim", "entra"})


def is_identity_provider(provider: Any) -> bool:
    """Whether people sign in to other systems through this provider.

    A provider says so with an ``identity_provider`` attribute; otherwise the
    ``okta``, ``scim`` and ``entra`` types are, and a demo instance serving
    the ``idp`` system is.
    """
    declared = getattr(provider, "identity_provider", None)
    if isinstance(declared, bool):
        return declared
    if getattr(provider, "type", "") in IDENTITY_PROVIDER_TYPES:
        return True
    return "idp" in tuple(getattr(provider, "systems", ()) or ())


def phase_of(action: RevokeAction) -> int:
    """The phase of a step of a person plan (its order divided by 100)."""
    return max(PHASE_BLOCK_LOGINS, min(PHASE_ACCOUNTS, action.order // 100))


def _phase(action: RevokeAction) -> int:
    if action.name in _SESSION_ACTIONS:
        return PHASE_SESSIONS
    if action.target_kind is TargetKind.CREDENTIAL or action.name in _CREDENTIAL_ACCOUNT_ACTIONS:
        return PHASE_CREDENTIALS
    if action.name in _MEMBERSHIP_ACTIONS:
        return PHASE_MEMBERSHIPS
    return PHASE_ACCOUNTS


def _at(action: RevokeAction, phase: int) -> RevokeAction:
    return dataclasses.replace(action, order=phase * 100 + min(99, max(0, action.order)))


@dataclass(frozen=True)
class PersonSteps:
    """What a person plan stages, and what it reports without staging."""

    steps: tuple[RevokeAction, ...]
    gates: frozenset[RevokeAction]
    accounts: tuple[AccountKey, ...]
    """Accounts with a step in the plan."""
    views: tuple[AccountView, ...]
    needs_owner: tuple[AccountLink, ...]
    """Accounts the person owns but does not sign in with: hand over, not deprovisioned."""
    already_ended: tuple[AccountKey, ...]
    """Accounts with nothing left live (not active, no active credential)."""
    unreadable: tuple[AccountKey, ...]
    """Linked accounts the inventory has no current view of."""


def live(view: AccountView) -> bool:
    """An account still gives access: it is active, or a credential of it is."""
    return view.account.status is AccountStatus.ACTIVE or any(
        c.status is CredentialStatus.ACTIVE for c in view.credentials
    )


def person_steps(
    links: Iterable[AccountLink],
    views: Mapping[AccountKey, AccountView],
    providers: Mapping[str, Any],
) -> PersonSteps:
    """Every step that ends the person's access, re-ordered by phase, gates marked."""
    steps: dict[tuple[str, str, str, str], RevokeAction] = {}
    gates: set[RevokeAction] = set()
    accounts: list[AccountKey] = []
    chosen: list[AccountView] = []
    needs_owner: list[AccountLink] = []
    ended: list[AccountKey] = []
    unreadable: list[AccountKey] = []
    for link in links:
        if link.relation is LinkRelation.OWNER:
            needs_owner.append(link)
            continue
        view = views.get(link.account)
        provider = providers.get(link.account[0])
        if view is None or provider is None:
            unreadable.append(link.account)
            continue
        if not live(view):
            ended.append(link.account)
            continue
        proposed = plan_for_account(provider, view.account, view.credentials)
        block = None
        if is_identity_provider(provider):
            names = {a.name: a for a in proposed}
            block = next((names[n] for n in _BLOCK_ACTIONS if n in names), None)
        for action in proposed:
            if action is block:
                staged = _at(action, PHASE_BLOCK_LOGINS)
                gates.add(staged)
            else:
                staged = _at(action, _phase(action))
            key = (staged.provider, staged.name, str(staged.target_kind), staged.target_id)
            steps.setdefault(key, staged)
        accounts.append(link.account)
        chosen.append(view)
    ordered = sorted(steps.values(), key=lambda a: (a.order, a.provider, a.target_id))
    return PersonSteps(
        steps=tuple(ordered),
        gates=frozenset(g for g in gates if g in ordered),
        accounts=tuple(accounts),
        views=tuple(chosen),
        needs_owner=tuple(needs_owner),
        already_ended=tuple(ended),
        unreadable=tuple(unreadable),
    )
