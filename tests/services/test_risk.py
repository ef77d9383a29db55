"""Risk flags from what providers report."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

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
from pamtui.services.risk import assess, has_admin_scope, is_stale

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


# -- the one-pass assess agrees with the rules written out plainly -------------------

_SCOPES = st.lists(st.sampled_from(["read", "repo:write", "Admin:org", "iam:*", "ROOT", "x"]))
_WHEN = st.one_of(st.none(), st.integers(0, 400).map(lambda d: NOW - timedelta(days=d)))


@st.composite
def _credentials(draw: st.DrawFn) -> Credential:
    return Credential(
        "p",
        f"c{draw(st.integers(0, 99))}",
        "a1",
        CredentialKind.API_TOKEN,
        draw(st.sampled_from(list(CredentialStatus))),
        scopes=tuple(draw(_SCOPES)),
        created=draw(_WHEN),
        last_used=draw(_WHEN),
    )


def _plain_rules(account, credentials, stale_days, anomalous) -> frozenset[RiskFlag]:
    live = [c for c in credentials if c.status is CredentialStatus.ACTIVE]
    flags = set()
    if account.privileged or any(has_admin_scope(c) for c in live):
        flags.add(RiskFlag.PRIVILEGED)
    if any(is_stale(c, NOW, stale_days) for c in live):
        flags.add(RiskFlag.STALE)
    if account.owner_status is OwnerStatus.TERMINATED and (
        account.status is AccountStatus.ACTIVE or live
    ):
        flags.add(RiskFlag.ORPHANED)
    if anomalous:
        flags.add(RiskFlag.ANOMALOUS)
    return frozenset(flags)


@given(
    privileged=st.booleans(),
    status=st.sampled_from(list(AccountStatus)),
    owner=st.sampled_from(list(OwnerStatus)),
    credentials=st.lists(_credentials(), max_size=5),
    stale_days=st.integers(0, 200),
    anomalous=st.booleans(),
)
def test_assess_matches_the_plain_rules(
    privileged, status, owner, credentials, stale_days, anomalous
) -> None:
    account = replace(ACCOUNT, privileged=privileged, status=status, owner_status=owner)
    got = assess(account, credentials, now=NOW, stale_days=stale_days, anomalous=anomalous)
    assert got == _plain_rules(account, credentials, stale_days, anomalous)
