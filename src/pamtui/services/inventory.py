"""Accounts and credentials from every provider, with their risk flags.

A provider that fails is reported as degraded with its reason; the others
still show. Nothing here knows about the UI.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

from pamtui.model import Account, Capability, Credential, RiskFlag, utcnow
from pamtui.providers.base import Provider, ProviderError
from pamtui.services import risk

AccountKey = tuple[str, str]


@dataclass(frozen=True)
class AccountView:
    """An account with its credentials and risk flags, as the panes and commands show it."""

    account: Account
    credentials: tuple[Credential, ...]
    flags: frozenset[RiskFlag]
    credentials_read: bool = True
    """False for a provisional view (``Inventory.provisional``): flags from the account alone."""
    snapshot: str = ""
    """When set, the view comes from the inventory snapshot taken then (display only)."""

    @property
    def key(self) -> AccountKey:
        return self.account.key


_SERVICE_FLAGS = frozenset({RiskFlag.UNOWNED, RiskFlag.MOVER, RiskFlag.EXCESS, RiskFlag.REGRESSED})
"""Flags only the service's refresh computes (roster, recheck): a session's re-read keeps them."""


class SharedSource(Protocol):
    """The service's inventory (bastion mode, services/shared_inventory.py)."""

    def view(self, key: AccountKey) -> AccountView | None: ...
    def views(self) -> list[AccountView]: ...
    def is_orphaned(self, key: AccountKey) -> bool: ...
    def published(self) -> dict[str, ProviderHealth] | None:
        """Each provider's health at the service's last sync; None: none published yet."""
        ...


@dataclass
class ProviderHealth:
    """Whether a provider answered the last sync, and what it reported."""

    name: str
    ok: bool = True
    reason: str = ""
    accounts: int = 0
    credentials: int = 0


