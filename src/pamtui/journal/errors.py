"""Journal errors. Every one of them means: do not perform the side effect."""

from __future__ import annotations

from pamtui.errors import PamtuiError


class JournalError(PamtuiError):
    """The journal could not be read or written; the message is for operators."""


class JournalUnavailable(JournalError):
    """An entry could not be committed (read-only, locked, disk full, ...).

    Callers fail closed: the action the entry would have announced is not
    performed.
    """


class SecretInJournal(JournalError):
    """Someone tried to journal a field that looks like a secret."""
