"""Reviewing the journal: the query language of the audit screen, and exports.

A query is words separated by spaces; ``key:value`` words set a filter
(``actor``, ``provider``, ``subject``, ``action``, ``since``, ``until``) and
the rest is free text, e.g. ``actor:alice action:revoked since:2026-11-01 leak``.
"""

from __future__ import annotations

import os
import shlex
from datetime import UTC, datetime
from pathlib import Path

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.journal import EntryFilter, Journal
from pamtui.journal.export import export

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
    suffix = {"ocsf": "ocsf.jsonl", "cef": "cef.log"}.get(fmt, fmt)
    return (directory or Path.home()) / f"pamtui-audit-{stamp}.{suffix}"


def export_to_file(journal: Journal, fmt: str, path: Path, filt: EntryFilter | None = None) -> int:
    """Export to ``path``, created owner-only (audit data is sensitive)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
        return export(journal, fmt, out, filt)
