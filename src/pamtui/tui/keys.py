"""Keys typed in one burst go where the operator meant them.

Textual hands a key to the widget focused *when the key is read*. A burst
(``/quinn`` typed fast, or pasted) is read whole before the ``/`` has moved
the focus to the filter: every key of it is delivered to the table that had
the focus, bubbles up to the app, and only there meets the bindings, by
which time the ``/`` has opened the filter. Unless handled, the rest of the
burst then either fires shortcuts (``q`` quits, ``a`` opens the audit
screen, ``y`` approves) or is dropped.

An Input stops every printable key it handles, so a printable key that
bubbles up to the app while an Input has the focus was meant for that
Input: :func:`redirect_stray_key` forwards it there, in order (each is
re-posted to the Input's queue as it arrives), instead of to the bindings.
"""

from __future__ import annotations

from textual import events
from textual.app import App
from textual.widgets import Input


def redirect_stray_key(app: App, event: events.Key) -> bool:
    """Forward a printable key to the focused Input; True when it was forwarded."""
    target = app.focused
    if not isinstance(target, Input) or not event.is_printable or event.character is None:
        return False
    event.stop()
    event.prevent_default()  # the App's own handler (the bindings) is skipped
    target.post_message(events.Key(event.key, event.character))
    return True
