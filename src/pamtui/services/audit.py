"""Reviewing the journal: the query language of the audit screen, and exports.

A query is words separated by spaces; ``key:value`` words set a filter
(``actor``, ``provider``, ``subject``, ``action``, ``since``, ``until``) and
the rest is free text, e.g. ``actor:alice action:revoked since:2026-11-01 leak``.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.journal import EntryFilter, Journal
from pamtui.journal.export import export_entries
from pamtui.journal.formats import FORMATS, ExportResult, help_text, summary
from pamtui.journal.formats import get as get_format
from pamtui.safe_write import protected_files, safe_open

EXPORT_FORMATS = FORMATS
"""The export formats (name -> format with suffix and help), for the CLI and the TUI."""

QUERY_KEYS = ("actor", "provider", "subject", "action", "since", "until")


class QueryError(PamtuiError, ValueError):
    """The query does not parse; the message says which word."""

    exit_code = EXIT_USAGE


def parse_query(query: str) -> EntryFilter:
    try:
        words = shlex.split(query)
    except ValueError as exc:
        raise QueryError(f"unbalanced quotes in {query!r}") from exc
    fields: dict[str, str] = {}
    text: list[str] = []
    for word in words:
        key, sep, value = word.partition(":")
        if sep and key in QUERY_KEYS:
            if not value:
                raise QueryError(f"{key}: needs a value, e.g. {key}:something")
            fields[key] = value
        else:
            text.append(word)
    return EntryFilter(text=" ".join(text) or None, **fields)


def default_export_path(fmt: str, directory: Path | None = None) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = FORMATS[fmt].suffix if fmt in FORMATS else fmt
    return (directory or Path.home()) / f"pamtui-audit-{stamp}.{suffix}"


def export_to_file(
    journal: Journal,
    fmt: str,
    path: Path | str,
    filt: EntryFilter | None = None,
    *,
    force: bool = False,
) -> ExportResult:
    """Export to ``path`` through the safe writer (see :mod:`pamtui.safe_write`).

    Never the journal's own files, never through a symlink, no overwrite
    without ``force``, 0600, renamed into place only once complete. Raises
    :class:`~pamtui.safe_write.SafeWriteError` with a one-line message.
    """
    get_format(fmt)  # an unknown format fails before any file is touched
    with safe_open(path, protect=protected_files(journal.path), force=force) as out:
        return export_entries(journal, fmt, out, filt)


def export_stream(
    journal: Journal, fmt: str, out: TextIO, filt: EntryFilter | None = None
) -> ExportResult:
    """Export to an open stream (the CLI's stdout): nothing to protect there."""
    return export_entries(journal, fmt, out, filt)


def export_help() -> str:
    """Each format's help line and the OCSF mapping, for ``audit export --help``."""
    return help_text()


def export_summary(result: ExportResult, fmt: str, target: str | None = None) -> str:
    """ "exported N entries (fmt) to FILE", and how many were skipped and why."""
    return summary(result, fmt, target)
