"""Starting an access review campaign: the one call ``pamtui review start`` and the TUI make.

A campaign is a snapshot of the accounts in scope. A provider that did not
answer the last sync has no accounts in that snapshot, so a campaign started
then would look complete and not be:

- a campaign scoped to that provider is refused (nothing to snapshot);
- with ``refuse_degraded`` (the TUI, where the operator can simply retry once
  the provider answers) any degraded provider refuses the start, with the
  same lines the CLI prints; the CLI starts the campaign, prints each
  degraded provider and exits 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pamtui.sanitize import clean
from pamtui.services.inventory import AccountView, ProviderHealth
from pamtui.services.review import ReviewService
from pamtui.services.review_model import Campaign, ReviewError, Scope


class ProviderDidNotAnswer(ReviewError):
    """A provider in scope is degraded: nothing was snapshotted (exit 1)."""


def degraded(health: Mapping[str, ProviderHealth]) -> list[ProviderHealth]:
    """The providers whose last sync failed, by name."""
    return sorted((h for h in health.values() if not h.ok), key=lambda h: h.name)


def degraded_line(health: ProviderHealth) -> str:
    """What the CLI prints for a degraded provider (and the TUI's refusal says)."""
    return f"provider {health.name} is degraded: {clean(health.reason)}"


def start_campaign(
    session: Any,
    scope: Scope,
    views: Iterable[AccountView],
    *,
    due: str | None = None,
    limit: int | None = None,
    refuse_degraded: bool = False,
) -> Campaign:
    """Snapshot the accounts in ``scope`` into a new campaign, as ``session.operator``.

    ``views`` and ``session.inventory.health`` come from the same sync.
    Raises :class:`ProviderDidNotAnswer` as the module says, ``ReviewError``
    for a bad due date, an empty scope or a read-only session.
    """
    bad = degraded(session.inventory.health)
    if scope.kind == "provider" and any(h.name == scope.provider for h in bad):
        raise ProviderDidNotAnswer(f"provider {scope.provider} did not answer: nothing snapshotted")
    if refuse_degraded and bad:
        lines = "; ".join(degraded_line(h) for h in bad)
        raise ProviderDidNotAnswer(
            f"{lines}: nothing snapshotted (a campaign now would miss its accounts; "
            "try again when it answers)"
        )
    service = ReviewService.for_session(session)
    return service.start(scope, views, actor=session.operator, due=due, limit=limit)
