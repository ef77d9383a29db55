"""Is a queue row what its journal entries say it is? Checked before every transition.

The hash chain covers the journal's entries, not the ``queue_items`` rows: a
row edited with the sqlite3 shell (``UPDATE queue_items SET state =
'approved'``, another requester, another plan or step order) would otherwise
forge a four-eyes approval or reorder a plan, and ``pamtui audit verify``
could not see it. So :class:`pamtui.services.queue_store.QueueStore` replays
the item's journal entries, through the archives when ``audit rotate`` moved
them there, and refuses a row they do not vouch for (:class:`QueueTampered`).
It is its own module because it is a separate job from keeping the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from pamtui.journal import Journal, JournalError
from pamtui.journal.segments import SEGMENT_START, archived_segments
from pamtui.model import QueueItem, QueueState
from pamtui.services.queue_errors import QueueTampered

_ITEM_ENTRIES = (
    "SELECT actor, action, detail FROM entries WHERE subject = ? AND provider = ?"
    " AND json_extract(detail, '$.item') = ? ORDER BY seq"
)


def _replay(
    rows: Iterable[tuple[str, str, str]], key: str
) -> tuple[tuple[str, dict[str, Any]] | None, str]:
    """``(stage entry's actor and detail, state after the last transition)`` of an item."""
    stage: tuple[str, dict[str, Any]] | None = None
    state = ""
    for actor, action, text in rows:
        detail = json.loads(text)
        if action == "stage" and detail.get("idempotency_key") == key:
            stage, state = (actor, detail), str(QueueState.STAGED)
        elif "from" in detail and "to" in detail:
            state = str(detail["to"])
    return stage, state


def check_journalled(journal: Journal, item: QueueItem) -> None:
    """Refuse a row its journal entries do not vouch for (:class:`QueueTampered`).

    ``item`` is the row as just read. Its state must be the ``to`` of its last
    journalled transition (``staged`` right after its ``stage`` entry), and its
    requester, four eyes, plan and step order those its ``stage`` entry
    recorded. When ``audit rotate`` archived its ``stage`` entry (and maybe
    every other entry of it), the earlier entries are read from the archives
    (:func:`_archived_entries`); the usual case, its ``stage`` entry in the
    live file, reads nothing else.
    """
    params = (item.action.subject, item.action.provider, item.id)
    rows = journal.conn.execute(_ITEM_ENTRIES, params).fetchall()
    stage, state = _replay(rows, item.idempotency_key)
    if stage is None and _history_archived(journal):
        rows = _archived_entries(journal, item, params) + rows
        stage, state = _replay(rows, item.idempotency_key)
    wrong = []
    if state != str(item.state):
        wrong.append(f"it is {item.state}, the journal says {state or 'nothing of it'}")
    if stage is None:  # its idempotency key rewritten: nothing else would be compared
        wrong.append(f"no stage entry has its idempotency key {item.idempotency_key!r}")
    else:
        actor, detail = stage
        recorded = {
            "requested by": (actor, item.requested_by),
            "four eyes": (bool(detail.get("four_eyes")), item.four_eyes),
            "plan": (detail.get("plan"), item.plan_id),
            "step order": (detail.get("order", item.action.order), item.action.order),
        }
        wrong += [
            f"{name} {now!r}, the journal says {then!r}"
            for name, (then, now) in recorded.items()
            if then != now
        ]
    if wrong:
        raise QueueTampered(
            f"queue item {item.id} does not match the journal ({'; '.join(wrong)}): "
            "its row was edited outside pamtui, so nothing was done to it"
        )


def _history_archived(journal: Journal) -> bool:
    first = journal.conn.execute("SELECT action FROM entries ORDER BY seq LIMIT 1").fetchone()
    return bool(first and first[0] == SEGMENT_START)


def _archived_entries(
    journal: Journal, item: QueueItem, params: tuple[str, str, int]
) -> list[tuple[str, str, str]]:
    """The item's entries in the archives, oldest first, back to its ``stage`` entry.

    Archives are read newest first (:func:`archived_segments`), stopping at
    the one that holds the ``stage`` entry. A missing or unreadable archive
    refuses the transition instead of allowing it: otherwise deleting the
    archives (or rotating to a file kept elsewhere) and then editing the row
    would forge an approval again, and the live file never vouches for
    entries it no longer holds. ``pamtui audit verify`` names the archive.
    """
    found: list[list[tuple[str, str, str]]] = []
    try:
        for archive in archived_segments(journal.conn, journal.path):
            rows = archive.execute(_ITEM_ENTRIES, params).fetchall()
            found.append(rows)
            if _replay(rows, item.idempotency_key)[0] is not None:
                break
    except (JournalError, sqlite3.Error) as exc:
        raise QueueTampered(
            f"queue item {item.id}'s history could not be checked: its journal entries"
            f" were rotated into archives that cannot be read ({exc}), so nothing was"
            " done to it; see: pamtui audit verify"
        ) from exc
    return [row for rows in reversed(found) for row in rows]
