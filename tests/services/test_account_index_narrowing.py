"""Typing in the filter narrows the shown rows; the result is always a full search's.

The index tests only the rows still shown when a query extends the previous
one (``AccountIndex.filter``). For any sequence of queries (typing, backspacing,
switching to fuzzy, adding terms, updates in between), what it shows must be
exactly what a plain reading of the filter syntax gives over every row, in the
sort order: that reference is written here from the documented semantics, not
from the index's code.
"""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from pamtui.model import AccountKind, AccountStatus, RiskFlag
from pamtui.services.account_index import FLAG_ALIASES, AccountIndex
from pamtui.services.account_rows import AccountRow

ALPHABET = "abcz.-@"  # few letters: queries that match some rows, not none or all


def fields(row: AccountRow) -> list[str]:
    words = [row.name, row.display_name, row.email, row.provider, row.system, row.kind, row.status]
    for flag in row.flags:
        words.append(str(flag))
        if flag in FLAG_ALIASES:
            words.append(FLAG_ALIASES[flag])
    return [w.lower() for w in words]


def in_order(term: str, field: str) -> bool:
    rest = iter(field)
    return all(ch in rest for ch in term)


def matches(row: AccountRow, query: str) -> bool:
    query = query.strip()
    fuzzy = query.startswith("~")
    terms = (query[1:] if fuzzy else query).lower().split()
    if fuzzy:
        return all(any(in_order(t, f) for f in fields(row)) for t in terms)
    return all(any(t in f for f in fields(row)) for t in terms)


rows_strategy = st.lists(
    st.builds(
        AccountRow,
        provider=st.sampled_from(["okta", "aws"]),
        id=st.text(ALPHABET, min_size=1, max_size=4),
        name=st.text(ALPHABET + "AB", max_size=8),
        display_name=st.text(ALPHABET + " ", max_size=6),
        email=st.text(ALPHABET, max_size=8),
        system=st.sampled_from(["idp", "cloud"]),
        kind=st.sampled_from([str(k) for k in AccountKind]),
        status=st.sampled_from([str(s) for s in AccountStatus]),
        flags=st.frozensets(st.sampled_from(list(RiskFlag)), max_size=2),
        live=st.one_of(st.none(), st.integers(0, 3)),
    ),
    max_size=40,
    unique_by=lambda r: (r.provider, r.id),
)

# A step: type a character, backspace, toggle "~", add a space, re-sort by the
# same column (as the pane does after a burst of updates), or replace a row.
steps_strategy = st.lists(
    st.one_of(
        st.sampled_from([*ALPHABET, " ", "BACK", "BACK", "TILDE", "RESORT", "RESORT"]),
        st.tuples(st.just("UPDATE"), st.integers(0, 39), st.text(ALPHABET, max_size=6)),
    ),
    max_size=25,
)


def _row(account_id: str, name: str) -> AccountRow:
    return AccountRow("okta", account_id, name, "", "", "idp", "human", "active", frozenset(), None)


@settings(max_examples=300, deadline=None)
@given(
    rows=rows_strategy, steps=steps_strategy, column=st.sampled_from(["risk", "account", "creds"])
)
# Found by this test: a renamed account kept its old place among ties.
@example(
    rows=[_row("@", "@"), _row("@@", "")],
    steps=[("UPDATE", 0, ""), ("UPDATE", 1, ""), "a"],
    column="risk",
)
def test_typed_queries_show_what_a_full_search_shows(rows, steps, column):
    index = AccountIndex(rows)
    index.sort(column)
    current = {r.key: r for r in rows}
    query = ""
    for step in steps:
        if isinstance(step, tuple):
            _, n, name = step
            if not rows:
                continue
            old = rows[n % len(rows)]
            flags = frozenset({RiskFlag.ORPHANED}) if n % 3 else frozenset()
            # Half the updates keep the name: the re-sort may then move the row alone.
            new = old._replace(name=name if n % 2 else old.name, flags=flags, live=n % 4)
            index.update(new)
            current[new.key] = new
            continue  # in place until the next filter change, as documented
        if step == "RESORT":
            index.sort(column)  # the updated rows move; the query stays
        elif step == "BACK":
            query = query[:-1]
        elif step == "TILDE":
            query = query[1:] if query.startswith("~") else "~" + query
        else:
            query += step
        if step != "RESORT":
            index.filter(query)
        reference = AccountIndex(list(current.values()))
        reference.sort(column)  # the order alone; the filter is the plain reading
        expected = [k for k in reference.shown_keys() if matches(current[k], query)]
        assert index.shown_keys() == expected, (query, step)
