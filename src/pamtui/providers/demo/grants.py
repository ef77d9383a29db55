"""Removing one group, team or role from a demo account (the ``GrantRevoker`` capability).

The demo's systems hold an account's groups as a JSON list (``accounts.groups``):
Okta groups at the ``idp``, GitHub teams at ``git``, IAM groups at ``cloud``.
``remove_from_group`` takes one out, idempotently; ``check`` reads it back.
A grant target's id is ``ACCOUNT_ID#GRANT`` (``RevokeAction.on_grant``); demo
account ids never contain ``#``, so the first one splits it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from pamtui.model import GRANT_SEPARATOR, Account, RevokeAction
from pamtui.providers.base import ProviderError

GRANT_ACTION = "remove_from_group"
NOUN = {"idp": "Okta group", "git": "GitHub team", "cloud": "IAM group"}


def action_for(provider: str, account: Account, grant: str) -> RevokeAction | None:
    """The step that removes ``grant`` from ``account``; None if it does not hold it."""
    if account.provider != provider or grant not in account.groups:
        return None
    noun = NOUN.get(account.system, "group")
    who = account.name or account.id
    return RevokeAction.on_grant(
        provider, account, grant, GRANT_ACTION, f"Remove {who} from {noun} {grant}", 70
    )


def split(target_id: str) -> tuple[str, str]:
    account_id, sep, grant = target_id.partition(GRANT_SEPARATOR)
    if not sep or not account_id or not grant:
        raise ProviderError(f"not a grant target: {target_id!r} (expected ACCOUNT#GRANT)")
    return account_id, grant


def _groups(conn: sqlite3.Connection, systems: tuple[str, ...], account_id: str) -> list[str]:
    marks = ",".join("?" * len(systems))
    row = conn.execute(
        f"SELECT groups FROM accounts WHERE id = ? AND system IN ({marks})",
        (account_id, *systems),
    ).fetchone()
    if row is None:
        raise ProviderError(f"no account {account_id!r} in this demo provider")
    groups = json.loads(row[0])
    return [str(g) for g in groups]


def apply(
    conn: sqlite3.Connection,
    systems: tuple[str, ...],
    action: str,
    target_id: str,
) -> tuple[bool, str]:
    """Remove the grant; (already_done, detail)."""
    if action != GRANT_ACTION:
        raise ProviderError(f"unknown grant action {action!r}")
    account_id, grant = split(target_id)
    groups = _groups(conn, systems, account_id)
    if grant not in groups:
        return True, f"{account_id} is not in {grant!r}"
    groups.remove(grant)
    conn.execute("UPDATE accounts SET groups = ? WHERE id = ?", (json.dumps(groups), account_id))
    return False, f"{account_id} removed from {grant!r}"


def check(
    conn: sqlite3.Connection, systems: tuple[str, ...], action: str, target_id: str
) -> tuple[bool, str]:
    """Read back whether the grant is gone."""
    if action != GRANT_ACTION:
        raise ProviderError(f"unknown grant action {action!r}")
    account_id, grant = split(target_id)
    held = grant in _groups(conn, systems, account_id)
    return not held, f"{grant!r} {'still held' if held else 'not held'} by {account_id}"


def add(conn: sqlite3.Connection, account_id: str, grant: str) -> None:
    """Put a grant back (tests: access that comes back behind pamtui's back)."""
    groups: list[Any] = json.loads(
        conn.execute("SELECT groups FROM accounts WHERE id = ?", (account_id,)).fetchone()[0]
    )
    if grant not in groups:
        groups.append(grant)
        conn.execute(
            "UPDATE accounts SET groups = ? WHERE id = ?", (json.dumps(groups), account_id)
        )
