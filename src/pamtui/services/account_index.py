"""An in-memory index of accounts for the accounts pane: sort and filter 100,000 rows fast.

Pure and UI-free. Rows are light ``AccountRow`` tuples (``services/account_rows``:
``load`` and ``update`` take synced ``AccountView`` objects too and keep only
their row, so 100,000 accounts cost no model objects); the index keeps, per row, a
lower-cased haystack (name, display name, email, provider, system, kind,
status, risk flags) and, per column, a sort key computed on first use. The
visible rows are a list of row numbers in the current order, so a screen of
rows is a slice and a keystroke in the filter is one pass over at most the
rows still shown.

Loading does as little per row as it can, because the pane is not complete
until it returns: the haystacks are built on the first filter (or earlier, by
``prepare``, once the pane is on screen), the key-to-row map on the first
lookup by key, the risk sort key once per distinct set of flags, and rows that
come already in the base order (``BaseOrderedRows``: the inventory snapshot
saves them so) are not sorted again.

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
or filter change puts every row where it belongs; a re-sort by the same column
after a few updates (the pane's, after a burst from the stream) moves just
those rows, with a binary search each, instead of sorting and filtering all.
"""

from __future__ import annotations

import re
from bisect import insort
from collections.abc import Callable, Iterable
from operator import itemgetter
from typing import Any

from pamtui.model import RiskFlag
from pamtui.services.account_rows import AccountRow, BaseOrderedRows, base_order_key, row_of
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
    # One row's sort key (``update``); ``_column_keys`` computes a whole column.
    "risk": lambda r: risk_score(r.flags),
    "account": lambda r: r.name.casefold(),
    "creds": live_credentials,
    "provider": lambda r: r.provider.casefold(),
    "status": lambda r: r.status,
    "kind": lambda r: r.kind,
}


# AccountRow fields, read in C.
_PROVIDER, _ID, _NAME, _KIND, _STATUS, _FLAGS = (itemgetter(n) for n in (0, 1, 2, 6, 7, 8))
_PLAIN_COLUMNS: dict[str, Callable[[AccountRow], Any]] = {"status": _STATUS, "kind": _KIND}


def _column_keys(column: str, rows: list[AccountRow]) -> list[Any]:
    """The sort key of every row for ``column``: what ``_KEYS`` gives, computed in bulk.

    At 100,000 rows a Python call per row costs tens of milliseconds; the risk
    score depends only on the set of flags (a handful of distinct ones), and
    the other keys are a field, maybe case-folded.
    """
    if column == "risk":
        flag_sets = list(map(_FLAGS, rows))
        scores = {flags: risk_score(flags) for flags in set(flag_sets)}
        return list(map(scores.__getitem__, flag_sets))
    if column == "account":
        return list(map(str.casefold, map(_NAME, rows)))
    if column == "provider":
        return list(map(str.casefold, map(_PROVIDER, rows)))
    if column in _PLAIN_COLUMNS:
        return list(map(_PLAIN_COLUMNS[column], rows))
    return list(map(_KEYS[column], rows))


def base_order(rows: list[AccountRow]) -> list[int]:
    """Row numbers in ``base_order_key`` order (how ties sort), keys computed in bulk."""
    keys = list(map(base_order_key, map(_PROVIDER, rows), map(_NAME, rows), map(_ID, rows)))
    return sorted(range(len(keys)), key=keys.__getitem__)


INCREMENTAL_ROWS = 256
"""Rows updated in place that a re-sort of the same column moves one by one
(two passes and a binary search each) rather than sorting every row again."""