@dataclass
class Inventory:
    """Every provider's accounts and credentials, synced and flagged."""

    providers: Mapping[str, Provider]
    stale_days: int = 90
    views: dict[AccountKey, AccountView] = field(default_factory=dict)
    health: dict[str, ProviderHealth] = field(default_factory=dict)
    anomalous: set[AccountKey] = field(default_factory=set)
    synced_at: datetime | None = None
    regressed: set[AccountKey] = field(default_factory=set)
    """Accounts whose revoked access came back (``pamtui audit recheck``)."""
    people_flags: dict[AccountKey, frozenset[RiskFlag]] = field(default_factory=dict)
    """Flags from the roster (UNOWNED, MOVER, EXCESS): :meth:`set_people_flags`."""
    on_synced: Callable[[dict[str, list[AccountView]]], Awaitable[None]] | None = None
    """Called after each sync with the views of the providers that answered (snapshots)."""
    provisional: dict[str, dict[AccountKey, AccountView]] = field(default_factory=dict)
    """Per provider, during its first sync, once its accounts are listed and before
    its credentials are: views flagged from the account alone (``credentials_read``
    False), for display only (:meth:`shown`). :meth:`get` and :attr:`views` never
    hold them, so nothing plans a revocation without the account's credentials."""
    allocating: Callable[[], AbstractContextManager[Any]] = nullcontext
    """Wraps each sync, which builds every account and credential anew:
    ``pamtui.heap.long_lived`` in a session (the collector's business is the
    process's, not this service's)."""
    before_sync: Callable[[AccountKey], AccountView | None] | None = None
    """Until the first sync has answered: an account as the last inventory snapshot
    holds it (``services/inventory_snapshot``), for display only (:meth:`shown`)."""
    shared: SharedSource | None = None
    """Bastion mode: the accounts come from the service's sync, read on demand;
    :attr:`views` then holds only what this session re-read itself (after a
    revocation) or marked (anomalies), over the shared ones."""
    local_at: dict[AccountKey, datetime] = field(default_factory=dict)
    """When this session re-read each of those accounts (:meth:`drop_older_than`)."""
    _answered: set[str] = field(default_factory=set)

    async def sync(
        self,
        on_progress: Callable[[str], None] | None = None,
        *,
        snapshot: bool = True,
        on_accounts: Callable[[str], None] | None = None,
    ) -> list[AccountView]:
        """Read every provider concurrently; replace the views of those that answered.

        ``snapshot=False`` leaves the after-sync hook (drift snapshots) to a later
        :meth:`snapshot` call: the TUI shows the accounts first, then snapshots.
        ``on_accounts(name)``: a provider never synced before has listed its
        accounts and :attr:`provisional` holds them; its credentials come next
        (a large org's first screen need not wait for 300,000 credentials).
        ``on_progress(name)``: a provider answered (or failed) and :attr:`views`
        holds its accounts, as each answers rather than when the last does.
        """
        now = utcnow()
        answered: set[str] = set()

        async def read(name: str, provider: Provider) -> None:
            # Only where the pane has nothing of this provider to show yet.
            shown = self.health[name].accounts if name in self.health else 0
            first_time = on_accounts is not None and not shown

            def listed(accounts: list[Account]) -> None:
                self.provisional[name] = {
                    a.key: self._view(a, (), now, read=False) for a in accounts
                }
                if on_accounts is not None:  # always, when listed is called: see first_time
                    on_accounts(name)

            try:
                outcome = await self._read(provider, listed if first_time else None)
                if self._take(name, outcome):
                    answered.add(name)
            finally:
                self.provisional.pop(name, None)
            if on_progress:
                on_progress(name)

        with self.allocating():
            await asyncio.gather(*(read(name, p) for name, p in self.providers.items()))
        self.synced_at = utcnow()
        self._answered = answered
        if snapshot:
            await self.snapshot()
        return self.rows()

    def _take(self, name: str, outcome: tuple[list[Account], list[Credential]] | str) -> bool:
        """Replace a provider's views with what it answered, or mark it degraded."""
        health = self.health.setdefault(name, ProviderHealth(name))
        if isinstance(outcome, str):
            health.ok, health.reason = False, outcome
            return False
        accounts, credentials = outcome
        by_account: dict[str, list[Credential]] = defaultdict(list)
        for credential in credentials:
            by_account[credential.account_id].append(credential)
        for key in [k for k in self.views if k[0] == name]:
            del self.views[key]
        now = utcnow()
        for account in accounts:
            creds = tuple(by_account.get(account.id, ()))
            self.views[account.key] = self._view(account, creds, now)
        health.ok, health.reason = True, ""
        health.accounts, health.credentials = len(accounts), len(credentials)
        return True

    async def snapshot(self) -> None:
        """Hand the last sync's answering providers to ``on_synced`` (once per sync)."""
        answered, self._answered = self._answered, set()
        if self.on_synced is None or not answered:
            return
        by_provider: dict[str, list[AccountView]] = {n: [] for n in answered}
        for key, view in self.views.items():
            if key[0] in by_provider:
                by_provider[key[0]].append(view)
        await self.on_synced(by_provider)

    async def _read(
        self,
        provider: Provider,
        listed: Callable[[list[Account]], None] | None = None,
    ) -> tuple[list[Account], list[Credential]] | str:
        try:
            accounts = [a async for a in provider.list_accounts()]
            if listed is not None:
                listed(accounts)
            credentials: list[Credential] = []
            if Capability.CREDENTIALS in provider.capabilities:
                credentials = [c async for c in provider.list_credentials(None)]
        except ProviderError as exc:
            return str(exc)
        except Exception as exc:  # a plugin's bug degrades that provider only
            return f"{type(exc).__name__}: {exc}"
        return accounts, credentials

    def _view(
        self,
        account: Account,
        credentials: Iterable[Credential],
        now: datetime,
        *,
        read: bool = True,
    ) -> AccountView:
        credentials = tuple(credentials)
        flags = risk.assess(
            account,
            credentials,
            now=now,
            stale_days=self.stale_days,
            anomalous=account.key in self.anomalous,
        )
        if account.key in self.regressed:
            flags |= {RiskFlag.REGRESSED}
        if account.key in self.people_flags:
            flags |= self.people_flags[account.key]
        return AccountView(account, credentials, flags, read)

    def set_people_flags(self, flags: dict[AccountKey, frozenset[RiskFlag]]) -> None:
        """Merge correlation's flags into the views (kept for the next syncs too)."""
        old, self.people_flags = self.people_flags, flags
        for key in old.keys() | flags.keys():
            view = self.views.get(key)
            if view is not None:
                own = view.flags - old.get(key, frozenset())
                self.views[key] = replace(view, flags=own | flags.get(key, frozenset()))

    async def current(self) -> list[AccountView]:
        """Every account now: the service's last sync (bastion mode), else a sync.

        A command run over SSH (``accounts``, ``revoke``) lists no provider when
        the service has published its inventory; before its first publish it syncs.
        """
        health = self.shared.published() if self.shared is not None else None
        if health is None:
            return await self.sync()
        self.health = health
        return self.rows()

    def rows(self) -> list[AccountView]:
        if self.shared is None:
            return list(self.views.values())
        merged = {v.key: self._marked(v) for v in self.shared.views()}
        merged.update(self.views)
        return list(merged.values())

    def _marked(self, view: AccountView) -> AccountView:
        """A shared view with what this session saw itself (an anomaly in its stream)."""
        if view.key in self.anomalous and RiskFlag.ANOMALOUS not in view.flags:
            return replace(view, flags=view.flags | {RiskFlag.ANOMALOUS})
        return view

    def drop_older_than(self, moment: datetime) -> None:
        """A newer shared sync arrived: forget what this session re-read before it began."""
        for key in [k for k, at in self.local_at.items() if at < moment]:
            self.views.pop(key, None)
            del self.local_at[key]

    def shown_rows(self) -> list[AccountView]:
        """What the accounts pane shows: :meth:`rows`, plus provisional views while loading."""
        rows = self.rows()
        for views in self.provisional.values():
            rows.extend(views.values())
        return rows

    def shown(self, key: AccountKey) -> AccountView | None:
        """The view the pane shows for ``key``: complete, else provisional (display only)."""
        view = self.views.get(key)
        if view is None and key[0] in self.provisional:
            view = self.provisional[key[0]].get(key)
        if view is None and self.shared is not None:
            view = self.get(key)
        if view is None and self.before_sync is not None:
            view = self.before_sync(key)
        return view

    def get(self, key: AccountKey) -> AccountView | None:
        view = self.views.get(key)
        if view is None and self.shared is not None:
            shared = self.shared.view(key)
            view = self._marked(shared) if shared is not None else None
        return view

    def mark_anomalous(self, key: AccountKey) -> AccountView | None:
        """Flag an account the anomaly detector pointed at; returns the new view."""
        seen = key in self.anomalous
        self.anomalous.add(key)
        view = self.views.get(key)
        if view is None and self.shared is not None:
            # Marked through ``anomalous`` (:meth:`_marked`); read once for the pane's row.
            shared = None if seen else self.shared.view(key)
            return self._marked(shared) if shared is not None else None
        if view is None or RiskFlag.ANOMALOUS in view.flags:
            return None
        view = AccountView(view.account, view.credentials, view.flags | {RiskFlag.ANOMALOUS})
        self.views[key] = view
        return view

    def is_terminated_owner(self, key: AccountKey) -> bool:
        view = self.views.get(key)
        if view is None and self.shared is not None:  # per event: no file read
            return self.shared.is_orphaned(key)
        return view is not None and RiskFlag.ORPHANED in view.flags

    async def refresh_account(
        self, key: AccountKey, *, account_too: bool = True
    ) -> AccountView | None:
        """Re-read one account's credentials (after a revocation).

        ``account_too=False``: the credentials only (one call), not the account's
        status, which providers give only by listing every account.
        """
        provider = self.providers.get(key[0])
        view = self.get(key)
        if provider is None or view is None:
            return None
        accounts = (
            [a async for a in provider.list_accounts() if a.id == key[1]] if account_too else []
        )
        account = accounts[0] if accounts else view.account
        credentials = [c async for c in provider.list_credentials(account)]
        fresh = self._view(account, credentials, utcnow())
        if self.shared is not None:  # the service's roster flags and recheck stay on it
            kept = view.flags & _SERVICE_FLAGS
            fresh = replace(fresh, flags=fresh.flags | kept) if kept else fresh
            self.local_at[key] = utcnow()
        self.views[key] = fresh
        return fresh
