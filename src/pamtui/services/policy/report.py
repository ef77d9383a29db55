"""What a sweep did: one entry per staging and per review outcome, and the report.

Shared by ``staging`` (revocations) and ``drift_review`` (review campaigns),
read by ``pamtui sweep`` for its text and ``--json`` output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pamtui.model import QueueItem
from pamtui.sanitize import clean

STAGED = "staged"
DUPLICATE = "duplicate"
UNSUPPORTED = "unsupported"
FAILED = "failed"
_OUTCOMES = (STAGED, DUPLICATE, UNSUPPORTED, FAILED)
REVIEWED = "reviewed"
_REVIEW_OUTCOMES = (REVIEWED, DUPLICATE, UNSUPPORTED, FAILED)


@dataclass(frozen=True)
class SweepEntry:
    outcome: str
    """``staged`` (or would be, in a dry run), ``duplicate``, ``unsupported``, ``failed``."""
    policy: str
    provider: str
    action: str
    subject: str
    message: str
    item_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "policy": self.policy,
            "provider": self.provider,
            "action": self.action,
            "subject": self.subject,
            "message": self.message,
            "item": self.item_id,
        }


@dataclass
class SweepReport:
    dry_run: bool = False
    entries: list[SweepEntry] = field(default_factory=list)
    items: list[QueueItem] = field(default_factory=list)
    """The queue items staged (none in a dry run)."""
    reviews: list[ReviewEntry] = field(default_factory=list)
    """What review policies did with this sync's drift (see :func:`review_drift`)."""
    campaigns: list[int] = field(default_factory=list)
    """The review campaigns started (none in a dry run)."""

    def _of(self, outcome: str) -> list[SweepEntry]:
        return [e for e in self.entries if e.outcome == outcome]

    @property
    def staged(self) -> list[SweepEntry]:
        return self._of(STAGED)

    @property
    def duplicates(self) -> list[SweepEntry]:
        return self._of(DUPLICATE)

    @property
    def unsupported(self) -> list[SweepEntry]:
        return self._of(UNSUPPORTED)

    @property
    def failed(self) -> list[SweepEntry]:
        return self._of(FAILED)

    def counts(self) -> dict[str, int]:
        return {outcome: len(self._of(outcome)) for outcome in _OUTCOMES}

    @property
    def reviewed(self) -> list[ReviewEntry]:
        return [e for e in self.reviews if e.outcome == REVIEWED]

    def review_counts(self) -> dict[str, int]:
        return {o: sum(e.outcome == o for e in self.reviews) for o in _REVIEW_OUTCOMES}

    @property
    def ok(self) -> bool:
        """Nothing failed (the CLI exits 1 otherwise)."""
        return not self.failed and not any(e.outcome == FAILED for e in self.reviews)

    def as_dict(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "counts": {**self.counts(), "reviewed": len(self.reviewed)},
            "entries": [e.as_dict() for e in self.entries],
            "reviews": {
                "counts": self.review_counts(),
                "campaigns": list(self.campaigns),
                "entries": [e.as_dict() for e in self.reviews],
            },
        }

    def summary_lines(self) -> list[str]:
        """A one-line summary, then one line per entry; provider text is cleaned."""
        c = self.counts()
        staged = "would stage" if self.dry_run else "staged"
        lines = [
            f"sweep{' (dry run)' if self.dry_run else ''}: {c[STAGED]} {staged}, "
            f"{c[DUPLICATE]} already queued, {c[UNSUPPORTED]} unsupported, {c[FAILED]} failed"
        ]
        labels = {
            STAGED: "would stage" if self.dry_run else "staged",
            DUPLICATE: "queued",
            UNSUPPORTED: "unsupported",
            FAILED: "FAILED",
        }
        for e in self.entries:
            item = f" #{e.item_id}" if e.item_id is not None else ""
            action = f" {e.action}" if e.action else ""
            lines.append(
                clean(
                    f"  {labels[e.outcome]:<11} policy:{e.policy}{item} {e.provider}"
                    f"{action} {e.subject}: {e.message}",
                    max_length=1000,
                )
            )
        if self.reviews:
            r = self.review_counts()
            put = "would put" if self.dry_run else "put"
            started = ", ".join(f"#{c}" for c in self.campaigns)
            lines.append(
                f"review{' (dry run)' if self.dry_run else ''}: {r[REVIEWED]} {put} into review"
                f"{f' (campaign {started})' if started else ''}, {r[DUPLICATE]} already in "
                f"review, {r[UNSUPPORTED]} gone, {r[FAILED]} failed"
            )
            review_labels = {
                REVIEWED: "would review" if self.dry_run else "reviewed",
                DUPLICATE: "in review",
                UNSUPPORTED: "gone",
                FAILED: "FAILED",
            }
            for rev in self.reviews:
                campaign = f" #{rev.campaign_id}" if rev.campaign_id is not None else ""
                lines.append(
                    clean(
                        f"  {review_labels[rev.outcome]:<12} policy:{rev.policy}"
                        f" drift:{rev.policy}{campaign} {rev.provider} {rev.subject}"
                        f" ({rev.account_name}): {rev.message}",
                        max_length=1000,
                    )
                )
        return lines


@dataclass(frozen=True)
class ReviewEntry:
    outcome: str
    """``reviewed`` (or would be, in a dry run), ``duplicate``, ``unsupported``, ``failed``."""
    policy: str
    provider: str
    account_id: str
    account_name: str
    changes: tuple[str, ...]
    message: str
    campaign_id: int | None = None

    @property
    def subject(self) -> str:
        return f"account:{self.account_id}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "policy": self.policy,
            "provider": self.provider,
            "subject": self.subject,
            "account": self.account_name,
            "changes": list(self.changes),
            "message": self.message,
            "campaign": self.campaign_id,
        }
