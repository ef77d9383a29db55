"""``cef``: ArcSight CEF:0 lines, one per entry (every journal action).

``CEF:0|pamtui|pamtui|VERSION|<action>[:<revoke action>]|<name>|<severity>|<extensions>``.
Header fields escape ``\\`` and ``|``; extension values escape ``\\``, ``=``,
CR (``\\r``) and LF (``\\n``). Other control characters (ESC, BEL, TAB, C1)
and bidi overrides are replaced by visible stand-ins (``␛``, ``<U+202E>``)
as in :mod:`pamtui.sanitize`, and header fields get no line breaks at all.

Extensions, named as in the CEF extension dictionary: ``rt`` (ms epoch),
``externalId`` (seq), ``cat`` (journal action), ``act`` (revoke action),
``outcome``, ``suser`` (the operator: sourceUserName), ``duid`` (the target
account's id: destinationUserId), ``duser`` (the target account's name,
destinationUserName, only when the entry records one: an id is not a name),
``msg``, ``reason``, ``cn1`` queue item, ``cs1`` provider, ``cs2`` subject,
``cs3`` hash, ``cs4`` prev_hash, ``cs5`` detail JSON, each ``csN`` with its
``csNLabel``. Values are cut to the dictionary's lengths (1023 for ``duid``,
``duser``, ``msg`` and ``reason``; 4000 for ``csN``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TextIO

from pamtui import __version__
from pamtui.journal.canonical import canonical_json
from pamtui.journal.formats._common import (
    PRODUCT,
    VENDOR,
    ExportResult,
    defang,
    epoch_ms,
    text,
    truncate,
    write_lines,
)
from pamtui.model import JournalEntry

NAME = "cef"
SUFFIX = "cef.log"
HELP = "ArcSight CEF:0 lines, every entry (duid = account id, duser = account name)"

CEF_SEVERITY = {"verify_failed": 9, "failed": 7, "revoked": 5, "verified": 5}
CEF_OUTCOME = {
    "revoked": "success",
    "verified": "success",
    "failed": "failure",
    "verify_failed": "failure",
}
CEF_TITLES = {
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
    field = defang(text(value), keep_newlines=False)
    return field.replace("\\", "\\\\").replace("|", "\\|")


def cef_ext_escape(value: Any) -> str:
    """A CEF extension value: ``\\``, ``=``, CR and LF escaped, other controls visible."""
    field = defang(text(value), keep_newlines=True)
    return (
        field.replace("\\", "\\\\")
        .replace("=", "\\=")
        .replace("\r\n", "\\n")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def to_cef(entry: JournalEntry) -> str:
    """One CEF:0 line (without the newline) for any journal entry."""
    detail = entry.detail
    revoke_action = text(detail.get("action"))
    label = text(detail.get("label"))
    error = text(detail.get("error"))
    signature = f"{entry.action}:{revoke_action}" if revoke_action else entry.action
    title = CEF_TITLES.get(entry.action, entry.action)
    name = f"{title}: {label}" if label else title
    message = f"{label} \u2014 {error}" if label and error else (label or error)
    header = [
        "CEF:0",
        cef_header_escape(VENDOR),
        cef_header_escape(PRODUCT),
        cef_header_escape(__version__),
        cef_header_escape(truncate(signature, 1023)),
        cef_header_escape(truncate(name, 512)),
        str(CEF_SEVERITY.get(entry.action, 3)),
    ]
    account_id = text(detail.get("account_id"))
    account_name = text(detail.get("account_name"))
    pairs: list[tuple[str, Any]] = [
        ("rt", epoch_ms(entry.ts)),
        ("externalId", entry.seq),
        ("cat", entry.action),
    ]
    if revoke_action:
        pairs.append(("act", revoke_action))
    if entry.action in CEF_OUTCOME:
        pairs.append(("outcome", CEF_OUTCOME[entry.action]))
    pairs.append(("suser", entry.actor))
    if account_id:
        pairs.append(("duid", truncate(account_id, 1023)))
    if account_name:
        pairs.append(("duser", truncate(account_name, 1023)))
    if message:
        pairs.append(("msg", truncate(message, 1023)))
    reason = text(detail.get("reason"))
    if reason:
        pairs.append(("reason", truncate(reason, 1023)))
    if isinstance(detail.get("item"), int):
        pairs += [("cn1Label", "queueItem"), ("cn1", detail["item"])]
    pairs += [
        ("cs1Label", "provider"),
        ("cs1", entry.provider),
        ("cs2Label", "subject"),
        ("cs2", truncate(entry.subject, 4000)),
        ("cs3Label", "entryHash"),
        ("cs3", entry.hash),
        ("cs4Label", "prevHash"),
        ("cs4", entry.prev_hash),
        ("cs5Label", "detail"),
        ("cs5", truncate(canonical_json(detail), 4000)),
    ]
    extension = " ".join(f"{key}={cef_ext_escape(value)}" for key, value in pairs)
    return "|".join(header) + "|" + extension


def write(entries: Iterable[JournalEntry], out: TextIO) -> ExportResult:
    return write_lines(entries, out, to_cef)
