"""People: the HR roster, and every account of every provider correlated to a person.

The use case behind ``pamtui people``, the TUI's people screen and person-level
revocation plans. Correlation itself (:func:`correlate`) is pure and fast (a
few dictionary lookups per account: 100,000 accounts well under 2 s; see
``benchmarks/bench_people.py``).

Rules, strongest first (``LinkRule``):

1. ``manual``: an operator's ``pamtui people link`` (``people_links.py``);
2. ``hr_id``: the account's ``owner`` is a person's HR id (Okta's
   ``employeeNumber``, an AWS ``owner`` tag, the demo's systems);
3. ``work_email``: the account's email, or its login when the login is an
   email (Okta, SCIM), is a person's work email, case-insensitively;
4. ``alias``: the same, against a person's other addresses;
5. ``provider``: identities a provider-specific hook reads off the account
   (:data:`EvidenceHook`: GitHub's SAML identity or verified org email, an AWS
   tag under another name), matched as HR id, work email or alias. An
   identity of kind ``name_id`` (GitHub's SAML NameID, evidence ``github saml
   nameId``) is matched as an HR id, else a work email, else an alias
   (case-insensitively for addresses); all identities of one account vote
   together, so a NameID and a SAML email naming two people is ambiguous.

**The strongest rule that matches anything decides.** If it names one person,
that is the link; if it names several (two people share an alias) or a person
not on the roster (an owner id HR does not know), the account is left unlinked
and reported (``ambiguous`` / ``unresolved``): a weaker rule never gets to
link an account that a stronger rule says belongs to someone else. An
operator's ``unlink`` removes one candidate but does not hand the decision to
a weaker rule either.

Flags (``Correlation.flags``): a human account linked to nobody is
``UNOWNED``; a live account linked to a terminated person (as holder or as
owner of a service account) is ``ORPHANED``, across providers.

For the offboarding plan (``services/revoke.py``'s ``plan_person``) and the
TUI, after an inventory sync::

    corr = await session.people.refresh(session.inventory.rows())
    person = corr.find("E1111")                      # id, email, alias or name
    for link in corr.accounts_of(person.id):         # every account, every provider
        view = session.inventory.get(link.account)   # credentials, flags
        link.rule, link.evidence, link.relation      # how it was made

``Correlation`` is immutable once built; refresh again after a sync or an
override.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pamtui import foreground
from pamtui.errors import PamtuiError
from pamtui.journal import Journal
from pamtui.model import (
    Account,
    AccountKind,
    AccountLink,
    AccountStatus,
    CredentialStatus,
    Identity,
    JournalEntry,
    LinkRelation,
    LinkRule,
    Person,
    PersonStatus,
    RiskFlag,
)
from pamtui.providers.base import ProviderError
from pamtui.providers.roster import roster_sources
from pamtui.services.people_links import LinkError, LinkStore, Overrides
from pamtui.services.roles import RoleGuard

AccountKey = tuple[str, str]

__all__ = [
    "Correlation",
    "EvidenceHook",
    "Identity",
    "LinkError",
    "PeopleError",
    "PeopleService",
    "Roster",
    "correlate",
]


class PeopleError(PamtuiError):
    """A person reference does not resolve; the message is for operators."""


EvidenceHook = Callable[[Account], Iterable[Identity]]
"""Provider-specific identities of an account (keyed by provider name in :func:`correlate`).

