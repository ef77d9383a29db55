"""Correlation of accounts to people (services/people.py): rules, their order, flags."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    LinkRelation,
    LinkRule,
    Person,
    PersonStatus,
    RiskFlag,
)
from pamtui.services.people import Identity, correlate
from pamtui.services.people_links import ManualLink, Overrides

ANA = Person("E1", "Ana Richter", "ana.richter@acme.example", aliases=("arichter@acme.example",))
BEN = Person(
    "E2",
    "Ben Castillo",
    "ben.castillo@acme.example",
    status=PersonStatus.TERMINATED,
    terminated=datetime(2026, 1, 5, tzinfo=UTC),
)
LI = Person("E3", "Li Castillo", "li.castillo@acme.example", aliases=("lc@acme.example",))
ROSTER = (ANA, BEN, LI)


def acct(provider: str = "git", id: str = "1", **kw: object) -> Account:
    fields: dict[str, object] = {
        "name": f"user-{id}",
        "kind": AccountKind.HUMAN,
        "status": AccountStatus.ACTIVE,
    }
    fields.update(kw)
    return Account(provider, id, **fields)  # type: ignore[arg-type]


def test_hr_id_links_and_says_who_reported_it() -> None:
    corr = correlate([acct("idp", "a", owner="E1")], ROSTER)
    link = corr.links[("idp", "a")]
    assert (link.person_id, link.rule, link.relation) == ("E1", LinkRule.HR_ID, LinkRelation.HOLDER)
    assert "E1" in link.evidence and "idp" in link.evidence


def test_work_email_and_okta_style_login_match_case_insensitively() -> None:
    corr = correlate(
        [
            acct("git", "a", email="Ana.Richter@ACME.example"),
            acct("okta", "b", name="LI.CASTILLO@acme.example"),
        ],
        ROSTER,
    )
    assert corr.links[("git", "a")].person_id == "E1"
    assert corr.links[("git", "a")].rule is LinkRule.WORK_EMAIL
    assert corr.links[("okta", "b")].person_id == "E3"


def test_alias_matches_only_when_no_work_email_does() -> None:
    corr = correlate([acct(email="ARichter@acme.example")], ROSTER)
    link = corr.links[("git", "1")]
    assert (link.person_id, link.rule) == ("E1", LinkRule.ALIAS)
    assert "alias" in link.evidence


def test_service_account_is_owned_not_held() -> None:
    corr = correlate([acct(kind=AccountKind.SERVICE, owner="E2", name="svc-backup")], ROSTER)
    link = corr.links[("git", "1")]
    assert link.relation is LinkRelation.OWNER
    assert corr.flags(("git", "1")) == {RiskFlag.ORPHANED}


def test_unowned_and_orphaned_flags() -> None:
    accounts = [
        acct("git", "nobody", email="someone@gmail.example"),
        acct("git", "bot", kind=AccountKind.BOT),
        acct("idp", "ben", owner="E2"),
        acct("idp", "ben-off", owner="E2", status=AccountStatus.DEACTIVATED),
        acct("idp", "ben-off-key", owner="E2", status=AccountStatus.DEACTIVATED),
    ]
    corr = correlate(accounts, ROSTER, live_credentials={("idp", "ben-off-key"): 1})
    assert corr.flags(("git", "nobody")) == {RiskFlag.UNOWNED}
    assert corr.flags(("git", "bot")) == frozenset()  # only humans are UNOWNED
    assert corr.flags(("idp", "ben")) == {RiskFlag.ORPHANED}
    assert corr.flags(("idp", "ben-off")) == frozenset()  # nothing live left
    assert corr.flags(("idp", "ben-off-key")) == {RiskFlag.ORPHANED}  # a live key
    assert corr.unowned() == [("git", "nobody")]


def test_an_owner_not_on_the_roster_blocks_weaker_rules() -> None:
    corr = correlate([acct(owner="E99", email="ana.richter@acme.example")], ROSTER)
    assert ("git", "1") not in corr.links
    assert "E99" in corr.unresolved[("git", "1")]
    assert corr.flags(("git", "1")) == {RiskFlag.UNOWNED}


def test_a_shared_alias_is_ambiguous_not_a_guess() -> None:
    twin = Person("E4", "Lea Castillo", "lea.castillo@acme.example", aliases=("lc@acme.example",))
    corr = correlate([acct(email="lc@acme.example")], (*ROSTER, twin))
    assert ("git", "1") not in corr.links
    assert corr.ambiguous[("git", "1")] == (LinkRule.ALIAS, ("E3", "E4"))


def test_manual_link_wins_and_unlink_never_hands_over_to_a_weaker_rule() -> None:
    a = acct(owner="E1", email="li.castillo@acme.example")
    manual = ManualLink("E3", "checked the SAML identity", "alice", "2026-12-04T10:00:00Z", 7)
    corr = correlate([a], ROSTER, Overrides(links={a.key: manual}))
    link = corr.links[a.key]
    assert (link.person_id, link.rule) == ("E3", LinkRule.MANUAL)
    assert "alice" in link.evidence and "#7" in link.evidence
    corr = correlate([a], ROSTER, Overrides(unlinks={(a.key, "E1"): manual}))
    assert a.key not in corr.links  # not E3 by email: the HR id decided, and E1 was unlinked
    assert corr.flags(a.key) == {RiskFlag.UNOWNED}


def test_provider_hook_is_the_weakest_rule() -> None:
    def saml(account: Account) -> list[Identity]:
        return [Identity("email", "LC@acme.example", "SAML identity of the org")]

    hooks = {"git": saml}
    corr = correlate([acct(name="lcastillo")], ROSTER, hooks=hooks)
    link = corr.links[("git", "1")]
    assert (link.person_id, link.rule) == ("E3", LinkRule.PROVIDER)
    assert link.evidence.startswith("SAML identity")
    corr = correlate(
        [acct(name="lcastillo", email="ana.richter@acme.example")], ROSTER, hooks=hooks
    )
    assert corr.links[("git", "1")].person_id == "E1"  # the email decides, not the hook


def test_find_person_by_id_email_alias_or_unique_name() -> None:
    corr = correlate([], ROSTER)
    assert corr.find("E2") is BEN
    assert corr.find("ARICHTER@acme.example") is ANA
    assert corr.find("li castillo") is LI
    try:
        corr.find("castillo")
    except Exception as exc:
        assert "2 people" in str(exc) and "E2" in str(exc) and "E3" in str(exc)
    else:
        raise AssertionError("an ambiguous name must not pick one")


# -- the property: a weaker rule never links against a stronger one --------------

IDS = ["E1", "E2", "E3", "E4", "E5"]
EMAILS = ["a@x.example", "b@x.example", "c@x.example", "d@x.example"]


@st.composite
def worlds(
    draw: st.DrawFn,
) -> tuple[list[Person], list[Account], Overrides, dict[str, list[Identity]]]:
    people = []
    for pid in draw(st.lists(st.sampled_from(IDS), unique=True, max_size=5)):
        people.append(
            Person(
                pid,
                pid,
                draw(st.sampled_from(["", *EMAILS])),
                aliases=tuple(draw(st.lists(st.sampled_from(EMAILS), max_size=2, unique=True))),
            )
        )
    accounts = []
    for n in range(draw(st.integers(0, 8))):
        email = draw(st.sampled_from(["", *EMAILS, "A@X.example"]))
        login = draw(st.sampled_from([f"user{n}", *EMAILS]))
        accounts.append(
            acct(
                "p",
                str(n),
                name=login,
                email=email,
                owner=draw(st.sampled_from(["", "", "E9", *IDS])),
            )
        )
    # A SAML NameID (and sometimes a SAML email) per account, as GitHub's hook reports them.
    identities: dict[str, list[Identity]] = {}
    for a in accounts:
        name_id = draw(st.sampled_from(["", "", "E9", *IDS, *EMAILS, "B@X.EXAMPLE"]))
        found = [Identity("name_id", name_id, "github saml nameId")] if name_id else []
        saml_email = draw(st.sampled_from(["", "", *EMAILS]))
        if saml_email:
            found.append(Identity("email", saml_email, "github saml email"))
        identities[a.id] = found
    unlinks = {}
    for a in accounts:
        for pid in draw(st.lists(st.sampled_from(IDS), max_size=2, unique=True)):
            unlinks[(a.key, pid)] = ManualLink(pid, "r", "op", "t", 1)
    return people, accounts, Overrides(unlinks=unlinks), identities


def _by_address(value: str, people: list[Person]) -> set[str]:
    low = value.lower()
    work = {p.id for p in people if p.email and p.email.lower() == low}
    return work or {p.id for p in people if low in {a.lower() for a in p.aliases}}


def _candidates(
    rule: LinkRule,
    account: Account,
    people: list[Person],
    identities: list[Identity] = (),  # type: ignore[assignment]
) -> set[str]:
    """What each rule alone would say, written independently of the implementation."""
    emails = {e.lower() for e in (account.email, account.name) if "@" in e}
    if rule is LinkRule.HR_ID:
        return {account.owner} if account.owner else set()
    if rule is LinkRule.WORK_EMAIL:
        return {p.id for p in people if p.email and p.email.lower() in emails}
    if rule is LinkRule.ALIAS:
        return {p.id for p in people if emails & {a.lower() for a in p.aliases}}
    said: set[str] = set()
    for ident in identities:  # the provider rule: SAML NameID (HR id, else address) and emails
        on_roster = {p.id for p in people if p.id == ident.value}
        if ident.kind == "name_id" and on_roster:
            said |= on_roster
        else:
            said |= _by_address(ident.value, people)
    return said


@settings(max_examples=400, deadline=None)
@given(worlds())
def test_a_link_is_never_made_on_a_weaker_rule_when_a_stronger_one_disagrees(world) -> None:
    people, accounts, overrides, identities = world
    hooks = {"p": lambda account: identities[account.id]}
    corr = correlate(accounts, people, overrides, hooks=hooks)
    order = [LinkRule.HR_ID, LinkRule.WORK_EMAIL, LinkRule.ALIAS, LinkRule.PROVIDER]
    for account in accounts:
        said = {r: _candidates(r, account, people, identities[account.id]) for r in order}
        link = corr.links.get(account.key)
        if link is None:
            # The SAML rule is complete too: nothing stronger spoke, and it named one person
            # no operator unlinked, so that person gets the account.
            if not any(said[r] for r in order[:3]):
                left = {
                    p for p in said[LinkRule.PROVIDER] if (account.key, p) not in overrides.unlinks
                }
                assert len(left) != 1, f"{account} not linked although SAML named {left}"
            continue
        used = order.index(link.rule)
        assert link.person_id in said[link.rule]
        assert (account.key, link.person_id) not in overrides.unlinks
        if link.rule is LinkRule.PROVIDER:
            assert link.evidence.startswith("github saml")
        for stronger in order[:used]:
            # Any stronger rule that said anything said exactly this person, or nothing.
            assert not said[stronger] - {link.person_id}
            assert not said[stronger], f"{link.rule} linked {account} although {stronger} had a say"


async def test_a_providers_own_identities_are_its_hook(tmp_path, journal) -> None:
    """PeopleService: a provider's ``account_identities`` feeds the ``provider`` rule."""
    from dataclasses import replace
    from pathlib import Path

    from pamtui.model import Identity
    from pamtui.providers.base import ProviderContext
    from pamtui.providers.hr_csv import HrCsvProvider
    from pamtui.services.inventory import Inventory
    from pamtui.services.people import PeopleService
    from tests.fakes import StaticProvider

    class SamlOrg(StaticProvider):
        def __init__(self, name: str) -> None:
            super().__init__(name)
            # GitHub reports no HR id: bob is only a login and an address.
            self.accounts["u2"] = replace(self.accounts["u2"], owner="")

        def account_identities(self, account: Account) -> list[Identity]:
            if account.name == "bob":  # bob@example.test is nobody's address
                return [Identity("hr_id", "E1111", "SAML identity (NameID) in org acme")]
            return []

    roster = HrCsvProvider.from_config(
        "hr",
        {
            "path": str(Path(__file__).parents[1] / "data" / "roster" / "workday.csv"),
            "mapping": "workday",
        },
        ProviderContext(state_dir=tmp_path),
    )
    providers = {"gh": SamlOrg("gh"), "hr": roster}
    views = await Inventory(providers).sync()
    corr = await PeopleService(providers, journal).refresh(views)
    link = corr.links[("gh", "u2")]
    assert (link.person_id, link.rule) == ("E1111", LinkRule.PROVIDER)
    assert link.evidence == "SAML identity (NameID) in org acme: E1111"
    assert RiskFlag.ORPHANED in corr.flags(("gh", "u2"))  # E1111 left (the roster says so)
    assert ("gh", "u1") not in corr.links  # alice's owner E1 is not on this roster
    assert "E1" in corr.unresolved[("gh", "u1")]


