"""The revocation queue's errors (one module, so the store and its journal check can raise them).

Importable from :mod:`pamtui.services.queue_store` and :mod:`pamtui.services.queue` as before.
"""

from __future__ import annotations

from pamtui.errors import EXIT_USAGE, PamtuiError


class QueueError(PamtuiError):
    """A queue operation was refused; the message is for operators."""


class ReadOnlyError(QueueError):
    """The session is read-only: no mutating action is available."""


class FourEyesError(QueueError):
    """The requester tried to approve their own request."""


class NoSuchItem(QueueError):
    """The ID names no queue item: a usage mistake (exit 2), nothing was tried."""

    exit_code = EXIT_USAGE


class WrongState(QueueError):
    """The verb does not apply to the item's state (retry a verified item): exit 2."""

    exit_code = EXIT_USAGE


class PlanOrderError(QueueError):
    """A step was asked to start before the earlier steps of its plan were verified."""


class QueueTampered(QueueError):
    """A queue row says what its journal entries do not: it was edited outside pamtui.

    The hash chain covers the journal's entries, not the ``queue_items`` rows;
    an ``UPDATE queue_items SET state = 'approved'`` in the sqlite3 shell would
    otherwise forge a four-eyes approval that ``audit verify`` cannot see.
    """
