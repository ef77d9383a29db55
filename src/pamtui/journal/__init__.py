"""The audit journal: the only code that writes it."""

from pamtui.journal.errors import JournalError, JournalUnavailable, SecretInJournal
from pamtui.journal.heads import Head, VerifyReport
from pamtui.journal.journal import EntryFilter, Journal, Transaction, timestamp

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
