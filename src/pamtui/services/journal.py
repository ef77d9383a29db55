"""The journal as the front ends reach it: the handle, its filters, exports, errors.

The CLI, the TUI and the SSH server import these names from here, never from
``pamtui.journal`` (import-linter holds that rule, see pyproject.toml), so
everything a front end does to the journal goes through one door in the
services layer: a later audit service can wrap or narrow these names without
touching the front ends. The journal itself stays the only code that writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pamtui.journal import EntryFilter, Head, Journal, JournalError, VerifyReport
from pamtui.services.roles import Act, require_in

if TYPE_CHECKING:
    from pathlib import Path

    from pamtui.model import Actor, JournalEntry


def refuse_to_create(actor: Actor, path: Path) -> None:
    """An actor with no role (an auditor) reads the journal: it never creates one.

    Opening a missing journal creates it (and a command then writes its
    sidecars and the demo's state beside it): an auditor's ``pamtui accounts``
    on a mistyped or not yet used ``--db`` would leave an empty journal there.
    Refused as the audit commands refuse to read a missing journal: one line,
    exit 1. An operator's first start still creates it.
    """
    if not actor.roles and not path.exists():
        raise JournalError(f"no journal at {path} yet (nothing has been recorded)")


def require_rotate(journal: Journal, actor: Actor) -> None:
    """Rotating (``audit rotate``, ``demo --reset``) is an admin's: a journalled refusal otherwise."""
    require_in(journal, actor, Act.ROTATE, subject="journal")


def rotate(
    journal: Journal, actor: Actor, archive: Path | None = None
) -> tuple[Head, JournalEntry, Path]:
    """``audit rotate``: :func:`require_rotate`, then ``Journal.rotate``."""
    require_rotate(journal, actor)
    return journal.rotate(archive, actor=actor.name)


def entry_record(entry: JournalEntry) -> dict[str, Any]:
    """The entry as a plain dict with every column (the ``jsonl`` export's record).

    Imported on call: the export formats are not for every start of the TUI.
    """
    from pamtui.journal.formats._common import entry_record as record

    return record(entry)


__all__ = [
    "EntryFilter",
    "Head",
    "Journal",
    "JournalError",
    "VerifyReport",
    "entry_record",
    "refuse_to_create",
    "require_rotate",
    "rotate",
]
