"""An in-memory index of accounts for the accounts pane: sort and filter 100,000 rows fast.

Pure and UI-free. Rows are light ``AccountRow`` tuples (``services/account_rows``:
``load`` and ``update`` take synced ``AccountView`` objects too and keep only
their row, so 100,000 accounts cost no model objects); the index keeps, per row, a
lower-cased haystack (name, display name, email, provider, system, kind,
status, risk flags) and, per column, a sort key computed on first use. The
visible rows are a list of row numbers in the current order, so a screen of
rows is a slice and a keystroke in the filter is one pass over at most the
rows still shown.

Filter syntax (``AccountIndex.filter``):

- whitespace-separated terms, every one must match (AND), case-insensitive;
- a term matches as a substring of any field: ``lucia``, ``@acme``, ``orphan``;
- a query starting with ``~`` is fuzzy: each term matches when its letters
  appear in order inside one field (``~lcst`` finds ``lucia-castillo``).

Results keep the current sort order (no relevance ranking: triage wants a
stable order). When the new query only extends the previous one (typing
another character, adding a term), only the rows still shown are tested; any
other change (a backspace, ``~``) tests every row in the last sort order, which
is kept rather than sorted again.

``update`` changes a row's content in place and does not move it: the
operator's cursor stays on the account whose risk just changed. The next sort
or filter change puts every row where it belongs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pamtui.model import RiskFlag
from pamtui.services.account_rows import AccountRow, row_of
from pamtui.services.inventory import AccountKey, AccountView

# Sortable columns, in the order ``next_column`` cycles through them.
COLUMNS: tuple[str, ...] = ("account", "risk", "creds", "provider", "status", "kind")
NATURAL_DESCENDING = frozenset({"risk", "creds"})
"""Columns whose first sort is largest first: riskiest, most live credentials."""

RISK_WEIGHT = {
    RiskFlag.ORPHANED: 8,
    RiskFlag.ANOMALOUS: 4,
    RiskFlag.UNOWNED: 3,
    RiskFlag.MOVER: 3,
    RiskFlag.PRIVILEGED: 2,
    RiskFlag.STALE: 1,
    RiskFlag.EXCESS: 1,
}
"""Risk order: any orphaned account before any anomalous one, and so on."""

# Words an operator may type for a flag besides its own name (the badge labels).
FLAG_ALIASES = {RiskFlag.ANOMALOUS: "anomaly", RiskFlag.PRIVILEGED: "priv"}

FUZZY_PREFIX = "~"
_FIELD_SEP = "\x00"  # cannot be typed into a term: no substring spans two fields


def risk_score(flags: Iterable[RiskFlag]) -> int:
    return sum(RISK_WEIGHT.get(flag, 0) for flag in flags)


def live_credentials(row: AccountRow) -> int:
    """Active credentials of the row (0 while they are still being read)."""
    return row.live or 0


def haystack(row: AccountRow) -> str:
    words = [
        row.name,
        row.display_name,
        row.email,
        row.provider,
        row.system,
        row.kind,
        row.status,
    ]
    for flag in row.flags:
        words.append(str(flag))
        if flag in FLAG_ALIASES:
            words.append(FLAG_ALIASES[flag])
    return _FIELD_SEP.join(words).lower()


_KEYS: dict[str, Callable[[AccountRow], Any]] = {
    "risk": lambda r: risk_score(r.flags),
    "account": lambda r: r.name.casefold(),
    "creds": live_credentials,
    "provider": lambda r: r.provider.casefold(),
    "status": lambda r: r.status,
    "kind": lambda r: r.kind,
}


def parse_query(query: str) -> tuple[bool, tuple[str, ...]]:
    """(fuzzy, terms) of a filter query."""
    query = query.strip()
    fuzzy = query.startswith(FUZZY_PREFIX)
    if fuzzy:
        query = query[len(FUZZY_PREFIX) :]
    return fuzzy, tuple(query.lower().split())


def _fuzzy_pattern(term: str) -> re.Pattern[str]:
    # "abc" -> a[^b\0]*b[^c\0]*c: the letters in order within one field. The
    # negated classes cannot backtrack into a match, so a miss costs one pass.
    parts = [re.escape(term[0])]
    for ch in term[1:]:
        parts.append(f"[^{re.escape(ch)}{_FIELD_SEP}]*{re.escape(ch)}")
    return re.compile("".join(parts))


def _narrows(old: tuple[str, ...], new: tuple[str, ...]) -> bool:
    """True if every row matching ``new`` also matches ``old``."""
    return all(any(t in u for u in new) for t in old)


class AccountIndex:
    """Accounts sorted by any column and filtered by a query; see the module docstring."""

    def __init__(self, views: Iterable[AccountView | AccountRow] = ()) -> None:
        self._views: list[AccountRow] = []
        self._row_of: dict[AccountKey, int] = {}
        self._hay: list[str] = []
        self._keys: dict[str, list[Any]] = {}
        self._base: list[int] | None = None
        self._order: tuple[str, bool, list[int]] | None = None
        """The last ``_ordered()`` answer: a filter change that widens reuses it."""
        self._moved = False
        """An update left rows out of place: the next filter change starts from the order."""
        self._shown: list[int] = []
        self._column = "risk"
        self._descending = True
        self._fuzzy = False
        self._terms: tuple[str, ...] = ()
        self._query = ""
        self.load(views)

    # -- content ---------------------------------------------------------------

    def load(self, views: Iterable[AccountView | AccountRow]) -> None:
        """Replace every row; the sort and the query stay as they were."""
        self._views = [row_of(view) for view in views]
        self._row_of = {v.key: n for n, v in enumerate(self._views)}
        self._hay = [haystack(v) for v in self._views]
        self._keys = {}
        self._base = None
        self._order = None
        self._apply(self._ordered(), self._terms)

    def update(self, view: AccountView | AccountRow) -> None:
        """Change one row in place (it keeps its position until the next sort or filter).

        An account the index did not hold is added, and appears with the next
        sort or filter change.
        """
        view = row_of(view)
        row = self._row_of.get(view.key)
        if row is None:
            self._row_of[view.key] = len(self._views)
            self._views.append(view)
            self._hay.append(haystack(view))
            for column, keys in self._keys.items():
                keys.append(_KEYS[column](view))
            self._base = None
            self._order = None
            self._moved = True
            return
        self._views[row] = view
        self._hay[row] = haystack(view)
        for column, keys in self._keys.items():
            keys[row] = _KEYS[column](view)
        self._order = None  # its sort key may have changed
        self._moved = True

    @property
    def total(self) -> int:
        return len(self._views)

    def __len__(self) -> int:
        return len(self._shown)

    def __getitem__(self, position: int) -> AccountRow:
        return self._views[self._shown[position]]

    def get(self, key: AccountKey) -> AccountRow | None:
        row = self._row_of.get(key)
        return None if row is None else self._views[row]

    def all_rows(self) -> list[AccountRow]:
        """Every row, shown or filtered out, in no particular order (not a copy)."""
        return self._views

    def shown_keys(self) -> list[AccountKey]:
        """The shown accounts' keys, in order."""
        views = self._views
        return [views[row].key for row in self._shown]

    def position(self, key: AccountKey) -> int | None:
        """Where ``key`` is among the shown rows, or None if it is filtered out."""
        row = self._row_of.get(key)
        if row is None:
            return None
        try:
            return self._shown.index(row)
        except ValueError:
            return None

    # -- sorting -----------------------------------------------------------------

    @property
    def sort_column(self) -> str:
        return self._column

    @property
    def descending(self) -> bool:
        return self._descending

    def sort(self, column: str, descending: bool | None = None) -> None:
        """Sort by ``column`` (one of ``COLUMNS``); None: the column's natural direction."""
        if column not in _KEYS:
            raise ValueError(f"unknown column {column!r} (known: {', '.join(COLUMNS)})")
        self._column = column
        self._descending = column in NATURAL_DESCENDING if descending is None else descending
        self._apply(self._ordered(), self._terms)

    def next_column(self) -> str:
        """Sort by the next column of ``COLUMNS``, in its natural direction; return it."""
        column = COLUMNS[(COLUMNS.index(self._column) + 1) % len(COLUMNS)]
        self.sort(column)
        return column

    def reverse(self) -> None:
        self._descending = not self._descending
        # Not list.reverse(): ties must stay in name order.
        self._apply(self._ordered(), self._terms)

    def _ordered(self) -> list[int]:
        """Every row in the current sort order; ties by provider, then name, then id."""
        if self._base is None:
            views = self._views
            self._base = sorted(
                range(len(views)),
                key=lambda n: (
                    views[n].provider.casefold(),
                    views[n].name.casefold(),
                    views[n].id,
                ),
            )
        if self._order is not None and self._order[:2] == (self._column, self._descending):
            return self._order[2]  # not mutated by anyone: _apply copies or filters it
        keys = self._keys.get(self._column)
        if keys is None:
            keys = self._keys[self._column] = [_KEYS[self._column](v) for v in self._views]
        # sort(reverse=True) keeps equal elements in their base order: stable ties.
        ordered = sorted(self._base, key=keys.__getitem__, reverse=self._descending)
        self._order = (self._column, self._descending, ordered)
        return ordered

    # -- filtering -----------------------------------------------------------------

    @property
    def query(self) -> str:
        return self._query

    @property
    def fuzzy(self) -> bool:
        return self._fuzzy

    def filter(self, query: str) -> None:
        """Show only the rows matching ``query`` (syntax: module docstring)."""
        fuzzy, terms = parse_query(query)
        self._query = query.strip()
        if fuzzy == self._fuzzy and _narrows(self._terms, terms) and not self._moved:
            base = self._shown  # narrowing: only the rows still shown can match
        else:
            base = self._ordered()
        self._fuzzy = fuzzy
        self._apply(base, terms)
        self._terms = terms

    def _apply(self, base: list[int], terms: tuple[str, ...]) -> None:
        self._moved = False
        hay = self._hay
        rows = base
        for term in terms:
            if self._fuzzy:
                search = _fuzzy_pattern(term).search
                rows = [row for row in rows if search(hay[row])]
            else:
                rows = [row for row in rows if term in hay[row]]
        self._shown = rows if rows is not base else list(base)
