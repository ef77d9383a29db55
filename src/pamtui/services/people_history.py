"""Roster history: every role a person was seen in, so a mover's old role is known.

The ``people_history`` table (journal migration 10) holds one row each time a
person's role (``baselines.role_of``: department, title, worker type, ...)
changes: a new row only on a change, so 80,000 unchanged people cost one read
and no write. The first time pamtui sees a person it records their role as it
is; if a roster source keeps a job history (``RoleHistorySource``, the demo's
roster) the past roles it reports are recorded first, so someone who moved
before pamtui was installed is still recognised.

A read-only session records nothing: it compares against what is stored, plus
what it saw in this read (kept in memory).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from pamtui.journal import Journal, timestamp
from pamtui.model import Person
from pamtui.providers.roster import PastRole
from pamtui.services.baselines import ROLE_FIELDS, role_of

OBSERVED = "observed"


@dataclass(frozen=True)
class RoleRecord:
    """One role a person held: from ``since`` until the next record (or ``until``)."""

    person_id: str
    role: Mapping[str, str]
    since: str
    until: str = ""
    source: str = OBSERVED
    key: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """``role_key(role)``, computed once: history is compared for every person."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", role_key(self.role))

    def describe(self) -> str:
        """``Engineering / Staff Engineer``: how an operator reads a role."""
        parts = [self.role.get("department", ""), self.role.get("title", "")]
        return " / ".join(p for p in parts if p) or "(no department or title)"


def role_key(role: Mapping[str, str]) -> tuple[str, ...]:
    """A role as a tuple of its fields' values: cheap to compare 80,000 times."""
    return tuple(role.get(f, "") for f in ROLE_FIELDS)


def _json(role: Mapping[str, str]) -> str:
    return json.dumps({f: role.get(f, "") for f in ROLE_FIELDS}, sort_keys=True)


class PeopleHistory:
    """The ``people_history`` table behind the journal's connection."""

    def __init__(self, journal: Journal, *, read_only: bool = False) -> None:
        self.journal = journal
        self.read_only = read_only or journal.read_only
        self._cache: dict[str, list[RoleRecord]] | None = None
        self._top = -1
        """The table's last rowid when ``_cache`` was read (the table is append-only)."""

    def load(self) -> dict[str, list[RoleRecord]]:
        """Every person's roles, oldest first (kept until another writer adds a row).

        The answer is shared: read it, do not change it.
        """
        try:
            top = self.journal.conn.execute("SELECT max(rowid) FROM people_history").fetchone()[0]
        except sqlite3.OperationalError:
            return {}  # a read-only session on a database an older pamtui wrote
        if self._cache is not None and (top or 0) == self._top:
            return self._cache
        try:
            rows = self.journal.conn.execute(
                "SELECT person_id, role, since, until, source FROM people_history ORDER BY rowid"
            ).fetchall()
        except sqlite3.OperationalError:
            return {}  # a read-only session on a database an older pamtui wrote
        out: dict[str, list[RoleRecord]] = {}
        roles: dict[str, dict[str, str]] = {}  # 80,000 people share a few hundred roles
        for person_id, role, since, until, source in rows:
            decoded = roles.get(role)
            if decoded is None:
                decoded = roles[role] = json.loads(role)
            out.setdefault(person_id, []).append(
                RoleRecord(person_id, decoded, since, until, source)
            )
        self._cache, self._top = out, top or 0
        return out

    def observe(
        self, people: Iterable[Person], past: Sequence[PastRole] = ()
    ) -> dict[str, list[RoleRecord]]:
        """Record the roles seen now (only changes); every person's history after it."""
        history = self.load()
        seeds: dict[str, list[PastRole]] = {}
        for entry in past:
            seeds.setdefault(entry.person_id, []).append(entry)
        now = timestamp()
        new: list[RoleRecord] = []
        for person in people:
            role = role_of(person)
            known = history.get(person.id)
            if known and known[-1].key == role_key(role):
                continue
            records: list[RoleRecord] = []
            if not known:
                for seed in sorted(seeds.get(person.id, ()), key=_until):
                    when = seed.until.isoformat() if seed.until else ""
                    # The job history says when the old role ended, not when it began.
                    records.append(RoleRecord(person.id, dict(seed.role), "", when, "roster"))
            since = records[-1].until if records and records[-1].until else now
            records.append(RoleRecord(person.id, role, since))
            history.setdefault(person.id, []).extend(records)
            new.extend(records)
        if new and not self.read_only:
            self._write(new)
            # The cache already holds what was written (unless someone else wrote too).
            if self._top + len(new) == self._last_rowid():
                self._top += len(new)
            else:
                self._cache = None
        return history

    def _last_rowid(self) -> int:
        row = self.journal.conn.execute("SELECT max(rowid) FROM people_history").fetchone()
        return int(row[0] or 0)

    def _write(self, records: Sequence[RoleRecord]) -> None:
        with self.journal.transaction() as tx:
            tx.conn.executemany(
                "INSERT INTO people_history (person_id, role, department, title, since, until,"
                " source) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.person_id,
                        _json(r.role),
                        r.role.get("department", ""),
                        r.role.get("title", ""),
                        r.since,
                        r.until,
                        r.source,
                    )
                    for r in records
                ],
            )


def _until(entry: PastRole) -> str:
    return entry.until.isoformat() if entry.until else ""


def previous_role(
    records: Sequence[RoleRecord], current: Mapping[str, str] | tuple[str, ...]
) -> RoleRecord | None:
    """The role held before the current one (a role or its ``role_key``): the latest
    record that differs from it."""
    now = current if isinstance(current, tuple) else role_key(current)
    for record in reversed(records):
        if record.key != now:
            return record
    return None
