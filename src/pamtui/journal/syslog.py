"""Send journal entries to a syslog receiver as RFC 5424 messages.

Transports: ``udp`` (RFC 5426, one datagram per message), ``tcp`` (RFC 6587
octet counting, ``LEN SP MSG``) and ``tls`` (RFC 5425: the same framing over
TLS, with the standard library's :mod:`ssl`).

Payloads (what the MSG part carries; the structured data always names the
entry's ``seq`` and ``hash``, the receiver's idempotency key):

``rfc5424``
    Structured data ``[pamtui@32473 ...]`` with the key fields, and the
    entry's ``jsonl`` record as the (ASCII) MSG.
``ocsf``
    The entry's OCSF event as JSON; entries that are no OCSF event (see
    :mod:`pamtui.journal.export`) are not sent.
``cef``
    The entry's CEF:0 line.

**Size.** Every message, header and structured data included, stays within
``max_bytes`` (default 2,048 for UDP, RFC 5426's recommendation; 8,192 for
TCP and TLS, what RFC 5425 says receivers should accept). A message that
would not fit is reduced step by step, each step still valid RFC 5424: the
``detail`` reduced to its identifying fields, then long text values cut
(structured data and MSG alike, marked ``truncated``), then a MSG with only
``seq`` and ``hash``. The full entry stays in the journal: find it by hash.
"""

from __future__ import annotations

import json
import logging
import os
import re
import select
import socket
import ssl
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from typing import Any

from pamtui.errors import PamtuiError
from pamtui.journal.formats._common import entry_record
from pamtui.journal.formats.cef import to_cef
from pamtui.journal.formats.ocsf import to_ocsf
from pamtui.journal.heads import Head
from pamtui.model import JournalEntry
from pamtui.sanitize import clean

log = logging.getLogger(__name__)

PRODUCT = "pamtui"
SYSLOG_FACILITY_AUTHPRIV = 10
SD_ID = "pamtui@32473"
"""32473 is IANA's example enterprise number (RFC 5612): pamtui has none of its own."""

TRANSPORTS: tuple[str, ...] = ("udp", "tcp", "tls")
PAYLOADS: tuple[str, ...] = ("rfc5424", "ocsf", "cef")
DEFAULT_MAX_BYTES = {"udp": 2048, "tcp": 8192, "tls": 8192}
MIN_MAX_BYTES = 1024
"""The smallest limit accepted: a header at its widest, seq, hash and prev_hash fit in it."""
MAX_MAX_BYTES = {"udp": 65507, "tcp": 1 << 20, "tls": 1 << 20}
CHECKPOINT_MSGID = "audit_head"

_SYSLOG_SEVERITY = {"verify_failed": 2, "failed": 3, "revoked": 5, "verified": 5}
_OUTCOME = {
    "revoked": "success",
    "verified": "success",
    "failed": "failure",
    "verify_failed": "failure",
}
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
_NOT_PRINTUSASCII = re.compile(r"[^\x21-\x7e]")
_DETAIL_KEEP = ("item", "action", "label", "target_kind", "target_id", "account_id")


def _json_line(value: Any) -> str:
    # ASCII only: control, C1 and bidi characters become \uXXXX escapes.
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _header_field(value: str, limit: int) -> str:
    """An RFC 5424 header field: PRINTUSASCII, at most ``limit`` octets, or ``-``."""
    text = _NOT_PRINTUSASCII.sub("_", value)[:limit]
    return text or "-"


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)


