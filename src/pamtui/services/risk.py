"""Risk flags for an account: privileged, stale, orphaned, anomalous.

Pure functions of what providers reported (and of what the anomaly detector
saw), so the CLI, the TUI and policies all agree on what is risky.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

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
    return any(
        marker in scope.lower() for scope in credential.scopes for marker in ADMIN_SCOPE_MARKERS
    )


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
    credentials = list(credentials)
    live = live_credentials(credentials)
    flags: set[RiskFlag] = set()
    if account.privileged or any(has_admin_scope(c) for c in live):
        flags.add(RiskFlag.PRIVILEGED)
    if any(is_stale(c, now, stale_days) for c in live):
        flags.add(RiskFlag.STALE)
    if account.owner_status is OwnerStatus.TERMINATED and (is_live(account) or live):
        flags.add(RiskFlag.ORPHANED)
    if anomalous:
        flags.add(RiskFlag.ANOMALOUS)
    return frozenset(flags)
