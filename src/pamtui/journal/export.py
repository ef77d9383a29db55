"""Export the audit journal for SIEMs and spreadsheets, and forward it live over syslog.

Every exporter streams: it pages through the journal with keyset paging
(``Journal.entries(after_seq=..., newest_first=False)``, ``page_size`` rows
at a time) and writes each entry as soon as it is formatted, so exporting a
million entries uses the memory of one page.

The formats live in :mod:`pamtui.journal.formats`, one module each
(``jsonl``, ``csv``, ``ocsf``, ``cef``), registered in
:data:`pamtui.journal.formats.FORMATS`; each module's docstring documents
its format. This module keeps their public names importable from here.

:class:`SyslogForwarder` sends entries live as RFC 5424 messages (UDP per
RFC 5426, or TCP with RFC 6587 octet-counting framing): key fields as
structured data, the whole ``jsonl`` record as the (ASCII) MSG. It never
raises on a network error and never waits longer than its timeout.
"""

from __future__ import annotations

import logging
import os
import re
import select
import socket
import time
from collections.abc import Iterator
from contextlib import suppress
from typing import Any, TextIO

from pamtui.journal.formats import FORMATS, ExportFormat, ExportResult, get
from pamtui.journal.formats._common import (
    COLUMNS,
    PRODUCT,
    VENDOR,
    entry_record,
)
from pamtui.journal.formats._common import defang as _defang
from pamtui.journal.formats._common import json_line as _json_line
from pamtui.journal.formats._common import text as _text
from pamtui.journal.formats.cef import CEF_OUTCOME as _CEF_OUTCOME
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


# -- syslog ----------------------------------------------------------------

SYSLOG_FACILITY_AUTHPRIV = 10
SD_ID = "pamtui@32473"
"""32473 is IANA's example enterprise number (RFC 5612): pamtui has none of its own."""

_SYSLOG_SEVERITY = {"verify_failed": 2, "failed": 3, "revoked": 5, "verified": 5}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: PRINTUSASCII, at most ``limit`` octets, or ``-``."""
    text = _NOT_PRINTUSASCII.sub("_", value)[:limit]
    return text or "-"


def _sd_value(value: Any) -> str:
    """An SD-PARAM value: controls visible, then ``"``, ``\\`` and ``]`` escaped."""
    text = _defang(_text(value), keep_newlines=False)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def rfc5424_message(
    entry: JournalEntry,
    *,
    app_name: str = PRODUCT,
    hostname: str | None = None,
    procid: str | None = None,
    facility: int = SYSLOG_FACILITY_AUTHPRIV,
    max_bytes: int | None = None,
) -> bytes:
    """The entry as one RFC 5424 syslog message (no framing).

    Structured data ``[pamtui@32473 ...]`` carries the key fields, the MSG
    is the entry's ``jsonl`` record (ASCII, so no BOM). If the message would
    exceed ``max_bytes`` the MSG's ``detail`` is reduced to its identifying
    fields and marked ``"truncated": true``; the full entry stays in the
    journal (find it by ``hash``).
    """
    severity = _SYSLOG_SEVERITY.get(entry.action, 6)
    pri = facility * 8 + severity
    ts = entry.ts if _RFC3339.fullmatch(entry.ts) else "-"
    host = _header_field(hostname if hostname is not None else socket.gethostname(), 255)
    app = _header_field(app_name, 48)
    proc = _header_field(procid if procid is not None else str(os.getpid()), 128)
    msgid = _header_field(entry.action, 32)
    detail = entry.detail
    params: list[tuple[str, Any]] = [
        ("seq", entry.seq),
        ("hash", entry.hash),
        ("prevHash", entry.prev_hash),
        ("actor", entry.actor),
        ("action", entry.action),
        ("provider", entry.provider),
        ("subject", entry.subject),
    ]
    for key, name in (("action", "revokeAction"), ("account_id", "account"), ("item", "item")):
        if detail.get(key) not in (None, ""):
            params.append((name, detail[key]))
    if entry.action in _CEF_OUTCOME:
        params.append(("outcome", _CEF_OUTCOME[entry.action]))
    sd = "[" + SD_ID + "".join(f' {name}="{_sd_value(value)}"' for name, value in params) + "]"
    head = f"<{pri}>1 {ts} {host} {app} {proc} {msgid} {sd} "
    record = entry_record(entry)
    message = (head + _json_line(record)).encode("utf-8")
    if max_bytes is not None and len(message) > max_bytes:
        keep = ("item", "action", "label", "target_kind", "target_id", "account_id")
        record["detail"] = {k: detail[k] for k in keep if k in detail} | {"truncated": True}
        message = (head + _json_line(record)).encode("utf-8")
        if len(message) > max_bytes:
            record["detail"] = {"truncated": True}
            message = (head + _json_line(record)).encode("utf-8")
    return message


