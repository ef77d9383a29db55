"""Risk flags from what providers report."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RiskFlag,
    utcnow,
)
from pamtui.services.risk import assess

NOW = utcnow()
ACCOUNT = Account(
    "p", "a1", "dana", AccountKind.HUMAN, AccountStatus.ACTIVE, owner_status=OwnerStatus.EMPLOYED
)
TOKEN = Credential(
    "p",
    "t1",
    "a1",
    CredentialKind.API_TOKEN,
    CredentialStatus.ACTIVE,
    created=NOW - timedelta(days=400),
    last_used=NOW - timedelta(days=1),
)


def test_clean_account_has_no_flags() -> None:
    assert assess(ACCOUNT, [TOKEN], now=NOW) == frozenset()


def test_privileged_by_account_or_admin_scope() -> None:
    assert RiskFlag.PRIVILEGED in assess(replace(ACCOUNT, privileged=True), [], now=NOW)
    admin = replace(TOKEN, scopes=("admin:org",))
    assert RiskFlag.PRIVILEGED in assess(ACCOUNT, [admin], now=NOW)
    revoked_admin = replace(admin, status=CredentialStatus.REVOKED)
    assert RiskFlag.PRIVILEGED not in assess(ACCOUNT, [revoked_admin], now=NOW)


def test_stale_counts_from_last_use_or_creation() -> None:
    old = replace(TOKEN, last_used=NOW - timedelta(days=91))
    assert RiskFlag.STALE in assess(ACCOUNT, [old], now=NOW, stale_days=90)
    assert RiskFlag.STALE not in assess(ACCOUNT, [old], now=NOW, stale_days=120)
    never = replace(TOKEN, last_used=None)
    assert RiskFlag.STALE in assess(ACCOUNT, [never], now=NOW)


def test_orphaned_only_while_access_is_live() -> None:
    gone = replace(ACCOUNT, owner_status=OwnerStatus.TERMINATED)
    assert RiskFlag.ORPHANED in assess(gone, [TOKEN], now=NOW)
    disabled = replace(gone, status=AccountStatus.DEACTIVATED)
    assert RiskFlag.ORPHANED in assess(disabled, [TOKEN], now=NOW)  # the token still works
    revoked = replace(TOKEN, status=CredentialStatus.REVOKED)
    assert RiskFlag.ORPHANED not in assess(disabled, [revoked], now=NOW)


def test_anomalous_passes_through() -> None:
    assert RiskFlag.ANOMALOUS in assess(ACCOUNT, [], now=NOW, anomalous=True)