def _cut(text: str, limit: int | None) -> str:
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def _sd_value(value: Any, limit: int | None = None) -> str:
    """An SD-PARAM value: cut (before escaping, so no escape is split), controls visible,
    then ``"``, ``\\`` and ``]`` escaped."""
    text = clean(_cut(_text(value), limit), None)
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _cap_strings(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return _cut(value, limit)
    if isinstance(value, dict):
        return {k: _cap_strings(v, limit) for k, v in value.items()}
    if isinstance(value, list):
        return [_cap_strings(v, limit) for v in value]
    return value


def _cut_bytes(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes, cut at a UTF-8 character boundary and not inside a
    backslash escape (CEF escapes are two characters)."""
    if len(data) <= limit:
        return data
    data = data[:limit].decode("utf-8", "ignore").encode("utf-8")
    backslashes = len(data) - len(data.rstrip(b"\\"))
    return data[:-1] if backslashes % 2 else data


@dataclass(frozen=True)
class MessageOptions:
    """The header fields and limits that do not change from entry to entry."""

    app_name: str = PRODUCT
    hostname: str | None = None
    procid: str | None = None
    facility: int = SYSLOG_FACILITY_AUTHPRIV
    max_bytes: int | None = None
    payload: str = "rfc5424"

    def header(self, severity: int, ts: str, msgid: str) -> str:
        pri = self.facility * 8 + severity
        ts = ts if _RFC3339.fullmatch(ts) else "-"
        host = _header_field(
            self.hostname if self.hostname is not None else socket.gethostname(), 255
        )
        app = _header_field(self.app_name, 48)
        proc = _header_field(self.procid if self.procid is not None else str(os.getpid()), 128)
        return f"<{pri}>1 {ts} {host} {app} {proc} {_header_field(msgid, 32)} "


def _sd(params: list[tuple[str, Any]], limit: int | None, truncated: bool) -> str:
    if truncated:
        params = [*params, ("truncated", "true")]
    return "[" + SD_ID + "".join(f' {n}="{_sd_value(v, limit)}"' for n, v in params) + "]"


def _entry_params(entry: JournalEntry, *, full: bool) -> list[tuple[str, Any]]:
    params: list[tuple[str, Any]] = [
        ("seq", entry.seq),
        ("hash", entry.hash),
        ("prevHash", entry.prev_hash),
    ]
    if not full:  # the last resort: what identifies the entry, nothing that can grow
        return params
    params += [
        ("actor", entry.actor),
        ("action", entry.action),
        ("provider", entry.provider),
        ("subject", entry.subject),
    ]
    detail = entry.detail
    for key, name in (("action", "revokeAction"), ("account_id", "account"), ("item", "item")):
        if detail.get(key) not in (None, ""):
            params.append((name, detail[key]))
    if entry.action in _OUTCOME:
        params.append(("outcome", _OUTCOME[entry.action]))
    return params


def _payload_body(entry: JournalEntry, payload: str) -> Any | None:
    """The MSG's content for ``payload``: a JSON value, a text line, or None (not sent)."""
    if payload == "rfc5424":
        return entry_record(entry)
    if payload == "ocsf":
        return to_ocsf(entry)
    if payload == "cef":
        return to_cef(entry)
    raise ValueError(f"unknown syslog payload {payload!r}; choose one of {', '.join(PAYLOADS)}")


def rfc5424_message(
    entry: JournalEntry,
    *,
    app_name: str = PRODUCT,
    hostname: str | None = None,
    procid: str | None = None,
    facility: int = SYSLOG_FACILITY_AUTHPRIV,
    max_bytes: int | None = None,
    payload: str = "rfc5424",
) -> bytes | None:
    """The entry as one RFC 5424 syslog message (no framing), within ``max_bytes``.

    Returns None when ``payload`` has nothing for this entry (an entry that is
    no OCSF event).
    """
    options = MessageOptions(app_name, hostname, procid, facility, max_bytes, payload)
    return format_entry(entry, options)


def format_entry(entry: JournalEntry, options: MessageOptions) -> bytes | None:
    """The entry as one message within ``options.max_bytes``: see the module's "Size"."""
    body = _payload_body(entry, options.payload)
    if body is None:
        return None
    head = options.header(_SYSLOG_SEVERITY.get(entry.action, 6), entry.ts, entry.action)
    limit = options.max_bytes

    def build(msg: Any, sd_limit: int | None, truncated: bool, full: bool = True) -> bytes:
        sd = _sd(_entry_params(entry, full=full), sd_limit, truncated)
        text = msg if isinstance(msg, str) else _json_line(msg)
        return (head + sd + " " + text).encode("utf-8")

    message = build(body, None, False)
    if limit is None or len(message) <= limit:
        return message
    steps: list[Callable[[], bytes]] = []
    if options.payload == "rfc5424":
        detail = entry.detail
        reduced = {k: detail[k] for k in _DETAIL_KEEP if k in detail} | {"truncated": True}
        steps += [
            lambda: build(body | {"detail": reduced}, None, False),
            lambda: build(body | {"detail": {"truncated": True}}, None, False),
        ]
        small = body | {"detail": {"truncated": True}, "truncated": True}
    else:
        small = body
    for cap in (256, 64):
        if isinstance(small, str):  # CEF: cut the line cleanly to what is left
            steps.append(partial(_fit_text, build, small, cap, limit))
        else:
            steps.append(partial(_build_capped, build, small, cap))
    if isinstance(small, str):
        steps.append(lambda: _fit_text(build, small, 64, limit, full=False))
    else:
        minimal = {"seq": entry.seq, "hash": entry.hash, "truncated": True}
        steps.append(lambda: build(minimal, 64, True, full=False))
    for step in steps:
        message = step()
        if len(message) <= limit:
            return message
    raise ValueError(f"entry {entry.seq}: cannot fit a syslog message into {limit} bytes")


def _build_capped(build: Callable[..., bytes], small: Any, cap: int) -> bytes:
    return build(_cap_strings(small, cap), cap, True)


def _fit_text(
    build: Callable[..., bytes], text: str, cap: int, limit: int, *, full: bool = True
) -> bytes:
    empty = build("", cap, True, full)
    room = limit - len(empty)
    if room <= 0:
        return empty
    return empty + _cut_bytes(text.encode("utf-8"), room)


def checkpoint_message(head: Head, options: MessageOptions, *, ts: str) -> bytes:
    """The ``audit head`` as a syslog message: a head witnessed off this machine."""
    sd = _sd([("head", str(head)), ("seq", head.seq), ("hash", head.hash)], None, False)
    text = f"audit head {head}"
    return (options.header(5, ts, CHECKPOINT_MSGID) + sd + " " + text).encode("ascii")


@dataclass(frozen=True)
class TlsSettings:
    """RFC 5425 over :mod:`ssl`: verify the receiver against ``ca_file`` (or the
    system's CAs), optionally present a client certificate."""

    ca_file: str | None = None
    verify: bool = True
    server_name: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.ca_file)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


class SyslogError(PamtuiError, OSError):
    """The message did not leave this host (the receiver is down, refused, ...)."""


class SyslogForwarder:
    """Send journal entries (and head checkpoints) to one syslog receiver.

    :meth:`send` never raises on a network problem: it logs, returns False
    and counts the failure. No call blocks longer than ``timeout`` seconds
    (a TCP send may reconnect once); after a failure the forwarder does not
    try again for ``retry_after`` seconds, so a dead receiver costs each
    later entry nothing. :meth:`deliver` is the same without the back-off,
    raising :class:`SyslogError`: what a durable outbox needs.
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
        max_bytes: int | None = None,
        max_udp_bytes: int | None = None,
        payload: str = "rfc5424",
        tls: TlsSettings | None = None,
    ) -> None:
        if protocol not in TRANSPORTS:
            raise ValueError(f"syslog protocol must be udp, tcp or tls, not {protocol!r}")
        if payload not in PAYLOADS:
            raise ValueError(f"syslog payload must be one of {', '.join(PAYLOADS)}")
        if not 0 < int(port) < 65536:
            raise ValueError(f"invalid syslog port {port!r}")
        if not 0 <= facility <= 23:
            raise ValueError(f"invalid syslog facility {facility!r}")
        limit = max_bytes if max_bytes is not None else max_udp_bytes
        limit = DEFAULT_MAX_BYTES[protocol] if limit is None else int(limit)
        if not MIN_MAX_BYTES <= limit <= MAX_MAX_BYTES[protocol]:
            raise ValueError(
                f"syslog max_bytes must be {MIN_MAX_BYTES}..{MAX_MAX_BYTES[protocol]} "
                f"for {protocol}, not {limit}"
            )
        self.host = host
        self.port = int(port)
        self.protocol = protocol
        self.timeout = timeout
        self.retry_after = retry_after
        self.max_bytes = limit
        self.options = MessageOptions(
            app_name=app_name,
            hostname=hostname if hostname is not None else socket.gethostname(),
            procid=str(os.getpid()),
            facility=facility,
            max_bytes=limit,
            payload=payload,
        )
        self.tls = (tls or TlsSettings()) if protocol == "tls" else None
        self._ssl_context = self.tls.context() if self.tls is not None else None
        self.sent = 0
        self.failed = 0
        self.last_error = ""
        self._sock: socket.socket | None = None
        self._addr: tuple[Any, ...] | None = None
        self._down_until = 0.0

    @property
    def max_udp_bytes(self) -> int:  # the old name
        return self.max_bytes

    @property
    def url(self) -> str:
        return f"{self.protocol}://{self.host}:{self.port}"

    def __enter__(self) -> SyslogForwarder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def frame(self, message: bytes) -> bytes:
        if self.protocol == "udp":
            return message
        return str(len(message)).encode("ascii") + b" " + message

    def format(self, entry: JournalEntry) -> bytes | None:
        """The bytes :meth:`send` puts on the wire for ``entry`` (framed), or None."""
        message = format_entry(entry, self.options)
        return None if message is None else self.frame(message)

    def format_checkpoint(self, head: Head, ts: str) -> bytes:
        return self.frame(checkpoint_message(head, self.options, ts=ts))

    def send(self, entry: JournalEntry) -> bool:
        """Send one entry; True if it left this host (or has no message), False otherwise."""
        if time.monotonic() < self._down_until:
            self.failed += 1
            return False
        try:
            data = self.format(entry)
        except Exception as exc:  # a formatting bug must not break the caller
            return self._failure(f"cannot format entry {entry.seq}: {exc}", backoff=False)
        if data is None:
            return True
        try:
            self.deliver(data)
        except SyslogError as exc:
            return self._failure(str(exc), backoff=True)
        return True

    def deliver(self, data: bytes) -> None:
        """Put framed bytes on the wire; raise :class:`SyslogError` if they did not leave."""
        attempts = 1 if self.protocol == "udp" else 2
        for attempt in range(attempts):
            try:
                self._send_bytes(data)
            except (OSError, ssl.SSLError) as exc:
                self._drop_socket()
                if attempt + 1 < attempts and self._was_connected_error(exc):
                    continue  # the receiver closed an idle connection: reconnect once
                raise SyslogError(f"syslog {self.url}: {exc}") from exc
            self.sent += 1
            return

    def close(self) -> None:
        self._drop_socket()

    # -- internals -----------------------------------------------------------

    @staticmethod
    def _was_connected_error(exc: BaseException) -> bool:
        return isinstance(
            exc, BrokenPipeError | ConnectionResetError | ConnectionAbortedError | ssl.SSLEOFError
        )

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
            if isinstance(sock, ssl.SSLSocket):  # close_notify: a clean end for the receiver
                with suppress(OSError, ssl.SSLError, ValueError):
                    sock.settimeout(min(self.timeout, 1.0))
                    sock = sock.unwrap()
            with suppress(OSError):
                sock.close()

    def _resolve(self) -> tuple[int, tuple[Any, ...]]:
        kind = socket.SOCK_DGRAM if self.protocol == "udp" else socket.SOCK_STREAM
        family, _, _, _, addr = socket.getaddrinfo(self.host, self.port, type=kind)[0]
        return family, addr

    def _peer_closed(self) -> bool:
        """True if the receiver closed our stream (checked without blocking).

        A syslog receiver never sends application data, so a readable socket
        means it is closing (or, over TLS 1.3, sent a session ticket).
        """
        sock = self._sock
        if sock is None:
            return False
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        if isinstance(sock, ssl.SSLSocket):
            sock.setblocking(False)
            try:
                return sock.recv(1) == b""
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                return False
            except (OSError, ssl.SSLError):
                return True
            finally:
                with suppress(OSError):
                    sock.settimeout(self.timeout)
        try:
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _connect(self) -> None:
        family, addr = self._resolve()
        if self.protocol == "udp":
            sock = socket.socket(family, socket.SOCK_DGRAM)
        else:
            sock = socket.create_connection(addr[:2], timeout=self.timeout)
            if self._ssl_context is not None:
                assert self.tls is not None
                try:
                    sock = self._ssl_context.wrap_socket(
                        sock, server_hostname=self.tls.server_name or self.host
                    )
                except BaseException:
                    sock.close()
                    raise
        sock.settimeout(self.timeout)
        self._sock, self._addr = sock, addr

    def _send_bytes(self, data: bytes) -> None:
        if self.protocol != "udp" and self._peer_closed():
            # Otherwise sendall() would "succeed" into a dead connection.
            self._drop_socket()
        if self._sock is None:
            self._connect()
        assert self._sock is not None
        if self.protocol == "udp":
            assert self._addr is not None  # resolved with the socket, above
            self._sock.sendto(data, self._addr)
        else:
            self._sock.sendall(data)
