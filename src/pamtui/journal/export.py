"""Export the audit journal for SIEMs and spreadsheets, and forward it live over syslog.

Every exporter streams: it pages through the journal with keyset paging
(``Journal.entries(after_seq=..., newest_first=False)``, ``page_size`` rows
at a time) and writes each entry as soon as it is formatted, so exporting a
million entries uses the memory of one page.

The formats live in :mod:`pamtui.journal.formats`, one module each
(``jsonl``, ``csv``, ``ocsf``, ``cef``), registered in
:data:`pamtui.journal.formats.FORMATS`; each module's docstring documents
its format. This module keeps their public names importable from here.

:class:`SyslogForwarder` (live forwarding over syslog) lives in
:mod:`pamtui.journal.syslog`; the old name is re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TextIO

from pamtui.journal.formats import FORMATS, ExportFormat, ExportResult, get
from pamtui.journal.formats._common import (
    COLUMNS,
    PRODUCT,
    VENDOR,
    entry_record,
)
from pamtui.journal.formats.cef import cef_ext_escape, cef_header_escape, to_cef
from pamtui.journal.formats.csv import csv_cell, csv_row
from pamtui.journal.formats.jsonl import to_jsonl
from pamtui.journal.formats.ocsf import (
    CATEGORY_IAM,
    CLASS_ACCOUNT_CHANGE,
    CLASS_USER_ACCESS,
    OCSF_ACCOUNT_ACTIONS,
    OCSF_ACTIONS,
    OCSF_DEFAULT_CLASS,
    OCSF_VERSION,
    ocsf_class,
    to_ocsf,
)
from pamtui.journal.journal import EntryFilter, Journal
from pamtui.journal.syslog import (
    SyslogForwarder,
    rfc5424_message,
)
from pamtui.model import JournalEntry

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000

__all__ = [
    "CATEGORY_IAM",
    "CLASS_ACCOUNT_CHANGE",
    "CLASS_USER_ACCESS",
    "COLUMNS",
    "DEFAULT_PAGE_SIZE",
    "FORMATS",
    "OCSF_ACCOUNT_ACTIONS",
    "OCSF_ACTIONS",
    "OCSF_DEFAULT_CLASS",
    "OCSF_VERSION",
    "PRODUCT",
    "VENDOR",
    "ExportFormat",
    "ExportResult",
    "SyslogForwarder",
    "cef_ext_escape",
    "cef_header_escape",
    "csv_cell",
    "csv_row",
    "entry_record",
    "export",
    "export_entries",
    "iter_entries",
    "ocsf_class",
    "rfc5424_message",
    "to_cef",
    "to_jsonl",
    "to_ocsf",
]

# -- paging --------------------------------------------------------------


def iter_entries(
    journal: Journal,
    filt: EntryFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
    after_seq: int | None = None,
) -> Iterator[JournalEntry]:
    """Every entry matching ``filt``, oldest first, ``page_size`` rows at a time."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    last = after_seq
    while True:
        page = journal.entries(filt, limit=page_size, after_seq=last, newest_first=False)
        yield from page
        if len(page) < page_size:
            return
        last = page[-1].seq


# -- export ----------------------------------------------------------------


def export_entries(
    journal: Journal,
    fmt: str,
    out: TextIO,
    filt: EntryFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> ExportResult:
    """Stream the entries matching ``filt`` (oldest first) to ``out`` as ``fmt``.

    The result counts the records written (for ``csv`` not counting the
    header) and, by journal action, the entries the format left out (only
    ``ocsf`` leaves any out). For ``csv`` open ``out`` with ``newline=""``.
    """
    export_format = get(fmt)
    return export_format.write(iter_entries(journal, filt, page_size=page_size), out)


def export(
    journal: Journal,
    fmt: str,
    out: TextIO,
    filt: EntryFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> int:
    """:func:`export_entries`, returning only the number of records written."""
    return export_entries(journal, fmt, out, filt, page_size=page_size).written
