"""The accounts pane's index: sort by any column, substring and fuzzy filters."""

from __future__ import annotations

import random

import pytest

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    RiskFlag,
)
from pamtui.services.account_index import COLUMNS, AccountIndex, parse_query
from pamtui.services.account_rows import row_of
from pamtui.services.inventory import AccountView


def view(
    name: str,
    *,
    provider: str = "okta",
    flags: tuple[RiskFlag, ...] = (),
    live: int = 0,
    dead: int = 0,
    status: AccountStatus = AccountStatus.ACTIVE,
    kind: AccountKind = AccountKind.HUMAN,
    email: str | None = None,
) -> AccountView:
    account = Account(
        provider=provider,
        id=f"id-{name}",
        name=name,
        kind=kind,
        status=status,
        email=f"{name}@acme.example" if email is None else email,
    )
    creds = tuple(
        Credential(
            provider,
            f"c-{name}-{n}",
            account.id,
            CredentialKind.API_TOKEN,
            CredentialStatus.ACTIVE if n < live else CredentialStatus.REVOKED,
        )
        for n in range(live + dead)
    )
    return AccountView(account, creds, frozenset(flags))


def names(index: AccountIndex) -> list[str]:
    return [index[n].name for n in range(len(index))]


@pytest.fixture
def index() -> AccountIndex:
    return AccountIndex(
        [
            view("alice", flags=(RiskFlag.PRIVILEGED,), live=2),
            view("bob", flags=(RiskFlag.ORPHANED, RiskFlag.STALE), live=1, provider="github"),
            view("carol", flags=(RiskFlag.STALE,), live=0, dead=3),
            view("dave", live=3, status=AccountStatus.SUSPENDED, provider="aws"),
            view("svc-backup", kind=AccountKind.SERVICE, live=1, provider="aws", email=""),
            view("Erin", flags=(RiskFlag.ANOMALOUS,), live=1, provider="github"),
        ]
    )


def test_default_order_is_riskiest_first_ties_by_provider_then_name(index):
    assert index.sort_column == "risk" and index.descending
    # orphaned > anomalous > privileged > stale; the rest by provider, then name
    assert names(index) == ["bob", "Erin", "alice", "carol", "dave", "svc-backup"]
    assert len(index) == index.total == 6


def test_sort_by_every_column_and_reverse(index):
    index.sort("account")
    assert names(index) == ["alice", "bob", "carol", "dave", "Erin", "svc-backup"]
    index.reverse()
    assert index.descending  # reverse toggles the direction
    assert names(index) == ["svc-backup", "Erin", "dave", "carol", "bob", "alice"]
    index.sort("creds")  # natural direction: most live credentials first
    assert index.descending
    assert names(index)[0] == "dave" and names(index)[-1] == "carol"
    index.sort("provider")
    assert [index[n].provider for n in range(6)] == [
        "aws",
        "aws",
        "github",
        "github",
        "okta",
        "okta",
    ]
    # ties keep name order, in both directions
    assert names(index)[:2] == ["dave", "svc-backup"]
    index.reverse()
    assert names(index)[:2] == ["alice", "carol"]
    index.sort("status", descending=False)
    assert names(index)[-1] == "dave"  # suspended after active
    index.sort("kind")
    assert names(index)[-1] == "svc-backup"
    with pytest.raises(ValueError):
        index.sort("nope")


def test_next_column_cycles_through_all_columns(index):
    seen = [index.next_column() for _ in COLUMNS]
    assert seen[-1] == "risk" and set(seen) == set(COLUMNS)


def test_substring_filter_over_name_email_provider_and_flags(index):
    index.filter("ali")
    assert names(index) == ["alice"]
    index.filter("@acme")
    assert "svc-backup" not in names(index) and len(index) == 5
    index.filter("GITHUB")
    assert names(index) == ["bob", "Erin"]
    index.filter("orphan")
    assert names(index) == ["bob"]
    index.filter("anomaly")  # the badge's word works as well as the flag's
    assert names(index) == ["Erin"]
    index.filter("priv")
    assert names(index) == ["alice"]
    index.filter("stale okta")  # every term must match
    assert names(index) == ["carol"]
    index.filter("suspended")
    assert names(index) == ["dave"]
    index.filter("zzz")
    assert names(index) == [] and index.total == 6
    index.filter("")
    assert len(index) == 6
    assert index.query == ""


def test_a_term_never_spans_two_fields(index):
    # name "alice" then email "alice@..." are separate fields: "ealice" is nowhere
    index.filter("ealice")
    assert names(index) == []


def test_fuzzy_filter_letters_in_order_within_one_field(index):
    assert parse_query("~ab cd") == (True, ("ab", "cd"))
    index.filter("~svbk")
    assert names(index) == ["svc-backup"]
    index.filter("~crl")
    assert names(index) == ["carol"]
    index.filter("~aws dv")
    assert names(index) == ["dave"]
    index.filter("svbk")  # without ~ it is a substring again
    assert names(index) == []


def test_filter_keeps_the_sort_and_sort_keeps_the_filter(index):
    index.filter("a")
    index.sort("account")
    shown = names(index)
    assert shown == sorted(shown, key=str.casefold)
    assert set(shown) == {"alice", "carol", "dave", "svc-backup", "bob", "Erin"} & set(shown)
    index.filter("ac")
    assert names(index) == sorted(names(index), key=str.casefold)


