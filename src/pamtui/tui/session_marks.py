"""``session_start`` and ``session_end`` in the journal: when an operator's TUI ran.

A read-only session writes nothing. A journal that refuses the start is said
on screen (revocations will be refused too); one that refuses the end, as
the app exits, is not worth a traceback.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from pamtui.services.journal import JournalError

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp


def journal_session_start(app: PamtuiApp) -> None:
    if app.read_only:
        return
    try:
        app.session.journal.append(
            app.session.operator, "session_start", detail={"interface": "tui", "read_only": False}
        )
    except JournalError as exc:
        app.notify(
            f"Journal unavailable, revocations will be refused: {exc}",
            severity="error",
            markup=False,
            timeout=15,
        )


def journal_session_end(app: PamtuiApp) -> None:
    """The pair of session_start: when this operator's TUI session ended."""
    if app.read_only:
        return
    with contextlib.suppress(JournalError):
        app.session.journal.append(
            app.session.operator, "session_end", detail={"interface": "tui", "read_only": False}
        )
