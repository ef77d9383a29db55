"""Which provider actions end an account's or a credential's access, in order.

Pure functions over what the providers propose; the revocation service
(services/revoke.py) turns their answer into a plan an operator submits.
"""

from __future__ import annotations

from collections.abc import Iterable

from pamtui.model import Account, Credential, CredentialStatus, RevokeAction
from pamtui.providers.base import Provider


def plan_for_account(
    provider: Provider, account: Account, credentials: Iterable[Credential]
) -> list[RevokeAction]:
    """Every step that removes an account's access, in execution order.

    Deactivating an account does not end its tokens, keys or sessions, so a
    plan revokes each live credential first (the provider's first proposed
    action for it) and ends with the account-level actions.
    """
    steps = [a for c in credentials for a in plan_for_credential(provider, c)]
    steps.extend(provider.revoke_actions(account))
    return sorted(steps, key=lambda a: a.order)


def plan_for_credential(provider: Provider, credential: Credential) -> list[RevokeAction]:
    """The provider's preferred action for one credential (its first proposal)."""
    if credential.status is not CredentialStatus.ACTIVE:
        return []
    return provider.revoke_actions(credential)[:1]
