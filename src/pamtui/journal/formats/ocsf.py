"""``ocsf``: OCSF 1.3.0 events as JSON lines, one per access change.

Only the entries that record a change to someone's access are events; the
mapping is by journal action and, for revocations, by the revoke action's
name (``detail.action``). :data:`MAPPING_HELP` says the same for
``pamtui audit export --help``:

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
stage, approve, execute,    (any)                       skipped (counted by the CLI)
cancel, session_start,
anything else
==========================  ==========================  =====  ======================  =========

``revoked`` (the provider accepted the revocation) and ``verified`` (a fresh
check confirmed the access is gone) are separate events; they differ in
``status_code`` (the journal action) and ``status_detail``. ``severity_id``
is 1 Informational for successes, 3 Medium for ``failed`` and 4 High for
``verify_failed`` (the access is still there).

Skipped actions are pamtui's own workflow (a revocation was requested,
approved, attempted or withdrawn; an operator opened the TUI). None of them
changes anyone's access, and OCSF's IAM classes describe access changes:
emitting them as 3001/3005 events would make a SIEM count revocations that
never happened; the ``jsonl``/``cef`` exports contain every entry.

Every event validates against the OCSF 1.3.0 schema it declares (checked
by ``tests/journal/test_ocsf_schema.py`` against the schema files vendored under
``tests/data/ocsf-1.3.0``): the base event's and the class's required
attributes are filled, ``type_uid = class_uid * 100 + activity_id``,
``time`` is in milliseconds since the epoch. Two 1.3.0 details matter:
class 3005 has a single ``resource`` (the ``resources`` array arrived in
1.5.0), and its ``actor`` comes from the ``host`` profile, so 3005 events
list ``host`` in ``metadata.profiles`` (3001 defines ``actor`` itself).
``metadata.uid`` is the entry hash, ``user`` the target account (``uid`` =
the provider's account id, ``name`` when the entry records one),
``actor.user.name`` the operator; pamtui-specific fields (provider, queue
item, revoke action, reason, prev_hash) are under ``unmapped``.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from typing import Any, TextIO

from pamtui import __version__
from pamtui.journal.formats._common import (
    PRODUCT,
    VENDOR,
    ExportResult,
    epoch_ms,
    json_line,
    text,
    write_lines,
)
from pamtui.model import JournalEntry

NAME = "ocsf"
SUFFIX = "ocsf.jsonl"
HELP = "OCSF 1.3.0 events (JSON lines), access changes only: see the mapping below"

OCSF_VERSION = "1.3.0"

CATEGORY_IAM = 3
CLASS_ACCOUNT_CHANGE = 3001
CLASS_USER_ACCESS = 3005

CLASS_NAMES = {
    CLASS_ACCOUNT_CHANGE: "Account Change",
    CLASS_USER_ACCESS: "User Access Management",
}
ACTIVITY_NAMES = {
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
OCSF_OUTCOMES: dict[str, tuple[int, str, int, str, str]] = {
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
OCSF_ACTIONS = frozenset(OCSF_OUTCOMES)
"""Journal actions that become OCSF events; every other action is skipped."""

SKIP_REASON = "pamtui's own workflow, not an access change, has no OCSF event"


def _mapping_help() -> str:
    """The table above, generated from the mapping itself, for ``--help``."""
    success = sorted(a for a, o in OCSF_OUTCOMES.items() if o[0] == 1)
    failure = sorted(a for a, o in OCSF_OUTCOMES.items() if o[0] == 2)
    rows = [
        (", ".join(sorted(a for a, c in OCSF_ACCOUNT_ACTIONS.items() if c == cls)), cls)
        for cls in sorted(set(OCSF_ACCOUNT_ACTIONS.values()))
    ]
    rows.append(("any other (revoke_token, clear_sessions, ...)", OCSF_DEFAULT_CLASS))
    width = max(len(names) for names, _ in rows)
    intro = (
        f"ocsf mapping (OCSF {OCSF_VERSION}): the journal actions {' and '.join(success)} "
        f"(status Success) and {' and '.join(failure)} (status Failure) become events; "
        "the revoke action chooses the class:"
    )
    lines = textwrap.wrap(intro, 78)
    for names, (class_uid, activity_id) in rows:
        lines.append(
            f"  {names.ljust(width)}  -> {class_uid} {CLASS_NAMES[class_uid]}: "
            f"{ACTIVITY_NAMES[(class_uid, activity_id)]}"
        )
    outro = (
        "Every other journal action (stage, approve, execute, cancel, session_start, "
        f"...) is skipped: {SKIP_REASON}. The number skipped, by action, is printed; "
        "the jsonl and cef formats contain every entry."
    )
    return "\n".join([*lines, *textwrap.wrap(outro, 78)])


MAPPING_HELP = _mapping_help()


def ocsf_class(entry: JournalEntry) -> tuple[int, int] | None:
    """``(class_uid, activity_id)`` for an entry, or None if it is not exported."""
    if entry.action not in OCSF_OUTCOMES:
        return None
    return OCSF_ACCOUNT_ACTIONS.get(str(entry.detail.get("action", "")), OCSF_DEFAULT_CLASS)


def _target(entry: JournalEntry) -> tuple[str, str, str]:
    """(account id, target kind, target id), falling back to the subject."""
    detail = entry.detail
    kind, sep, target_id = entry.subject.partition(":")
    if not sep:
        kind, target_id = "", entry.subject
    kind = text(detail.get("target_kind")) or kind
    target_id = text(detail.get("target_id")) or target_id
    account_id = text(detail.get("account_id"))
    if not account_id:
        account_id = target_id if kind == "account" and target_id else "unknown"
    return account_id, kind, target_id


def to_ocsf(entry: JournalEntry) -> dict[str, Any] | None:
    """The entry as an OCSF event, or None for actions OCSF does not get (see above)."""
    mapped = ocsf_class(entry)
    if mapped is None:
        return None
    class_uid, activity_id = mapped
    status_id, status, severity_id, severity, status_detail = OCSF_OUTCOMES[entry.action]
    detail = entry.detail
    account_id, kind, target_id = _target(entry)
    revoke_action = text(detail.get("action"))
    label = text(detail.get("label"))
    error = text(detail.get("error"))
    if error:
        status_detail = error
    class_name = CLASS_NAMES[class_uid]
    activity_name = ACTIVITY_NAMES[(class_uid, activity_id)]
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
    if class_uid == CLASS_USER_ACCESS:
        # In 1.3.0 class 3005 gets ``actor`` only through the host profile.
        metadata["profiles"] = ["host"]
    item = detail.get("item")
    if item is not None:
        metadata["correlation_uid"] = f"pamtui-item-{item}"
    user: dict[str, Any] = {"uid": account_id}
    account_name = text(detail.get("account_name"))
    if account_name:
        user["name"] = account_name
    event: dict[str, Any] = {
        "category_uid": CATEGORY_IAM,
        "category_name": "Identity & Access Management",
        "class_uid": class_uid,
        "class_name": class_name,
        "activity_id": activity_id,
        "activity_name": activity_name,
        "type_uid": class_uid * 100 + activity_id,
        "type_name": f"{class_name}: {activity_name}",
        "time": epoch_ms(entry.ts),
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
        "user": user,
    }
    unmapped = {
        "provider": entry.provider,
        "subject": entry.subject,
        "item": item,
        "revoke_action": revoke_action,
        "target_kind": kind,
        "target_id": target_id,
        "reason": text(detail.get("reason")),
        "prev_hash": entry.prev_hash,
    }
    event["unmapped"] = {k: v for k, v in unmapped.items() if v not in (None, "")}
    if class_uid == CLASS_USER_ACCESS:
        event["privileges"] = [entry.subject or target_id or "unknown"]
        if target_id:
            resource: dict[str, Any] = {"uid": target_id, "type": kind or "unknown"}
            if label:
                resource["name"] = label
            event["resource"] = resource
    return event


def to_line(entry: JournalEntry) -> str | None:
    event = to_ocsf(entry)
    return None if event is None else json_line(event)


def write(entries: Iterable[JournalEntry], out: TextIO) -> ExportResult:
    return write_lines(entries, out, to_line)
