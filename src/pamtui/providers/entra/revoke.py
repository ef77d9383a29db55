"""``Revocation``: end sessions, disable, remove roles, delete grants and secrets; verify.

Graph has no idempotency keys, so every action reads first and treats "already
in that state" as done; revoking twice is safe. Each is verified by reading
the object back (a 404 is "gone" for deletions).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from pamtui.model import (
    Account,
    AccountKind,
    Credential,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderError, check_action, iso_time, text
from pamtui.providers.entra.directory import USER, q
from pamtui.providers.entra.graph import Graph
from pamtui.providers.entra.settings import ACCOUNT_ACTIONS, ACTIONS, CREDENTIAL_ACTIONS

SESSION_LOOKBACK = timedelta(hours=1)
"""After a restart (no reading from before the revoke), a session cut-off this recent,
when the tenant has no sign-in activity to compare with, verifies ``revoke_sessions``."""

DATE_SLACK = timedelta(seconds=2)
"""The response's ``Date`` has whole seconds and is sent after the cut-off was set."""

_COLLECTIONS = ("applications", "servicePrincipals")


class Revocation:
    name: str
    graph: Graph
    account_actions: tuple[str, ...]
    _sign_in_activity: bool
    _revoked_at: dict[str, datetime]

    if TYPE_CHECKING:

        @property
        def where(self) -> str: ...

        async def privileged_members(self) -> dict[str, list[tuple[str, str]]]: ...

    # ----------------------------------------------------------------- plan

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            kind, parts = _parse_credential(target.id)
            what = target.label or target.id
            if kind == "grant":
                name, label = "delete_grant", f"Delete {what}"
            elif kind == "approle":
                name, label = "remove_app_role_assignment", f"Remove {what}"
            elif kind == "password":
                name, label = "remove_password", f"Remove {what} of {parts[1]}"
            else:  # a certificate (keyCredentials)
                name, label = "remove_key", f"Remove {what} of {parts[1]}"
            return [
                RevokeAction.on_credential(self.name, target, name, label, CREDENTIAL_ACTIONS[name])
            ]
        if not isinstance(target, Account):
            raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")
        if target.kind is not AccountKind.HUMAN or target.system != USER:
            return []  # service principals and applications: revoke their secrets one by one
        who = target.name or target.id
        labels = {
            "revoke_sessions": f"Revoke all Entra ID sign-in sessions and refresh tokens of {who}",
            "remove_privileged_roles": f"Remove {who} from privileged directory roles",
            "disable_account": f"Disable Entra ID user {who} (accountEnabled = false)",
        }
        actions = []
        for name in self.account_actions:
            order, reversible = ACCOUNT_ACTIONS[name]
            actions.append(
                RevokeAction.on_account(
                    self.name, target, name, labels[name], order, reversible=reversible
                )
            )
        return sorted(actions, key=lambda a: a.order)

    def _check(self, action: RevokeAction) -> tuple[str, ...]:
        check_action(self, action, ACTIONS)
        if action.target_kind is TargetKind.ACCOUNT:
            _check_id(self.where, action.target_id)
            return (action.target_id,)
        kind, parts = _parse_credential(action.target_id)
        expected = {
            "delete_grant": "grant",
            "remove_app_role_assignment": "approle",
            "remove_password": "password",
            "remove_key": "key",
        }[action.name]
        if kind != expected:
            raise ProviderError(
                f"{self.where}: {action.name} cannot take credential {action.target_id!r}"
            )
        for part in parts:
            _check_id(self.where, part)
        if kind in ("password", "key") and parts[0] not in _COLLECTIONS:
            raise ProviderError(f"{self.where}: invalid credential id {action.target_id!r}")
        return parts

    # ----------------------------------------------------------------- revoke

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        parts = self._check(action)
        handler = getattr(self, f"_revoke_{action.name}")
        return await handler(*parts)

    async def _revoke_revoke_sessions(self, user_id: str) -> RevokeResult:
        response = await self.graph.request(
            "POST", f"users/{q(user_id)}/revokeSignInSessions", expect=(200, 204)
        )
        # Graph's clock, not ours: the cut-off it sets is compared with its own Date.
        served = _http_date(response.headers.get("date")) or datetime.now(UTC)
        self._revoked_at[user_id] = served
        return RevokeResult(ok=True, detail="sign-in sessions and refresh tokens revoked")

    async def _revoke_disable_account(self, user_id: str) -> RevokeResult:
        if await self._enabled(user_id) is False:
            return RevokeResult(ok=True, already_done=True, detail="account already disabled")
        await self.graph.request(
            "PATCH",
            f"users/{q(user_id)}",
            json={"accountEnabled": False},
            expect=(204, 200),
            idempotent=True,
        )
        return RevokeResult(ok=True, detail="account disabled (accountEnabled = false)")

    async def _revoke_remove_privileged_roles(self, user_id: str) -> RevokeResult:
        held = (await self.privileged_members()).get(user_id, [])
        if not held:
            return RevokeResult(ok=True, already_done=True, detail="holds no privileged role")
        for role_id, _ in held:
            await self.graph.request(
                "DELETE",
                f"directoryRoles/{q(role_id)}/members/{q(user_id)}/$ref",
                expect=(204, 404),
            )
        names = ", ".join(name for _, name in held)
        return RevokeResult(ok=True, detail=f"removed from {names}")

    async def _revoke_delete_grant(self, grant_id: str) -> RevokeResult:
        response = await self.graph.request(
            "DELETE", f"oauth2PermissionGrants/{q(grant_id)}", expect=(204, 404)
        )
        if response.status_code == 404:
            return RevokeResult(ok=True, already_done=True, detail="grant already deleted")
        return RevokeResult(ok=True, detail="delegated permission grant deleted")

    async def _revoke_remove_app_role_assignment(
        self, user_id: str, assignment_id: str
    ) -> RevokeResult:
        response = await self.graph.request(
            "DELETE", f"users/{q(user_id)}/appRoleAssignments/{q(assignment_id)}", expect=(204, 404)
        )
        if response.status_code == 404:
            return RevokeResult(ok=True, already_done=True, detail="assignment already removed")
        return RevokeResult(ok=True, detail="app role assignment removed")

    async def _revoke_remove_password(
        self, collection: str, owner: str, key_id: str
    ) -> RevokeResult:
        if not await self._has_password(collection, owner, key_id):
            return RevokeResult(ok=True, already_done=True, detail="client secret already removed")
        await self.graph.request(
            "POST",
            f"{collection}/{q(owner)}/removePassword",
            json={"keyId": key_id},
            expect=(200, 204),
        )
        return RevokeResult(ok=True, detail="client secret removed")

    async def _revoke_remove_key(self, collection: str, owner: str, key_id: str) -> RevokeResult:
        """Remove a certificate by updating ``keyCredentials`` without it.

        Graph's ``removeKey`` needs a proof of possession signed with one of the
        application's own keys, which pamtui never holds; Microsoft documents
        "Update application" (PATCH ``keyCredentials``, the whole collection)
        for that case. The collection is read with ``$select`` on the single
        object, which is when Graph returns each certificate's ``key``.
        """
        keys = await self._keys(collection, owner)
        keep = [k for k in keys if text(k.get("keyId")).lower() != key_id.lower()]
        if len(keep) == len(keys):
            return RevokeResult(ok=True, already_done=True, detail="certificate already removed")
        await self.graph.request(
            "PATCH",
            f"{collection}/{q(owner)}",
            json={"keyCredentials": keep},
            expect=(204, 200),
            idempotent=True,
        )
        return RevokeResult(ok=True, detail="certificate removed from keyCredentials")

    # ----------------------------------------------------------------- verify

    async def verify(self, action: RevokeAction) -> VerifyResult:
        parts = self._check(action)
        handler = getattr(self, f"_verify_{action.name}")
        return await handler(*parts)

    async def _verify_revoke_sessions(self, user_id: str) -> VerifyResult:
        cutoff, last_sign_in = await self._session_cutoff(user_id)
        shown = {"signInSessionsValidFromDateTime": cutoff.isoformat() if cutoff else None}
        if cutoff is None:
            return VerifyResult(
                gone=False, detail="no session cut-off set", provider_response=shown
            )
        if user_id in self._revoked_at:
            gone = cutoff >= self._revoked_at[user_id] - DATE_SLACK
            detail = "session cut-off moved past the revoke" if gone else "cut-off not moved yet"
        elif last_sign_in is not None:
            gone = cutoff >= last_sign_in
            detail = (
                "no sign-in since the session cut-off" if gone else "signed in after the cut-off"
            )
        else:
            gone = cutoff >= datetime.now(UTC) - SESSION_LOOKBACK
            detail = "session cut-off within the last hour" if gone else "no recent cut-off"
        return VerifyResult(gone=gone, detail=detail, provider_response=shown)

    async def _verify_disable_account(self, user_id: str) -> VerifyResult:
        enabled = await self._enabled(user_id)
        return VerifyResult(
            gone=enabled is False,
            detail="accountEnabled is false" if enabled is False else "account still enabled",
            provider_response={"accountEnabled": enabled},
        )

    async def _verify_remove_privileged_roles(self, user_id: str) -> VerifyResult:
        held = (await self.privileged_members()).get(user_id, [])
        return VerifyResult(
            gone=not held,
            detail="holds no privileged role" if not held else "still holds a privileged role",
            provider_response={"roles": [name for _, name in held]},
        )

    async def _verify_delete_grant(self, grant_id: str) -> VerifyResult:
        return await self._gone(f"oauth2PermissionGrants/{q(grant_id)}", "grant")

    async def _verify_remove_app_role_assignment(
        self, user_id: str, assignment_id: str
    ) -> VerifyResult:
        return await self._gone(
            f"users/{q(user_id)}/appRoleAssignments/{q(assignment_id)}", "assignment"
        )

    async def _verify_remove_password(
        self, collection: str, owner: str, key_id: str
    ) -> VerifyResult:
        present = await self._has_password(collection, owner, key_id)
        return VerifyResult(
            gone=not present,
            detail="client secret not listed" if not present else "client secret still listed",
        )

    async def _verify_remove_key(self, collection: str, owner: str, key_id: str) -> VerifyResult:
        keys = await self._keys(collection, owner)
        present = any(text(k.get("keyId")).lower() == key_id.lower() for k in keys)
        return VerifyResult(
            gone=not present,
            detail="certificate not listed" if not present else "certificate still listed",
        )

    # ----------------------------------------------------------------- reads

    async def _keys(self, collection: str, owner: str) -> list[dict[str, Any]]:
        item = await self.graph.get(f"{collection}/{q(owner)}", {"$select": "id,keyCredentials"})
        keys = item.get("keyCredentials") if isinstance(item, dict) else None
        return [k for k in keys or () if isinstance(k, dict)]

    async def _gone(self, path: str, what: str) -> VerifyResult:
        response = await self.graph.request(
            "GET", path, params={"$select": "id"}, expect=(200, 404)
        )
        gone = response.status_code == 404
        return VerifyResult(
            gone=gone,
            detail=f"{what} not found" if gone else f"{what} still exists",
            provider_response={"status": response.status_code},
        )

    async def _enabled(self, user_id: str) -> Any:
        user = await self.graph.get(f"users/{q(user_id)}", {"$select": "id,accountEnabled"})
        return user.get("accountEnabled") if isinstance(user, dict) else None

    async def _has_password(self, collection: str, owner: str, key_id: str) -> bool:
        item = await self.graph.get(
            f"{collection}/{q(owner)}", {"$select": "id,passwordCredentials"}
        )
        secrets = item.get("passwordCredentials") if isinstance(item, dict) else None
        return any(
            isinstance(s, dict) and text(s.get("keyId")).lower() == key_id.lower()
            for s in secrets or ()
        )

    async def _session_cutoff(self, user_id: str) -> tuple[datetime | None, datetime | None]:
        """``signInSessionsValidFromDateTime`` and the last sign-in (None when unlicensed)."""
        select = "id,signInSessionsValidFromDateTime"
        if self._sign_in_activity:
            select += ",signInActivity"
        user = await self.graph.get(f"users/{q(user_id)}", {"$select": select})
        if not isinstance(user, dict):
            raise ProviderError(f"{self.where}: GET /users/{user_id} did not return a user")
        activity = user.get("signInActivity")
        last = None
        if isinstance(activity, dict):
            times = [
                iso_time(activity.get(k))
                for k in ("lastSignInDateTime", "lastNonInteractiveSignInDateTime")
            ]
            known = [t for t in times if t is not None]
            last = max(known) if known else None
        return iso_time(user.get("signInSessionsValidFromDateTime")), last


def _parse_credential(credential_id: str) -> tuple[str, tuple[str, ...]]:
    """``grant:ID``, ``approle:USER:ID``, ``password|key:COLLECTION:OWNER:KEYID``."""
    kind, _, rest = credential_id.partition(":")
    parts = tuple(rest.split(":")) if rest else ()
    sizes = {"grant": 1, "approle": 2, "password": 3, "key": 3}
    if kind not in sizes or len(parts) != sizes[kind]:
        raise ProviderError(f"not an entra credential id: {credential_id!r}")
    return kind, parts


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).astimezone(UTC)
    except (TypeError, ValueError):
        return None


def _check_id(where: str, value: str) -> None:
    if not value.strip() or value in (".", ".."):
        raise ProviderError(f"{where}: invalid Graph object id {value!r}")
