"""``Roster``: Okta users as an HR roster (``roster = true``), for offboarding people.

Okta is often the identity platform's source of truth for who works here. With
``roster = true`` the provider is also a roster source (``providers/roster.py``):

- people are Okta users of the default listing (every user not DEPROVISIONED)
  plus ``search=status eq "DEPROVISIONED"`` (Okta's listing leaves them out,
  and leavers are exactly who offboarding needs); with a ``search`` setting,
  that expression alone;
- the person id is the profile's ``person_id_attribute`` (default
  ``employeeNumber``); a user without it (a contractor with no HR id) gets
  ``okta:{user id}``, so correlation can only link it by email;
- status: ``DEPROVISIONED`` -> terminated (date: ``statusChanged``),
  ``SUSPENDED`` -> leave, anything else employed;
- emails: ``email`` is the work email; ``login`` (when it is an address other
  than the email) and ``secondEmail`` are aliases;
- ``managerId``, ``department``, ``title`` from the profile; a ``userType``
  containing "contractor" makes the worker type ``contractor``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from pamtui.model import Person, PersonStatus
from pamtui.providers.base import ProviderError
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, iter_link_pages
from pamtui.providers.okta.values import _timestamp

DEPROVISIONED_SEARCH = 'status eq "DEPROVISIONED"'


class Roster:
    """``list_people`` (a mixin of :class:`OktaProvider`)."""

    name: str
    http: HttpClient
    search: str
    page_size: int
    person_id_attribute: str

    if TYPE_CHECKING:  # provided by DeclaredProvider, a later base of OktaProvider

        @property
        def where(self) -> str: ...

    async def _users(self, search: str) -> AsyncIterator[dict[str, Any]]:
        params: dict[str, Any] = {"limit": self.page_size}
        if search:
            params["search"] = search
        async for page in iter_link_pages(self.http, "api/v1/users", params):
            if not isinstance(page, list):
                raise ProviderError(f"{self.where}: GET /api/v1/users did not return a list")
            for user in page:
                if isinstance(user, dict) and _text(user.get("id")):
                    yield user

    async def list_people(self) -> AsyncIterator[Person]:
        searches = [self.search] if self.search else ["", DEPROVISIONED_SEARCH]
        seen: set[str] = set()
        for search in searches:
            async for user in self._users(search):
                user_id = _text(user["id"])
                if user_id in seen:
                    continue
                seen.add(user_id)
                yield self._person(user)

    def _person(self, user: Mapping[str, Any]) -> Person:
        raw = user.get("profile")
        profile: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        hr_id = _text(profile.get(self.person_id_attribute))
        okta_status = _text(user.get("status")).upper()
        status = {
            "DEPROVISIONED": PersonStatus.TERMINATED,
            "SUSPENDED": PersonStatus.LEAVE,
        }.get(okta_status, PersonStatus.EMPLOYED)
        email = _text(profile.get("email"))
        aliases: list[str] = []
        for other in (_text(profile.get("login")), _text(profile.get("secondEmail"))):
            if "@" in other and other.lower() != email.lower() and other not in aliases:
                aliases.append(other)
        name = _text(profile.get("displayName")) or " ".join(
            p for p in (_text(profile.get("firstName")), _text(profile.get("lastName"))) if p
        )
        user_type = _text(profile.get("userType")).lower()
        return Person(
            id=hr_id or f"okta:{_text(user['id'])}",
            name=name or email or _text(profile.get("login")),
            email=email,
            aliases=tuple(aliases),
            status=status,
            terminated=_timestamp(user.get("statusChanged"))
            if status is PersonStatus.TERMINATED
            else None,
            manager=_text(profile.get("managerId")),
            department=_text(profile.get("department")),
            title=_text(profile.get("title")),
            worker_type="contractor" if "contractor" in user_type else "employee",
            source=self.name,
        )
