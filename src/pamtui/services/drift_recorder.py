"""The inventory's after-sync hook: snapshot, diff, and journal what grew, never losing it.

The snapshot (``snapshots.sqlite``) and the journal are two databases, so no
one transaction covers both. ``SnapshotStore.record`` commits a notable sync
with ``syncs.journalled = 0``: an outbox. The recorder writes the ``drift``
entry of every sync still owed one, oldest first, and marks it; it does so
after each record and at the start of each call. So a sync whose entry did
not make it is journalled at the next call (the next sync, the next start):

- the recording task cancelled while ``record`` ran in its thread (the TUI
  quitting right after a sync: the thread still commits, the task is gone);
- a journal that refused the append (locked, read-only, disk full).

Without the outbox the next sync diffs against the committed records, sees
no change, and the grant is never journalled, nor forwarded to the SIEM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pamtui.errors import PamtuiError
from pamtui.journal import JournalUnavailable
from pamtui.services.drift import (
    DRIFT_ACTION,
    Change,
    SnapshotStore,
    SyncRecord,
    journal_detail,
)
from pamtui.services.inventory import AccountView
from pamtui.sqlite_tx import immediate_transaction

DriftListener = Callable[[SyncRecord], None]
Owed = tuple[int, str, dict[str, Any]]
"""A sync owed a journal entry: its id, its provider and the entry's detail."""

_LOCK_TRIES = 100
_LOCK_PAUSE_S = 0.05


class StoreBusy(PamtuiError):
    """Another connection holds ``snapshots.sqlite``'s write lock: try again later.

    The recorder retries and then keeps the syncs owed; were it ever to reach
    the CLI, it would be one line and exit 1.
    """


def _busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorname", "").startswith(("SQLITE_BUSY", "SQLITE_LOCKED"))


def owed(store: SnapshotStore, fresh: Mapping[int, SyncRecord] | None = None) -> list[Owed]:
    """Every sync owed a ``drift`` entry, oldest first, with the entry's detail.

    The detail is :func:`journal_detail`'s, from ``fresh`` (the records this
    process just made) or rebuilt from the stored ``changes`` rows, which a
    committed sync never changes. Read without the write lock: whether each
    is still owed is checked again under it (:func:`journal_owed`).
    """
    if not store.path.exists():
        return []
    fresh = fresh or {}
    conn = store.connect()  # migrates a file from before the outbox
    try:
        syncs = conn.execute(
            "SELECT id, provider, accounts FROM syncs WHERE journalled = 0 ORDER BY id"
        ).fetchall()
        out: list[Owed] = []
        for sync_id, provider, accounts in syncs:
            record = fresh.get(sync_id)
            if record is None:
                record = SyncRecord(sync_id, provider, accounts, False)
                record.changes.extend(
                    Change(ts, prov, aid, name, kind, json.loads(detail), sync_id)
                    for ts, prov, aid, name, kind, detail in conn.execute(
                        "SELECT ts, provider, account_id, account_name, kind, detail"
                        " FROM changes WHERE sync_id = ? ORDER BY id",
                        (sync_id,),
                    )
                )
            out.append((sync_id, provider, journal_detail(record)))
        return out
    finally:
        conn.close()


