"""Spot anomalous access in the event stream.

Simple, explainable rules an operator can reason about:

- ``off_hours_new_ip``: a successful call between 00:00 and 05:59 UTC from a
  source IP this account was never seen using;
- ``enumeration``: one account touching many distinct paths within a minute
  (for example listing every bucket);
- ``denied_burst``: many denied calls (401/403) for one account within a minute;
- ``orphan_use``: a successful call by an account whose owner has left.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from pamtui.model import AccessEvent

WINDOW = timedelta(seconds=60)


@dataclass(frozen=True)
class Anomaly:
    rule: str
    provider: str
    account_id: str
    detail: str

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.provider, self.account_id)


@dataclass
class AnomalyDetector:
    is_orphaned: Callable[[tuple[str, str]], bool] = lambda key: False
    enumeration_paths: int = 25
    denied_burst: int = 10
    _ips: dict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    _paths: dict[tuple[str, str], deque] = field(default_factory=lambda: defaultdict(deque))
    _denied: dict[tuple[str, str], deque] = field(default_factory=lambda: defaultdict(deque))
    _reported: set[tuple[str, tuple[str, str]]] = field(default_factory=set)

    def observe(self, event: AccessEvent) -> list[Anomaly]:
        key = (event.provider, event.account_id)
        found: list[Anomaly] = []

        def report(rule: str, detail: str) -> None:
            # One report per rule and account: the flag is what matters.
            if (rule, key) not in self._reported:
                self._reported.add((rule, key))
                found.append(Anomaly(rule, event.provider, event.account_id, detail))

        ips = self._ips[key]
        if event.source_ip and event.source_ip not in ips:
            if ips and not event.denied and event.ts.hour < 6:
                report(
                    "off_hours_new_ip", f"first call from {event.source_ip} at {event.ts:%H:%M} UTC"
                )
            ips.add(event.source_ip)
        if not event.denied and event.status < 400 and self.is_orphaned(key):
            report("orphan_use", f"used by an account whose owner has left ({event.path})")

        paths = self._paths[key]
        paths.append((event.ts, event.path))
        while paths and event.ts - paths[0][0] > WINDOW:
            paths.popleft()
        if (
            len(paths) >= self.enumeration_paths
            and len({p for _, p in paths}) >= self.enumeration_paths
        ):
            report("enumeration", f"{len(paths)} distinct paths within a minute")

        if event.denied:
            denied = self._denied[key]
            denied.append(event.ts)
            while denied and event.ts - denied[0] > WINDOW:
                denied.popleft()
            if len(denied) >= self.denied_burst:
                report("denied_burst", f"{len(denied)} denied calls within a minute")
        return found
