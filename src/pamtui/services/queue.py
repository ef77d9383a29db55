"""The revocation queue: a persisted state machine, journalled at every step.

``staged -> (awaiting_approval ->) approved -> executing -> revoked -> verified``
with ``failed`` (retryable) and ``cancelled``.

Every transition and the journal entry announcing it commit in one SQLite
transaction, *before* the provider is called (fail closed: if the journal
cannot be written, the provider is never called). An item is claimed for
execution with a conditional UPDATE inside ``BEGIN IMMEDIATE``, so two
processes sharing a database never both execute it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pamtui.journal import Journal, JournalUnavailable, Transaction, timestamp
from pamtui.journal.redact import redact
from pamtui.model import (
    Account,
    Credential,
    CredentialStatus,
    QueueItem,
    QueueState,
    RevokeAction,
    TargetKind,
)
from pamtui.providers.base import Provider, ProviderError

S = QueueState

ALLOWED: dict[QueueState, frozenset[QueueState]] = {
    S.STAGED: frozenset({S.AWAITING_APPROVAL, S.APPROVED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.APPROVED, S.CANCELLED}),
    S.APPROVED: frozenset({S.EXECUTING, S.CANCELLED}),
    S.EXECUTING: frozenset({S.REVOKED, S.FAILED}),
    S.REVOKED: frozenset({S.VERIFIED, S.FAILED}),
    S.FAILED: frozenset({S.EXECUTING, S.CANCELLED}),
    S.VERIFIED: frozenset(),
    S.CANCELLED: frozenset(),
}

EXECUTABLE = (S.APPROVED, S.FAILED)


class QueueError(Exception):
    """A queue operation was refused; the message is for operators."""


class ReadOnlyError(QueueError):
    """The session is read-only: no mutating action is available."""


@dataclass(frozen=True)
class Outcome:
    item: QueueItem
    ok: bool
    message: str


def _item_from_row(row: Mapping[str, Any]) -> QueueItem:
    action = RevokeAction(
        provider=row["provider"],
        name=row["action_name"],
        target_kind=TargetKind(row["target_kind"]),
        target_id=row["target_id"],
        account_id=row["account_id"],
        label=row["label"],
        reversible=bool(row["reversible"]),
        order=row["step_order"],
    )
    return QueueItem(
        id=row["id"],
        state=QueueState(row["state"]),
        action=action,
        reason=row["reason"],
        requested_by=row["requested_by"],
        idempotency_key=row["idempotency_key"],
        created=datetime.fromisoformat(row["created"].replace("Z", "+00:00")),
        updated=datetime.fromisoformat(row["updated"].replace("Z", "+00:00")),
        plan_id=row["plan_id"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        approved_by=row["approved_by"],
    )


def _action_detail(action: RevokeAction) -> dict[str, Any]:
    return {
        "action": action.name,
        "label": action.label,
        "target_kind": str(action.target_kind),
        "target_id": action.target_id,
        "account_id": action.account_id,
        "reversible": action.reversible,
    }


def plan_for_account(
    provider: Provider, account: Account, credentials: Iterable[Credential]
) -> list[RevokeAction]:
    """Every step that removes an account's access, in execution order.

    Deactivating an account does not end its tokens, keys or sessions, so a
    plan revokes each live credential first (the provider's first proposed
    action for it) and ends with the account-level actions.
    """
    steps = [a for c in credentials for a in plan_for_credential(provider, c)]
    steps.extend(provider.revoke_actions(account))
    return sorted(steps, key=lambda a: a.order)


def plan_for_credential(provider: Provider, credential: Credential) -> list[RevokeAction]:
    """The provider's preferred action for one credential (its first proposal)."""
    if credential.status is not CredentialStatus.ACTIVE:
        return []
    return provider.revoke_actions(credential)[:1]