def _saml(name_id: str, *emails: str) -> dict[str, object]:
    def hook(account: Account) -> list[Identity]:
        found = [Identity("name_id", name_id, "github saml nameId (org acme, login x)")]
        return found + [
            Identity("email", e, "github saml email (org acme, login x)") for e in emails
        ]

    return {"git": hook}


def test_saml_nameid_links_by_work_email_alias_or_hr_id() -> None:
    for name_id, who in (
        ("ANA.RICHTER@acme.example", "E1"),
        ("lc@ACME.example", "E3"),
        ("E2", "E2"),
    ):
        corr = correlate([acct(name="octo")], ROSTER, hooks=_saml(name_id))  # type: ignore[arg-type]
        link = corr.links[("git", "1")]
        assert (link.person_id, link.rule) == (who, LinkRule.PROVIDER)
        assert link.evidence == f"github saml nameId (org acme, login x): {name_id}"


def test_saml_nameid_yields_to_stronger_rules_and_disagreement_is_ambiguous() -> None:
    hooks = _saml("ana.richter@acme.example")
    corr = correlate([acct(email="li.castillo@acme.example")], ROSTER, hooks=hooks)  # type: ignore[arg-type]
    assert corr.links[("git", "1")].rule is LinkRule.WORK_EMAIL  # the account's own email
    assert corr.links[("git", "1")].person_id == "E3"
    corr = correlate([acct()], ROSTER, hooks=_saml("E1", "li.castillo@acme.example"))  # type: ignore[arg-type]
    assert ("git", "1") not in corr.links
    assert corr.ambiguous[("git", "1")] == (LinkRule.PROVIDER, ("E1", "E3"))
    corr = correlate([acct()], ROSTER, hooks=_saml("nobody@acme.example"))  # type: ignore[arg-type]
    assert "nobody@acme.example" in corr.unresolved[("git", "1")]
