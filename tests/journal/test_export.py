"""Journal exports (jsonl, csv, OCSF, CEF) and live syslog forwarding, on real journal files."""

from __future__ import annotations

import csv
import io
import json
import re
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.journal.canonical import canonical_json
from pamtui.journal.chain import GENESIS_HASH, body_text, entry_hash
from pamtui.journal.export import (
    COLUMNS,
    FORMATS,
    SyslogForwarder,
    cef_ext_escape,
    cef_header_escape,
    export,
    export_entries,
    iter_entries,
    rfc5424_message,
    to_cef,
    to_ocsf,
)
from pamtui.model import TargetKind
from pamtui.sanitize import clean
from pamtui.services.queue import RevocationQueue
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS
from tests.support.servers import free_port

FORMULA = "=cmd|' /C calc'!A0"
CEF_BREAKER = "a|b\\c=d\nnewline"
OSC_TITLE = "\x1b]0;x\x07"

# Anything a terminal or a line-based collector would act on.
RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200f]")


# -- a realistic journal -------------------------------------------------------


def _detail(item: int, action: str, target_kind: str, target_id: str, account_id: str, label: str):
    return {
        "item": item,
        "action": action,
        "label": label,
        "target_kind": target_kind,
        "target_id": target_id,
        "account_id": account_id,
        "reversible": False,
    }


def _lifecycle(
    journal: Journal,
    item: int,
    provider: str,
    action: str,
    kind: str,
    target_id: str,
    account_id: str,
    label: str,
    *,
    outcome: str = "verified",
    reason: str = "offboarding: left the company",
    operator: str = "alice",
) -> None:
    """The entries the queue writes for one item, as the queue writes them."""
    base = _detail(item, action, kind, target_id, account_id, label)
    subject = f"{kind}:{target_id}"

    def put(journal_action: str, frm: str, to: str, **extra: Any) -> None:
        journal.append(
            operator,
            journal_action,
            provider=provider,
            subject=subject,
            detail={"from": frm, "to": to, **base, **extra},
        )

    journal.append(
        operator,
        "stage",
        provider=provider,
        subject=subject,
        detail={"plan": "abc123", "reason": reason, "idempotency_key": f"abc-{item}", **base},
    )
    put("approve", "staged", "approved")
    put("execute", "approved", "executing", attempt=1, idempotency_key=f"abc-{item}")
    if outcome == "failed":
        put("failed", "executing", "failed", error=f"HTTP 403: {FORMULA}", provider_response={})
        return
    put(
        "revoked",
        "executing",
        "revoked",
        already_done=False,
        provider_detail="",
        provider_response={"status": 204, "body": CEF_BREAKER},
    )
    if outcome == "verify_failed":
        put(
            "verify_failed",
            "revoked",
            "failed",
            error="VERIFICATION FAILED: the access is still there (active)",
            provider_response={"status": "ACTIVE"},
        )
    else:
        put("verified", "revoked", "verified", provider_detail="revoked", provider_response={})


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal.open(tmp_path / "j.db")
    yield j
    j.close()


@pytest.fixture
def filled(journal: Journal) -> Journal:
    journal.append("alice", "session_start", detail={"interface": "tui", "read_only": False})
    _lifecycle(journal, 1, "okta", "revoke_token", "credential", "tok-1", "u1", "Revoke token ci")
    _lifecycle(journal, 2, "okta", "clear_sessions", "account", "u1", "u1", "Clear sessions")
    _lifecycle(journal, 3, "okta", "suspend_account", "account", "u1", "u1", "Suspend user")
    _lifecycle(journal, 4, "okta", "deactivate_account", "account", "u1", "u1", "Deactivate")
    _lifecycle(journal, 5, "aws", "delete_account", "account", "u9", "u9", "Delete IAM user")
    _lifecycle(journal, 6, "github", "remove_member", "account", "u2", "u2", "Remove from org")
    _lifecycle(journal, 7, "aws", "deactivate_access_key", "credential", "AKIA1", "u9", "Key")
    _lifecycle(journal, 8, "aws", "delete_login_profile", "account", "u9", "u9", "Console pw")
    _lifecycle(journal, 9, "idp", "end_session", "credential", "s-1", "u3", "End session")
    # Hostile text in every field that comes from outside or from an operator.
    _lifecycle(
        journal,
        10,
        "git|hub",
        "delete_access_key",
        "credential",
        CEF_BREAKER,
        FORMULA,
        OSC_TITLE + " label",
        reason=FORMULA,
        operator=FORMULA,
    )
    _lifecycle(
        journal,
        11,
        "okta",
        "revoke_token",
        "credential",
        "tok-2",
        OSC_TITLE,
        CEF_BREAKER,
        outcome="failed",
        reason="+SUM(A1:A9)",
        operator="@evil",
    )
    _lifecycle(
        journal,
        12,
        "okta",
        "deactivate_account",
        "account",
        "u5",
        "u5",
        "-2+3",
        outcome="verify_failed",
        operator="\tbob",
    )
    for n, text in enumerate(HOSTILE_STRINGS):
        _lifecycle(journal, 100 + n, "demo", "revoke_token", "credential", f"h{n}", text, text)
    journal.append(
        "carol",
        "cancel",
        provider="okta",
        subject="credential:tok-9",
        detail={"item": 13, "why": "\rduplicate", "action": "revoke_token"},
    )
    return journal


