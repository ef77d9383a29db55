"""Roster sources: where people (HR records) come from.

A roster source is one more small interface a provider may implement, beside
listing accounts or revoking (the baton-sdk habit: a connector declares what
it can do by what it implements). Any configured ``[[providers]]`` instance
whose object has ``async list_people()`` is a roster source, so a roster is
configured, created and reported exactly like a provider:

- ``hr-csv`` (``providers/hr_csv.py``): a CSV or JSON export of any HR system,
  with a column mapping (ready-made: ``bamboohr``, ``workday``);
- ``demo``: the instance serving the demo's ``idp`` system also serves the
  demo organisation's HR roster;
- ``okta`` with ``roster = true`` (``providers/okta/roster.py``); later ``scim`` (user status, the SCIM enterprise extension's
  ``employeeNumber`` and ``manager``), by adding ``list_people`` to them.

A source may opt out at run time with ``serves_roster = False`` (the demo's
``git`` and ``cloud`` instances share the ``idp`` instance's state file and
would otherwise report the same roster three times).

Nothing here knows about accounts, correlation or the journal: that is
``services/people.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from pamtui.model import Person
from pamtui.providers.base import ProviderError


class RosterError(ProviderError):
    """A roster could not be read (a missing column, a malformed file); one line for operators."""


@runtime_checkable
class RosterSource(Protocol):
    name: str

    def list_people(self) -> AsyncIterator[Person]:
        """Every person on the roster, terminated ones included (offboarding needs them)."""
        ...


@dataclass(frozen=True)
class PastRole:
    """A role a person held before their current one, as the HR system's job history says."""

    person_id: str
    role: Mapping[str, str] = field(default_factory=dict)
    """HR fields of that role: ``department``, ``title``, ..."""
    until: datetime | None = None
    """When it ended (the move); None if the history does not say."""


@runtime_checkable
class RoleHistorySource(Protocol):
    """A roster source that also knows past roles (optional; services/people_history.py).

    pamtui records every role it sees from then on by itself; a source's
    history only seeds what pamtui did not see (a person moved before pamtui
    was installed), so a mover is recognised on the first read.
    """

    def list_role_history(self) -> AsyncIterator[PastRole]: ...


def roster_sources(providers: Mapping[str, Any] | Iterable[Any]) -> list[RosterSource]:
    """The configured providers that serve a roster, in configuration order."""
    values = providers.values() if isinstance(providers, Mapping) else providers
    return [
        p
        for p in values
        if isinstance(p, RosterSource) and getattr(p, "serves_roster", True) is not False
    ]
