"""Bastion mode: one inventory for every operator session, synced by the service.

Under ``pamtui serve-ssh`` the hub (services/hub.py) syncs every provider
once per ``[ssh] inventory_refresh_seconds`` in a short-lived child
(:func:`refresh_inventory`): the sync, the people correlation (UNOWNED,
MOVER, EXCESS), the drift snapshot and the journal's recheck flags are
computed there once, and the result is written as the inventory snapshot
beside the database (services/inventory_snapshot.py), with each provider's
health. A child per refresh, not the hub itself: the 400,000 objects of a
100,000-account sync are returned to the system when it ends.

Each operator session (``--follow-hub``) reads that file instead of asking
the providers: :class:`SharedInventory` gives the accounts pane its light
rows, decodes one account with its credentials when it is selected or
planned from, and all of them only for the people view. So the provider call
rate and the memory held per session no longer grow with the number of
sessions; revocations still go to the providers, and each is verified there.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pamtui.errors import PamtuiError
from pamtui.model import RiskFlag, utcnow
from pamtui.services.inventory import AccountKey, AccountView, ProviderHealth
from pamtui.services.inventory_snapshot import (
    InventorySnapshots,
    Snapshot,
    SnapshotUnusable,
    account_view,
    all_views,
    load,
    read_meta,
    save,
)

if TYPE_CHECKING:
    from pamtui.services.session import Session

HEALTH_META = "health"
STARTED_META = "started"


@dataclass(frozen=True)
class FileStamp:
    """Which version of the file was read: it is replaced (renamed over), never edited."""

    inode: int
    mtime_ns: int


def _stamp(path: Path) -> FileStamp | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return FileStamp(st.st_ino, st.st_mtime_ns)


class SharedInventory:
    """One session's window on the service's inventory file (read-only)."""

    def __init__(self, snapshots: InventorySnapshots) -> None:
        self.snapshots = snapshots
        self.read: FileStamp | None = None
        """The version last loaded; None before the first."""
        self.taken = ""
        self.started = ""
        self._orphaned: set[AccountKey] = set()

    @property
    def path(self) -> Path:
        return self.snapshots.path

    def changed(self) -> bool:
        """A new version of the file is there (cheap: one stat)."""
        now = _stamp(self.path)
        return now is not None and now != self.read

    def load(self) -> Snapshot | None:
        """The current rows, or None when the service has not written them yet.

        Raises ``SnapshotUnusable`` for a file that cannot be read.
        """
        # This version is read now, even if it turns out unusable: a damaged file is
        # reported once, not every time a session looks for a newer one.
        self.read = _stamp(self.path)
        snapshot = load(self.path, self.snapshots.stamp, snapshot=False)
        if snapshot is None:
            return None
        self.taken = snapshot.taken
        self.started = snapshot.meta.get(STARTED_META, snapshot.taken)
        self._orphaned = {r.key for r in snapshot.rows if RiskFlag.ORPHANED in r.flags}
        return snapshot

    # -- what services/inventory.Inventory asks of its shared source -------------------

    def view(self, key: AccountKey) -> AccountView | None:
        return account_view(self.path, self.snapshots.stamp, key, shared=True)

    def views(self) -> list[AccountView]:
        try:
            return all_views(self.path, self.snapshots.stamp)
        except SnapshotUnusable:
            return []

    def is_orphaned(self, key: AccountKey) -> bool:
        return key in self._orphaned

    def published(self) -> dict[str, ProviderHealth] | None:
        """Each provider's health at the service's last sync; None before its first.

        Reads the file's meta only: a command run over SSH then decodes the rows
        it needs (``views``), not 100,000 light rows just to learn who is up.
        """
        try:
            meta = read_meta(self.path, self.snapshots.stamp)
        except SnapshotUnusable:
            return None
        return None if meta is None else health_from_meta(meta)


def follow_service(session: Session) -> None:
    """Bastion mode: read the service's stream and inventory, never the providers' own.

    For every command an operator runs over SSH (``--follow-hub``), the TUI and
    the allow-listed CLI commands alike; revocations still go to the providers.
    """
    from pamtui.services.event_store import events_file

    session.shared_stream = events_file(session.db_path)
    session.inventory.shared = SharedInventory(InventorySnapshots.for_session(session))


def health_of(snapshot: Snapshot) -> dict[str, ProviderHealth]:
    """Each provider's health at the service's last sync (from the file's meta)."""
    return health_from_meta(snapshot.meta)


def health_from_meta(meta: dict[str, str]) -> dict[str, ProviderHealth]:
    try:
        raw = json.loads(meta.get(HEALTH_META, "{}"))
    except ValueError:
        return {}
    health: dict[str, ProviderHealth] = {}
    if isinstance(raw, dict):
        for name, h in raw.items():
            if isinstance(h, dict):
                health[str(name)] = ProviderHealth(
                    str(name),
                    ok=bool(h.get("ok", False)),
                    reason=str(h.get("reason", "")),
                    accounts=int(h.get("accounts", 0) or 0),
                    credentials=int(h.get("credentials", 0) or 0),
                )
    return health


# -- the service's side: one refresh, in the hub's child ---------------------------------


async def refresh_inventory(session: Session) -> str:
    """Sync every provider once, flag, snapshot drift, and publish; returns a log line.

    A provider that fails keeps its accounts from the previous file (sessions
    would otherwise lose them for a whole refresh) and its health says why, so
    sessions show it as degraded.
    """
    from pamtui.services.movers import people_flags

    started = utcnow().isoformat(timespec="seconds")
    inventory = session.inventory
    snapshots = InventorySnapshots.for_session(session)
    views = await inventory.sync()  # the drift snapshot is its on_synced hook
    degraded = sorted(n for n, h in inventory.health.items() if not h.ok)
    if degraded:
        with contextlib.suppress(SnapshotUnusable):
            kept = [v for v in all_views(snapshots.path, snapshots.stamp) if v.key[0] in degraded]
            inventory.views.update((v.key, v) for v in kept)
            views = inventory.rows()
    note = ""
    if session.people.sources:
        try:
            corr = await session.people.refresh(views)
            movers = await session.movers.assess(corr, views)
            inventory.set_people_flags(people_flags(corr, movers))
        except PamtuiError as exc:
            note = f"; people not flagged: {exc}"
    health = {
        name: {"ok": h.ok, "reason": h.reason, "accounts": h.accounts, "credentials": h.credentials}
        for name, h in inventory.health.items()
    }
    save(
        snapshots.path,
        snapshots.stamp,
        inventory.rows(),
        sorted(session.providers),
        {STARTED_META: started, HEALTH_META: json.dumps(health, sort_keys=True)},
    )
    with contextlib.suppress(OSError):
        os.chmod(snapshots.path, 0o600)
    return (
        f"inventory published: {len(inventory.views)} accounts"
        + (f"; degraded: {', '.join(degraded)}" if degraded else "")
        + note
    )
