"""``Roster``: SCIM users as an HR roster (``roster = true``), for offboarding people.

A SCIM service provider fed by HR (an identity platform, an HR system's SCIM
outbound) carries the RFC 7643 enterprise extension
(``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User``). With
``roster = true`` the provider is also a roster source (``providers/roster.py``):

- people are the users of ``GET /Users``, inactive ones included (SCIM lists
  them; leavers are exactly who offboarding needs). Users whose ``userType``
  says bot or service are not people and are left out;
- the person id is ``person_id_attribute`` (default the extension's
  ``employeeNumber``); a user without it (a contractor with no HR id) gets
  ``scim:{user id}``, so correlation can only link it by email;
- status: ``active = false`` is terminated (date: ``meta.lastModified``, the
  last change of the user, usually the deactivation). With ``hr_attribute``,
  a value containing "leave" is leave, and a terminated value is terminated
  even while the user is still active (a leaver not yet deactivated);
- several users with one HR id (an admin account beside the daily one, an
  old deactivated one) are one person: employed while any of them is, with
  the record of the user with the best status and the addresses of all;
- ``manager.value`` is the manager's SCIM user id (RFC 7643 §4.3): it is
  turned into the manager's person id when the manager is listed too;
- emails: the ``work`` email (primary first) is the work email; the other
  emails, and ``userName`` when it is another address, are aliases;
- ``department``, ``organization``, ``division``, ``costCenter`` from the
  extension, ``title`` from the core; a ``userType`` containing "contract" or
  "contingent" makes the worker type ``contractor``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any

from pamtui.model import OwnerStatus, Person, PersonStatus
from pamtui.providers.base import iso_time
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, iter_scim_pages
from pamtui.providers.http import ci_get as _ci
from pamtui.providers.scim.settings import ENTERPRISE_USER, AttributePath
from pamtui.providers.scim.values import (
    _owner_status,
    attribute,
    display_name,
    emails,
    user_type,
    work_email,
)

_RANK = {PersonStatus.EMPLOYED: 0, PersonStatus.LEAVE: 1, PersonStatus.TERMINATED: 2}


def _is_person(user: Mapping[str, Any]) -> bool:
    kind = user_type(user)
    return "bot" not in kind and "service" not in kind


class Roster:
    """``list_people`` (a mixin of :class:`ScimProvider`)."""

    name: str
    http: HttpClient
    page_size: int
    hr_attribute: AttributePath | None
    person_id: AttributePath

    def hr_id(self, user: Mapping[str, Any]) -> str:
        """The user's HR id (``person_id_attribute``), or ''."""
        return _text(attribute(user, self.person_id))

    async def list_people(self) -> AsyncIterator[Person]:
        users: list[Mapping[str, Any]] = []
        async for page in iter_scim_pages(self.http, "Users", page_size=self.page_size):
            users.extend(
                u
                for u in page["Resources"]
                if isinstance(u, dict) and _text(_ci(u, "id")) and _is_person(u)
            )
        person_of_user = {_text(_ci(u, "id")): self._person_id(u) for u in users}
        merged: dict[str, Person] = {}
        for user in users:
            person = self._person(user, person_of_user)
            first = merged.get(person.id)
            merged[person.id] = person if first is None else _merge(first, person)
        for person in merged.values():
            yield person

    def _person_id(self, user: Mapping[str, Any]) -> str:
        return self.hr_id(user) or f"scim:{_text(_ci(user, 'id'))}"

    def _status(self, user: Mapping[str, Any]) -> PersonStatus:
        if self.hr_attribute is not None:
            value = attribute(user, self.hr_attribute)
            if "leave" in _text(value).lower():
                return PersonStatus.LEAVE
            if _owner_status(value) is OwnerStatus.TERMINATED:
                return PersonStatus.TERMINATED
        if _ci(user, "active") is False:
            return PersonStatus.TERMINATED
        return PersonStatus.EMPLOYED

    def _person(self, user: Mapping[str, Any], person_of_user: Mapping[str, str]) -> Person:
        raw = _ci(user, ENTERPRISE_USER)
        enterprise: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        email = work_email(user)
        aliases: list[str] = []
        others = [_text(_ci(e, "value")) for e in emails(user)] + [_text(_ci(user, "userName"))]
        for other in others:
            if "@" in other and other.lower() != email.lower() and other not in aliases:
                aliases.append(other)
        manager = _ci(enterprise, "manager")
        # RFC 7643 makes it {"value": id, ...}; some services send the bare id.
        manager_ref = _text(_ci(manager, "value")) if isinstance(manager, dict) else _text(manager)
        status = self._status(user)
        meta = _ci(user, "meta")
        kind = user_type(user)
        return Person(
            id=self._person_id(user),
            name=display_name(user) or email or _text(_ci(user, "userName")),
            email=email,
            aliases=tuple(aliases),
            status=status,
            terminated=iso_time(_ci(meta, "lastModified"))
            if status is PersonStatus.TERMINATED and isinstance(meta, dict)
            else None,
            manager=person_of_user.get(manager_ref, f"scim:{manager_ref}" if manager_ref else ""),
            department=_text(_ci(enterprise, "department")),
            organization=_text(_ci(enterprise, "organization")),
            division=_text(_ci(enterprise, "division")),
            cost_center=_text(_ci(enterprise, "costCenter")),
            title=_text(_ci(user, "title")),
            worker_type="contractor" if "contract" in kind or "contingent" in kind else "employee",
            source=self.name,
        )


def _merge(first: Person, other: Person) -> Person:
    """One person from two users with the same HR id: the record of the one with the best
    status (an active user over a deactivated old one; the first listed on a tie), every
    address of both."""
    if _RANK[other.status] < _RANK[first.status]:
        first, other = other, first
    aliases = [*first.aliases]
    for address in (other.email, *other.aliases):
        if address and address.lower() != first.email.lower() and address not in aliases:
            aliases.append(address)
    return replace(first, aliases=tuple(aliases))
