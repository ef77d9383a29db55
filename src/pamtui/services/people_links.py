"""Manual correlation overrides: ``pamtui people link`` / ``unlink``, persisted and journalled.

An operator's override is a row of ``person_links`` (journal migration 6) and a
journal entry (``person_link`` / ``person_unlink``) written in the same
transaction, so the table never says what the journal does not. The row keeps
the entry's ``seq``: an auditor can go from any manual link to who made it,
when and why.

- ``link`` makes the account the person's, whatever the automatic rules say
  (an account has at most one manual link: a new one replaces the old).
- ``unlink`` says the account is *not* this person's: the automatic rules may
  no longer link them, and a manual link between them is removed.

Both are an operator's (``Act.LINK``, services/roles.py): a link decides whose
accounts an offboarding takes, so an approver or an auditor is refused (and
the refusal journalled) before anything is read or written.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from pamtui.errors import PamtuiError
from pamtui.journal import Journal, timestamp
from pamtui.model import Account, JournalEntry, Person
from pamtui.services.roles import Act, RoleGuard

JOURNAL_LINK = "person_link"
JOURNAL_UNLINK = "person_unlink"

AccountKey = tuple[str, str]


class LinkError(PamtuiError):
    """An override cannot be recorded; the message is for operators."""


@dataclass(frozen=True, slots=True)
class ManualLink:
    person_id: str
    reason: str
    actor: str
    created: str
    seq: int


@dataclass(frozen=True)
class Overrides:
    """Every operator override, as correlation reads them."""

    links: dict[AccountKey, ManualLink] = field(default_factory=dict)
    unlinks: dict[tuple[AccountKey, str], ManualLink] = field(default_factory=dict)
    """``((provider, account id), person id)``: this account is not this person's."""


class LinkStore:
    """The ``person_links`` table behind the journal's connection."""

    def __init__(
        self, journal: Journal, *, read_only: bool = False, guard: RoleGuard | None = None
    ) -> None:
        self.journal = journal
        self.read_only = read_only or journal.read_only
        self.guard = guard
        """The actor's roles; None: a bare in-process store (every act allowed)."""

    def load(self) -> Overrides:
        try:
            rows = self.journal.conn.execute(
                "SELECT provider, account_id, person_id, op, reason, actor, created, seq "
                "FROM person_links"
            ).fetchall()
        except sqlite3.OperationalError:
            # A read-only session on a database an older pamtui wrote: no table, no overrides.
            return Overrides()
        out = Overrides()
        for provider, account_id, person_id, op, reason, actor, created, seq in rows:
            manual = ManualLink(person_id, reason, actor, created, seq)
            if op == "link":
                out.links[(provider, account_id)] = manual
            else:
                out.unlinks[((provider, account_id), person_id)] = manual
        return out

    def _check(self, reason: str, person: Person) -> None:
        if self.guard is not None:  # first: the refusal is journalled, whatever else is wrong
            self.guard.require(Act.LINK, f"person:{person.id}")
        if self.read_only:
            raise LinkError("the session is read-only: links cannot be changed")
        if not reason.strip():
            raise LinkError("a reason is required (--reason TEXT)")

    def link(self, actor: str, person: Person, account: Account, reason: str) -> JournalEntry:
        """Make ``account`` the person's; journalled with the link it replaces, if any."""
        self._check(reason, person)
        now = timestamp()
        with self.journal.transaction() as tx:
            before = tx.execute(
                "SELECT person_id FROM person_links WHERE provider = ? AND account_id = ? "
                "AND op = 'link'",
                (account.provider, account.id),
            ).fetchone()
            entry = tx.append(
                actor,
                JOURNAL_LINK,
                provider=account.provider,
                subject=f"person:{person.id}",
                detail={
                    "person": person.id,
                    "person_name": person.name,
                    "account": account.id,
                    "account_name": account.name,
                    "replaces": before[0] if before else "",
                    "reason": reason,
                },
            )
            tx.execute(
                "DELETE FROM person_links WHERE provider = ? AND account_id = ? AND "
                "(op = 'link' OR person_id = ?)",
                (account.provider, account.id, person.id),
            )
            tx.execute(
                "INSERT INTO person_links VALUES (?, ?, ?, 'link', ?, ?, ?, ?)",
                (account.provider, account.id, person.id, reason, actor, now, entry.seq),
            )
        return entry

    def unlink(self, actor: str, person: Person, account: Account, reason: str) -> JournalEntry:
        """Record that ``account`` is not the person's (removing a manual link between them)."""
        self._check(reason, person)
        now = timestamp()
        with self.journal.transaction() as tx:
            entry = tx.append(
                actor,
                JOURNAL_UNLINK,
                provider=account.provider,
                subject=f"person:{person.id}",
                detail={
                    "person": person.id,
                    "person_name": person.name,
                    "account": account.id,
                    "account_name": account.name,
                    "reason": reason,
                },
            )
            tx.execute(
                "INSERT OR REPLACE INTO person_links VALUES (?, ?, ?, 'unlink', ?, ?, ?, ?)",
                (account.provider, account.id, person.id, reason, actor, now, entry.seq),
            )
        return entry
