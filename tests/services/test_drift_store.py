"""The drift store's read side for dry runs: ``SnapshotStore.stored`` and ``preview_drift``.

The sweep's dry run diffs against the stored snapshot without writing: the SQL
for that lives in the store (``stored``), the diff in the policy package.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pamtui.services import drift as dr
from pamtui.services.policy import preview_drift
from tests.services.test_drift import token, view


def fingerprint(path: Path) -> bytes:
    """The database's bytes plus its write-ahead log's: what a write would change.

    (A read-only reader of a WAL database may leave empty ``-wal``/``-shm``
    sidecars behind: SQLite needs them to read, they hold no data.)
    """
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_stored_reads_what_record_wrote_and_writes_nothing(tmp_path: Path) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    assert store.stored("p") == ({}, False)
    assert not store.path.exists()  # reading never creates the file

    alice = view(groups=("Everyone",), credentials=[token("t1", "read")])
    bob = view(id="a2", name="bob")
    store.record("p", [alice, bob])
    store.record("empty", [])
    before = fingerprint(store.path)

    known, synced = store.stored("p")
    assert synced
    assert known == {"a1": dr.record_of(alice), "a2": dr.record_of(bob)}
    # Synced with no accounts is not "never synced": the next sync is no baseline.
    assert store.stored("empty") == ({}, True)
    assert store.stored("other") == ({}, False)
    assert fingerprint(store.path) == before


def test_preview_finds_what_record_will_find_and_consumes_nothing(tmp_path: Path) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    alice = view(groups=("Everyone",), credentials=[token("t1", "read")])
    bob = view(id="a2", name="bob")
    store.record("p", [alice, bob])
    before = fingerprint(store.path)

    granted = replace(alice.account, privileged=True, groups=("Everyone", "Admins"))
    now = [replace(alice, account=granted), view(id="a3", name="carol")]  # bob is gone
    preview = preview_drift(store, {"p": now, "new": [bob]})
    assert fingerprint(store.path) == before

    assert [(r.provider, r.baseline, r.sync_id) for r in preview] == [
        ("p", False, 0),
        ("new", True, 0),  # never synced: a baseline, nothing to report
    ]
    expected = {
        ("a1", dr.PRIVILEGE_GRANTED),
        ("a2", dr.ACCOUNT_REMOVED),
        ("a3", dr.NEW_ACCOUNT),
    }
    assert {(c.account_id, c.kind) for c in preview[0].changes} == expected
    assert preview[1].changes == []
    # The real sync afterwards still sees the same drift: the preview consumed none of it.
    recorded = store.record("p", now)
    assert {(c.account_id, c.kind) for c in recorded.changes} == expected


def test_preview_without_a_store_is_a_baseline_everywhere(tmp_path: Path) -> None:
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    records = preview_drift(store, {"p": [view()], "q": []})
    assert [(r.provider, r.accounts, r.baseline, r.changes) for r in records] == [
        ("p", 1, True, []),
        ("q", 0, True, []),
    ]
    assert not store.path.exists()


@pytest.mark.parametrize("name", ["ops#1", "a?b", "50%41"])
def test_the_stored_side_reads_a_store_in_an_odd_directory(tmp_path: Path, name: str) -> None:
    """Was: "no such table: current", and ops#1 or a?b left an empty file beside
    the data directory (the raw path in a SQLite URI named another file)."""
    store = dr.SnapshotStore(tmp_path / name / "snapshots.sqlite")
    store.path.parent.mkdir()
    alice = view(groups=("Everyone",), credentials=[token("t1", "read")])
    store.record("p", [alice])
    assert store.stored("p") == ({"a1": dr.record_of(alice)}, True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
