"""Export the audit journal for SIEMs and spreadsheets, and forward it live over syslog.

Every exporter streams: it pages through the journal with keyset paging
(``Journal.entries(after_seq=..., newest_first=False)``, ``page_size`` rows
at a time) and writes each entry as soon as it is formatted, so exporting a
million entries uses the memory of one page.

Formats (:data:`FORMATS`), one record per line:

``jsonl``
    One JSON object per entry with every column (``seq, ts, actor, action,
    provider, subject, detail, prev_hash, hash``). ``detail`` is the object
    itself; re-encoding it with :func:`pamtui.journal.canonical.canonical_json`
    gives back the exact text that was hashed, so the chain can be re-verified
    from the export alone (``pamtui.journal.chain.body_text``/``entry_hash``).
    Lines are pure ASCII (``\\uXXXX`` escapes), so no control, C1 or bidi
    character reaches a terminal or a line-splitting collector raw.

``csv``
    A header row and one row per entry with the same columns; ``detail`` is
    its canonical JSON text. **Formula injection**: a cell that starts with
    ``=``, ``+``, ``-``, ``@``, TAB or CR would be run as a formula by
    spreadsheet software (``=cmd|' /C calc'!A0``), so such cells are prefixed
    with a single quote ``'``. Those cells then differ from the journal: verify
    the chain from a ``jsonl`` export, not from a CSV. Every cell is quoted.

``ocsf``
    OCSF 1.3.0 events as JSON lines (pure ASCII, like ``jsonl``). Only the
    entries that record a change to someone's access are events; the mapping
    is by journal action and, for revocations, by the revoke action's name
    (``detail.action``):

    ==========================  ==========================  =====  ======================  =========
    journal action              revoke action (detail)      class  activity                status_id
    ==========================  ==========================  =====  ======================  =========
    revoked, verified           deactivate_account,         3001   5 Disable               1 Success
                                suspend_account
    revoked, verified           delete_account              3001   6 Delete                1 Success
    revoked, verified           every other one:            3005   2 Revoke Privileges     1 Success
                                revoke_token, end_session,
                                clear_sessions,
                                remove_member,
                                deactivate_access_key,
                                delete_access_key,
                                delete_login_profile, and
                                unknown plugin actions
    failed, verify_failed       as above                    as above                       2 Failure
    stage, approve, execute,    (any)                       skipped
    cancel, session_start,
    anything else
    ==========================  ==========================  =====  ======================  =========

    ``revoked`` (the provider accepted the revocation) and ``verified`` (a
    fresh check confirmed the access is gone) are separate events; they
    differ in ``status_code`` (the journal action) and ``status_detail``.
    ``severity_id`` is 1 Informational for successes, 3 Medium for
    ``failed`` and 4 High for ``verify_failed`` (the access is still there).

    Skipped actions are pamtui's own workflow (a revocation was requested,
    approved, attempted or withdrawn; an operator opened the TUI). None of
    them changes anyone's access, and OCSF's IAM classes describe access
    changes: emitting them as 3001/3005 events would make a SIEM count
    revocations that never happened, and the generic classes (Base Event 0,
    IAM 3000) carry no more than the ``jsonl``/``cef`` exports, which contain
    every entry. :func:`export` returns the number of events written.

    Each event fills what OCSF marks required for the base event
    (``activity_id, category_uid, class_uid, metadata{version, product},
    severity_id, time, type_uid``) and the class (``user``; ``privileges``
    for 3005, required up to OCSF 1.8), with ``type_uid = class_uid * 100 +
    activity_id`` and ``time`` in milliseconds since the epoch.
    ``metadata.uid`` is the entry hash, ``user`` the target account (``uid``
    = the provider's account id), ``actor.user.name`` the operator;
    pamtui-specific fields (provider, queue item, revoke action, reason,
    prev_hash) are under ``unmapped``.

``cef``
    ArcSight CEF:0 lines, one per entry (every journal action):
    ``CEF:0|pamtui|pamtui|VERSION|<action>[:<revoke action>]|<name>|<severity>|<extensions>``.
    Header fields escape ``\\`` and ``|``; extension values escape ``\\``,
    ``=``, CR (``\\r``) and LF (``\\n``). Other control characters (ESC, BEL,
    TAB, C1) and bidi overrides are replaced by visible stand-ins (``␛``,
    ``<U+202E>``) as in :mod:`pamtui.sanitize`, and header fields get no line
    breaks at all. Extensions: ``rt`` (ms epoch), ``externalId`` (seq),
    ``cat`` (journal action), ``act`` (revoke action), ``outcome``,
    ``suser`` (operator), ``duser`` (target account id), ``msg``, ``reason``,
    ``cn1`` queue item, ``cs1`` provider, ``cs2`` subject, ``cs3`` hash,
    ``cs4`` prev_hash, ``cs5`` detail JSON, each ``csN`` with its ``csNLabel``.

:class:`SyslogForwarder` sends entries live as RFC 5424 messages (UDP per
RFC 5426, or TCP with RFC 6587 octet-counting framing): key fields as
structured data, the whole ``jsonl`` record as the (ASCII) MSG. It never
raises on a network error and never waits longer than its timeout.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from pamtui import __version__
from pamtui.journal.canonical import canonical_json
from pamtui.journal.journal import EntryFilter, Journal
from pamtui.model import JournalEntry
from pamtui.sanitize import clean

log = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("jsonl", "csv", "ocsf", "cef")

DEFAULT_PAGE_SIZE = 1000

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

PRODUCT = "pamtui"
VENDOR = "pamtui"
OCSF_VERSION = "1.3.0"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


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


# -- shared helpers --------------------------------------------------------


def _json_line(value: Any) -> str:
    # ASCII only: control, C1 and bidi characters become \uXXXX escapes.
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _epoch_ms(ts: str) -> int:
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return (when - _EPOCH) // _MS


def _text(value: Any) -> str:
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


def _defang(text: str, *, keep_newlines: bool) -> str:
    """Controls (and, unless ``keep_newlines``, CR/LF) as visible stand-ins."""
    if keep_newlines:
        return _CONTROLS_BUT_NEWLINES.sub(lambda m: clean(m.group(), None), text)
    return clean(text, None)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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


# -- jsonl ---------------------------------------------------------------


def to_jsonl(entry: JournalEntry) -> str:
    """One line (without the newline) of the ``jsonl`` export."""
    return _json_line(entry_record(entry))


# -- csv -----------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> str:
    """A cell that spreadsheet software will show as text, never run as a formula."""
    text = _text(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_row(entry: JournalEntry) -> list[str]:
    record = entry_record(entry)
    record["detail"] = canonical_json(entry.detail)
    return [csv_cell(record[column]) for column in COLUMNS]


# -- ocsf ----------------------------------------------------------------

CATEGORY_IAM = 3
CLASS_ACCOUNT_CHANGE = 3001
CLASS_USER_ACCESS = 3005

_CLASS_NAMES = {
    CLASS_ACCOUNT_CHANGE: "Account Change",
    CLASS_USER_ACCESS: "User Access Management",
}
_ACTIVITY_NAMES = {
    (CLASS_ACCOUNT_CHANGE, 5): "Disable",
    (CLASS_ACCOUNT_CHANGE, 6): "Delete",
    (CLASS_USER_ACCESS, 2): "Revoke Privileges",
}

# revoke action name -> (class_uid, activity_id); anything else is 3005/2.
OCSF_ACCOUNT_ACTIONS: dict[str, tuple[int, int]] = {
    "deactivate_account": (CLASS_ACCOUNT_CHANGE, 5),
    "suspend_account": (CLASS_ACCOUNT_CHANGE, 5),
    "delete_account": (CLASS_ACCOUNT_CHANGE, 6),
}
OCSF_DEFAULT_CLASS = (CLASS_USER_ACCESS, 2)

# journal action -> (status_id, status, severity_id, severity, status_detail)
_OCSF_OUTCOMES: dict[str, tuple[int, str, int, str, str]] = {
    "revoked": (1, "Success", 1, "Informational", "the provider accepted the revocation"),
    "verified": (1, "Success", 1, "Informational", "verified: the access is gone"),
    "failed": (2, "Failure", 3, "Medium", "the revocation failed"),
    "verify_failed": (
        2,
        "Failure",
        4,
        "High",
        "verification failed: the access is still there",
    ),
}
OCSF_ACTIONS = frozenset(_OCSF_OUTCOMES)
"""Journal actions that become OCSF events; every other action is skipped."""


def ocsf_class(entry: JournalEntry) -> tuple[int, int] | None:
    """``(class_uid, activity_id)`` for an entry, or None if it is not exported."""
    if entry.action not in _OCSF_OUTCOMES:
        return None
    return OCSF_ACCOUNT_ACTIONS.get(str(entry.detail.get("action", "")), OCSF_DEFAULT_CLASS)


def _target(entry: JournalEntry) -> tuple[str, str, str]:
    """(account id, target kind, target id), falling back to the subject."""
    detail = entry.detail
    kind, sep, target_id = entry.subject.partition(":")
    if not sep:
        kind, target_id = "", entry.subject
    kind = _text(detail.get("target_kind")) or kind
    target_id = _text(detail.get("target_id")) or target_id
    account_id = _text(detail.get("account_id"))
    if not account_id:
        account_id = target_id if kind == "account" and target_id else "unknown"
    return account_id, kind, target_id


def to_ocsf(entry: JournalEntry) -> dict[str, Any] | None:
    """The entry as an OCSF event, or None for actions OCSF does not get (see above)."""
    mapped = ocsf_class(entry)
    if mapped is None:
        return None
    class_uid, activity_id = mapped
    status_id, status, severity_id, severity, status_detail = _OCSF_OUTCOMES[entry.action]
    detail = entry.detail
    account_id, kind, target_id = _target(entry)
    revoke_action = _text(detail.get("action"))
    label = _text(detail.get("label"))
    error = _text(detail.get("error"))
    if error:
        status_detail = error
    class_name = _CLASS_NAMES[class_uid]
    activity_name = _ACTIVITY_NAMES[(class_uid, activity_id)]
    message = label or f"{revoke_action or 'revocation'} of {entry.subject}"
    metadata: dict[str, Any] = {
        "version": OCSF_VERSION,
        "product": {"name": PRODUCT, "vendor_name": VENDOR, "version": __version__},
        "uid": entry.hash,
        "original_time": entry.ts,
        "sequence": entry.seq,
        "event_code": entry.action,
        "log_name": "journal",
        "log_provider": PRODUCT,
    }
    item = detail.get("item")
    if item is not None:
        metadata["correlation_uid"] = f"pamtui-item-{item}"
    event: dict[str, Any] = {
        "category_uid": CATEGORY_IAM,
        "category_name": "Identity & Access Management",
        "class_uid": class_uid,
        "class_name": class_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {activity_name}",
        "time": _epoch_ms(entry.ts),
        "timezone_offset": 0,
        "severity_id": severity_id,
        "severity": severity,
        "status_id": status_id,
        "status": status,
        "status_code": entry.action,
        "status_detail": status_detail,
        "message": message,
        "metadata": metadata,
        "actor": {"user": {"name": entry.actor}, "app_name": PRODUCT},
        "user": {"uid": account_id},
    }
    unmapped = {
        "provider": entry.provider,
        "subject": entry.subject,
        "item": item,
        "revoke_action": revoke_action,
        "target_kind": kind,
        "target_id": target_id,
        "reason": _text(detail.get("reason")),
        "prev_hash": entry.prev_hash,
    }
    event["unmapped"] = {k: v for k, v in unmapped.items() if v not in (None, "")}
    if class_uid == CLASS_USER_ACCESS:
        event["privileges"] = [entry.subject or target_id or "unknown"]
        if target_id:
            resource: dict[str, Any] = {"uid": target_id, "type": kind or "unknown"}
            if label:
                resource["name"] = label
            event["resources"] = [resource]
    return event


# -- cef -----------------------------------------------------------------

_CEF_SEVERITY = {"verify_failed": 9, "failed": 7, "revoked": 5, "verified": 5}
_CEF_OUTCOME = {
    "revoked": "success",
    "verified": "success",
    "failed": "failure",
    "verify_failed": "failure",
}
_CEF_TITLES = {
    "stage": "Revocation staged",
    "approve": "Revocation approved",
    "execute": "Revocation started",
    "revoked": "Revocation accepted",
    "verified": "Revocation verified",
    "failed": "Revocation failed",
    "verify_failed": "Revocation NOT verified",
    "cancel": "Revocation cancelled",
    "session_start": "Operator session started",
}


def cef_header_escape(value: Any) -> str:
    """A CEF header field: ``\\`` and ``|`` escaped, no line breaks or controls."""
    text = _defang(_text(value), keep_newlines=False)
    return text.replace("\\", "\\\\").replace("|", "\\|")


def cef_ext_escape(value: Any) -> str:
    """A CEF extension value: ``\\``, ``=``, CR and LF escaped, other controls visible."""
    text = _defang(_text(value), keep_newlines=True)
    return (
        text.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def to_cef(entry: JournalEntry) -> str:
    """One CEF:0 line (without the newline) for any journal entry."""
    detail = entry.detail
    revoke_action = _text(detail.get("action"))
    label = _text(detail.get("label"))
    error = _text(detail.get("error"))
    signature = f"{entry.action}:{revoke_action}" if revoke_action else entry.action
    title = _CEF_TITLES.get(entry.action, entry.action)
    name = f"{title}: {label}" if label else title
    message = f"{label} \u2014 {error}" if label and error else (label or error)
    header = [
        "CEF:0",
        cef_header_escape(VENDOR),
        cef_header_escape(PRODUCT),
        cef_header_escape(__version__),
        cef_header_escape(_truncate(signature, 1023)),
        cef_header_escape(_truncate(name, 512)),
        str(_CEF_SEVERITY.get(entry.action, 3)),
    ]
    account_id = _text(detail.get("account_id"))
    pairs: list[tuple[str, Any]] = [
        ("rt", _epoch_ms(entry.ts)),
        ("externalId", entry.seq),
        ("cat", entry.action),
    ]
    if revoke_action:
        pairs.append(("act", revoke_action))
    if entry.action in _CEF_OUTCOME:
        pairs.append(("outcome", _CEF_OUTCOME[entry.action]))
    pairs.append(("suser", entry.actor))
    if account_id:
        pairs.append(("duser", account_id))
    if message:
        pairs.append(("msg", _truncate(message, 1023)))
    reason = _text(detail.get("reason"))
    if reason:
        pairs.append(("reason", _truncate(reason, 1023)))
    if isinstance(detail.get("item"), int):
        pairs += [("cn1Label", "queueItem"), ("cn1", detail["item"])]
    pairs += [
        ("cs1Label", "provider"),
        ("cs1", entry.provider),
        ("cs2Label", "subject"),
        ("cs2", _truncate(entry.subject, 4000)),
        ("cs3Label", "entryHash"),
        ("cs3", entry.hash),
        ("cs4Label", "prevHash"),
        ("cs4", entry.prev_hash),
        ("cs5Label", "detail"),
        ("cs5", _truncate(canonical_json(detail), 4000)),
    ]
    extension = " ".join(f"{key}={cef_ext_escape(value)}" for key, value in pairs)
    return "|".join(header) + "|" + extension


# -- export ----------------------------------------------------------------


def _write_lines(
    journal: Journal,
    out: TextIO,
    filt: EntryFilter | None,
    page_size: int,
    render: Callable[[JournalEntry], str | None],
) -> int:
    written = 0
    for entry in iter_entries(journal, filt, page_size=page_size):
        line = render(entry)
        if line is None:
            continue
        out.write(line)
        out.write("\n")
        written += 1
    return written


def _ocsf_line(entry: JournalEntry) -> str | None:
    event = to_ocsf(entry)
    return None if event is None else _json_line(event)


def _export_csv(journal: Journal, out: TextIO, filt: EntryFilter | None, page_size: int) -> int:
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    written = 0
    for entry in iter_entries(journal, filt, page_size=page_size):
        writer.writerow(csv_row(entry))
        written += 1
    return written


def export(
    journal: Journal,
    fmt: str,
    out: TextIO,
    filt: EntryFilter | None = None,
    *,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> int:
    """Stream the entries matching ``filt`` (oldest first) to ``out`` as ``fmt``.

    Returns the number of records written (for ``csv`` not counting the
    header; for ``ocsf`` not counting the skipped entries). For ``csv``
    open ``out`` with ``newline=""``.
    """
    if fmt == "jsonl":
        return _write_lines(journal, out, filt, page_size, to_jsonl)
    if fmt == "csv":
        return _export_csv(journal, out, filt, page_size)
    if fmt == "ocsf":
        return _write_lines(journal, out, filt, page_size, _ocsf_line)
    if fmt == "cef":
        return _write_lines(journal, out, filt, page_size, to_cef)
    raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")


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
            assert self._addr is not None  # resolved with the socket, above
            self._sock.sendto(data, self._addr)
        else:
            self._sock.sendall(data)
