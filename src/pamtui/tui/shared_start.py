"""Bastion mode: the accounts pane follows the service's inventory, never the providers.

Under ``pamtui serve-ssh`` each operator session reads the inventory the
service's hub published (services/shared_inventory.py). :meth:`SharedStart.show`
puts it on the first frame; :meth:`SharedStart.follow` then watches the file
and shows each newer sync as it lands (loaded in a thread: the event loop
keeps serving keys). The title says whose sync it is and when it was taken.

What this session saw or did itself stays on top of the shared rows: an
account it re-read after a revocation (until a sync that began after it
arrives) and anomalies in its own stream.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual.css.query import NoMatches

from pamtui.model import RiskFlag
from pamtui.sanitize import clean
from pamtui.services.account_rows import AccountRow, row_of
from pamtui.services.inventory_snapshot import InventorySnapshots, Snapshot, SnapshotUnusable
from pamtui.tui.snapshot_start import SnapshotStart

if TYPE_CHECKING:
    from pamtui.services.shared_inventory import SharedInventory
    from pamtui.tui.app import PamtuiApp

POLL_SECONDS = 2.0
"""How often the file is checked for a newer sync (one ``stat``)."""
WAITING = "waiting for the service's first inventory sync"
_SCREEN_GONE = (NoMatches, LookupError)


class SharedStart:
    def __init__(self, app: PamtuiApp, shared: SharedInventory) -> None:
        self.app = app
        self.shared = shared
        self.shown_once = False

    showing = False
    """Never a stand-in snapshot: the rows are the service's sync (see snapshot_start)."""

    def show(self) -> bool:
        """The service's inventory on the first frame; False while there is none yet."""
        try:
            snapshot = self.shared.load()
        except SnapshotUnusable as exc:
            self.app.notify(str(exc), severity="error", markup=False, timeout=10)
            snapshot = None
        if snapshot is None:
            self.app.main.note_accounts(WAITING)
            return False
        self._apply(snapshot)
        return True

    async def follow(self, ready: Callable[[], None]) -> None:
        """Show each newer sync as the service publishes it; ``ready()`` after the first."""
        if self.shown_once:
            ready()
        while True:
            if self.shared.changed():
                try:
                    snapshot = await asyncio.to_thread(self.shared.load)
                except SnapshotUnusable as exc:
                    self.app.notify(str(exc), severity="error", markup=False, timeout=10)
                    snapshot = None
                if snapshot is not None:
                    first = not self.shown_once
                    try:
                        self._apply(snapshot)
                    except _SCREEN_GONE:
                        return  # the operator quit
                    if first:
                        ready()
            await asyncio.sleep(POLL_SECONDS)

    def _apply(self, snapshot: Snapshot) -> None:
        from pamtui.services.shared_inventory import health_of  # imported by start_for

        inventory = self.app.session.inventory
        taken = _when(snapshot.taken)
        started = _when(self.shared.started)
        if started is not None:
            inventory.drop_older_than(started)
        inventory.health = health_of(snapshot)
        inventory.synced_at = taken
        main = self.app.main
        main.show_accounts(self._overlaid(snapshot.rows), announce=not self.shown_once)
        main.note_accounts("")
        stamp = clean(snapshot.taken[:16].replace("T", " "), max_length=20)
        main.note_source(f"service sync {stamp} UTC")
        self.shown_once = True

    def _overlaid(self, rows: list[AccountRow]) -> list[AccountRow]:
        """The shared rows, with this session's own re-reads and anomaly marks on top."""
        inventory = self.app.session.inventory
        local, marks = inventory.views, inventory.anomalous
        if not local and not marks:
            return rows
        out = []
        for row in rows:
            if row.key in local:
                row = row_of(local[row.key])
            elif row.key in marks and RiskFlag.ANOMALOUS not in row.flags:
                row = row._replace(flags=row.flags | {RiskFlag.ANOMALOUS})
            out.append(row)
        return out

    # The local start's other duties have no meaning here: the service saves.
    def note(self, _answered: int, _total: int) -> None:
        return None

    def reconciled(self) -> None:
        return None

    def save(self, _views: object) -> None:
        return None


def _when(text: str) -> datetime | None:
    with contextlib.suppress(ValueError):
        return datetime.fromisoformat(text)
    return None


def start_for(app: PamtuiApp, snapshots: InventorySnapshots) -> SnapshotStart | SharedStart:
    """Follow the service's inventory when the session is told to (``--follow-hub``)."""
    shared = app.session.inventory.shared
    if shared is not None:  # bastion mode only: not imported for a local start
        from pamtui.services.shared_inventory import SharedInventory

        if isinstance(shared, SharedInventory):
            return SharedStart(app, shared)
    return SnapshotStart(app, snapshots)
