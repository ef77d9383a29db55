"""``jsonl``: every entry, every column, one JSON object per line.

``detail`` is the object itself; re-encoding it with
:func:`pamtui.journal.canonical.canonical_json` gives back the exact text that
was hashed, so the chain can be re-verified from the export alone
(``pamtui.journal.chain.body_text``/``entry_hash``). Lines are pure ASCII
(``\\uXXXX`` escapes), so no control, C1 or bidi character reaches a terminal
or a line-splitting collector raw.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from pamtui.journal.formats._common import ExportResult, entry_record, json_line, write_lines
from pamtui.model import JournalEntry

NAME = "jsonl"
SUFFIX = "jsonl"
HELP = "every entry and column as JSON lines; the hash chain re-verifies from it"


def to_jsonl(entry: JournalEntry) -> str:
    """One line (without the newline) of the ``jsonl`` export."""
    return json_line(entry_record(entry))


def write(entries: Iterable[JournalEntry], out: TextIO) -> ExportResult:
    return write_lines(entries, out, to_jsonl)
