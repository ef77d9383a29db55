"""What every export format shares: the record, text helpers, and the line writer."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from pamtui.journal.canonical import canonical_json
from pamtui.model import JournalEntry
from pamtui.sanitize import clean

PRODUCT = "pamtui"
VENDOR = "pamtui"

COLUMNS: tuple[str, ...] = (
    "seq",
    "ts",
    "actor",
    "action",
    "provider",
    "subject",
    "detail",
    "prev_hash",
    "hash",
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


@dataclass
class ExportResult:
    """What an export wrote, and what it left out and why.

    ``skipped`` counts the entries a format has no record for, by journal
    action, so the CLI can say "skipped 32: 12 stage, 10 approve, ..."
    instead of silently exporting fewer entries than the journal holds.
    """

    written: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


def entry_record(entry: JournalEntry) -> dict[str, Any]:
    """The entry as a plain dict with every column (the ``jsonl`` record)."""
    return {
        "seq": entry.seq,
        "ts": entry.ts,
        "actor": entry.actor,
        "action": entry.action,
        "provider": entry.provider,
        "subject": entry.subject,
        "detail": entry.detail,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def json_line(value: Any) -> str:
    """Compact JSON, ASCII only: control, C1 and bidi characters become ``\\uXXXX``."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def epoch_ms(ts: str) -> int:
    """An ISO 8601 time as milliseconds since the epoch (0 if it does not parse)."""
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MS


def text(value: Any) -> str:
    """Any detail value as text: objects as canonical JSON, None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return canonical_json(value)
    return str(value)


_CONTROLS_BUT_NEWLINES = re.compile(
    "[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f"
    "\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff\u00ad]"
)


def defang(value: str, *, keep_newlines: bool) -> str:
    """Controls (and, unless ``keep_newlines``, CR/LF) as visible stand-ins."""
    if keep_newlines:
        return _CONTROLS_BUT_NEWLINES.sub(lambda m: clean(m.group(), None), value)
    return clean(value, None)


def truncate(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def write_lines(
    entries: Iterable[JournalEntry],
    out: TextIO,
    render: Callable[[JournalEntry], str | None],
) -> ExportResult:
    """One line per entry; ``render`` returning None skips (and counts) the entry."""
    result = ExportResult()
    for entry in entries:
        line = render(entry)
        if line is None:
            result.skipped[entry.action] += 1
            continue
        out.write(line)
        out.write("\n")
        result.written += 1
    return result
