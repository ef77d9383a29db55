"""The shared event store the hub writes and sessions tail: a real SQLite file."""

from __future__ import annotations

import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pamtui.model import AccessEvent
from pamtui.services.event_store import EventStore, events_file, items_of
from pamtui.services.stream import StreamProblem

T0 = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def event(provider: str, n: int) -> AccessEvent:
    return AccessEvent(
        provider=provider,
        ts=T0 + timedelta(seconds=n),
        account_id=f"a{n}",
        credential_id=f"c{n}",
        method="GET",
        path="/[bold]x\x1b[2J",  # carried as data, never interpreted
        status=200,
        source_ip="10.0.0.1",
        cursor=f"{n}:0",
    )


def test_ordered_round_trip_with_problems(tmp_path: Path) -> None:
    store = EventStore.beside(tmp_path / "p.db", writer=True)
    batch = [event("idp", 1), StreamProblem("git", "HTTP 503"), event("git", 2)]
    assert store.append(batch) == 3
    reader = EventStore.beside(tmp_path / "p.db")
    got = reader.after(0)
    assert [s.seq for s in got] == [1, 2, 3]
    assert items_of(got) == batch
    assert reader.after(2) == got[2:]
    assert stat.S_IMODE(events_file(tmp_path / "p.db").stat().st_mode) == 0o600
    reader.close()
    store.close()


def test_bounded_oldest_first(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.sqlite", retain=100, writer=True)
    for start in range(0, 1000, 50):
        store.append([event("idp", n) for n in range(start, start + 50)])
    got = store.after(0, limit=10_000)
    assert len(got) == 100
    assert [s.seq for s in got] == list(range(901, 1001))
    assert store.last_seq() == 1000
    store.close()


def test_no_duplicates_and_no_reused_numbers_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "e.sqlite"
    store = EventStore(path, retain=10, writer=True)
    store.append([event("idp", n) for n in range(20)])
    assert store.cursors() == {"idp": "19:0"}
    store.close()  # the hub dies here
    again = EventStore(path, retain=10, writer=True)
    resume = again.cursors()["idp"]  # where the restarted hub resumes its stream
    assert resume == "19:0"
    again.append([event("idp", n) for n in range(20, 25)])
    got = again.after(0)
    assert [s.seq for s in got] == list(range(16, 26))  # 1-15 trimmed, none reused
    cursors = [s.item.cursor for s in got if isinstance(s.item, AccessEvent)]
    assert len(cursors) == len(set(cursors))
    again.close()


def test_a_failed_batch_stores_nothing_not_even_its_cursor(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.sqlite", writer=True)
    store.append([event("idp", 1)])
    bad = event("idp", 2)
    object.__setattr__(bad, "status", object())  # cannot be encoded

    with pytest.raises(TypeError):
        store.append([event("idp", 3), bad])
    assert store.cursors() == {"idp": "1:0"}
    assert [s.seq for s in store.after(0)] == [1]
    store.close()


def test_a_reader_cannot_write(tmp_path: Path) -> None:
    EventStore(tmp_path / "e.sqlite", writer=True).close()
    reader = EventStore(tmp_path / "e.sqlite")
    with pytest.raises(sqlite3.OperationalError):
        reader._conn.execute("DELETE FROM events")
    reader.close()


@pytest.mark.parametrize("name", ["ops#1", "a?b", "50%41"])
def test_a_reader_tails_a_store_in_an_odd_directory(tmp_path: Path, name: str) -> None:
    """Was: the reader's SQLite URI named another file (an empty one beside the
    data directory for ops#1 and a?b), so sessions saw no events."""
    data = tmp_path / name
    data.mkdir()
    store = EventStore.beside(data / "p.db", writer=True)
    store.append([event("idp", 1)])
    reader = EventStore.beside(data / "p.db")
    assert items_of(reader.after(0)) == [event("idp", 1)]
    reader.close()
    store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
