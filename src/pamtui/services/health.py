"""Each provider's state in one line: what the providers screen and CLI show.

A provider is degraded when its last sync failed or its stream reports a
problem; the reason is the provider's own message, cleaned for display by
whoever shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pamtui.model import Capability
from pamtui.providers.base import Provider
from pamtui.services.inventory import ProviderHealth


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    type: str
    ok: bool
    reason: str
    accounts: int
    credentials: int
    stream: str
    """'live', 'none' (no event capability) or the stream's last problem."""


def provider_statuses(
    providers: Mapping[str, Provider],
    health: Mapping[str, ProviderHealth],
    stream_problems: Mapping[str, str],
) -> list[ProviderStatus]:
    rows = []
    for name, provider in providers.items():
        h = health.get(name) or ProviderHealth(name)
        problem = stream_problems.get(name, "")
        has_events = Capability.EVENTS in provider.capabilities
        reasons = [r for r in (h.reason, f"stream: {problem}" if problem else "") if r]
        rows.append(
            ProviderStatus(
                name=name,
                type=getattr(provider, "type", "?"),
                ok=h.ok and not problem,
                reason="; ".join(reasons),
                accounts=h.accounts,
                credentials=h.credentials,
                stream=problem or ("live" if has_events else "none"),
            )
        )
    return rows
