"""The inventory snapshot file: what it keeps, for whom, and what it refuses."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import stat

import pytest

from pamtui import foreground
from pamtui.services.account_rows import row_of
from pamtui.services.inventory import Inventory
from pamtui.services.inventory_snapshot import (
    InventorySnapshots,
    SnapshotUnusable,
    snapshot_file,
)
from tests.fakes import StaticProvider

PROVIDERS = [("static", "static", {"setting": 1})]


def synced():
    inventory = Inventory({"static": StaticProvider()})
    return asyncio.run(inventory.sync(snapshot=False))


def test_a_saved_snapshot_gives_back_the_rows_and_each_account(db_path):
    db_path.parent.mkdir(parents=True)
    views = synced()
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    assert keeper.load() is None  # nothing yet
    assert keeper.save(views, ["static"])
    assert stat.S_IMODE(os.stat(snapshot_file(db_path)).st_mode) == 0o600
    snap = keeper.load()
    assert snap is not None and snap.providers == ("static",)
    by_key = {row.key: row for row in snap.rows}
    for view in views:
        row = by_key[view.key]
        assert row.snapshot and row._replace(snapshot=False) == row_of(view)
        again = keeper.view(view.key)
        assert again is not None and again.snapshot and not again.credentials_read
        assert again.account == view.account and again.credentials == view.credentials
        assert again.flags == view.flags
    assert keeper.view(("static", "nobody")) is None


def test_another_config_or_risk_setting_does_not_see_the_snapshot(db_path):
    db_path.parent.mkdir(parents=True)
    InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False).save(
        synced(), ["static"]
    )
    for providers, stale in (
        ([("static", "static", {"setting": 2})], 90),  # another setting
        ([("static", "scim", {"setting": 1})], 90),  # another type under the same name
        ([*PROVIDERS, ("more", "static", {})], 90),  # another provider set
        (PROVIDERS, 30),  # another staleness rule: other flags
    ):
        other = InventorySnapshots(db_path, providers, stale_days=stale, read_only=False)
        assert other.load() is None
        assert other.view(("static", "u1")) is None


def test_a_read_only_session_writes_no_snapshot(db_path):
    db_path.parent.mkdir(parents=True)
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=True)
    assert not keeper.save(synced(), ["static"])
    assert not snapshot_file(db_path).exists()


@pytest.mark.parametrize(
    "content", [b"not a database at all", b"SQLite format 3\x00" + b"\xff" * 600]
)
def test_a_corrupt_file_is_unusable_with_one_line(db_path, content):
    db_path.parent.mkdir(parents=True)
    snapshot_file(db_path).write_bytes(content)
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    with pytest.raises(SnapshotUnusable) as caught:
        keeper.load()
    assert "not used" in str(caught.value) and "\n" not in str(caught.value)
    assert keeper.view(("static", "u1")) is None
    keeper.save(synced(), ["static"])  # the next complete sync replaces it
    assert keeper.load() is not None


def test_an_abandoned_save_leaves_the_last_snapshot_and_no_temporary_file(db_path):
    """``stop`` (the TUI quitting) ends a save between chunks; nothing half-written stays."""
    db_path.parent.mkdir(parents=True)
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    first = synced()
    keeper.save(first, ["static"])
    before = snapshot_file(db_path).read_bytes()
    many = [
        dataclasses.replace(view, account=dataclasses.replace(view.account, id=f"x{n}"))
        for n in range(1_200)
        for view in first[:1]
    ]
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) >= 2  # the first chunk is written, then the app quits

    with pytest.raises(foreground.Abandoned):
        keeper.save(many, ["static"], stop=stop)
    assert snapshot_file(db_path).read_bytes() == before
    assert [p.name for p in db_path.parent.iterdir() if p.name.endswith(".tmp")] == []
    snap = keeper.load()
    assert snap is not None and len(snap.rows) == len(first)
    assert keeper.save(many, ["static"], stop=lambda: False)  # not stopped: all of them
    snap = keeper.load()
    assert snap is not None and len(snap.rows) == 1_200


def test_saving_over_a_symlink_replaces_the_link_not_its_target(db_path, tmp_path):
    db_path.parent.mkdir(parents=True)
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    snapshot_file(db_path).symlink_to(target)
    InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False).save(
        synced(), ["static"]
    )
    assert target.read_text() == "keep me"
    assert not snapshot_file(db_path).is_symlink()


def test_rows_come_back_in_the_panes_base_order_and_say_so(db_path):
    """Saved sorted by provider, name (case-folded), id: a start need not sort them."""
    import sqlite3

    from pamtui.services.account_index import AccountIndex
    from pamtui.services.account_rows import BaseOrderedRows, base_order_key

    db_path.parent.mkdir(parents=True)
    views = list(reversed(synced()))  # the saver must not rely on the sync's order
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    keeper.save(views, ["static"])
    snap = keeper.load()
    assert snap is not None and isinstance(snap.rows, BaseOrderedRows)
    keys = [base_order_key(r.provider, r.name, r.id) for r in snap.rows]
    assert keys == sorted(keys) and len(keys) == len(views)
    # The index trusts that order: same screen as from the unordered views.
    for column in ("risk", "account", "creds", "provider", "status", "kind"):
        trusted, sorted_here = AccountIndex(snap.rows), AccountIndex(views)
        trusted.sort(column)
        sorted_here.sort(column)
        assert trusted.shown_keys() == sorted_here.shown_keys(), column

    # A file from before the order was kept (no "order" in meta): read, not trusted.
    conn = sqlite3.connect(snapshot_file(db_path))
    with conn:
        conn.execute("DELETE FROM meta WHERE key = 'order'")
    conn.close()
    older = keeper.load()
    assert older is not None and not isinstance(older.rows, BaseOrderedRows)
    assert {r.key for r in older.rows} == {v.key for v in views}


def test_repeated_columns_share_one_string_per_value(db_path):
    """Each SSH session holds every row: provider, system, kind and status once each."""
    db_path.parent.mkdir(parents=True)
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    keeper.save(synced(), ["static"])
    rows = keeper.load().rows
    assert len(rows) > 2
    for column in ("provider", "system", "kind", "status"):
        by_value: dict[str, int] = {}
        for row in rows:
            by_value.setdefault(getattr(row, column), id(getattr(row, column)))
            assert id(getattr(row, column)) == by_value[getattr(row, column)]


def test_one_account_is_found_by_its_key_not_by_a_scan(db_path):
    """Selecting an account reads one row: at 100,000 accounts a scan took 24 ms a lookup."""
    import sqlite3

    db_path.parent.mkdir(parents=True)
    InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False).save(
        synced(), ["static"]
    )
    conn = sqlite3.connect(snapshot_file(db_path))
    plan = " ".join(
        str(row[-1])
        for row in conn.execute(
            "EXPLAIN QUERY PLAN SELECT a.flags, d.detail FROM details d JOIN accounts a"
            " ON a.provider = d.provider AND a.id = d.id WHERE d.provider = ? AND d.id = ?",
            ("static", "u1"),
        )
    )
    conn.close()
    assert "accounts_key" in plan and "SCAN a" not in plan


@pytest.mark.parametrize("name", ["ops#1", "a?b", "50%41"])
def test_a_snapshot_in_an_odd_directory_is_read_back(tmp_path, name):
    """Was: load, read_meta and all_views said "not used: no such table: meta" (or
    "unable to open database file" for 50%41), view found nothing, and ops#1 and
    a?b left an empty "ops" or "a" file beside the data directory."""
    from pamtui.services.inventory_snapshot import all_views, read_meta

    db_path = tmp_path / name / "pamtui.db"
    db_path.parent.mkdir()
    views = synced()
    keeper = InventorySnapshots(db_path, PROVIDERS, stale_days=90, read_only=False)
    assert keeper.save(views, ["static"])
    snap = keeper.load()
    assert snap is not None and len(snap.rows) == len(views)
    assert keeper.view(views[0].key) is not None
    assert read_meta(snapshot_file(db_path), keeper.stamp) is not None
    assert len(all_views(snapshot_file(db_path), keeper.stamp)) == len(views)
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]