class _Descending:
    """A sort key compared the other way round (for binary search in a descending order)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __lt__(self, other: _Descending) -> bool:
        return bool(other.value < self.value)

    __hash__ = None  # type: ignore[assignment]


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
        self._rows_by_key: dict[AccountKey, int] | None = None
        """Built on the first lookup by key (``_row_of``)."""
        self._hay: list[str] | None = None
        """Built on the first filter, or by ``prepare``."""
        self._keys: dict[str, list[Any]] = {}
        self._base: list[int] | None = None
        self._rank: list[int] | None = None
        """Each row's position in ``_base`` (for binary search), built when first needed."""
        self._order: tuple[str, bool, list[int]] | None = None
        """The last ``_ordered()`` answer: a filter change that widens reuses it."""
        self._moved = False
        """An update left rows out of place: the next filter change starts from the order."""
        self._dirty: set[int] = set()
        """Rows updated in place since ``_order`` and the shown rows were put in order."""
        self._shown: list[int] = []
        self._column = "risk"
        self._descending = True
        self._fuzzy = False
        self._terms: tuple[str, ...] = ()
        self._query = ""
        self.load(views)

    # -- content ---------------------------------------------------------------

    def load(self, views: Iterable[AccountView | AccountRow]) -> None:
        """Replace every row; the sort and the query stay as they were.

        ``views`` given as ``BaseOrderedRows`` are trusted to be in the base
        order already (it only decides how ties sort).
        """
        self._views = [row_of(view) for view in views]
        self._rows_by_key = None
        self._hay = None
        self._keys = {}
        self._base = list(range(len(self._views))) if isinstance(views, BaseOrderedRows) else None
        self._rank = None
        self._order = None
        self._apply(self._ordered(), self._terms)

    def prepare(self) -> None:
        """Build what the first keystroke in the filter needs, ahead of it.

        ``load`` leaves the haystacks for later so that the pane shows its rows
        sooner; calling this once they are on screen keeps that cost off the
        operator's first keystroke.
        """
        self._haystacks()
        self._row_of()

    def _haystacks(self) -> list[str]:
        if self._hay is None:
            self._hay = list(map(haystack, self._views))
        return self._hay

    def _row_of(self) -> dict[AccountKey, int]:
        if self._rows_by_key is None:
            views = self._views
            keys = map(itemgetter(0, 1), views)
            self._rows_by_key = dict(zip(keys, range(len(views)), strict=True))
        return self._rows_by_key

    def update(self, view: AccountView | AccountRow) -> None:
        """Change one row in place (it keeps its position until the next sort or filter).

        An account the index did not hold is added, and appears with the next
        sort or filter change.
        """
        view = row_of(view)
        rows_by_key = self._row_of()
        row = rows_by_key.get(view.key)
        if row is None:
            rows_by_key[view.key] = len(self._views)
            self._views.append(view)
            if self._hay is not None:
                self._hay.append(haystack(view))
            for column, keys in self._keys.items():
                keys.append(_KEYS[column](view))
            self._base = None
            self._order = None
            self._moved = True
            return
        if view.name.casefold() != self._views[row].name.casefold():
            self._base = None  # renamed: its place among ties changed too
        self._views[row] = view
        if self._hay is not None:
            self._hay[row] = haystack(view)
        for column, keys in self._keys.items():
            keys[row] = _KEYS[column](view)
        self._dirty.add(row)  # its sort key may have changed: moved by the next sort
        self._moved = True

    @property
    def total(self) -> int:
        return len(self._views)

    def __len__(self) -> int:
        return len(self._shown)

    def __getitem__(self, position: int) -> AccountRow:
        return self._views[self._shown[position]]

    def get(self, key: AccountKey) -> AccountRow | None:
        row = self._row_of().get(key)
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
        row = self._row_of().get(key)
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
        descending = column in NATURAL_DESCENDING if descending is None else descending
        same = (column, descending) == (self._column, self._descending)
        self._column, self._descending = column, descending
        if same and self._settle_in_place():
            return
        self._apply(self._ordered(), self._terms)

    def _settle_in_place(self) -> bool:
        """Re-sort by the same column after a few updates: move just the updated rows.

        The stream re-sorts the pane after each burst of updates (the widget's
        ``RESORT_DELAY``); at 100,000 rows a full sort and filter cost tens of
        milliseconds, which an operator typing at that moment would wait for.
        False when the order must be built again (nothing to start from, a new
        or renamed row, too many updated rows).
        """
        if not self._moved:
            return True  # nothing changed since the rows were put in order
        dirty = self._dirty
        order = self._order
        if (
            not dirty
            or len(dirty) > INCREMENTAL_ROWS
            or self._base is None
            or order is None
            or order[:2] != (self._column, self._descending)
        ):
            return False
        self._ordered()  # puts the updated rows in place in the full order
        key = self._order_key()
        shown = [row for row in self._shown if row not in dirty]
        for row in dirty:
            if self._row_matches(row):
                insort(shown, row, key=key)
        self._shown = shown
        self._dirty = set()
        self._moved = False
        return True

    def _order_key(self) -> Callable[[int], tuple[Any, int]]:
        """The key the current order is sorted by: the column's, then the base position."""
        keys = self._keys[self._column]
        rank = self._rank
        if rank is None:
            rank = self._rank = [0] * len(self._views)
            for position, row in enumerate(self._base or ()):
                rank[row] = position
        if self._descending:
            return lambda row: (_Descending(keys[row]), rank[row])
        return lambda row: (keys[row], rank[row])

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
            self._base = base_order(self._views)
            self._rank = None
            self._order = None
        keys = self._keys.get(self._column)
        if keys is None:
            keys = self._keys[self._column] = _column_keys(self._column, self._views)
        order = self._order
        if order is not None and order[:2] == (self._column, self._descending):
            dirty = self._dirty
            if not dirty:
                return order[2]  # not mutated by anyone: _apply copies or filters it
            if len(dirty) <= INCREMENTAL_ROWS:  # move the updated rows, not all of them
                key = self._order_key()
                ordered = [row for row in order[2] if row not in dirty]
                for row in dirty:
                    insort(ordered, row, key=key)
                self._order = (self._column, self._descending, ordered)
                return ordered
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

    def _row_matches(self, row: int) -> bool:
        """Whether one row matches the current query (what ``_apply`` tests, for one row)."""
        if not self._terms:
            return True
        text = self._haystacks()[row]
        for term in self._terms:
            if self._fuzzy and len(term) > 1:
                if not _fuzzy_pattern(term).search(text):
                    return False
            elif term not in text:
                return False
        return True

    def _apply(self, base: list[int], terms: tuple[str, ...]) -> None:
        self._moved = False
        self._dirty = set()
        if not terms:
            self._shown = list(base)
            return
        hay = self._haystacks()
        rows = base
        for term in terms:
            if self._fuzzy and len(term) > 1:
                search = _fuzzy_pattern(term).search
                # The regular expression costs ~1 us a row; "is the last letter
                # there at all" costs a twentieth of that and, typed last, is the
                # letter most likely to rule the row out.
                last = term[-1]
                rows = [row for row in rows if last in hay[row] and search(hay[row])]
            else:  # a one-letter fuzzy term is that letter anywhere: a substring
                rows = [row for row in rows if term in hay[row]]
        self._shown = rows if rows is not base else list(base)
