"""Spot anomalous access in the event stream.

Simple, explainable rules an operator can reason about. ``AnomalyDetector``
flags *accounts* (once per rule and account):

- ``off_hours_new_ip``: a successful call between 00:00 and 05:59 UTC from a
  source IP this account was never seen using;
- ``enumeration``: one account touching many distinct paths within a minute
  (for example listing every bucket);
- ``denied_burst``: many denied calls (401/403) for one account within a minute;
- ``orphan_use``: a successful call by an account whose owner has left.

``StreamFlags`` marks *events* for the live stream pane to highlight:

- ``spike``: the event that takes its account's count for the current second
  to several times the account's mean over the previous minute;
- ``burst``: the denied call that completes a denied burst (and every denied
  call of the account while the burst lasts);
- ``new-ip``: a source IP the account was not seen using before.

Both are O(1) per event and hold bounded memory: per-account state lives in a
least-recently-used table of at most ``max_accounts`` entries, each with a
fixed number of remembered IPs, paths and denied timestamps. A forgotten IP may
be reported as new again; that is the price of memory that stays flat while a
stream runs for weeks.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pamtui.model import AccessEvent
from pamtui.services.rates import RateRing

WINDOW = timedelta(seconds=60)
MAX_ACCOUNTS = 20_000
MAX_IPS_PER_ACCOUNT = 64

AccountKey = tuple[str, str]


@dataclass(frozen=True)
class Anomaly:
    """A rule that fired on an account's stream, with what it saw."""

    rule: str
    provider: str
    account_id: str
    detail: str

    @property
    def account_key(self) -> tuple[str, str]:
        return (self.provider, self.account_id)


def remember(seen: OrderedDict[Any, None], item: object, cap: int) -> bool:
    """Record ``item`` in an LRU of at most ``cap``; True if it was not there."""
    if item in seen:
        seen.move_to_end(item)
        return False
    seen[item] = None
    if len(seen) > cap:
        seen.popitem(last=False)
    return True


def _lru_get(table: OrderedDict[Any, Any], key: Any, factory: Callable[[], Any], cap: int) -> Any:
    state = table.get(key)
    if state is None:
        state = table[key] = factory()
        if len(table) > cap:
            table.popitem(last=False)
    else:
        table.move_to_end(key)
    return state


class _AccountState:
    __slots__ = ("denied", "ips", "paths", "reported")

    def __init__(self, denied_burst: int) -> None:
        self.ips: OrderedDict[str, None] = OrderedDict()
        self.paths: OrderedDict[str, datetime] = OrderedDict()
        """Path -> when last seen, oldest first; at most the enumeration threshold."""
        self.denied: deque[datetime] = deque(maxlen=denied_burst)
        self.reported: set[str] = set()


@dataclass
class AnomalyDetector:
    """The stream's anomaly rules, with a bounded state per account."""

    is_orphaned: Callable[[tuple[str, str]], bool] = lambda key: False
    enumeration_paths: int = 25
    denied_burst: int = 10
    max_accounts: int = MAX_ACCOUNTS
    _accounts: OrderedDict[AccountKey, _AccountState] = field(default_factory=OrderedDict)

    def observe(self, event: AccessEvent) -> list[Anomaly]:
        key = (event.provider, event.account_id)
        state: _AccountState = _lru_get(
            self._accounts, key, lambda: _AccountState(self.denied_burst), self.max_accounts
        )
        found: list[Anomaly] = []

        def report(rule: str, detail: str) -> None:
            # One report per rule and account: the flag is what matters.
            if rule not in state.reported:
                state.reported.add(rule)
                found.append(Anomaly(rule, event.provider, event.account_id, detail))

        ips = state.ips
        if event.source_ip:
            known = bool(ips)
            new_ip = remember(ips, event.source_ip, MAX_IPS_PER_ACCOUNT)
            if new_ip and known and not event.denied and event.ts.hour < 6:
                report(
                    "off_hours_new_ip", f"first call from {event.source_ip} at {event.ts:%H:%M} UTC"
                )
        if not event.denied and event.status < 400 and self.is_orphaned(key):
            report("orphan_use", f"used by an account whose owner has left ({event.path})")

        # Distinct paths within the window: an LRU of path -> last seen, expired
        # from its old end. It never needs more than the threshold's worth.
        paths = state.paths
        if event.path in paths:
            paths.move_to_end(event.path)
        paths[event.path] = event.ts
        while paths:
            oldest = next(iter(paths.values()))
            if event.ts - oldest <= WINDOW:
                break
            paths.popitem(last=False)
        if len(paths) >= self.enumeration_paths:
            report("enumeration", f"{len(paths)} distinct paths within a minute")
            while len(paths) > self.enumeration_paths:
                paths.popitem(last=False)

        if event.denied:
            denied = state.denied
            denied.append(event.ts)
            if len(denied) >= self.denied_burst and event.ts - denied[0] <= WINDOW:
                report("denied_burst", f"{len(denied)} denied calls within a minute")
        return found


