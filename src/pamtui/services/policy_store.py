"""The operator policy recorded with the data: four eyes, TOTP step-up, read-only.

Before this module those three guardrails came from whichever config file a
command was given, so ``pamtui --config lax.toml revoke ... --yes`` against a
shared database skipped four eyes and step-up. Now the database holds the
policy (the ``policy`` table, one row a key) and the journal holds every
change to it (a ``operator_policy_change`` entry: actor, ``before`` and ``after`` as the lists of
keys that are on, and ``source``):

- a config that asks for *less* than the recorded policy is refused, in one
  line that names the recorded policy (exit 2): :func:`effective_config`;
- a config that asks for *more* ``require_totp`` or
  ``four_eyes_for_privileged`` tightens the recorded policy, journalled
  (policy only ratchets up without a step-up). A config's ``read_only`` is
  that operator's own choice: it makes that session read-only and is not
  recorded, so an auditor's config cannot freeze the database for everyone;
- only :func:`change` (``pamtui policy set``, stepped up by its caller)
  loosens it;
- the table is covered by the journal: its rows must equal the ``after`` of
  the last ``operator_policy_change`` entry, whose own hash must hold and link to the
  next entry. Rows edited, added or deleted with the ``sqlite3`` shell fail
  :func:`load` with "the recorded policy does not match the journal".

A database that never had a stricter policy than "all off" has no rows and
no entry: "all off" needs no record, since nothing is laxer than it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pamtui.config import Config
from pamtui.errors import EXIT_FALSE, EXIT_USAGE, PamtuiError
from pamtui.journal import Journal, JournalUnavailable, Transaction
from pamtui.journal.chain import body_text, entry_hash
from pamtui.journal.database import connect
from pamtui.journal.segments import default_archive_dir, find_archive, segment_link
from pamtui.model import Actor
from pamtui.services.roles import Act, require_in

ACTION = "operator_policy_change"
"""Not ``operator_policy_change``: that action is the sweep policies' history (policy_history.py)."""
KEYS = ("require_totp", "four_eyes_for_privileged", "read_only")
RATCHETED_BY_CONFIG = ("require_totp", "four_eyes_for_privileged")
"""Keys a stricter config tightens for everyone (read_only stays per operator)."""


class PolicyError(PamtuiError):
    """A command's config is laxer than the recorded policy, or a bad ``policy set``."""

    exit_code = EXIT_USAGE
    label = "policy"


class PolicyTampered(PolicyError):
    """The policy table does not match the journal: someone edited the database."""

    exit_code = EXIT_FALSE


@dataclass(frozen=True)
class RecordedPolicy:
    """The ``[operator]`` policy as the journal last recorded it: a config may only tighten it."""

    require_totp: bool = False
    four_eyes_for_privileged: bool = False
    read_only: bool = False
    seq: int = 0
    """The ``operator_policy_change`` entry that recorded it; 0: nothing recorded (all off)."""

    def as_dict(self) -> dict[str, bool]:
        return {key: bool(getattr(self, key)) for key in KEYS}

    def enabled(self) -> list[str]:
        """The keys that are on: how the journal names a policy (a key named
        ``require_totp`` in a detail would be refused as a secret's name)."""
        return [key for key in KEYS if getattr(self, key)]

    def describe(self) -> str:
        return ", ".join(f"{k} = {str(v).lower()}" for k, v in self.as_dict().items())


def _as_policy(values: dict[str, bool], seq: int) -> RecordedPolicy:
    return RecordedPolicy(**{k: bool(values.get(k, False)) for k in KEYS}, seq=seq)


def _rows(conn: sqlite3.Connection) -> dict[str, tuple[bool, int]] | None:
    """The table's rows, or None for a database older than the table (read-only open)."""
    try:
        rows = conn.execute("SELECT key, value, seq FROM policy").fetchall()
    except sqlite3.OperationalError:
        return None
    found: dict[str, tuple[bool, int]] = {}
    for key, value, seq in rows:
        found[str(key)] = (value == "true", int(seq))
    return found


def _last_entry(conn: sqlite3.Connection) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = conn.execute(
        "SELECT seq, ts, actor, action, provider, subject, detail, prev_hash, hash "
        "FROM entries WHERE action = ? ORDER BY seq DESC LIMIT 1",
        (ACTION,),
    ).fetchone()
    return row


def _mismatch(why: str) -> PolicyTampered:
    return PolicyTampered(
        f"the recorded policy does not match the journal ({why}); the database was edited "
        "outside pamtui: check it with 'pamtui audit verify'"
    )


_MAX_SEGMENTS = 1000


def _following(conn: sqlite3.Connection, seq: int) -> str | None:
    row = conn.execute(
        "SELECT prev_hash FROM entries WHERE seq > ? ORDER BY seq LIMIT 1", (seq,)
    ).fetchone()
    return str(row[0]) if row else None


def _in_archives(
    conn: sqlite3.Connection, path: Path, rows: bool
) -> tuple[tuple[Any, ...], str | None] | None:
    """The last policy entry (and the prev_hash after it) in the archives ``path`` continues.

    A rotated journal (``audit rotate``) keeps its earlier entries in archives,
    and a live file never vouches for what it no longer holds: the entry that
    recorded the policy is read, and checked, where it is.
    """
    archive_dir = default_archive_dir(path)
    current, current_path = conn, path
    opened: list[sqlite3.Connection] = []
    try:
        for _ in range(_MAX_SEGMENTS):
            link = segment_link(current, current_path)
            if link is None:
                return None
            head, name = link
            archive, why = find_archive(head, name, (), archive_dir, current_path.parent)
            if archive is None:
                if not rows:
                    return None  # nothing recorded here, and nothing to check it against
                raise _mismatch(f"its entry is in an archive that cannot be read{why}")
            current, current_path = connect(archive, read_only=True), archive
            opened.append(current)
            entry = _last_entry(current)
            if entry is not None:
                return entry, _following(current, int(entry[0]))
        return None
    finally:
        for archived in opened:
            archived.close()