def test_update_changes_a_row_in_place_until_the_next_sort(index):
    carol = index[index.position(("okta", "id-carol"))]
    assert index.position(carol.key) == 3
    orphaned = view("carol", flags=(RiskFlag.ORPHANED, RiskFlag.STALE), dead=3)
    index.update(orphaned)
    assert index.position(carol.key) == 3  # the cursor's row did not jump
    assert index[3].flags == orphaned.flags
    index.filter("orphan")  # the new flag is searchable at once
    assert sorted(names(index)) == ["bob", "carol"]
    index.filter("")
    assert names(index)[:2] == ["bob", "carol"]  # re-sorted by the filter change
    newcomer = view("zed", flags=(RiskFlag.ORPHANED,))
    index.update(newcomer)
    assert index.get(newcomer.key) == row_of(newcomer) and index.total == 7
    index.sort("risk")
    assert "zed" in names(index)[:3]


def test_position_and_keys(index):
    index.filter("aws")
    assert index.shown_keys() == [("aws", "id-dave"), ("aws", "id-svc-backup")]
    assert index.position(("aws", "id-dave")) == 0
    assert index.position(("okta", "id-alice")) is None  # filtered out
    assert index.position(("x", "y")) is None


def _random_views(n: int, seed: int = 5) -> list[AccountView]:
    rng = random.Random(seed)
    letters = "abcdefghij"
    flags = list(RiskFlag)
    out = []
    for i in range(n):
        name = "".join(rng.choice(letters) for _ in range(6)) + f"-{i}"
        out.append(
            view(
                name,
                provider=rng.choice(("okta", "github", "aws")),
                flags=tuple(f for f in flags if rng.random() < 0.2),
                live=rng.randint(0, 3),
            )
        )
    return out


@pytest.mark.parametrize("fuzzy", [False, True])
def test_incremental_narrowing_equals_a_fresh_filter(fuzzy):
    views = _random_views(3000)
    typed = AccountIndex(views)
    prefix = "~" if fuzzy else ""
    query = "abc d"
    steps = [prefix + query[: n + 1] for n in range(len(query))]
    steps += [prefix + "ab", prefix + "abj", prefix + "", prefix + "gh okta"]
    for step in steps:
        typed.filter(step)
        fresh = AccountIndex(views)
        fresh.filter(step)
        assert typed.shown_keys() == fresh.shown_keys(), step


def test_sort_and_filter_agree_with_a_naive_implementation():
    views = _random_views(2000, seed=9)
    index = AccountIndex(views)
    index.sort("account")
    index.filter("ab")
    expected = sorted(
        (v for v in views if "ab" in v.account.name or "ab" in v.account.email),
        key=lambda v: (v.account.name.casefold(), v.account.provider),
    )
    assert index.shown_keys() == [v.key for v in expected]


def test_any_sequence_of_changes_agrees_with_a_fresh_index():
    # The index reuses its last sort between filter changes: an update, a sort or
    # a reverse must never leave it showing a stale order.
    rng = random.Random(11)
    views = _random_views(400, seed=3)
    index = AccountIndex(views)
    current = {v.key: v for v in views}
    flags = list(RiskFlag)
    for step in range(300):
        op = rng.choice(("filter", "sort", "reverse", "update", "add"))
        if op == "filter":
            index.filter(rng.choice(("", "a", "ab", "~ac", "okta", "orphan", "b c")))
        elif op == "sort":
            index.sort(rng.choice(COLUMNS))
        elif op == "reverse":
            index.reverse()
        else:
            old = rng.choice(list(current.values())) if op == "update" else None
            new = view(
                old.account.name if old else f"new{step}",
                provider=old.account.provider if old else "aws",
                flags=tuple(f for f in flags if rng.random() < 0.3),
                live=rng.randint(0, 3),
            )
            index.update(new)
            current[new.key] = new
            continue  # in place until the next sort or filter change: compared after one
        fresh = AccountIndex(current.values())
        fresh.sort(index.sort_column, index.descending)
        fresh.filter(index.query)
        assert index.shown_keys() == fresh.shown_keys(), (step, op)


def test_loading_leaves_haystacks_and_key_map_for_later(index):
    """The pane is complete sooner: the filter's work waits for the first filter."""
    fresh = AccountIndex(_random_views(50))
    assert fresh._hay is None and fresh._rows_by_key is None
    fresh.sort("account")  # sorting needs neither
    assert fresh._hay is None
    fresh.filter("a")
    assert fresh._hay is not None and len(fresh._hay) == fresh.total
    other = AccountIndex(_random_views(50))
    other.prepare()  # what the widget calls once the rows are on screen
    assert other._hay is not None and other._rows_by_key is not None
    # An update before the first filter is found by the filter all the same.
    late = AccountIndex(_random_views(50))
    late.update(view("zz-newcomer", flags=(RiskFlag.ORPHANED,)))
    late.update(view("aaa", provider="aws", flags=(RiskFlag.MOVER,)))
    late.filter("zz-new")
    assert names(late) == ["zz-newcomer"]
    late.filter("mover")
    assert "aaa" in names(late)


def test_rows_given_in_base_order_are_not_sorted_again():
    from pamtui.services.account_rows import BaseOrderedRows, base_order_key

    views = _random_views(500, seed=21)
    rows = sorted(
        (row_of(v) for v in views), key=lambda r: base_order_key(r.provider, r.name, r.id)
    )
    for column in COLUMNS:
        for descending in (False, True):
            trusted, sorted_here = AccountIndex(BaseOrderedRows(rows)), AccountIndex(views)
            trusted.sort(column, descending)
            sorted_here.sort(column, descending)
            assert trusted.shown_keys() == sorted_here.shown_keys(), (column, descending)
    # The promise is trusted, not checked: rows given out of order keep that order for ties.
    backwards = AccountIndex(BaseOrderedRows(reversed(rows)))
    backwards.sort("kind")  # every row is human: all ties
    assert backwards.shown_keys() == [r.key for r in reversed(rows)]
