"""The journal's export formats, one module each, in one registry.

A format is a module with ``NAME``, ``SUFFIX`` (for default file names),
``HELP`` (one line for ``--help``) and ``write(entries, out) ->
ExportResult``. Adding one means writing that module and listing it in
:data:`FORMATS` below: the CLI's ``--format`` choices and help, the audit
screen's list and the default file names all come from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TextIO

from pamtui.journal.formats import cef, csv, jsonl, ocsf
from pamtui.journal.formats._common import COLUMNS, ExportResult, entry_record, write_lines
from pamtui.model import JournalEntry


@dataclass(frozen=True)
class ExportFormat:
    name: str
    suffix: str
    help: str
    write: Callable[[Iterable[JournalEntry], TextIO], ExportResult]
    skip_reason: str = ""
    """Why the format leaves some entries out ("" if it writes every entry)."""
    details: str = ""
    """Longer help (e.g. the OCSF class mapping), printed after the format list."""


def _from_module(module: ModuleType, *, skip_reason: str = "", details: str = "") -> ExportFormat:
    return ExportFormat(
        name=module.NAME,
        suffix=module.SUFFIX,
        help=module.HELP,
        write=module.write,
        skip_reason=skip_reason,
        details=details,
    )


FORMATS: Mapping[str, ExportFormat] = {
    f.name: f
    for f in (
        _from_module(jsonl),
        _from_module(csv),
        _from_module(ocsf, skip_reason=ocsf.SKIP_REASON, details=ocsf.MAPPING_HELP),
        _from_module(cef),
    )
}


def get(name: str) -> ExportFormat:
    """The format called ``name``, or ValueError naming the choices."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ValueError(
            f"unknown export format {name!r}; choose one of {', '.join(FORMATS)}"
        ) from None


def help_text() -> str:
    """Every format's help line, then the formats' longer notes (for ``--help``)."""
    width = max(len(name) for name in FORMATS)
    lines = ["formats:"]
    lines += [f"  {f.name.ljust(width)}  {f.help}" for f in FORMATS.values()]
    for f in FORMATS.values():
        if f.details:
            lines += ["", f.details]
    return "\n".join(lines)


def summary(result: ExportResult, fmt: str, target: str | None = None) -> str:
    """ "exported N entries (fmt) [to FILE]" and, if any were left out, how many and why."""
    noun = "entry" if result.written == 1 else "entries"
    line = f"exported {result.written} {noun} ({fmt})"
    if target:
        line += f" to {target}"
    if result.skipped_total:
        counts = ", ".join(f"{count} {action}" for action, count in sorted(result.skipped.items()))
        reason = FORMATS[fmt].skip_reason if fmt in FORMATS else ""
        line += f"; skipped {result.skipped_total} ({counts})"
        if reason:
            line += f": {reason}"
    return line


__all__ = [
    "COLUMNS",
    "FORMATS",
    "ExportFormat",
    "ExportResult",
    "entry_record",
    "get",
    "help_text",
    "summary",
    "write_lines",
]
