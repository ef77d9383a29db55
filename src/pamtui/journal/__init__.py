"""The audit journal: the only code that writes it."""

from pamtui.journal.errors import JournalError, JournalUnavailable, SecretInJournal
from pamtui.journal.journal import EntryFilter, Head, Journal, Transaction, VerifyReport, timestamp

__all__ = [
    "EntryFilter",
    "Head",
    "Journal",
    "JournalError",
    "JournalUnavailable",
    "SecretInJournal",
    "Transaction",
    "VerifyReport",
    "timestamp",
]