def journal_owed(
    store: SnapshotStore, candidates: Sequence[Owed], append: Callable[[str, dict[str, Any]], None]
) -> tuple[list[int], BaseException | None]:
    """Append (``append(provider, detail)``) and mark each candidate still owed, oldest first.

    Why lock, append, mark, commit (and not claim first): the whole run holds
    ``snapshots.sqlite``'s write lock (``BEGIN IMMEDIATE``), re-reads which
    syncs are still owed, and for each appends the entry (the journal's own
    transaction) and then sets ``journalled``; one commit ends it. Another
    process (the serve-ssh hub's inventory child, a local TUI) flushing the
    same outbox waits for the lock and then finds them marked: no sync is
    journalled twice. A claim committed before the append would lose the entry
    if the process died between the two; here the only gap is the other way
    round (journal committed, mark not: a crash, or this commit failing), and it
    gives a duplicate at the next flush, never a loss.

    Never waits for the lock (the caller runs on the event loop; it retries):
    raises :class:`StoreBusy`. Stops at the first append that fails because the
    journal cannot be written (``JournalUnavailable``: the later ones would fail
    too, and order is kept); any other failure leaves that sync owed and goes
    on. Returns the ids journalled and the failure, if any. Nothing in here
    awaits, so a cancelled task cannot stop it half-way.
    """
    try:
        conn = store.connect(create=False, timeout=0)
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            raise StoreBusy(str(exc)) from exc
        raise
    done: list[int] = []
    failure: BaseException | None = None
    try:
        with immediate_transaction(conn):  # BEGIN IMMEDIATE: busy means another writer
            still = {row[0] for row in conn.execute("SELECT id FROM syncs WHERE journalled = 0")}
            for sync_id, provider, detail in candidates:
                if sync_id not in still:
                    continue  # another process journalled it since we read
                try:
                    append(provider, detail)
                except JournalUnavailable as exc:
                    failure = exc
                    break
                except Exception as exc:
                    failure = exc
                    continue
                conn.execute("UPDATE syncs SET journalled = 1 WHERE id = ?", (sync_id,))
                done.append(sync_id)
    except sqlite3.OperationalError as exc:
        if _busy(exc):
            raise StoreBusy(str(exc)) from exc
        raise
    finally:
        conn.close()
    return done, failure


class DriftRecorder:
    """The inventory's after-sync hook: snapshot, diff, journal what grew.

    Each provider that answered is stored (in a worker thread: a 100k-account
    provider costs a second of hashing, which must not freeze the TUI). A sync
    with notable changes (access that grew, ``NOTABLE``) gets one ``drift``
    journal entry per provider, actor ``system``, through the outbox above:
    exactly once, even if this call is cancelled or the journal refuses it
    now. ``listeners`` are called with each :class:`SyncRecord` that has
    changes: the hook through which a policy or a review campaign can react to
    drift (e.g. stage a review item).

    Read-only sessions record nothing: an auditor's session writes no file.
    A failure to snapshot or to journal never breaks a sync; it is kept in
    ``last_error``.
    """

    def __init__(self, store: SnapshotStore, journal: Any, *, read_only: bool = False) -> None:
        self.store = store
        self.journal = journal
        self.read_only = read_only
        self.listeners: list[DriftListener] = []
        self.last: dict[str, SyncRecord] = {}
        self.last_error = ""

    async def __call__(self, by_provider: Mapping[str, list[AccountView]]) -> None:
        if self.read_only:
            return
        await self.journal_owed()  # what an earlier call (or process) left owed
        stopped = threading.Event()
        for provider, views in by_provider.items():
            try:
                result = await asyncio.to_thread(
                    self.store.record, provider, views, stop=stopped.is_set
                )
            except asyncio.CancelledError:
                # The TUI quitting: the thread stops at its next chunk, before it
                # writes, rather than hold the exit for a second at 100k; the
                # next sync records what changed (and the outbox journals it).
                stopped.set()
                raise
            except (sqlite3.Error, OSError) as exc:
                self.last_error = f"snapshot of {provider} not stored: {exc}"
                continue
            self.last[provider] = result
            if result.notable:
                await self.journal_owed({result.sync_id: result})
            if result.changes:
                for listener in self.listeners:
                    with contextlib.suppress(Exception):
                        listener(result)

    async def journal_owed(self, fresh: Mapping[int, SyncRecord] | None = None) -> None:
        """Journal every sync still owed its ``drift`` entry; failures wait for the next call."""
        if self.read_only or getattr(self.journal, "read_only", False):
            return  # a writable session journals them later
        try:
            candidates = await asyncio.to_thread(owed, self.store, fresh)
        except (sqlite3.Error, OSError) as exc:
            self.last_error = f"drift outbox not read: {exc}"
            return
        if not candidates:
            return
        failure: BaseException | None = None
        for _ in range(_LOCK_TRIES):
            try:
                _, failure = journal_owed(self.store, candidates, self._append)
                break
            except StoreBusy as exc:
                failure = exc  # another process records or journals: let it finish
                await asyncio.sleep(_LOCK_PAUSE_S)
            except (sqlite3.Error, OSError) as exc:
                failure = exc
                break
        if failure is not None:
            self.last_error = f"drift not journalled yet (kept for the next sync): {failure}"

    def _append(self, provider: str, detail: dict[str, Any]) -> None:
        self.journal.append("system", DRIFT_ACTION, provider=provider, detail=detail)