def _all(journal: Journal):
    return list(iter_entries(journal, page_size=7))


def _export(journal: Journal, fmt: str, **kw: Any) -> tuple[int, str]:
    out = io.StringIO(newline="")
    count = export(journal, fmt, out, **kw)
    return count, out.getvalue()


def test_formats_and_unknown_format(filled: Journal) -> None:
    assert set(FORMATS) == {"jsonl", "csv", "ocsf", "cef"}
    with pytest.raises(ValueError, match="unknown export format"):
        export(filled, "xml", io.StringIO())


# -- paging ------------------------------------------------------------------


def test_export_pages_through_the_journal_in_order(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    with journal.transaction() as tx:
        for i in range(2500):
            tx.append("alice", "stage", provider="p", subject=f"credential:t{i}", detail={"n": i})
    calls: list[tuple[int, int | None, bool]] = []
    real = journal.entries

    def spy(filt=None, **kw):
        calls.append((kw["limit"], kw.get("after_seq"), kw.get("newest_first", True)))
        return real(filt, **kw)

    monkeypatch.setattr(journal, "entries", spy)
    count, text = _export(journal, "jsonl", page_size=1000)
    assert count == 2500
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 2501))
    assert [r["detail"]["n"] for r in records] == list(range(2500))
    # Keyset paging, oldest first, never more than a page at a time.
    assert calls == [(1000, None, False), (1000, 1000, False), (1000, 2000, False)]

    calls.clear()
    count, text = _export(journal, "csv", page_size=1000)
    assert count == 2500
    assert len(list(csv.reader(io.StringIO(text)))) == 2501
    assert len(calls) == 3


def test_export_honours_the_filter(filled: Journal) -> None:
    filt = EntryFilter(action="verified")
    count, text = _export(filled, "jsonl", filt=filt, page_size=3)
    assert count == filled.count(filt) > 3
    assert {json.loads(line)["action"] for line in text.splitlines()} == {"verified"}


def test_empty_journal_exports_nothing(journal: Journal) -> None:
    for fmt in FORMATS:
        count, text = _export(journal, fmt)
        assert count == 0
        assert text == ("" if fmt != "csv" else '"' + '","'.join(COLUMNS) + '"\r\n')


# -- jsonl ---------------------------------------------------------------------


def _verify_export(lines: list[str]) -> int:
    """Re-verify the hash chain from a jsonl export alone; return the entry count."""
    prev = GENESIS_HASH
    for n, line in enumerate(lines, start=1):
        record = json.loads(line)
        assert set(record) == set(COLUMNS)
        assert record["seq"] == n
        assert record["prev_hash"] == prev, f"entry {n} does not follow {n - 1}"
        body = body_text(
            seq=record["seq"],
            ts=record["ts"],
            actor=record["actor"],
            action=record["action"],
            provider=record["provider"],
            subject=record["subject"],
            detail_json=canonical_json(record["detail"]),
            prev_hash=record["prev_hash"],
        )
        assert entry_hash(prev, body) == record["hash"], f"entry {n} was edited"
        prev = record["hash"]
    return len(lines)


