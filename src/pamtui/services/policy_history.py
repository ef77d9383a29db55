"""Which policies were in force when: policy changes are journalled.

When a session opens (``Session.open``: the TUI, ``sweep``, every command
that opens one), the ``[[policies]]`` section is hashed (canonical JSON,
SHA-256) and compared with the last ``policy_change`` entry of the journal.
If it differs, one ``policy_change`` entry is appended, with:

- ``policies_hash`` and ``previous_policies_hash``;
- ``config`` (the file) and ``config_hash`` (SHA-256 of its bytes, so an
  auditor can match the exact file from a backup);
- ``added``, ``removed`` (policy names) and ``changed`` (per policy name, the
  keys that changed with their old and new values);
- ``policies``: the whole section as it now is, which the next change is
  diffed against.

An empty journal is left empty: a brand-new database's first run (say
``pamtui sweep --dry-run``, which promises to journal nothing) writes no
``policy_change``; the first start that finds entries in the journal records
the section then, as a change from "no policies". The exact point at which
policies start acting (the first ``stage`` by ``policy:NAME``) is in the
journal either way.

The check and the append run in one ``BEGIN IMMEDIATE`` transaction, so two
processes starting at once journal one change, not two. An empty section
with no earlier entry is the starting point and is not journalled (the bundled
demo never writes one). Read-only sessions journal nothing. Policies hold
rules, not secrets; the journal's own secret check still applies.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pamtui.journal import EntryFilter, Journal
from pamtui.journal.canonical import canonical_json
from pamtui.model import JournalEntry

ACTION = "policy_change"
EMPTY_HASH = hashlib.sha256(b"[]").hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)  # TOML dates and times


def section(policies: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [_plain(p) for p in policies]


def policies_hash(policies: Sequence[Mapping[str, Any]]) -> str:
    return hashlib.sha256(canonical_json(section(policies)).encode()).hexdigest()


def file_hash(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def _by_name(policies: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for n, policy in enumerate(policies):
        out[str(policy.get("name", f"#{n + 1}"))] = policy
    return out


def policy_diff(
    before: Sequence[Mapping[str, Any]], after: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """Added and removed policy names; per changed policy, ``{key: [old, new]}``."""
    old, new = _by_name(section(before)), _by_name(section(after))
    changed: dict[str, dict[str, list[Any]]] = {}
    for name in sorted(set(old) & set(new)):
        keys = sorted(set(old[name]) | set(new[name]))
        delta = {k: [old[name].get(k), new[name].get(k)] for k in keys}
        delta = {k: v for k, v in delta.items() if v[0] != v[1]}
        if delta:
            changed[name] = delta
    order = [str(p.get("name", "")) for p in section(after)]
    reordered = not changed and set(old) == set(new) and list(old) != order
    return {
        "added": sorted(set(new) - set(old)),
        "removed": sorted(set(old) - set(new)),
        "changed": changed,
        **({"reordered": True} if reordered else {}),
    }


def last_change(journal: Journal) -> JournalEntry | None:
    found = journal.entries(EntryFilter(action=ACTION), limit=1)
    return found[0] if found else None


def record(
    journal: Journal,
    policies: Sequence[Mapping[str, Any]],
    *,
    source: Path | None,
    actor: str = "system",
    when_empty: bool = False,
) -> JournalEntry | None:
    """Journal the policy section if it changed since the last entry; else None.

    ``when_empty``: record even in a brand-new journal. ``pamtui sweep`` passes it
    just before it stages anything, so the first policy action of a new journal
    is preceded by the rules it acted under.
    """
    if journal.read_only:
        return None
    current = policies_hash(policies)
    with journal.transaction() as tx:
        if not when_empty and tx.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None:
            return None  # a brand-new journal: see "An empty journal" above
        row = tx.execute(
            "SELECT detail FROM entries WHERE action = ? ORDER BY seq DESC LIMIT 1", (ACTION,)
        ).fetchone()
        if row is None:
            previous_hash, previous = EMPTY_HASH, []
        else:
            detail = json.loads(row[0])
            previous_hash = detail.get("policies_hash", "")
            previous = detail.get("policies", [])
        if previous_hash == current:
            return None
        return tx.append(
            actor,
            ACTION,
            subject=f"config:{source}" if source else "config:bundled-demo",
            detail={
                "config": str(source) if source else "",
                "config_hash": file_hash(source),
                "policies_hash": current,
                "previous_policies_hash": previous_hash,
                **policy_diff(previous, policies),
                "policies": section(policies),
            },
        )
