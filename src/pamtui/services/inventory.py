"""Accounts and credentials from every provider, with their risk flags.

A provider that fails is reported as degraded with its reason; the others
still show. Nothing here knows about the UI.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pamtui.model import Account, Capability, Credential, RiskFlag, utcnow
from pamtui.providers.base import Provider, ProviderError
from pamtui.services import risk

AccountKey = tuple[str, str]


@dataclass(frozen=True)
class AccountView:
    account: Account
    credentials: tuple[Credential, ...]
    flags: frozenset[RiskFlag]

    @property
    def key(self) -> AccountKey:
        return self.account.key


@dataclass
class ProviderHealth:
    name: str
    ok: bool = True
    reason: str = ""
    accounts: int = 0
    credentials: int = 0


@dataclass
class Inventory:
    providers: Mapping[str, Provider]
    stale_days: int = 90
    views: dict[AccountKey, AccountView] = field(default_factory=dict)
    health: dict[str, ProviderHealth] = field(default_factory=dict)
    anomalous: set[AccountKey] = field(default_factory=set)
    synced_at: datetime | None = None
    regressed: set[AccountKey] = field(default_factory=set)
    """Accounts whose revoked access came back (``pamtui audit recheck``)."""
    on_synced: Callable[[dict[str, list[AccountView]]], Awaitable[None]] | None = None
    """Called after each sync with the views of the providers that answered (snapshots)."""
    _answered: set[str] = field(default_factory=set)

    async def sync(
        self, on_progress: Callable[[str], None] | None = None, *, snapshot: bool = True
    ) -> list[AccountView]:
        """Read every provider concurrently; replace the views of those that answered.

        ``snapshot=False`` leaves the after-sync hook (drift snapshots) to a later
        :meth:`snapshot` call: the TUI shows the accounts first, then snapshots.
        """

        async def read(name: str, provider: Provider) -> tuple[str, Any]:
            outcome = await self._read(name, provider)
            if on_progress:
                on_progress(name)  # as each provider answers, not when the last does
            return outcome

        results = await asyncio.gather(
            *(read(name, provider) for name, provider in self.providers.items())
        )
        now = utcnow()
        for name, outcome in results:
            health = self.health.setdefault(name, ProviderHealth(name))
            if isinstance(outcome, str):
                health.ok, health.reason = False, outcome
                continue
            accounts, credentials = outcome
            by_account: dict[str, list[Credential]] = defaultdict(list)
            for credential in credentials:
                by_account[credential.account_id].append(credential)
            for key in [k for k in self.views if k[0] == name]:
                del self.views[key]
            for account in accounts:
                creds = tuple(by_account.get(account.id, ()))
                self.views[account.key] = self._view(account, creds, now)
            health.ok, health.reason = True, ""
            health.accounts, health.credentials = len(accounts), len(credentials)
        self.synced_at = now
        self._answered = {n for n, outcome in results if not isinstance(outcome, str)}
        if snapshot:
            await self.snapshot()
        return self.rows()

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
        self, name: str, provider: Provider
    ) -> tuple[str, tuple[list[Account], list[Credential]] | str]:
        try:
            accounts = [a async for a in provider.list_accounts()]
            credentials: list[Credential] = []
            if Capability.CREDENTIALS in provider.capabilities:
                credentials = [c async for c in provider.list_credentials(None)]
        except ProviderError as exc:
            return name, str(exc)
        except Exception as exc:  # a plugin's bug degrades that provider only
            return name, f"{type(exc).__name__}: {exc}"
        return name, (accounts, credentials)

    def _view(
        self, account: Account, credentials: Iterable[Credential], now: datetime
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
        return AccountView(account, credentials, flags)

    def rows(self) -> list[AccountView]:
        return list(self.views.values())

    def get(self, key: AccountKey) -> AccountView | None:
        return self.views.get(key)

    def mark_anomalous(self, key: AccountKey) -> AccountView | None:
        """Flag an account the anomaly detector pointed at; returns the new view."""
        self.anomalous.add(key)
        view = self.views.get(key)
        if view is None or RiskFlag.ANOMALOUS in view.flags:
            return None
        view = AccountView(view.account, view.credentials, view.flags | {RiskFlag.ANOMALOUS})
        self.views[key] = view
        return view

    def is_terminated_owner(self, key: AccountKey) -> bool:
        view = self.views.get(key)
        return view is not None and RiskFlag.ORPHANED in view.flags

    async def refresh_account(self, key: AccountKey) -> AccountView | None:
        """Re-read one account's credentials (after a revocation)."""
        provider = self.providers.get(key[0])
        view = self.views.get(key)
        if provider is None or view is None:
            return None
        accounts = [a async for a in provider.list_accounts() if a.id == key[1]]
        account = accounts[0] if accounts else view.account
        credentials = [c async for c in provider.list_credentials(account)]
        self.views[key] = self._view(account, credentials, utcnow())
        return self.views[key]
