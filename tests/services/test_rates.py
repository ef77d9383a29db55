"""Per-account rolling rates: O(1) rings of per-second buckets, bounded keys."""

from __future__ import annotations

import sys

from pamtui.services.rates import RateRing, RateTable


def test_ring_counts_per_second_and_slides():
    ring = RateRing(window=5)
    for second, n in ((100, 3), (101, 1), (103, 2)):
        ring.add(second, n)
    assert ring.series(103, 5) == [0, 3, 1, 0, 2]
    assert ring.total == 6
    ring.add(106)  # 100 and 101 slide out of the 5-second window
    assert ring.series(106, 5) == [0, 2, 0, 0, 1]
    assert ring.total == 3
    assert ring.recent(106, 2) == 1


def test_ring_late_events_count_in_their_second_and_too_old_ones_are_dropped():
    ring = RateRing(window=5)
    ring.add(200)
    assert ring.add(198) == 1  # a little late: still in the window
    assert ring.add(190) == 0  # older than the window: nowhere to count it
    assert ring.series(200, 3) == [1, 0, 1]
    assert ring.total == 2


def test_ring_a_long_gap_clears_everything():
    ring = RateRing(window=4)
    ring.add(10, 7)
    ring.add(1_000)
    assert ring.total == 1
    assert ring.series(1_000, 4) == [0, 0, 0, 1]


def test_ring_total_always_equals_its_buckets():
    ring = RateRing(window=7)
    for i in range(5_000):
        ring.add(i // 3 + (i % 5 == 0), 1 + i % 3)
        assert ring.total == sum(ring.buckets)


def test_table_rates_top_and_series():
    table = RateTable(window=10)
    for second in range(100, 110):
        for _ in range(5):
            table.add(("p", "busy"), second)
        table.add(("p", "quiet"), second)
    assert table.rate(("p", "busy"), seconds=10) == 5.0
    assert table.rate(("p", "quiet"), seconds=10) == 1.0
    assert table.rate(seconds=10) == 6.0
    assert table.top(1) == [(("p", "busy"), 50)]
    assert [key for key, _ in table.top(5)] == [("p", "busy"), ("p", "quiet")]
    assert table.series(("p", "busy"), 3) == [5, 5, 5]
    assert table.series(("p", "absent"), 3) == [0, 0, 0]


def test_table_forgets_the_least_recently_used_keys():
    table = RateTable(window=10, max_keys=100)
    table.add("keep", 0)
    for i in range(10_000):
        table.add(f"k{i}", i // 100)
        if i % 50 == 0:
            table.add("keep", i // 100)  # recently used: survives
    assert len(table) == 100
    assert "keep" in table
    assert "k0" not in table
    assert table.forgotten == 10_001 - 100


def test_table_memory_does_not_grow_with_events():
    table = RateTable(window=60, max_keys=50)

    def size() -> int:
        return sum(sys.getsizeof(r.buckets) for r in table._rings.values())

    for i in range(20_000):
        table.add(f"a{i % 50}", i // 10)
    first = size()
    for i in range(20_000, 200_000):
        table.add(f"a{i % 50}", i // 10)
    assert size() == first


def test_recent_matches_the_series_everywhere():
    ring = RateRing(window=8)
    for i in range(200):
        ring.add(i // 2 + (i % 3 == 0), 1 + i % 4)
        for now in range(ring.last - 12, ring.last + 12):
            for seconds in (1, 3, 8, 20):
                assert ring.recent(now, seconds) == sum(ring.series(now, seconds)), (now, seconds)
