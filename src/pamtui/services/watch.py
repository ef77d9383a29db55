"""Watch the event feed: per-account rates and anomalies that flag accounts."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field

from pamtui.model import AccessEvent
from pamtui.services.anomaly import Anomaly, AnomalyDetector
from pamtui.services.inventory import AccountView, Inventory


@dataclass
class RateMeter:
    """Events per second over a sliding window of whole seconds (wall clock)."""

    window_s: int = 10
    _buckets: deque[list[int]] = field(default_factory=deque)

    def add(self, n: int = 1, now: float | None = None) -> None:
        second = int(now if now is not None else time.monotonic())
        if self._buckets and self._buckets[-1][0] == second:
            self._buckets[-1][1] += n
        else:
            self._buckets.append([second, n])
        self._trim(second)

    def _trim(self, second: int) -> None:
        while self._buckets and self._buckets[0][0] <= second - self.window_s:
            self._buckets.popleft()

    def rate(self, now: float | None = None) -> float:
        second = int(now if now is not None else time.monotonic())
        self._trim(second)
        return sum(n for _, n in self._buckets) / self.window_s


@dataclass
class StreamWatch:
    """Rates, denials and anomalies of the live stream, per account."""

    inventory: Inventory
    total: RateMeter = field(default_factory=RateMeter)
    per_account: Counter[tuple[str, str]] = field(default_factory=Counter)
    denied: Counter[tuple[str, str]] = field(default_factory=Counter)
    anomalies: list[Anomaly] = field(default_factory=list)
    detector: AnomalyDetector = field(init=False)

    def __post_init__(self) -> None:
        self.detector = AnomalyDetector(is_orphaned=self.inventory.is_terminated_owner)

    def observe(self, event: AccessEvent) -> list[AccountView]:
        """Count the event; return account views that just became anomalous."""
        key = (event.provider, event.account_id)
        self.total.add()
        self.per_account[key] += 1
        if event.denied:
            self.denied[key] += 1
        flagged: list[AccountView] = []
        for anomaly in self.detector.observe(event):
            self.anomalies.append(anomaly)
            view = self.inventory.mark_anomalous(anomaly.account_key)
            if view is not None:
                flagged.append(view)
        return flagged
