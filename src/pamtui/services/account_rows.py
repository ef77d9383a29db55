"""One light row per account: what the accounts pane shows, and nothing more.

The pane sorts, filters and draws 100,000 accounts; it needs a few strings,
the risk flags and a count per account, not the accounts' and credentials'
full model objects. An ``AccountRow`` is a plain tuple: cheap to build from
a synced ``AccountView`` (``row_of``) and cheaper still to read straight from
the last inventory snapshot (``services/inventory_snapshot.py``), which is
how a large organisation's pane is complete before its providers answer.
"""

from __future__ import annotations

from typing import NamedTuple

from pamtui.model import CredentialStatus, RiskFlag
from pamtui.services.inventory import AccountKey, AccountView


class AccountRow(NamedTuple):
    provider: str
    id: str
    name: str
    display_name: str
    email: str
    system: str
    kind: str
    status: str
    flags: frozenset[RiskFlag]
    live: int | None
    """Active credentials; None while they are still being read."""
    snapshot: bool = False
    """From the last inventory snapshot: the providers have not answered yet."""

    @property
    def key(self) -> AccountKey:
        return (self.provider, self.id)


def live_count(view: AccountView) -> int:
    return sum(1 for c in view.credentials if c.status is CredentialStatus.ACTIVE)


def row_of(view: AccountView | AccountRow) -> AccountRow:
    """The row of a view (a row is returned as it is)."""
    if isinstance(view, AccountRow):
        return view
    a = view.account
    return AccountRow(
        a.provider,
        a.id,
        a.name,
        a.display_name,
        a.email,
        a.system,
        str(a.kind),
        str(a.status),
        view.flags,
        live_count(view) if view.credentials_read else None,
    )


def base_order_key(provider: str, name: str, account_id: str) -> tuple[str, str, str]:
    """How the accounts pane orders ties: provider, then name (case-folded), then id."""
    return (provider.casefold(), name.casefold(), account_id)


class BaseOrderedRows(list[AccountRow]):
    """Rows already sorted by ``base_order_key``: ``AccountIndex.load`` does not sort them.

    The inventory snapshot is saved in that order, so a start from it skips
    a sort of 100,000 rows. A wrong order would only change how ties sort.
    """
