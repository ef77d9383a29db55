"""Start the accounts pane from the last inventory snapshot, then reconcile.

The app calls :meth:`SnapshotStart.show` as it mounts, before asking the
providers (so the first frame already holds the rows): the pane holds every account of the last complete sync at once,
its title saying "snapshot" and when it was taken. The selected account's
credentials come from the snapshot too (display only: a snapshot view is never
planned from). When the providers have answered, :meth:`reconciled` drops the
snapshot and the worker shows their answer, so an account removed since the
snapshot disappears; :meth:`save` then keeps that answer for the next start
(in a thread, and only when every provider answered). Quitting abandons a save
still under way: the exit does not wait for it, and the last snapshot stays.

The snapshot file itself is ``services/inventory_snapshot.py``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from functools import partial
from typing import TYPE_CHECKING

from textual.worker import get_current_worker

from pamtui import foreground
from pamtui.sanitize import clean
from pamtui.services.inventory import AccountView
from pamtui.services.inventory_snapshot import InventorySnapshots, Snapshot, SnapshotUnusable
from pamtui.services.thread_handover import quick_gil_handover

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp

SAVE_GROUP = "inventory-snapshot"
"""The worker group of the snapshot writer (exclusive: a newer save cancels an older)."""


class _ReadAhead:
    """The snapshot file, read in a thread from the app's creation on.

    Reading 100,000 rows takes a few hundred milliseconds, most of it in
    SQLite (which lets go of the GIL); the app meanwhile parses its CSS and
    composes the screen, so by ``show`` the rows are mostly read.
    """

    def __init__(self, snapshots: InventorySnapshots) -> None:
        self._snapshots = snapshots
        self._result: Snapshot | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._read, name="snapshot-read", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            self._result = self._snapshots.load()
        except BaseException as exc:  # handed to the caller of result()
            self._error = exc

    def result(self) -> Snapshot | None:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result


class SnapshotStart:
    def __init__(self, app: PamtuiApp, snapshots: InventorySnapshots) -> None:
        self.app = app
        self.snapshots = snapshots
        self.taken = ""
        """When the snapshot on screen was taken; "" once the providers answered."""
        self._read_ahead: _ReadAhead | None = _ReadAhead(snapshots)

    @property
    def showing(self) -> bool:
        return bool(self.taken)

    def show(self) -> bool:
        """Put the last snapshot on screen; False when there is none for this config.

        Waited for: there is nothing else to show until it is loaded, and the
        first frame should hold it (read ahead since the app was created).
        """
        read_ahead, self._read_ahead = self._read_ahead, None
        try:
            snapshot = read_ahead.result() if read_ahead else self.snapshots.load()
        except SnapshotUnusable as exc:  # a corrupt or foreign file: start without it
            self.app.notify(str(exc), severity="warning", markup=False, timeout=10)
            return False
        if snapshot is None or not snapshot.rows:
            return False
        self.taken = snapshot.taken or "?"
        self.app.session.inventory.before_sync = self.snapshots.view
        self.app.main.show_accounts(snapshot.rows, loading=self._note(0))
        return True

    def _note(self, answered: int) -> str:
        when = clean(self.taken[:16].replace("T", " "), max_length=20)
        total = len(self.app.session.providers)
        return f"snapshot {when} UTC · providers answered {answered}/{total}"

    def note(self, answered: int, _total: int) -> None:
        if self.showing:
            self.app.main.note_accounts(self._note(answered))

    def reconciled(self) -> None:
        """The providers answered: their rows replace the snapshot's."""
        self.taken = ""
        self.app.session.inventory.before_sync = None

    def save(self, views: Sequence[AccountView]) -> None:
        """Keep a complete sync for the next start (not a partial one, not read-only)."""
        session = self.app.session
        health = session.inventory.health
        complete = all(name in health and health[name].ok for name in session.providers)
        if not complete or self.snapshots.read_only:
            return
        self.app.run_worker(
            partial(self._save, list(views), sorted(session.providers)),
            thread=True,
            group=SAVE_GROUP,
            exclusive=True,
        )

    def _save(self, views: list[AccountView], providers: list[str]) -> None:
        # Quitting cancels the worker (as does a newer sync's save): the save stops
        # at its next chunk and the last snapshot stays, rather than holding the
        # exit for the seconds a 100,000-account save takes.
        cancelled = get_current_worker().cancelled_event.is_set
        try:
            with quick_gil_handover():  # seconds of Python at 100k: keys still get through
                self.snapshots.save(views, providers, stop=cancelled)
        except foreground.Abandoned:
            return
        except Exception as exc:  # a catch-all on purpose: a cache must not end the session
            with contextlib.suppress(RuntimeError):  # the app may be exiting
                self.app.call_from_thread(
                    self.app.notify,
                    f"inventory snapshot not saved: {type(exc).__name__}: {exc}",
                    severity="warning",
                    markup=False,
                )
