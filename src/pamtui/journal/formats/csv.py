"""``csv``: a header row and one row per entry, every cell quoted.

``detail`` is its canonical JSON text. **Formula injection**: a cell that
starts with ``=``, ``+``, ``-``, ``@``, TAB or CR would be run as a formula by
spreadsheet software (``=cmd|' /C calc'!A0``), so such cells are prefixed
with a single quote ``'``. Those cells then differ from the journal: verify
the chain from a ``jsonl`` export, not from a CSV. Open the output with
``newline=""``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

from pamtui.journal.canonical import canonical_json
from pamtui.journal.formats._common import COLUMNS, ExportResult, entry_record, text
from pamtui.model import JournalEntry

NAME = "csv"
SUFFIX = "csv"
HELP = "every entry and column, for spreadsheets (formula cells neutralised)"

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell that spreadsheet software will show as text, never run as a formula."""
    cell = text(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_row(entry: JournalEntry) -> list[str]:
    record = entry_record(entry)
    record["detail"] = canonical_json(entry.detail)
    return [csv_cell(record[column]) for column in COLUMNS]


def write(entries: Iterable[JournalEntry], out: TextIO) -> ExportResult:
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    result = ExportResult()
    for entry in entries:
        writer.writerow(csv_row(entry))
        result.written += 1
    return result