def test_jsonl_round_trips_and_the_chain_verifies_from_the_export(filled: Journal) -> None:
    count, text = _export(filled, "jsonl", page_size=5)
    lines = text.split("\n")
    assert lines.pop() == ""  # newline-terminated
    assert count == len(lines) == filled.count()
    assert _verify_export(lines) == count
    assert json.loads(lines[-1])["hash"] == filled.head().hash
    # Every column and every hostile string survives exactly.
    for line, entry in zip(lines, _all(filled), strict=True):
        record = json.loads(line)
        assert record == {
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
        # ...as data: ASCII-only lines, nothing raw for a terminal.
        assert line.isascii() and not RAW_CONTROL.search(line)
    assert FORMULA in text and "\\u001b]0;x\\u0007" in text


def test_a_tampered_jsonl_export_does_not_verify(filled: Journal) -> None:
    _, text = _export(filled, "jsonl")
    lines = text.splitlines()
    record = json.loads(lines[5])
    record["actor"] = "mallory"
    lines[5] = json.dumps(record)
    with pytest.raises(AssertionError, match="entry 6 was edited"):
        _verify_export(lines)


# -- csv -----------------------------------------------------------------------

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")


def test_csv_parses_and_neutralises_formulas(filled: Journal) -> None:
    count, text = _export(filled, "csv", page_size=4)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == list(COLUMNS)
    assert count == len(rows) - 1 == filled.count()
    for row, entry in zip(rows[1:], _all(filled), strict=True):
        assert len(row) == len(COLUMNS)
        for cell in row:
            assert not cell.startswith(DANGEROUS_START), cell
        record = dict(zip(COLUMNS, row, strict=True))
        assert int(record["seq"]) == entry.seq
        assert record["hash"] == entry.hash and record["prev_hash"] == entry.prev_hash
        # detail is the canonical JSON text that was hashed.
        assert record["detail"] == canonical_json(entry.detail)
        assert json.loads(record["detail"]) == entry.detail
        for column in ("actor", "provider", "subject"):
            original = getattr(entry, column)
            expected = "'" + original if original.startswith(DANGEROUS_START) else original
            assert record[column] == expected
    actors = {row[2] for row in rows[1:]}
    assert "'" + FORMULA in actors and "'@evil" in actors and "'\tbob" in actors
    # Embedded newlines and pipes stay inside their quoted cell.
    assert any(row[5] == "credential:" + CEF_BREAKER for row in rows[1:])


# -- OCSF ------------------------------------------------------------------------

# From the OCSF 1.3.0 schema: events/base_event.json, events/iam/iam.json,
# events/iam/user_access.json, events/iam/account_change.json, objects/metadata.json,
# objects/product.json, objects/user.json, objects/actor.json, dictionary.json.
OCSF_BASE_REQUIRED = {
    "activity_id",
    "category_uid",
    "class_uid",
    "metadata",
    "severity_id",
    "time",
    "type_uid",
}
OCSF_CLASSES: dict[int, dict[str, Any]] = {
    3001: {
        "name": "Account Change",
        "category_uid": 3,
        "required": {"user"},
        "activities": {
            0: "Unknown",
            1: "Create",
            2: "Enable",
            3: "Password Change",
            4: "Password Reset",
            5: "Disable",
            6: "Delete",
            7: "Attach Policy",
            8: "Detach Policy",
            9: "Lock",
            10: "MFA Factor Enable",
            11: "MFA Factor Disable",
            99: "Other",
        },
    },
    3005: {
        "name": "User Access Management",
        "category_uid": 3,
        "required": {"user", "privileges"},
        "activities": {0: "Unknown", 1: "Assign Privileges", 2: "Revoke Privileges", 99: "Other"},
    },
}
OCSF_SEVERITY = {
    0: "Unknown",
    1: "Informational",
    2: "Low",
    3: "Medium",
    4: "High",
    5: "Critical",
    6: "Fatal",
    99: "Other",
}
OCSF_STATUS = {0: "Unknown", 1: "Success", 2: "Failure", 99: "Other"}
USER_AT_LEAST_ONE = {"account", "name", "uid"}
ACTOR_AT_LEAST_ONE = {"process", "user", "invoked_by", "session", "app_name", "app_uid"}


def validate_ocsf(event: dict[str, Any]) -> None:
    missing = OCSF_BASE_REQUIRED - event.keys()
    assert not missing, f"base event attributes missing: {missing}"
    cls = OCSF_CLASSES.get(event["class_uid"])
    assert cls is not None, f"unexpected class {event['class_uid']}"
    missing = cls["required"] - event.keys()
    assert not missing, f"class {event['class_uid']} attributes missing: {missing}"
    assert event["category_uid"] == cls["category_uid"]
    assert event["activity_id"] in cls["activities"]
    assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
    if "activity_name" in event:
        assert event["activity_name"] == cls["activities"][event["activity_id"]]
    if "class_name" in event:
        assert event["class_name"] == cls["name"]
    assert event["severity_id"] in OCSF_SEVERITY
    if "severity" in event:
        assert event["severity"] == OCSF_SEVERITY[event["severity_id"]]
    if "status_id" in event:
        assert event["status_id"] in OCSF_STATUS
        if "status" in event:
            assert event["status"] == OCSF_STATUS[event["status_id"]]
    # time is a timestamp_t: integer milliseconds since the epoch, after 2001.
    assert isinstance(event["time"], int) and event["time"] > 1_000_000_000_000
    metadata = event["metadata"]
    assert re.fullmatch(r"1\.\d+\.\d+", metadata["version"])
    product = metadata["product"]
    assert isinstance(product.get("name"), str) and product["name"]
    assert isinstance(product.get("vendor_name"), str) and product["vendor_name"]
    user = event["user"]
    assert USER_AT_LEAST_ONE & {k for k, v in user.items() if v not in (None, "")}
    if "actor" in event:
        assert ACTOR_AT_LEAST_ONE & event["actor"].keys()
    if event["class_uid"] == 3005:
        privileges = event["privileges"]
        assert isinstance(privileges, list) and privileges
        assert all(isinstance(p, str) and p for p in privileges)


EXPECTED_OCSF = {
    "revoke_token": (3005, 2),
    "clear_sessions": (3005, 2),
    "end_session": (3005, 2),
    "remove_member": (3005, 2),
    "deactivate_access_key": (3005, 2),
    "delete_access_key": (3005, 2),
    "delete_login_profile": (3005, 2),
    "suspend_account": (3001, 5),
    "deactivate_account": (3001, 5),
    "delete_account": (3001, 6),
}


def test_ocsf_events_validate_and_map_as_documented(filled: Journal) -> None:
    count, text = _export(filled, "ocsf", page_size=6)
    lines = text.splitlines()
    assert count == len(lines)
    entries = {e.hash: e for e in _all(filled)}
    mapped = [
        e
        for e in entries.values()
        if e.action in {"revoked", "verified", "failed", "verify_failed"}
    ]
    assert count == len(mapped)
    seen_classes = set()
    for line in lines:
        assert line.isascii() and not RAW_CONTROL.search(line)
        event = json.loads(line)
        validate_ocsf(event)
        entry = entries[event["metadata"]["uid"]]
        assert (event["class_uid"], event["activity_id"]) == EXPECTED_OCSF[entry.detail["action"]]
        seen_classes.add(event["class_uid"])
        assert event["actor"]["user"]["name"] == entry.actor
        assert event["user"]["uid"] == entry.detail["account_id"]
        success = entry.action in {"revoked", "verified"}
        assert event["status_id"] == (1 if success else 2)
        assert event["severity_id"] == {"verify_failed": 4, "failed": 3}.get(entry.action, 1)
        assert event["status_code"] == entry.action
        assert event["metadata"]["sequence"] == entry.seq
        assert event["metadata"]["product"]["name"] == "pamtui"
    assert seen_classes == {3001, 3005}
    # Hostile names and responses stay data: JSON round-trips them exactly.
    actors = {json.loads(line)["actor"]["user"]["name"] for line in lines}
    assert {FORMULA, "@evil", "\tbob"} <= actors
    assert OSC_TITLE in {json.loads(line)["user"]["uid"] for line in lines}


@pytest.mark.parametrize("action", ["stage", "approve", "execute", "cancel", "session_start"])
def test_ocsf_skips_workflow_entries(journal: Journal, action: str) -> None:
    entry = journal.append("alice", action, subject="credential:t1", detail={"item": 1})
    assert to_ocsf(entry) is None
    count, text = _export(journal, "ocsf")
    assert count == 0 and text == ""


def test_ocsf_unknown_plugin_action_and_sparse_detail(journal: Journal) -> None:
    entry = journal.append(
        "alice", "verified", provider="x", subject="credential:k1", detail={"action": "zap_key"}
    )
    event = to_ocsf(entry)
    validate_ocsf(event)
    assert (event["class_uid"], event["activity_id"]) == (3005, 2)
    bare = journal.append("alice", "revoked")
    validate_ocsf(to_ocsf(bare))


async def test_ocsf_validates_the_real_queue_entries(journal: Journal) -> None:
    provider = StaticProvider()
    queue = RevocationQueue(journal, {"static": provider}, "tester")
    credentials = [
        *provider.revoke_actions(provider.credentials["t-alice-1"]),
        *provider.revoke_actions(provider.credentials["t-bob-1"]),
        *provider.revoke_actions(provider.credentials["t-carol-1"]),
    ]
    account = provider.revoke_actions(provider.accounts["u2"])
    actions = [*credentials, *account]
    provider.fail_verify.add("t-bob-1")
    provider.fail_revoke["t-carol-1"] = 'HTTP 500 =HYPERLINK("http://x")'
    # Two plans: in one, the failed credential steps would hold the account's back.
    items = [
        *queue.stage(credentials, "offboarding", approve=True),
        *queue.stage(account, "offboarding", approve=True),
    ]
    await queue.run([item.id for item in items])
    actions_seen = {e.action for e in iter_entries(journal)}
    assert {"verified", "verify_failed", "failed"} <= actions_seen
    count, text = _export(journal, "ocsf")
    events = [json.loads(line) for line in text.splitlines()]
    assert count == len(events) > 0
    for event in events:
        validate_ocsf(event)
    kinds = {(e["class_uid"], e["activity_id"], e["status_id"]) for e in events}
    assert (3005, 2, 1) in kinds and (3005, 2, 2) in kinds and (3001, 5, 1) in kinds
    assert any(a.target_kind is TargetKind.ACCOUNT for a in actions)


# -- CEF -----------------------------------------------------------------------


def _split_unescaped(text: str, sep: str, maxsplit: int) -> tuple[list[str], str]:
    """Split the CEF header on unescaped ``sep``; unescape ``\\|`` and ``\\\\``."""
    fields: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(text) and len(fields) < maxsplit:
        char = text[i]
        if char == "\\":
            nxt = text[i + 1]
            assert nxt in "\\|", f"bad header escape \\{nxt}"
            current.append(nxt)
            i += 2
            continue
        if char == sep:
            fields.append("".join(current))
            current = []
        else:
            current.append(char)
        i += 1
    return fields, text[i:]


_EXT_UNESCAPE = {"\\": "\\", "=": "=", "n": "\n", "r": "\r"}


def _unescape_ext(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "\\":
            nxt = value[i + 1]
            assert nxt in _EXT_UNESCAPE, f"bad extension escape \\{nxt}"
            out.append(_EXT_UNESCAPE[nxt])
            i += 2
        else:
            assert value[i] != "=", "unescaped = in a value"
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    assert line.startswith("CEF:0|")
    header, extension = _split_unescaped(line, "|", 7)
    assert len(header) == 7
    # Split at the '=' signs not preceded by an odd number of backslashes.
    cuts = [
        m.start()
        for m in re.finditer("=", extension)
        if (len(extension[: m.start()]) - len(extension[: m.start()].rstrip("\\"))) % 2 == 0
    ]
    pieces = []
    start = 0
    for cut in cuts:
        pieces.append(extension[start:cut])
        start = cut + 1
    pieces.append(extension[start:])
    ext: dict[str, str] = {}
    key = pieces[0]
    for piece in pieces[1:-1]:
        value, _, next_key = piece.rpartition(" ")
        assert re.fullmatch(r"[A-Za-z0-9_]+", key), key
        assert key not in ext, f"duplicate key {key}"
        ext[key] = _unescape_ext(value)
        key = next_key
    assert re.fullmatch(r"[A-Za-z0-9_]+", key), key
    ext[key] = _unescape_ext(pieces[-1])
    return header, ext


def _ms(ts: str) -> int:
    when = datetime.fromisoformat(ts)
    return (when - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def _visible(text: str) -> str:
    """What the exporter shows for controls other than CR/LF (pamtui.sanitize)."""
    return "".join(ch if ch in "\r\n" else clean(ch, None) for ch in text)


def test_cef_lines_parse_back_with_correct_escaping(filled: Journal) -> None:
    count, text = _export(filled, "cef", page_size=9)
    lines = text.split("\n")
    assert lines.pop() == ""
    assert count == len(lines) == filled.count()
    for line, entry in zip(lines, _all(filled), strict=True):
        assert not RAW_CONTROL.search(line), repr(line)
        header, ext = parse_cef(line)
        version, vendor, product, dev_version, signature, name, severity = header
        assert (version, vendor, product) == ("CEF:0", "pamtui", "pamtui")
        assert dev_version
        assert 0 <= int(severity) <= 10
        revoke_action = entry.detail.get("action")
        assert signature == (f"{entry.action}:{revoke_action}" if revoke_action else entry.action)
        label = entry.detail.get("label")
        if label:
            # Header fields: pipes and backslashes round-trip, line breaks never appear.
            assert name.endswith(": " + _visible(label).replace("\n", "␊").replace("\r", "␍"))
        assert int(ext["rt"]) == _ms(entry.ts)
        assert ext["externalId"] == str(entry.seq)
        assert ext["cat"] == entry.action
        assert ext["suser"] == _visible(entry.actor)
        assert ext["cs1Label"] == "provider" and ext["cs1"] == _visible(entry.provider)
        assert ext["cs2Label"] == "subject" and ext["cs2"] == _visible(entry.subject)
        assert ext["cs3"] == entry.hash and ext["cs4"] == entry.prev_hash
        if entry.detail.get("account_id"):
            # CEF's dictionary: duid is destinationUserId, duser destinationUserName.
            assert ext["duid"] == _visible(entry.detail["account_id"])
        # The queue records no account name, and an id is not a name.
        assert "duser" not in ext
        if entry.action in {"revoked", "verified"}:
            assert ext["outcome"] == "success"
        elif entry.action in {"failed", "verify_failed"}:
            assert ext["outcome"] == "failure"
        else:
            assert "outcome" not in ext
        if revoke_action:
            assert ext["act"] == revoke_action
    # The hostile strings specifically.
    hostile = [parse_cef(line) for line in lines if "delete_access_key" in line]
    assert hostile
    for header, ext in hostile:
        assert ext["suser"] == FORMULA
        assert ext["duid"] == FORMULA
        assert ext["cs1"] == "git|hub"  # pipes need no escape in extensions
        assert ext["cs2"] == "credential:" + CEF_BREAKER  # \, = and LF round-trip
        assert ext["msg"].startswith("␛]0;x␇ label")
        assert header[5].endswith("␛]0;x␇ label")
    raw = next(line for line in lines if "delete_access_key" in line)
    assert "cs2=credential:a|b\\\\c\\=d\\nnewline " in raw
    assert "|git\\|hub" not in raw  # the provider is not a header field


def test_cef_header_escaping() -> None:
    assert cef_header_escape("a|b\\c=d\nnewline") == "a\\|b\\\\c=d␊newline"
    assert cef_ext_escape("a|b\\c=d\nnewline\r\n") == "a|b\\\\c\\=d\\nnewline\\n"
    assert cef_ext_escape("x\ty\x1b\u202e") == "x␉y␛<U+202E>"


# -- syslog ----------------------------------------------------------------------

RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>[\x21-\x7e]{1,255}) (?P<app>[\x21-\x7e]{1,48}) "
    r"(?P<procid>[\x21-\x7e]{1,128}) (?P<msgid>[\x21-\x7e]{1,32}) (?P<rest>.*)",
    re.DOTALL,
)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{1,6}Z")


def parse_rfc5424(data: bytes) -> dict[str, Any]:
    text = data.decode("utf-8")
    match = RFC5424.fullmatch(text)
    assert match, text[:200]
    rest = match["rest"]
    assert rest.startswith("[")
    # One SD-ELEMENT: scan to the first ']' outside a quoted, escaped value.
    params: dict[str, str] = {}
    i = 1
    sd_id_end = rest.index(" ", i)
    sd_id = rest[i:sd_id_end]
    i = sd_id_end
    while rest[i] == " ":
        eq = rest.index("=", i)
        name = rest[i + 1 : eq]
        assert re.fullmatch(r"[\x21-\x7e]{1,32}", name) and not set(name) & set('= ]"'), name
        assert rest[eq + 1] == '"'
        j = eq + 2
        value: list[str] = []
        while rest[j] != '"':
            if rest[j] == "\\":
                assert rest[j + 1] in '"\\]'
                value.append(rest[j + 1])
                j += 2
            else:
                assert rest[j] != "]", "unescaped ] in a PARAM-VALUE"
                value.append(rest[j])
                j += 1
        params[name] = "".join(value)
        i = j + 1
    assert rest[i] == "]"
    assert rest[i + 1] == " "
    msg = rest[i + 2 :]
    return {**match.groupdict(), "sd_id": sd_id, "params": params, "msg": msg}


def _check_message(data: bytes, entry) -> None:
    parsed = parse_rfc5424(data)
    severity = {"verify_failed": 2, "failed": 3, "revoked": 5, "verified": 5}.get(entry.action, 6)
    assert int(parsed["pri"]) == 10 * 8 + severity
    assert TIMESTAMP.fullmatch(parsed["ts"]) and parsed["ts"] == entry.ts
    assert parsed["app"] == "pamtui"
    assert parsed["msgid"] == entry.action
    assert parsed["sd_id"] == "pamtui@32473"
    params = parsed["params"]
    assert params["seq"] == str(entry.seq) and params["hash"] == entry.hash
    assert not RAW_CONTROL.search(data.decode("utf-8"))
    record = json.loads(parsed["msg"])
    assert record["hash"] == entry.hash and record["detail"] == entry.detail
    assert record["actor"] == entry.actor


def test_syslog_udp_delivers_rfc5424(filled: Journal) -> None:
    entries = [e for e in _all(filled) if e.actor in (FORMULA, "@evil")][:6]
    entries.append(next(e for e in _all(filled) if e.action == "verify_failed"))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        server.settimeout(5)
        port = server.getsockname()[1]
        with SyslogForwarder("127.0.0.1", port, "udp") as forwarder:
            for entry in entries:
                assert forwarder.send(entry) is True
        received = [server.recv(65535) for _ in entries]
    for data, entry in zip(received, entries, strict=True):
        _check_message(data, entry)
    assert forwarder.sent == len(entries) and forwarder.failed == 0


def _read_exactly(conn: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def _octet_counted(conn: socket.socket) -> list[bytes]:
    """Read RFC 6587 octet-counted frames until the peer closes."""
    frames = []
    while True:
        digits = b""
        while True:
            char = conn.recv(1)
            if not char:
                assert digits == b"", "connection closed mid-frame"
                return frames
            if char == b" ":
                break
            assert char.isdigit() and len(digits) < 8
            digits += char
        assert digits and not digits.startswith(b"0")
        frames.append(_read_exactly(conn, int(digits)))


def test_syslog_tcp_octet_counting_and_reconnect(filled: Journal) -> None:
    entries = [e for e in _all(filled) if e.action in {"verified", "failed"}][:5]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(2)
    server.settimeout(5)
    port = server.getsockname()[1]
    connections: list[list[bytes]] = []
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            # First connection: take one message, then hang up on the client.
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                digits = b""
                while (char := conn.recv(1)) != b" ":
                    digits += char
                connections.append([_read_exactly(conn, int(digits))])
            # Second connection: everything else until the client closes.
            conn, _ = server.accept()
            with conn:
                conn.settimeout(5)
                connections.append(_octet_counted(conn))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with SyslogForwarder("127.0.0.1", port, "tcp", timeout=2) as forwarder:
            assert forwarder.send(entries[0])
            deadline = time.monotonic() + 5
            while len(connections) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)  # let the server's FIN arrive
            for entry in entries[1:]:
                assert forwarder.send(entry), forwarder.last_error
        thread.join(timeout=10)
    finally:
        server.close()
    assert not thread.is_alive()
    assert not errors, errors
    assert [len(c) for c in connections] == [1, len(entries) - 1]
    frames = [frame for conn in connections for frame in conn]
    for data, entry in zip(frames, entries, strict=True):
        _check_message(data, entry)


def test_syslog_to_a_closed_port_never_raises(filled: Journal) -> None:
    entry = _all(filled)[-1]
    port = free_port()
    forwarder = SyslogForwarder("127.0.0.1", port, "tcp", timeout=1, retry_after=60)
    started = time.monotonic()
    assert forwarder.send(entry) is False
    assert forwarder.send(entry) is False  # backing off: no new attempt
    assert time.monotonic() - started < 3
    assert forwarder.failed == 2 and forwarder.sent == 0
    assert str(port) in forwarder.last_error
    forwarder.close()

    udp = SyslogForwarder("127.0.0.1", port, "udp", timeout=1)
    for _ in range(3):
        assert udp.send(entry) in (True, False)  # ICMP refusals are not errors to the caller
    udp.close()


def test_syslog_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        SyslogForwarder("127.0.0.1", 514, "sctp")
    with pytest.raises(ValueError):
        SyslogForwarder("127.0.0.1", 0)


def test_syslog_udp_messages_stay_under_the_size_limit(journal: Journal) -> None:
    entry = journal.append(
        "alice",
        "verified",
        subject="credential:t1",
        detail={"action": "revoke_token", "item": 1, "provider_response": {"body": "x" * 20000}},
    )
    message = rfc5424_message(entry, hostname="h", procid="1", max_bytes=2048)
    assert len(message) <= 2048
    record = json.loads(parse_rfc5424(message)["msg"])
    assert record["detail"] == {"action": "revoke_token", "item": 1, "truncated": True}
    assert record["hash"] == entry.hash


def test_syslog_header_fields_are_sanitised(journal: Journal) -> None:
    entry = journal.append("a b", "weird action\n", detail={"label": OSC_TITLE})
    message = rfc5424_message(entry, app_name="pam tui", hostname="host\x1bname", procid="7")
    parsed = parse_rfc5424(message)
    assert parsed["app"] == "pam_tui" and parsed["host"] == "host_name"
    assert parsed["msgid"] == "weird_action_"
    assert parsed["params"]["actor"] == "a b"
    assert to_cef(entry).count("\n") == 0


# -- the registry ------------------------------------------------------------------


def test_a_new_format_is_one_module_and_one_registry_line(
    filled: Journal, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys
) -> None:
    """The CLI's choices and help, suffixes and the writer all come from FORMATS."""
    from pamtui.cli import main
    from pamtui.journal.formats import FORMATS, ExportFormat, ExportResult, write_lines
    from pamtui.services.audit import default_export_path

    def write(entries, out) -> ExportResult:
        return write_lines(entries, out, lambda e: f"{e.seq} {e.action}" if e.seq % 2 else None)

    monkeypatch.setitem(
        FORMATS,
        "seqs",
        ExportFormat("seqs", "seq.txt", "odd entries' seq and action", write, "even seq"),
    )
    assert default_export_path("seqs").name.endswith(".seq.txt")
    with pytest.raises(SystemExit):
        main(["audit", "export", "--help"])
    help_text = capsys.readouterr().out
    assert "{jsonl,csv,ocsf,cef,seqs}" in help_text
    assert "seqs   odd entries' seq and action" in help_text
    out = tmp_path / "x.seq.txt"
    code = main(
        ["audit", "export", "--db", str(filled.path), "--format", "seqs", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    assert code == 0
    total = filled.count()
    lines = out.read_text().splitlines()
    assert len(lines) == (total + 1) // 2 and lines[0] == "1 session_start"
    assert f"exported {len(lines)} entries (seqs) to {out}; skipped {total // 2} (" in printed
    assert printed.rstrip().endswith(": even seq")


def test_the_export_result_counts_skipped_entries_by_action(filled: Journal) -> None:
    result = export_entries(filled, "ocsf", io.StringIO())
    by_action = Counter(e.action for e in _all(filled))
    events = sum(by_action[a] for a in ("revoked", "verified", "failed", "verify_failed"))
    assert result.written == events
    assert dict(result.skipped) == {
        a: n
        for a, n in by_action.items()
        if a not in ("revoked", "verified", "failed", "verify_failed")
    }
    assert result.skipped_total + result.written == filled.count()
    for fmt in ("jsonl", "csv", "cef"):
        result = export_entries(filled, fmt, io.StringIO(newline=""))
        assert result.written == filled.count() and result.skipped_total == 0
