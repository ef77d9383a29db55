"""An in-memory index of the people view's rows: filter 80,000 people per keystroke.

Pure and UI-free, like ``account_index`` is for the accounts pane. Rows are the
``summary`` rows (one dict per person), in the order the view wants them; the
index keeps one folded haystack per row (the caller says what goes in it) and
the list of row numbers shown, so a screen of rows is a slice.

A query is one substring of the haystack, matched as typed after folding
(case and accents: "lucia" finds "Lucía"). When the new query contains the
previous one (another character typed), only the rows still shown are tested;
any other change (a backspace, a paste) tests every row, in the rows' order.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

Row = dict[str, Any]


def fold(text: str) -> str:
    """Lower case without accents: "lucia" finds "Lucía", as an operator types it."""
    if text.isascii():  # most rows: a tenth of the time of the general case
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


class PeopleIndex:
    """``summary`` rows filtered by a folded substring; see the module docstring."""

    def __init__(self, rows: Sequence[Row] = (), haystack: Callable[[Row], str] = str) -> None:
        self._rows: list[Row] = list(rows)
        self._hay = [fold(haystack(row)) for row in self._rows]
        self._row_of: dict[str, int] | None = None
        self._shown: list[int] = list(range(len(self._rows)))
        self._needle = ""

    @property
    def total(self) -> int:
        return len(self._rows)

    @property
    def rows(self) -> list[Row]:
        """Every row, filtered out or not, in order."""
        return self._rows

    @property
    def needle(self) -> str:
        """The folded query now applied ('' shows every row)."""
        return self._needle

    def __len__(self) -> int:
        return len(self._shown)

    def __getitem__(self, position: int) -> Row:
        return self._rows[self._shown[position]]

    def filter(self, query: str) -> None:
        """Show only the rows whose haystack contains ``query`` (folded)."""
        needle = fold(query.strip())
        if needle == self._needle:
            return
        base = self._shown if self._needle in needle else range(len(self._rows))
        hay = self._hay
        self._shown = [n for n in base if needle in hay[n]] if needle else list(base)
        self._needle = needle

    def position(self, person_id: str) -> int | None:
        """Where the person's row is among the shown rows, or None if it is filtered out."""
        if self._row_of is None:
            self._row_of = {row["id"]: n for n, row in enumerate(self._rows)}
        n = self._row_of.get(person_id)
        if n is None:
            return None
        try:
            return self._shown.index(n)
        except ValueError:
            return None