class SyslogForwarder:
    """Send journal entries to a syslog collector as RFC 5424 messages.

    ``protocol="udp"`` sends one datagram per entry (RFC 5426; messages are
    kept under ``max_udp_bytes``); ``"tcp"`` keeps one connection and frames
    each message with RFC 6587 octet counting (``LEN SP MSG``).

    :meth:`send` never raises on a network problem: it logs, returns False
    and counts the failure. No call blocks longer than ``timeout`` seconds
    (a TCP send may reconnect once); after a failure the forwarder does not
    try again for ``retry_after`` seconds, so a dead collector costs each
    later entry nothing.
    """

    def __init__(
        self,
        host: str,
        port: int,
        protocol: str = "udp",
        app_name: str = PRODUCT,
        *,
        timeout: float = 2.0,
        retry_after: float = 5.0,
        hostname: str | None = None,
        facility: int = SYSLOG_FACILITY_AUTHPRIV,
        max_udp_bytes: int = 8192,
    ) -> None:
        if protocol not in ("udp", "tcp"):
            raise ValueError(f"syslog protocol must be udp or tcp, not {protocol!r}")
        if not 0 < int(port) < 65536:
            raise ValueError(f"invalid syslog port {port!r}")
        if not 0 <= facility <= 23:
            raise ValueError(f"invalid syslog facility {facility!r}")
        self.host = host
        self.port = int(port)
        self.protocol = protocol
        self.app_name = app_name
        self.timeout = timeout
        self.retry_after = retry_after
        self.hostname = hostname if hostname is not None else socket.gethostname()
        self.facility = facility
        self.max_udp_bytes = max_udp_bytes
        self.sent = 0
        self.failed = 0
        self.last_error = ""
        self._procid = str(os.getpid())
        self._sock: socket.socket | None = None
        self._addr: tuple[Any, ...] | None = None
        self._down_until = 0.0

    def __enter__(self) -> SyslogForwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def format(self, entry: JournalEntry) -> bytes:
        """The bytes :meth:`send` puts on the wire for ``entry`` (with TCP framing)."""
        message = rfc5424_message(
            entry,
            app_name=self.app_name,
            hostname=self.hostname,
            procid=self._procid,
            facility=self.facility,
            max_bytes=self.max_udp_bytes if self.protocol == "udp" else None,
        )
        if self.protocol == "tcp":
            return str(len(message)).encode("ascii") + b" " + message
        return message

    def send(self, entry: JournalEntry) -> bool:
        """Send one entry; True if it left this host, False (logged) otherwise."""
        if time.monotonic() < self._down_until:
            self.failed += 1
            return False
        try:
            data = self.format(entry)
        except Exception as exc:  # a formatting bug must not break the caller
            return self._failure(f"cannot format entry {entry.seq}: {exc}", backoff=False)
        attempts = 2 if self.protocol == "tcp" else 1
        for attempt in range(attempts):
            try:
                self._send_bytes(data)
            except OSError as exc:
                self._drop_socket()
                if attempt + 1 < attempts and self._was_connected_error(exc):
                    continue  # the collector closed an idle connection: reconnect once
                return self._failure(
                    f"syslog {self.protocol}://{self.host}:{self.port}: {exc}", backoff=True
                )
            self.sent += 1
            return True
        return False  # pragma: no cover - the loop always returns

    def close(self) -> None:
        self._drop_socket()

    # -- internals -----------------------------------------------------------

    @staticmethod
    def _was_connected_error(exc: OSError) -> bool:
        return isinstance(exc, BrokenPipeError | ConnectionResetError | ConnectionAbortedError)

    def _failure(self, message: str, *, backoff: bool) -> bool:
        self.failed += 1
        self.last_error = message
        if backoff:
            self._down_until = time.monotonic() + self.retry_after
        log.warning("syslog forwarding failed: %s", message)
        return False

    def _drop_socket(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with suppress(OSError):
                sock.close()

    def _resolve(self) -> tuple[int, tuple[Any, ...]]:
        kind = socket.SOCK_DGRAM if self.protocol == "udp" else socket.SOCK_STREAM
        family, _, _, _, addr = socket.getaddrinfo(self.host, self.port, type=kind)[0]
        return family, addr

    def _peer_closed(self) -> bool:
        """True if the collector closed our TCP connection (checked without blocking)."""
        sock = self._sock
        if sock is None:
            return False
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _send_bytes(self, data: bytes) -> None:
        if self.protocol == "tcp" and self._peer_closed():
            # Otherwise sendall() would "succeed" into a dead connection.
            self._drop_socket()
        if self._sock is None:
            family, addr = self._resolve()
            if self.protocol == "udp":
                sock = socket.socket(family, socket.SOCK_DGRAM)
            else:
                sock = socket.create_connection(addr[:2], timeout=self.timeout)
            sock.settimeout(self.timeout)
            self._sock, self._addr = sock, addr
        if self.protocol == "udp":
            self._sock.sendto(data, self._addr)
        else:
            self._sock.sendall(data)
