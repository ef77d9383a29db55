"""PeopleIndex: the people view's filter, incremental and accent-insensitive."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pamtui.services.people_index import PeopleIndex, fold


def _rows(names: list[str]) -> list[dict[str, object]]:
    return [{"id": f"E{n}", "name": name} for n, name in enumerate(names)]


def _hay(row: dict[str, object]) -> str:
    return f"{row['name']} {row['id']}"


def test_filter_folds_case_and_accents_and_keeps_the_order() -> None:
    index = PeopleIndex(_rows(["Lucía Castillo", "Li Castillo", "Zoë Reyes"]), _hay)
    index.filter("LUCIA")
    assert [index[n]["id"] for n in range(len(index))] == ["E0"]
    index.filter("castillo")
    assert [index[n]["id"] for n in range(len(index))] == ["E0", "E1"]
    index.filter("zoe")
    assert [index[n]["name"] for n in range(len(index))] == ["Zoë Reyes"]
    assert index.needle == "zoe" and index.total == 3
    index.filter("")
    assert len(index) == 3


def test_position_of_a_person_shown_or_filtered_out() -> None:
    index = PeopleIndex(_rows(["Ann", "Bob", "Cat"]), _hay)
    assert index.position("E2") == 2
    index.filter("b")
    assert index.position("E1") == 0
    assert index.position("E2") is None and index.position("nobody") is None


_TEXT = st.text(alphabet="aáAbBcç é", max_size=6)


@given(st.lists(_TEXT, max_size=12), st.lists(_TEXT, min_size=1, max_size=6))
def test_typed_queries_give_what_one_fresh_filter_gives(
    names: list[str], queries: list[str]
) -> None:
    """Narrowing from the rows still shown never differs from testing every row."""
    rows = _rows(names)
    typed = PeopleIndex(rows, _hay)
    for query in queries:
        typed.filter(query)
        fresh = PeopleIndex(rows, _hay)
        fresh.filter(query)
        expected = [r["id"] for r in rows if fold(query.strip()) in fold(_hay(r))]
        assert [typed[n]["id"] for n in range(len(typed))] == expected
        assert [fresh[n]["id"] for n in range(len(fresh))] == expected