def _load(conn: sqlite3.Connection, path: Path | None = None) -> RecordedPolicy:
    rows = _rows(conn)
    entry = _last_entry(conn)
    following: str | None = None
    if entry is not None:
        following = _following(conn, int(entry[0]))
    elif path is not None:
        archived = _in_archives(conn, path, bool(rows))
        if archived is not None:
            entry, following = archived
    if entry is None:
        if rows:
            raise _mismatch("policy rows without an operator_policy_change entry")
        return RecordedPolicy()
    seq, ts, actor, action, provider, subject, detail_json, prev_hash, hash_ = entry
    body = body_text(
        seq=seq,
        ts=ts,
        actor=actor,
        action=action,
        provider=provider,
        subject=subject,
        detail_json=detail_json,
        prev_hash=prev_hash,
    )
    if entry_hash(prev_hash, body) != hash_:
        raise _mismatch(f"journal entry #{seq} was altered")
    if following is not None and following != hash_:
        raise _mismatch(f"journal entry #{seq} was rewritten")
    after = json.loads(detail_json).get("after", [])
    expected = {k: k in after for k in KEYS}
    if not rows or set(rows) != set(KEYS):
        raise _mismatch("policy rows are missing or unknown")
    actual = {k: rows[k][0] for k in KEYS}
    if actual != expected or any(rows[k][1] != seq for k in KEYS):
        raise _mismatch(f"the policy table differs from journal entry #{seq}")
    return _as_policy(expected, seq)


def load(journal: Journal) -> RecordedPolicy:
    """The recorded policy, checked against the journal (raises PolicyTampered)."""
    return _load(journal.conn, journal.path)


def _record(
    tx: Transaction, actor: str, before: RecordedPolicy, after: dict[str, bool], source: str
) -> RecordedPolicy:
    entry = tx.append(
        actor,
        ACTION,
        subject="policy:operator",
        detail={
            "before": before.enabled(),
            "after": [k for k in KEYS if after[k]],
            "source": source,
        },
    )
    for key in KEYS:
        tx.execute(
            "INSERT INTO policy (key, value, seq) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, seq = excluded.seq",
            (key, "true" if after[key] else "false", entry.seq),
        )
    return _as_policy(after, entry.seq)


def require_policy(journal: Journal, actor: Actor, key: str) -> None:
    """Changing the recorded policy is an admin's: a journalled refusal otherwise.

    ``policy set`` asks first, before it asks for the step-up code; :func:`change`
    asks again, so no front end changes the policy without it.
    """
    require_in(journal, actor, Act.POLICY, f"policy:{key}")


def change(journal: Journal, key: str, value: bool, *, actor: Actor, source: str) -> RecordedPolicy:
    """Set one key (the caller has checked the step-up); journalled as ``operator_policy_change``.

    Refused unless ``actor`` may change the policy (:func:`require_policy`).
    Returns the policy after the change (the same one if nothing changed).
    """
    require_policy(journal, actor, key)
    if key not in KEYS:
        raise PolicyError(f"unknown policy key {key!r} (known: {', '.join(KEYS)})")
    with journal.transaction() as tx:
        before = _load(tx.conn, journal.path)  # under the writer lock: no change is lost
        if before.as_dict()[key] == value:
            return before
        return _record(tx, actor.name, before, {**before.as_dict(), key: value}, source)


def _source_name(cfg: Config) -> str:
    return str(cfg.source) if cfg.source is not None else "the bundled demo configuration"


def effective_config(
    journal: Journal, cfg: Config, *, actor: str, read_only: bool = False
) -> Config:
    """``cfg`` with the recorded policy applied, or PolicyError if it asks for less.

    A config stricter in ``require_totp``/``four_eyes_for_privileged`` tightens
    the recorded policy (journalled) when the journal is writable; a config's
    ``read_only`` only makes its own session read-only. ``read_only`` says the
    session is read-only anyway (``--read-only``): that is not laxer.
    """
    recorded = load(journal)
    op = replace(cfg.operator, read_only=True) if read_only else cfg.operator
    laxer = [k for k in KEYS if getattr(recorded, k) and not getattr(op, k)]
    if laxer:
        where = f" (journal entry #{recorded.seq})" if recorded.seq else ""
        said = ", ".join(f"operator.{k} = false" for k in laxer)
        raise PolicyError(
            f"{_source_name(cfg)} asks for less than the recorded policy ({recorded.describe()})"
            f"{where}: it says {said}; use a config that matches the recorded policy, "
            "or change it with 'pamtui policy set'"
        )
    tighter = [k for k in RATCHETED_BY_CONFIG if getattr(op, k) and not getattr(recorded, k)]
    if tighter and not journal.read_only:
        try:
            with journal.transaction() as tx:
                before = _load(tx.conn, journal.path)
                after = before.as_dict()
                for key in RATCHETED_BY_CONFIG:
                    after[key] = after[key] or bool(getattr(op, key))
                if after != before.as_dict():
                    recorded = _record(tx, actor, before, after, f"config {_source_name(cfg)}")
        except JournalUnavailable:
            pass  # a dead journal refuses revocations anyway; the session is still stricter

    def stricter(key: str) -> bool:
        return bool(getattr(op, key)) or bool(getattr(recorded, key))

    operator = replace(
        op,
        require_totp=stricter("require_totp"),
        four_eyes_for_privileged=stricter("four_eyes_for_privileged"),
        read_only=stricter("read_only"),
    )
    return replace(cfg, operator=operator)