# -- per-event highlights for the live stream ----------------------------------

SPIKE = "spike"
BURST = "burst"
NEW_IP = "new-ip"


class _FlagState:
    __slots__ = ("burst_until", "denied", "ips", "ring")

    def __init__(self, window: int, burst: int) -> None:
        self.ring = RateRing(window)
        self.ips: OrderedDict[str, None] = OrderedDict()
        self.denied: deque[float] = deque(maxlen=burst)
        self.burst_until = 0.0


class StreamFlags:
    """Which events of the stream deserve a highlight, decided in O(1) each.

    Times are the events' own timestamps (epoch seconds), so a backfill
    replayed in one go is judged as it happened, not as it arrived.
    """

    def __init__(
        self,
        *,
        spike_factor: float = 5.0,
        spike_min: int = 20,
        denied_burst: int = 10,
        window_s: int = 60,
        max_accounts: int = MAX_ACCOUNTS,
        max_ips: int = MAX_IPS_PER_ACCOUNT,
    ) -> None:
        self.spike_factor = spike_factor
        self.spike_min = spike_min
        self.denied_burst = denied_burst
        self.window_s = window_s
        self.max_accounts = max_accounts
        self.max_ips = max_ips
        self._accounts: OrderedDict[AccountKey, _FlagState] = OrderedDict()
        self.counts: dict[str, int] = {SPIKE: 0, BURST: 0, NEW_IP: 0}

    def __len__(self) -> int:
        return len(self._accounts)

    def observe(self, event: AccessEvent, ts: float | None = None) -> tuple[str, ...]:
        """The highlights this event earns (usually none)."""
        if ts is None:
            ts = event.ts.timestamp()
        key = (event.provider, event.account_id)
        state: _FlagState = _lru_get(
            self._accounts,
            key,
            lambda: _FlagState(self.window_s, self.denied_burst),
            self.max_accounts,
        )
        flags: list[str] = []

        # Rate spike: the threshold comes from the previous seconds of the window,
        # so it holds still within a second and is crossed exactly once.
        ring = state.ring
        second = int(ts)
        now = ring.add(second)
        if now:
            before = (ring.total - now) / (ring.window - 1)
            threshold = max(self.spike_min, int(self.spike_factor * before) + 1)
            if now == threshold:
                flags.append(SPIKE)

        if event.denied:
            denied = state.denied
            denied.append(ts)
            if len(denied) >= self.denied_burst and ts - denied[0] <= self.window_s:
                state.burst_until = ts + self.window_s
            if ts <= state.burst_until:
                flags.append(BURST)

        if event.source_ip:
            known = bool(state.ips)
            if remember(state.ips, event.source_ip, self.max_ips) and known:
                flags.append(NEW_IP)

        for flag in flags:
            self.counts[flag] += 1
        return tuple(flags)
