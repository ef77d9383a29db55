"""Risk flags for an account: privileged, stale, orphaned, anomalous.

Pure functions of what providers reported (and of what the anomaly detector
saw), so the CLI, the TUI and policies all agree on what is risky.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import lru_cache

from pamtui.model import (
    Account,
    AccountStatus,
    Credential,
    CredentialStatus,
    OwnerStatus,
    RiskFlag,
)

ADMIN_SCOPE_MARKERS = ("admin", "owner", "root", "fullaccess", "*")


def has_admin_scope(credential: Credential) -> bool:
    return _admin_scopes(credential.scopes)


@lru_cache(maxsize=4096)
def _admin_scopes(scopes: tuple[str, ...]) -> bool:
    # Memoised: at 300,000 credentials the same few hundred scope sets repeat.
    return any(marker in scope.lower() for scope in scopes for marker in ADMIN_SCOPE_MARKERS)


def is_live(account: Account) -> bool:
    return account.status is AccountStatus.ACTIVE


def live_credentials(credentials: Iterable[Credential]) -> list[Credential]:
    return [c for c in credentials if c.status is CredentialStatus.ACTIVE]


def is_stale(credential: Credential, now: datetime, stale_days: int) -> bool:
    """Active, and unused for ``stale_days`` (never used counts from creation)."""
    if credential.status is not CredentialStatus.ACTIVE:
        return False
    reference = credential.last_used or credential.created
    return reference is not None and now - reference > timedelta(days=stale_days)


def assess(
    account: Account,
    credentials: Iterable[Credential],
    *,
    now: datetime,
    stale_days: int = 90,
    anomalous: bool = False,
) -> frozenset[RiskFlag]:
    # One pass, no intermediate lists: this runs for every account of every sync
    # (100,000 at a time). Same rules as has_admin_scope and is_stale.
    cutoff = now - timedelta(days=stale_days)
    privileged, stale, any_live = account.privileged, False, False
    active = CredentialStatus.ACTIVE
    for credential in credentials:
        if credential.status is not active:
            continue
        any_live = True
        if not privileged and _admin_scopes(credential.scopes):
            privileged = True
        if not stale:
            reference = credential.last_used or credential.created
            stale = reference is not None and reference < cutoff
    orphaned = account.owner_status is OwnerStatus.TERMINATED and (is_live(account) or any_live)
    return _flag_set(privileged, stale, orphaned, anomalous)


@lru_cache(maxsize=16)
def _flag_set(
    privileged: bool, stale: bool, orphaned: bool, anomalous: bool
) -> frozenset[RiskFlag]:
    # Sixteen possible answers: share them instead of building 100,000 frozensets.
    wanted = (
        (privileged, RiskFlag.PRIVILEGED),
        (stale, RiskFlag.STALE),
        (orphaned, RiskFlag.ORPHANED),
        (anomalous, RiskFlag.ANOMALOUS),
    )
    return frozenset(flag for on, flag in wanted if on)