class RevocationQueue:
    def __init__(
        self,
        journal: Journal,
        providers: Mapping[str, Provider],
        operator: str,
        *,
        read_only: bool = False,
    ) -> None:
        self.journal = journal
        self.providers = providers
        self.operator = operator
        self.read_only = read_only

    def _require_writable(self) -> None:
        # The one place read-only is enforced: every mutation passes here.
        if self.read_only:
            raise ReadOnlyError("this session is read-only: revocations are disabled")

    # -- reading -----------------------------------------------------------

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[QueueItem]:
        cursor = self.journal.conn.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [_item_from_row(dict(zip(names, row, strict=True))) for row in cursor.fetchall()]

    def items(
        self, states: Iterable[QueueState] | None = None, limit: int = 1000
    ) -> list[QueueItem]:
        if states is None:
            return self._rows("SELECT * FROM queue_items ORDER BY id DESC LIMIT ?", (limit,))
        wanted = [str(s) for s in states]
        marks = ",".join("?" * len(wanted))
        return self._rows(
            f"SELECT * FROM queue_items WHERE state IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*wanted, limit),
        )

    def get(self, item_id: int) -> QueueItem:
        found = self._rows("SELECT * FROM queue_items WHERE id = ?", (item_id,))
        if not found:
            raise QueueError(f"no queue item {item_id}")
        return found[0]

    def counts(self) -> dict[QueueState, int]:
        rows = self.journal.conn.execute(
            "SELECT state, count(*) FROM queue_items GROUP BY state"
        ).fetchall()
        return {QueueState(state): n for state, n in rows}

    # -- transitions -------------------------------------------------------

    def _transition(
        self,
        tx: Transaction,
        item: QueueItem,
        to: QueueState,
        journal_action: str,
        *,
        actor: str | None = None,
        detail: Mapping[str, Any] | None = None,
        attempts: int | None = None,
        last_error: str | None = None,
        approved_by: str | None = None,
    ) -> QueueItem:
        self._require_writable()
        if to not in ALLOWED[item.state]:
            raise QueueError(f"item {item.id} is {item.state}; it cannot become {to}")
        now = timestamp()
        cursor = tx.execute(
            "UPDATE queue_items SET state = ?, updated = ?, attempts = ?, last_error = ?,"
            " approved_by = ? WHERE id = ? AND state = ?",
            (
                str(to),
                now,
                item.attempts if attempts is None else attempts,
                item.last_error if last_error is None else last_error,
                item.approved_by if approved_by is None else approved_by,
                item.id,
                str(item.state),
            ),
        )
        if cursor.rowcount != 1:
            raise QueueError(f"item {item.id} was changed by someone else; reload the queue")
        tx.append(
            actor or self.operator,
            journal_action,
            provider=item.action.provider,
            subject=item.action.subject,
            detail={
                "item": item.id,
                "from": str(item.state),
                "to": str(to),
                **_action_detail(item.action),
                **(dict(detail) if detail else {}),
            },
        )
        return self.get(item.id)

    def stage(
        self,
        actions: Sequence[RevokeAction],
        reason: str,
        *,
        actor: str | None = None,
        approve: bool = False,
    ) -> list[QueueItem]:
        """Put actions in the queue as one plan; with ``approve``, approve them too.

        Staging and approval are journalled in the same transaction as the
        rows they create.
        """
        self._require_writable()
        reason = reason.strip()
        if not reason:
            raise QueueError("a reason is required")
        if not actions:
            raise QueueError("nothing to revoke")
        for action in actions:
            if action.provider not in self.providers:
                raise QueueError(f"unknown provider {action.provider!r}")
        actor = actor or self.operator
        plan_id = uuid.uuid4().hex[:12]
        staged: list[QueueItem] = []
        with self.journal.transaction() as tx:
            for action in actions:
                now = timestamp()
                key = f"{plan_id}-{uuid.uuid4().hex[:12]}"
                cursor = tx.execute(
                    "INSERT INTO queue_items (state, provider, action_name, target_kind,"
                    " target_id, account_id, label, reversible, step_order, reason,"
                    " requested_by, idempotency_key, plan_id, created, updated)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        str(S.STAGED),
                        action.provider,
                        action.name,
                        str(action.target_kind),
                        action.target_id,
                        action.account_id,
                        action.label,
                        int(action.reversible),
                        action.order,
                        reason,
                        actor,
                        key,
                        plan_id,
                        now,
                        now,
                    ),
                )
                item_id = cursor.lastrowid
                tx.append(
                    actor,
                    "stage",
                    provider=action.provider,
                    subject=action.subject,
                    detail={
                        "item": item_id,
                        "plan": plan_id,
                        "reason": reason,
                        "idempotency_key": key,
                        **_action_detail(action),
                    },
                )
                item = self.get(item_id)
                if approve:
                    item = self._transition(
                        tx, item, S.APPROVED, "approve", actor=actor, approved_by=actor
                    )
                staged.append(item)
        return staged

    def approve(self, item_id: int, *, actor: str | None = None) -> QueueItem:
        actor = actor or self.operator
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            return self._transition(tx, item, S.APPROVED, "approve", actor=actor, approved_by=actor)

    def cancel(self, item_id: int, *, actor: str | None = None, why: str = "") -> QueueItem:
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            if item.state not in (S.STAGED, S.AWAITING_APPROVAL, S.APPROVED, S.FAILED):
                raise QueueError(
                    f"item {item_id} is {item.state}: only pending items can be cancelled"
                )
            return self._transition(
                tx, item, S.CANCELLED, "cancel", actor=actor, detail={"why": why} if why else None
            )

    # -- execution ---------------------------------------------------------

    def claim(self, item_id: int) -> QueueItem | None:
        """Atomically move an executable item to ``executing``; None if someone else has it."""
        with self.journal.transaction() as tx:
            item = self.get(item_id)
            if item.state not in EXECUTABLE:
                return None
            return self._transition(
                tx,
                item,
                S.EXECUTING,
                "execute",
                attempts=item.attempts + 1,
                detail={"attempt": item.attempts + 1, "idempotency_key": item.idempotency_key},
            )

    async def execute(self, item_id: int) -> Outcome:
        """Revoke, then ask the provider again; only a confirmed check is ``verified``."""
        try:
            item = self.claim(item_id)
        except JournalUnavailable as exc:
            return Outcome(self.get(item_id), False, f"not executed: {exc}")
        if item is None:
            current = self.get(item_id)
            return Outcome(current, False, f"item {item_id} is {current.state}, not executable")
        provider = self.providers.get(item.action.provider)
        if provider is None:
            return self._fail(item, f"provider {item.action.provider!r} is not configured")
        try:
            result = await provider.revoke(item.action, item.idempotency_key)
        except ProviderError as exc:
            return self._fail(item, str(exc))
        except Exception as exc:  # a plugin bug must not leave the item executing
            return self._fail(item, f"{type(exc).__name__}: {exc}")
        if not result.ok:
            return self._fail(
                item, result.detail or "the provider refused", result.provider_response
            )
        with self.journal.transaction() as tx:
            item = self._transition(
                tx,
                item,
                S.REVOKED,
                "revoked",
                detail={
                    "already_done": result.already_done,
                    "provider_detail": result.detail,
                    "provider_response": redact(result.provider_response),
                },
            )
        return await self.verify(item)

    async def verify(self, item: QueueItem) -> Outcome:
        provider = self.providers[item.action.provider]
        try:
            check = await provider.verify(item.action)
        except Exception as exc:
            return self._fail(item, f"verification could not run: {exc}")
        if not check.gone:
            return self._fail(
                item,
                "VERIFICATION FAILED: the provider accepted the revocation but the access "
                f"is still there ({check.detail or 'no detail'})",
                check.provider_response,
                journal_action="verify_failed",
            )
        with self.journal.transaction() as tx:
            item = self._transition(
                tx,
                item,
                S.VERIFIED,
                "verified",
                detail={
                    "provider_detail": check.detail,
                    "provider_response": redact(check.provider_response),
                },
            )
        return Outcome(item, True, f"{item.action.label}: verified")

    def _fail(
        self,
        item: QueueItem,
        message: str,
        response: Mapping[str, Any] | None = None,
        *,
        journal_action: str = "failed",
    ) -> Outcome:
        with self.journal.transaction() as tx:
            item = self._transition(
                tx,
                item,
                S.FAILED,
                journal_action,
                last_error=message,
                detail={"error": message, "provider_response": redact(dict(response or {}))},
            )
        return Outcome(item, False, message)

    async def run(self, item_ids: Iterable[int]) -> list[Outcome]:
        """Execute items one after another in plan order."""
        items = sorted((self.get(i) for i in item_ids), key=lambda it: (it.action.order, it.id))
        return [await self.execute(item.id) for item in items]