:class:`PeopleService` uses a provider's own ``account_identities(account)``
method as its hook when it has one (the provider layer cannot import
services: ``Identity`` lives in ``model.py``); explicit ``hooks`` win.
"""


@dataclass(frozen=True)
class Roster:
    """Every person from every roster source, merged by HR id (first source wins)."""

    people: tuple[Person, ...] = ()
    problems: tuple[str, ...] = ()
    """Roster sources that could not be read, one line each (the others still count)."""
    duplicates: tuple[str, ...] = ()
    """HR ids that more than one source reported (the first source's record is kept)."""

    @classmethod
    def of(cls, people: Iterable[Person]) -> Roster:
        return cls(tuple(people))


def _emails_of(account: Account) -> tuple[str, ...]:
    email = account.email.strip().lower()
    login = account.name.strip().lower() if "@" in account.name else ""
    if login and login != email:
        return (email, login) if email else (login,)
    return (email,) if email else ()


@dataclass(frozen=True)
class Correlation:
    """The outcome of one correlation: links, and what could not be linked."""

    people: Mapping[str, Person]
    links: Mapping[AccountKey, AccountLink]
    accounts: Mapping[AccountKey, Account]
    ambiguous: Mapping[AccountKey, tuple[LinkRule, tuple[str, ...]]] = field(default_factory=dict)
    """Accounts whose deciding rule named several people."""
    unresolved: Mapping[AccountKey, str] = field(default_factory=dict)
    """Accounts whose deciding rule named no person on the roster (why, in words)."""
    live_credentials: Mapping[AccountKey, int] = field(default_factory=dict)
    _by_person: dict[str, list[AccountLink]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for link in self.links.values():
            self._by_person.setdefault(link.person_id, []).append(link)

    # -- per person ----------------------------------------------------------

    def accounts_of(self, person_id: str) -> list[AccountLink]:
        """Every account linked to the person, in every provider (provider, name order)."""
        links = self._by_person.get(person_id, [])
        return sorted(links, key=lambda lk: (lk.account[0], self.accounts[lk.account].name))

    def systems_of(self, person_id: str) -> int:
        return len({lk.account[0] for lk in self._by_person.get(person_id, ())})

    def live_credentials_of(self, person_id: str) -> int:
        return sum(
            self.live_credentials.get(lk.account, 0) for lk in self._by_person.get(person_id, ())
        )

    def find(self, ref: str) -> Person:
        """The person ``ref`` names: HR id, work email, alias, or a name (case-insensitive)."""
        ref = ref.strip()
        if ref in self.people:
            return self.people[ref]
        low = ref.lower()
        matchers: tuple[Callable[[Person], bool], ...] = (
            lambda p: p.id.lower() == low,
            lambda p: p.email.lower() == low or low in (a.lower() for a in p.aliases),
            lambda p: p.name.lower() == low,
            lambda p: low in p.name.lower() or low in p.email.lower(),
        )
        for matcher in matchers:
            found = [p for p in self.people.values() if matcher(p)]
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                names = ", ".join(f"{p.id} ({p.name})" for p in found[:5])
                more = f" and {len(found) - 5} more" if len(found) > 5 else ""
                raise PeopleError(
                    f"{ref!r} matches {len(found)} people: {names}{more}; use the HR id"
                )
        raise PeopleError(f"no person {ref!r} on the roster (see: pamtui people)")

    # -- per account ---------------------------------------------------------

    def link_of(self, key: AccountKey) -> AccountLink | None:
        return self.links.get(key)

    def flags(self, key: AccountKey) -> frozenset[RiskFlag]:
        """``UNOWNED`` / ``ORPHANED`` from correlation (merge with the account's own flags)."""
        account = self.accounts.get(key)
        if account is None:
            return frozenset()
        link = self.links.get(key)
        if link is None:
            return _UNOWNED if account.kind is AccountKind.HUMAN else _NONE
        person = self.people.get(link.person_id)
        if person is not None and person.status is PersonStatus.TERMINATED:
            live = account.status is AccountStatus.ACTIVE or self.live_credentials.get(key, 0) > 0
            return _ORPHANED if live else _NONE
        return _NONE

    def unowned(self) -> list[AccountKey]:
        return [
            k
            for k, a in self.accounts.items()
            if a.kind is AccountKind.HUMAN and k not in self.links
        ]


_NONE: frozenset[RiskFlag] = frozenset()
_UNOWNED = frozenset({RiskFlag.UNOWNED})
_ORPHANED = frozenset({RiskFlag.ORPHANED})


def correlate(
    accounts: Iterable[Account],
    people: Iterable[Person],
    overrides: Overrides | None = None,
    *,
    hooks: Mapping[str, EvidenceHook] | None = None,
    live_credentials: Mapping[AccountKey, int] | None = None,
) -> Correlation:
    """Link each account to at most one person; pure (no I/O), one pass over ``accounts``."""
    overrides = overrides or Overrides()
    hooks = hooks or {}
    by_id: dict[str, Person] = {}
    for p in people:
        by_id.setdefault(p.id, p)
    by_email: dict[str, list[str]] = {}
    by_alias: dict[str, list[str]] = {}
    for p in by_id.values():
        if p.email:
            by_email.setdefault(p.email.strip().lower(), []).append(p.id)
        for alias in p.aliases:
            by_alias.setdefault(alias.strip().lower(), []).append(p.id)
    manual_links, unlinks = overrides.links, overrides.unlinks
    links: dict[AccountKey, AccountLink] = {}
    ambiguous: dict[AccountKey, tuple[LinkRule, tuple[str, ...]]] = {}
    unresolved: dict[AccountKey, str] = {}
    all_accounts: dict[AccountKey, Account] = {}
    human = AccountKind.HUMAN
    holder, owner_rel = LinkRelation.HOLDER, LinkRelation.OWNER

    # Run in a thread by the TUI: it gives way while the operator types.
    for account in foreground.paced(accounts, 1000):
        key = (account.provider, account.id)
        all_accounts[key] = account
        relation = holder if account.kind is human else owner_rel
        manual = manual_links.get(key)
        if manual is not None and manual.person_id in by_id:
            links[key] = AccountLink(
                manual.person_id,
                key,
                LinkRule.MANUAL,
                f"linked by {manual.actor} ({manual.created[:10]}, journal #{manual.seq}): "
                f"{manual.reason}",
                relation,
            )
            continue
        owner = account.owner
        if owner and owner in by_id and not (unlinks and (key, owner) in unlinks):
            # _decide's first rule, inlined: nearly every account links by HR id.
            said = f"HR id {owner} reported by {account.provider}"
            links[key] = AccountLink(owner, key, LinkRule.HR_ID, said, relation)
            continue
        decided = _decide(account, by_id, by_email, by_alias, hooks.get(account.provider))
        if decided is None:
            continue
        rule, candidates, evidence, missing = decided
        if unlinks:
            candidates = [c for c in candidates if (key, c) not in unlinks]
        if len(candidates) == 1:
            pid = candidates[0]
            links[key] = AccountLink(pid, key, rule, evidence[pid], relation)
        elif len(candidates) > 1:
            ambiguous[key] = (rule, tuple(sorted(candidates)))
        elif missing:
            unresolved[key] = missing
        else:
            unresolved[key] = f"{rule}: every candidate was unlinked by an operator"
    return Correlation(
        people=by_id,
        links=links,
        accounts=all_accounts,
        ambiguous=ambiguous,
        unresolved=unresolved,
        live_credentials=dict(live_credentials or {}),
    )


def _decide(
    account: Account,
    by_id: Mapping[str, Person],
    by_email: Mapping[str, list[str]],
    by_alias: Mapping[str, list[str]],
    hook: EvidenceHook | None,
) -> tuple[LinkRule, list[str], dict[str, str], str] | None:
    """The strongest rule that matches anything: (rule, candidates, evidence, why-none)."""
    provider = account.provider
    owner = account.owner
    if owner:
        if owner in by_id:
            return LinkRule.HR_ID, [owner], {owner: f"HR id {owner} reported by {provider}"}, ""
        return LinkRule.HR_ID, [], {}, f"HR id {owner} reported by {provider} is not on the roster"
    emails = _emails_of(account)
    for rule, index, what in (
        (LinkRule.WORK_EMAIL, by_email, "work email"),
        (LinkRule.ALIAS, by_alias, "email alias"),
    ):
        found: dict[str, str] = {}
        for email in emails:
            for pid in index.get(email, ()):
                found.setdefault(pid, f"{what} {email} of the {provider} account")
        if found:
            return rule, list(found), found, ""
    if hook is not None:
        found = {}
        missing = ""
        for ident in hook(account):
            value = ident.value.strip()
            if ident.kind == "hr_id":
                pids = [value] if value in by_id else []
                if not pids:
                    missing = f"{ident.evidence}: HR id {value} is not on the roster"
            elif ident.kind == "name_id":
                # A SAML NameID is whatever the IdP sends: an HR id, a work email or an alias.
                low = value.lower()
                pids = (
                    [value]
                    if value in by_id
                    else list(by_email.get(low, ())) or list(by_alias.get(low, ()))
                )
                if not pids:
                    missing = f"{ident.evidence}: {value} is no HR id, work email or alias"
            else:
                low = value.lower()
                pids = list(by_email.get(low, ())) or list(by_alias.get(low, ()))
            for pid in pids:
                found.setdefault(pid, f"{ident.evidence}: {value}")
        if found or missing:
            return LinkRule.PROVIDER, list(found), found, missing
    return None


class PeopleService:
    """Roster sources + correlation + manual overrides, for one session.

    ``hooks``: provider-specific evidence by provider name (see :data:`EvidenceHook`).
    """

    def __init__(
        self,
        providers: Mapping[str, Any],
        journal: Journal,
        *,
        read_only: bool = False,
        hooks: Mapping[str, EvidenceHook] | None = None,
        guard: RoleGuard | None = None,
    ) -> None:
        """``guard``: the actor's roles, checked by every link and unlink (services/roles.py)."""
        self.providers = providers
        self.store = LinkStore(journal, read_only=read_only, guard=guard)
        self.hooks: dict[str, EvidenceHook] = {
            name: provider.account_identities
            for name, provider in providers.items()
            if callable(getattr(provider, "account_identities", None))
        }
        self.hooks.update(hooks or {})
        self.roster = Roster()
        self.last: Correlation | None = None
        """The latest correlation (None before the first :meth:`refresh`)."""

    @property
    def sources(self) -> list[str]:
        return [s.name for s in roster_sources(self.providers)]

    async def load_roster(self) -> Roster:
        """Read every roster source; one that fails is reported, the others still count."""
        merged: dict[str, Person] = {}
        problems: list[str] = []
        duplicates: list[str] = []
        for source in roster_sources(self.providers):
            try:
                people = [p async for p in source.list_people()]
            except ProviderError as exc:
                problems.append(f"{source.name}: {exc}")
                continue
            except Exception as exc:  # a plugin's bug degrades its roster only
                problems.append(f"{source.name}: {type(exc).__name__}: {exc}")
                continue
            for person in people:
                if person.id in merged:
                    duplicates.append(person.id)
                    continue
                merged[person.id] = person
        self.roster = Roster(tuple(merged.values()), tuple(problems), tuple(duplicates))
        return self.roster

    async def refresh(self, views: Iterable[Any]) -> Correlation:
        """Re-read the rosters and correlate ``views`` (``Inventory.rows()``)."""
        await self.load_roster()
        return self.correlate(views)

    def correlate(self, views: Iterable[Any], overrides: Overrides | None = None) -> Correlation:
        """Correlate inventory views (``AccountView``) against the roster last loaded.

        ``overrides``: the manual links, read beforehand (``store.load()``) by a
        caller that runs this in a thread: the journal's connection stays on
        the event loop's thread (``services/people_flagging.py``).
        """
        accounts: list[Account] = []
        live: dict[AccountKey, int] = {}
        active = CredentialStatus.ACTIVE
        for view in foreground.paced(views, 1000):
            accounts.append(view.account)
            n = sum(1 for c in view.credentials if c.status is active)
            if n:
                live[view.account.key] = n
        self.last = correlate(
            accounts,
            self.roster.people,
            self.store.load() if overrides is None else overrides,
            hooks=self.hooks,
            live_credentials=live,
        )
        return self.last

    def link(self, actor: str, person: Person, account: Account, reason: str) -> JournalEntry:
        return self.store.link(actor, person, account, reason)

    def unlink(self, actor: str, person: Person, account: Account, reason: str) -> JournalEntry:
        return self.store.unlink(actor, person, account, reason)


def summary(corr: Correlation, people: Sequence[Person]) -> list[dict[str, Any]]:
    """One row a person: accounts, systems, live credentials, and the risk they carry."""
    rows = []
    for p in people:
        links = corr._by_person.get(p.id, ())  # counted only: not accounts_of's sorted copy
        orphaned = (  # only a terminated person's accounts can be ORPHANED
            sum(1 for lk in links if RiskFlag.ORPHANED in corr.flags(lk.account))
            if p.status is PersonStatus.TERMINATED
            else 0
        )
        rows.append(
            {
                "id": p.id,
                "name": p.name,
                "email": p.email,
                "status": str(p.status),
                "terminated": p.terminated.date().isoformat() if p.terminated else "",
                "department": p.department,
                "title": p.title,
                "manager": p.manager,
                "worker_type": p.worker_type,
                "source": p.source,
                "accounts": len(links),
                "systems": corr.systems_of(p.id),
                "live_credentials": corr.live_credentials_of(p.id),
                "orphaned_accounts": orphaned,
            }
        )
    return rows
