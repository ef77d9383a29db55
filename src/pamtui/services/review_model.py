"""What an access review is made of: scopes, decisions, items, evidence.

The records :class:`pamtui.services.review.ReviewService` stores and
returns, the snapshot of an account taken when a campaign starts, and the
parsing of what an operator types (scope, due date, ids). No I/O here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.journal import timestamp
from pamtui.model import JournalEntry, QueueItem, QueueState, RiskFlag
from pamtui.services.inventory import AccountView

JOURNAL_START = "review_start"
JOURNAL_DECISION = "review_decision"


class ReviewError(PamtuiError):
    """A review operation was refused; the message is for operators."""


class ReviewConflict(ReviewError):
    """Someone else decided the item meanwhile: nothing was overwritten."""


class NoSuchReview(ReviewError):
    """The campaign or item number names nothing: a usage mistake (exit 2)."""

    exit_code = EXIT_USAGE


class AlreadyDecided(ReviewConflict):
    """The item is decided already and this request would not replace it (exit 2)."""

    exit_code = EXIT_USAGE


class Decision(StrEnum):
    KEEP = "keep"
    REVOKE = "revoke"
    DEFER = "defer"


FINAL = frozenset({Decision.KEEP, Decision.REVOKE})


# -- scope -----------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    kind: str  # privileged | all | provider | drift
    provider: str = ""
    label: str = ""
    """For ``drift``: the policy that chose the accounts (shown as ``drift:LABEL``)."""

    def __str__(self) -> str:
        if self.kind == "drift":
            return f"drift:{self.label}"
        return f"provider:{self.provider}" if self.kind == "provider" else self.kind

    @classmethod
    def parse(cls, text: str, providers: Iterable[str] | None = None) -> Scope:
        text = text.strip()
        if text in ("privileged", "all"):
            return cls(text)
        kind, sep, name = text.partition(":")
        if kind == "provider" and sep and name:
            if providers is not None and name not in set(providers):
                known = ", ".join(sorted(providers)) or "none"
                raise ReviewError(f"no provider named {name!r} (configured: {known})")
            return cls("provider", name)
        raise ReviewError(f"scope must be privileged, all or provider:NAME, not {text!r}")

    def includes(self, view: AccountView) -> bool:
        if self.kind == "privileged":
            return RiskFlag.PRIVILEGED in view.flags
        if self.kind == "provider":
            return view.account.provider == self.provider
        return True  # all; drift: the caller passes exactly the accounts that drifted


def parse_due(text: str | None) -> str:
    """A due date as ``YYYY-MM-DD`` (or empty)."""
    if not text:
        return ""
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ReviewError(f"--due must be a date such as 2026-12-31, not {text!r}") from None


# -- snapshots ---------------------------------------------------------------------


def _iso(value: datetime | None) -> str:
    return timestamp(value) if value is not None else ""


def snapshot(view: AccountView) -> dict[str, Any]:
    """The evidence for one account, as plain JSON, frozen at campaign start."""
    a = view.account
    return {
        "account": {
            "id": a.id,
            "name": a.name,
            "display_name": a.display_name,
            "email": a.email,
            "kind": str(a.kind),
            "status": str(a.status),
            "system": a.system,
            "privileged": a.privileged,
            "groups": list(a.groups),
            "owner": a.owner,
            "owner_status": str(a.owner_status),
            "created": _iso(a.created),
            "last_active": _iso(a.last_active),
        },
        "flags": sorted(str(f) for f in view.flags),
        "credentials": [
            {
                "id": c.id,
                "kind": str(c.kind),
                "status": str(c.status),
                "label": c.label,
                "scopes": list(c.scopes),
                "fingerprint": c.fingerprint,
                "created": _iso(c.created),
                "expires": _iso(c.expires),
                "last_used": _iso(c.last_used),
            }
            for c in view.credentials
        ],
    }


# -- records -------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    total: int
    kept: int = 0
    revoked: int = 0
    deferred: int = 0

    @property
    def decided(self) -> int:
        return self.kept + self.revoked + self.deferred

    @property
    def complete(self) -> bool:
        return self.decided == self.total

    def __str__(self) -> str:
        return f"{self.decided}/{self.total} decided"


@dataclass(frozen=True)
class Campaign:
    id: int
    scope: str
    created_by: str
    created: str
    due: str
    item_count: int
    start_seq: int
    progress: Progress
    reviewers: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        return "complete" if self.progress.complete else "open"


@dataclass(frozen=True)
class ReviewItem:
    id: int
    campaign_id: int
    position: int
    provider: str
    account_id: str
    account_name: str
    snapshot: dict[str, Any]
    decision: str = ""
    justification: str = ""
    reviewer: str = ""
    decided_at: str = ""
    decision_seq: int = 0
    queue_item_ids: tuple[int, ...] = ()
    version: int = 0

    @property
    def account(self) -> dict[str, Any]:
        account: dict[str, Any] = self.snapshot.get("account", {})
        return account

    @property
    def credentials(self) -> list[dict[str, Any]]:
        return list(self.snapshot.get("credentials", []))

    @property
    def flags(self) -> list[str]:
        return list(self.snapshot.get("flags", []))

    @property
    def subject(self) -> str:
        return f"account:{self.account_id}"

    @property
    def last_used(self) -> str:
        """The latest sign of use: the account's activity or any credential's use."""
        stamps = [self.account.get("last_active", "")]
        stamps += [c.get("last_used", "") for c in self.credentials]
        return max((s for s in stamps if s), default="")


@dataclass(frozen=True)
class Revocation:
    """A queue item a revoke decision caused, with its verification result."""

    item: QueueItem
    verified_seq: int = 0
    """The seq of the ``verified`` (or last ``failed``) journal entry, if any."""

    @property
    def result(self) -> str:
        if self.item.state is QueueState.VERIFIED:
            return "verified"
        if self.item.state is QueueState.FAILED:
            return f"failed: {self.item.last_error}"
        return f"pending ({self.item.state})"


@dataclass(frozen=True)
class DecisionCheck:
    """Does an item's decision match the journal entry it names?"""

    item: ReviewItem
    entry: JournalEntry | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


@dataclass
class Evidence:
    item: ReviewItem
    events: list[JournalEntry] = field(default_factory=list)
    revocations: list[Revocation] = field(default_factory=list)


def _item_from_row(row: Mapping[str, Any]) -> ReviewItem:
    return ReviewItem(
        id=row["id"],
        campaign_id=row["campaign_id"],
        position=row["position"],
        provider=row["provider"],
        account_id=row["account_id"],
        account_name=row["account_name"],
        snapshot=json.loads(row["snapshot"]),
        decision=row["decision"],
        justification=row["justification"],
        reviewer=row["reviewer"],
        decided_at=row["decided_at"],
        decision_seq=row["decision_seq"],
        queue_item_ids=tuple(json.loads(row["queue_item_ids"])),
        version=row["version"],
    )


_SAFE_ID = re.compile(r"^[0-9]+$")


def parse_id(text: str | int, what: str) -> int:
    if isinstance(text, int) or _SAFE_ID.match(str(text).strip()):
        return int(text)
    raise ReviewError(f"{what} must be a number, not {str(text)!r}")
