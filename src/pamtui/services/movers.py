"""Movers and excess access: what a person holds beyond their role's baseline.

A person's **grants** are the groups, teams and roles (``Account.groups``)
that providers report on the active accounts the person *holds* (correlation's
``holder`` links; accounts a person only owns are a service's, not theirs).
Against the role baselines (``services/baselines.py``):

- **MOVER**: the roster history (``services/people_history.py``) shows the
  person's role changed, and a grant that a baseline of their *previous* role
  allowed is allowed by no baseline of their current role. That is the access
  a move should have ended.
- **EXCESS**: a grant in a provider that a baseline of the current role
  governs (names in ``allow``), allowed by none of them, and not a MOVER
  grant (one flag per grant; MOVER says more). A person no baseline matches,
  and a provider no matching baseline names, are not judged: nobody said
  what they should hold.

The findings become a plan (:func:`access_steps`, then
``RevocationService.plan_access``): one step per grant, each the provider's own
``grant_action`` (the optional ``GrantRevoker`` capability). A provider that
cannot remove a single grant has the step listed as **manual**: reported for
the operator to do by hand, never staged, never shown as verified.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pamtui.model import (
    AccountLink,
    AccountStatus,
    LinkRelation,
    Person,
    RevokeAction,
    RiskFlag,
)
from pamtui.providers.base import GrantRevoker
from pamtui.providers.roster import PastRole, RoleHistorySource, roster_sources
from pamtui.services.baselines import Baseline, allowed, matching, role_of
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.people_history import PeopleHistory, RoleRecord, previous_role, role_key

KINDS = {"mover": RiskFlag.MOVER, "excess": RiskFlag.EXCESS}
"""The words for the two flags, as ``--movers/--excess`` and policies name them."""


@dataclass(frozen=True)
class GrantFinding:
    """One grant a person holds that their role should not give them."""

    flag: RiskFlag
    """``MOVER`` or ``EXCESS``."""
    account: AccountKey
    account_name: str
    grant: str
    why: str


@dataclass(frozen=True)
class PersonAccess:
    """One person against the baselines: which match, and what they hold beyond them."""

    person_id: str
    baselines: tuple[str, ...]
    previous: RoleRecord | None = None
    previous_baselines: tuple[str, ...] = ()
    findings: tuple[GrantFinding, ...] = ()

    def of(self, flags: Iterable[RiskFlag]) -> tuple[GrantFinding, ...]:
        wanted = frozenset(flags)
        return tuple(f for f in self.findings if f.flag in wanted)

    @property
    def mover(self) -> bool:
        return any(f.flag is RiskFlag.MOVER for f in self.findings)

    @property
    def excess(self) -> bool:
        return any(f.flag is RiskFlag.EXCESS for f in self.findings)


def held_grants(
    links: Iterable[AccountLink], views: Mapping[AccountKey, AccountView]
) -> list[tuple[AccountView, str]]:
    """Every (account, grant) the person holds on an active account they sign in with."""
    out: list[tuple[AccountView, str]] = []
    for link in links:
        if link.relation is not LinkRelation.HOLDER:
            continue
        view = views.get(link.account)
        if view is None or view.account.status is not AccountStatus.ACTIVE:
            continue
        out.extend((view, grant) for grant in dict.fromkeys(view.account.groups))
    return out


class _Judge:
    """Which baselines a role fits and what they allow, memoised.

    80,000 people share a few hundred roles and a few hundred grant names: at
    100,000 accounts the memo turns seconds of pattern matching into dictionary
    lookups.
    """

    def __init__(self, baselines: Sequence[Baseline]) -> None:
        self.baselines = tuple(baselines)
        self._roles: dict[tuple[str, ...], tuple[Baseline, ...]] = {}
        self._allowed: dict[tuple[int, str, str], bool] = {}

    def matching(
        self, role: Mapping[str, str], key: tuple[str, ...] | None = None
    ) -> tuple[Baseline, ...]:
        key = key or role_key(role)
        found = self._roles.get(key)
        if found is None:
            found = self._roles[key] = matching(self.baselines, role)
        return found

    def allowed(self, baselines: tuple[Baseline, ...], provider: str, grant: str) -> bool:
        # Keyed by identity: every tuple asked about is one ``matching`` keeps alive.
        key = (id(baselines), provider, grant)
        found = self._allowed.get(key)
        if found is None:
            found = self._allowed[key] = allowed(baselines, provider, grant)
        return found


def assess_person(
    person_id: str,
    role: Mapping[str, str],
    held: Iterable[tuple[AccountView, str]],
    baselines: Sequence[Baseline],
    previous: RoleRecord | None = None,
    *,
    judge: _Judge | None = None,
) -> PersonAccess:
    """Pure: the MOVER and EXCESS grants of one person (see the module's docstring)."""
    judge = judge or _Judge(baselines)
    now = judge.matching(role)
    before = judge.matching(previous.role) if previous is not None else ()
    return _assess(person_id, held, now, before, previous, judge)


def _assess(
    person_id: str,
    held: Iterable[tuple[AccountView, str]],
    now: tuple[Baseline, ...],
    before: tuple[Baseline, ...],
    previous: RoleRecord | None,
    judge: _Judge,
) -> PersonAccess:
    findings: list[GrantFinding] = []
    for view, grant in held:
        provider = view.account.provider
        if judge.allowed(now, provider, grant):
            continue
        where = f"{provider}/{view.account.name or view.account.id}"
        if before and judge.allowed(before, provider, grant):
            assert previous is not None
            old = ", ".join(b.name for b in before if b.allows(provider, grant))
            new = ", ".join(b.name for b in now) or "no baseline"
            findings.append(
                GrantFinding(
                    RiskFlag.MOVER,
                    view.key,
                    view.account.name,
                    grant,
                    f"{grant} on {where}: allowed by {old} (previous role "
                    f"{previous.describe()}), not by {new}",
                )
            )
        elif any(b.governs(provider) for b in now):
            names = ", ".join(b.name for b in now if b.governs(provider))
            findings.append(
                GrantFinding(
                    RiskFlag.EXCESS,
                    view.key,
                    view.account.name,
                    grant,
                    f"{grant} on {where}: beyond baseline {names}",
                )
            )
    return PersonAccess(
        person_id,
        tuple(b.name for b in now),
        previous,
        tuple(b.name for b in before),
        tuple(findings),
    )


@dataclass(frozen=True)
class Movers:
    """Every assessed person's findings, and each account's MOVER/EXCESS flags."""

    people: Mapping[str, PersonAccess] = field(default_factory=dict)
    account_flags: Mapping[AccountKey, frozenset[RiskFlag]] = field(default_factory=dict)

    def of(self, person_id: str) -> PersonAccess | None:
        return self.people.get(person_id)

    def flags(self, key: AccountKey) -> frozenset[RiskFlag]:
        return self.account_flags.get(key, frozenset())

    def flagged(self, flags: Iterable[RiskFlag]) -> list[str]:
        """The ids of the people with a finding of any of ``flags``."""
        wanted = frozenset(flags)
        return [pid for pid, a in self.people.items() if any(f.flag in wanted for f in a.findings)]


def assess_all(
    people: Iterable[Person],
    accounts_of: Any,
    views: Mapping[AccountKey, AccountView],
    baselines: Sequence[Baseline],
    history: Mapping[str, Sequence[RoleRecord]],
) -> Movers:
    """Every person (``accounts_of``: correlation's ``accounts_of``) against the baselines."""
    if not baselines:
        return Movers()
    judge = _Judge(baselines)
    out: dict[str, PersonAccess] = {}
    flags: dict[AccountKey, set[RiskFlag]] = {}
    for person in people:
        role = role_of(person)
        key = role_key(role)
        previous = previous_role(history.get(person.id, ()), key)
        now = judge.matching(role, key)
        before = judge.matching(previous.role, previous.key) if previous is not None else ()
        if not now and not before:
            continue  # no baseline speaks for this person: not judged
        held = held_grants(accounts_of(person.id), views)
        result = _assess(person.id, held, now, before, previous, judge)
        out[person.id] = result
        for finding in result.findings:
            flags.setdefault(finding.account, set()).add(finding.flag)
    return Movers(out, {k: frozenset(v) for k, v in flags.items()})


def people_flags(corr: Any, movers: Movers) -> dict[AccountKey, frozenset[RiskFlag]]:
    """The roster's flags for the accounts pane: UNOWNED (correlation), MOVER and EXCESS.

    ``corr`` is a ``Correlation``; ORPHANED is not repeated here, the inventory
    flags it from the account's owner already.
    """
    unowned = frozenset({RiskFlag.UNOWNED})
    out: dict[AccountKey, frozenset[RiskFlag]] = dict.fromkeys(corr.unowned(), unowned)
    for key, flags in movers.account_flags.items():
        out[key] = out.get(key, frozenset()) | flags
    return out


class MoversService:
    """Roster history plus baselines, for one session (``session.movers``)."""

    def __init__(
        self,
        providers: Mapping[str, Any],
        baselines: Sequence[Baseline],
        history: PeopleHistory,
    ) -> None:
        self.providers = providers
        self.baselines = tuple(baselines)
        self.history = history
        self.last = Movers()
        self.problems: list[str] = []
        """Job histories that could not be read (the roster itself still counts)."""

    async def _past_roles(self) -> list[PastRole]:
        past: list[PastRole] = []
        self.problems = []
        for source in roster_sources(self.providers):
            if not isinstance(source, RoleHistorySource):
                continue
            try:
                past.extend([p async for p in source.list_role_history()])
            except Exception as exc:  # a plugin's bug costs its history, not the roster
                self.problems.append(f"{source.name}: job history: {type(exc).__name__}: {exc}")
        return past

    async def assess(self, corr: Any, views: Iterable[AccountView]) -> Movers:
        """Record the roles seen in ``corr``'s roster, then assess every person."""
        if not self.baselines:
            self.last = Movers()
            return self.last
        people = list(corr.people.values())
        history = self.history.observe(people, await self._past_roles())
        by_key = {v.key: v for v in views}
        self.last = assess_all(people, corr.accounts_of, by_key, self.baselines, history)
        return self.last


@dataclass(frozen=True)
class AccessSteps:
    """What a mover/excess plan stages, and what it can only report."""

    steps: tuple[RevokeAction, ...]
    accounts: tuple[AccountKey, ...]
    views: tuple[AccountView, ...]
    manual: tuple[str, ...]
    """Grants no provider action removes: do them by hand (never staged, never verified)."""


def access_steps(
    findings: Iterable[GrantFinding],
    views: Mapping[AccountKey, AccountView],
    providers: Mapping[str, Any],
) -> AccessSteps:
    """One step per grant (the provider's ``grant_action``), else a manual line."""
    steps: dict[tuple[str, str], RevokeAction] = {}
    manual: list[str] = []
    accounts: dict[AccountKey, AccountView] = {}
    for finding in findings:
        view = views.get(finding.account)
        provider = providers.get(finding.account[0])
        action = None
        if view is not None and isinstance(provider, GrantRevoker):
            action = provider.grant_action(view.account, finding.grant)
        if action is None:
            manual.append(
                f"{finding.account[0]}: remove {finding.account_name or finding.account[1]} "
                f"from {finding.grant} by hand (the provider cannot remove one grant)"
            )
            continue
        assert view is not None
        steps.setdefault((action.provider, action.target_id), action)
        accounts[view.key] = view
    ordered = sorted(steps.values(), key=lambda a: (a.order, a.provider, a.target_id))
    return AccessSteps(tuple(ordered), tuple(accounts), tuple(accounts.values()), tuple(manual))
