"""Anomaly rules: account flags (AnomalyDetector) and stream highlights (StreamFlags)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pamtui.model import AccessEvent
from pamtui.services.anomaly import BURST, NEW_IP, SPIKE, AnomalyDetector, StreamFlags

T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


def ev(
    seconds: float = 0,
    *,
    account: str = "u1",
    status: int = 200,
    ip: str = "198.51.100.1",
    path: str = "/x",
    provider: str = "p",
    start: datetime = T0,
) -> AccessEvent:
    return AccessEvent(
        provider, start + timedelta(seconds=seconds), account, "c1", "GET", path, status, ip
    )


def rules(detector: AnomalyDetector, events) -> list[str]:
    return [a.rule for e in events for a in detector.observe(e)]


# -- AnomalyDetector ---------------------------------------------------------


def test_denied_burst_within_a_minute_once():
    d = AnomalyDetector(denied_burst=10)
    assert rules(d, [ev(i * 7, status=403) for i in range(9)]) == []  # 9 over 56 s
    assert rules(d, [ev(63, status=403)]) == []  # the 10th, but the first is > 60 s old
    assert rules(d, [ev(64, status=401)]) == ["denied_burst"]
    assert rules(d, [ev(65, status=401)]) == []  # reported once per account


def test_enumeration_counts_distinct_paths_in_the_window():
    d = AnomalyDetector(enumeration_paths=25)
    same = [ev(i * 0.1, path="/same") for i in range(500)]
    assert rules(d, same) == []
    spread = [ev(100 + i * 3, path=f"/b/{i}") for i in range(24)]  # 24 in 69 s
    assert rules(d, spread) == []
    burst = [ev(200 + i, path=f"/c/{i}") for i in range(25)]
    assert rules(d, burst) == ["enumeration"]


def test_off_hours_new_ip_and_orphan_use():
    night = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    d = AnomalyDetector(is_orphaned=lambda key: key == ("p", "gone"))
    assert rules(d, [ev(0, ip="10.0.0.1", start=night)]) == []  # first IP: nothing to compare
    assert rules(d, [ev(1, ip="203.0.113.7", start=night)]) == ["off_hours_new_ip"]
    assert rules(d, [ev(0, account="gone")]) == ["orphan_use"]


def test_detector_state_is_bounded():
    d = AnomalyDetector(max_accounts=100)
    for i in range(5_000):
        d.observe(ev(i, account=f"a{i}", ip=f"10.0.{i % 250}.{i % 7}", path=f"/{i}"))
    assert len(d._accounts) == 100
    for i in range(10_000):  # one account, endless new paths and IPs
        d.observe(
            ev(
                i * 0.01,
                account="busy",
                ip=f"10.{i // 65536}.{i // 256 % 256}.{i % 256}",
                path=f"/p/{i}",
            )
        )
    state = d._accounts[("p", "busy")]
    assert len(state.paths) <= d.enumeration_paths
    assert len(state.ips) <= 64
    assert len(state.denied) <= d.denied_burst


# -- StreamFlags -------------------------------------------------------------


def test_spike_flags_the_event_that_crosses_the_threshold_once():
    flags = StreamFlags(spike_factor=5, spike_min=20)
    for s in range(60):  # a steady 2/s for a minute
        assert flags.observe(ev(s)) == () or s == 0
        assert flags.observe(ev(s + 0.5)) == ()
    marks = [flags.observe(ev(60 + i / 100)) for i in range(40)]
    spiked = [i for i, m in enumerate(marks) if SPIKE in m]
    assert spiked == [19]  # the 20th event of that second: max(20, 5 * 2 + 1)
    assert flags.counts[SPIKE] == 1


def test_spike_threshold_follows_the_baseline():
    flags = StreamFlags(spike_factor=5, spike_min=20)
    for s in range(60):
        for k in range(10):  # 10/s is this account's normal
            flags.observe(ev(s + k / 20))
    marks = [flags.observe(ev(60 + i / 100)) for i in range(60)]
    assert [i for i, m in enumerate(marks) if SPIKE in m] == [50]  # 5 * ~9.8 + 1 = 50


def test_denied_burst_marks_the_burst_not_isolated_denials():
    flags = StreamFlags(denied_burst=5)
    assert flags.observe(ev(0, status=403)) == ()
    marks = [flags.observe(ev(100 + i, status=401)) for i in range(7)]
    assert [BURST in m for m in marks] == [False] * 4 + [True] * 3
    assert flags.observe(ev(107)) == ()  # a success is not part of it
    assert BURST not in flags.observe(ev(500, status=403))  # long after: over


def test_new_ip_after_the_first():
    flags = StreamFlags()
    assert flags.observe(ev(0, ip="10.0.0.1")) == ()
    assert flags.observe(ev(1, ip="10.0.0.1")) == ()
    assert flags.observe(ev(2, ip="203.0.113.66")) == (NEW_IP,)
    assert flags.observe(ev(3, ip="203.0.113.66")) == ()
    assert flags.observe(ev(4, ip="")) == ()
    assert flags.observe(ev(5, ip="10.9.9.9", account="other")) == ()  # its first IP


def test_flags_state_is_bounded():
    flags = StreamFlags(max_accounts=50, max_ips=8)
    for i in range(20_000):
        flags.observe(ev(i / 100, account=f"a{i % 500}", ip=f"10.0.{i % 200}.1"))
    assert len(flags) == 50
    assert all(len(s.ips) <= 8 for s in flags._accounts.values())
