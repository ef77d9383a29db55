"""``Revocation``: delete OAuth grants and app passwords, remove admin roles, sign out,
suspend; each reads first (already done is success) and is verified by reading back."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pamtui.model import (
    Account,
    Credential,
    CredentialKind,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers.base import ProviderError, check_action, iso_time
from pamtui.providers.base import text as _text
from pamtui.providers.google_workspace.settings import ACCOUNT_ACTIONS, ACTIONS
from pamtui.providers.google_workspace.signouts import SignOuts
from pamtui.providers.http import HttpClient

if TYPE_CHECKING:
    from collections.abc import Collection

_TOKEN = "oauth:"
_ASP = "asp:"


def token_id(user_id: str, client_id: str) -> str:
    """A credential id for a user's OAuth grant to ``client_id`` (unique in the domain)."""
    return f"{_TOKEN}{user_id}:{client_id}"


def asp_id(user_id: str, code_id: str) -> str:
    return f"{_ASP}{user_id}:{code_id}"


class Revocation:
    """Revoke and verify (a mixin of :class:`GoogleWorkspaceProvider`)."""

    name: str
    http: HttpClient
    account_actions: tuple[str, ...]
    customer: str
    read_only: bool
    _signed_out: SignOuts

    if TYPE_CHECKING:

        @property
        def where(self) -> str: ...

        def _path(self, *parts: str) -> str: ...

        async def role_assignments(self, user_id: str | None = None) -> list[dict[str, Any]]: ...

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if self.read_only:
            return []
        if isinstance(target, Credential):
            what = target.label or target.id
            if target.id.startswith(_TOKEN):
                name, label = "revoke_token", f"Revoke the Google {what}"
            elif target.id.startswith(_ASP) and target.kind is CredentialKind.PERSONAL_ACCESS_TOKEN:
                name, label = "delete_asp", f"Delete the Google {what}"
            else:
                raise ProviderError(f"{self.where}: cannot revoke credential {target.id!r}")
            return [RevokeAction.on_credential(self.name, target, name, label, 20)]
        if not isinstance(target, Account):
            raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")
        who = target.name or target.id
        labels = {
            "remove_admin_roles": f"Remove every Google admin role of {who}",
            "sign_out": f"Sign {who} out of every Google session",
            "suspend_account": f"Suspend Google user {who}",
        }
        actions = []
        for name in self.account_actions:
            if name == "remove_admin_roles" and not target.privileged:
                continue
            order, reversible = ACCOUNT_ACTIONS[name]
            actions.append(
                RevokeAction.on_account(
                    self.name, target, name, labels[name], order, reversible=reversible
                )
            )
        return sorted(actions, key=lambda a: a.order)

    def _target(self, action: RevokeAction) -> tuple[str, str]:
        """(user id, client id / code id or '') after checking the action is ours."""
        check_action(self, action, ACTIONS)
        user = action.account_id.strip()
        if not user or user in (".", ".."):
            raise ProviderError(f"{self.where}: invalid Google user id {action.account_id!r}")
        if action.name in ACCOUNT_ACTIONS:
            if action.target_id != user:
                raise ProviderError(
                    f"{self.where}: account action on another id {action.target_id!r}"
                )
            return user, ""
        prefix = (_TOKEN if action.name == "revoke_token" else _ASP) + user + ":"
        if not action.target_id.startswith(prefix) or len(action.target_id) == len(prefix):
            raise ProviderError(f"{self.where}: invalid credential id {action.target_id!r}")
        return user, action.target_id[len(prefix) :]

    async def _get(self, path: str, expect: Collection[int] = (200, 404)) -> dict[str, Any] | None:
        response = await self.http.request("GET", path, expect=expect)
        if response.status_code == 404:
            return None
        data = self.http.parse_json(response)
        if not isinstance(data, dict):
            raise ProviderError(f"{self.where}: GET /{path} did not return a JSON object")
        return data

    def _credential_path(self, action: RevokeAction, user: str, ident: str) -> str:
        kind = "tokens" if action.name == "revoke_token" else "asps"
        return self._path("users", user, kind, ident)

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        user, ident = self._target(action)
        if self.read_only:
            raise ProviderError(f"{self.where}: read_only is set: no revoke (the token cannot)")
        if action.name in ("revoke_token", "delete_asp"):
            path = self._credential_path(action, user, ident)
            if await self._get(path) is None:
                return RevokeResult(
                    True, True, f"{action.target_id} is already gone", {"status": 404}
                )
            response = await self.http.request("DELETE", path, expect=(200, 204, 404))
            return RevokeResult(True, response.status_code == 404, f"deleted {action.target_id}")
        current = await self._get(self._path("users", user))
        if current is None:
            return RevokeResult(True, True, f"Google user {user} does not exist", {"status": 404})
        if action.name == "remove_admin_roles":
            return await self._remove_roles(user)
        if action.name == "sign_out":
            sent = datetime.now(UTC)  # a sign-in after this time is one the sign-out missed
            await self.http.request("POST", self._path("users", user, "signOut"), idempotent=True)
            self._signed_out.record(user, sent)
            return RevokeResult(True, False, f"signed Google user {user} out of every session")
        # suspend_account
        if current.get("suspended") is True:
            return RevokeResult(True, True, f"Google user {user} is already suspended")
        await self.http.request(
            "PUT", self._path("users", user), json={"suspended": True}, expect=(200,)
        )
        return RevokeResult(True, False, f"suspended Google user {user}")

    async def _remove_roles(self, user: str) -> RevokeResult:
        """Delete each of the user's role assignments; a super admin flag left over goes too.

        The super admin role is an assignment like any other (``_SEED_ADMIN_ROLE``);
        should ``isAdmin`` still be set once they are gone, ``users.makeAdmin``
        with ``status: false`` clears it.
        """
        held = await self.role_assignments(user)
        removed = []
        for assignment in held:
            ident = _text(str(assignment.get("roleAssignmentId", "")))
            if not ident:
                continue
            path = self._path("customer", self.customer, "roleassignments", ident)
            await self.http.request("DELETE", path, expect=(200, 204, 404))
            removed.append(ident)
        account = await self._get(self._path("users", user))
        demoted = False
        if account is not None and account.get("isAdmin") is True:
            await self.http.request(
                "POST",
                self._path("users", user, "makeAdmin"),
                json={"status": False},
                idempotent=True,
            )
            demoted = True
        if not removed and not demoted:
            return RevokeResult(True, True, f"Google user {user} holds no admin role")
        detail = f"removed {len(removed)} admin role assignment(s) of Google user {user}"
        if demoted:
            detail += " and its super admin status"
        return RevokeResult(True, False, detail, {"role_assignments": removed})

    async def verify(self, action: RevokeAction) -> VerifyResult:
        user, ident = self._target(action)
        if action.name in ("revoke_token", "delete_asp"):
            found = await self._get(self._credential_path(action, user, ident))
            if found is None:
                return VerifyResult(True, f"{action.target_id} no longer exists", {"status": 404})
            return VerifyResult(False, f"{action.target_id} still exists")
        account = await self._get(self._path("users", user))
        if account is None:
            return VerifyResult(True, f"Google user {user} no longer exists", {"status": 404})
        if action.name == "remove_admin_roles":
            held = await self.role_assignments(user)
            if held:
                return VerifyResult(
                    False, f"Google user {user} still holds {len(held)} admin role(s)"
                )
            if account.get("isAdmin") is True:
                return VerifyResult(False, f"Google user {user} is still a super admin")
            return VerifyResult(True, f"Google user {user} holds no admin role")
        if action.name == "suspend_account":
            suspended = account.get("suspended") is True
            state = "suspended" if suspended else "not suspended"
            return VerifyResult(
                suspended, f"Google user {user} is {state}", {"suspended": suspended}
            )
        # sign_out: Google has no API that lists a user's sessions.
        if account.get("suspended") is True:
            return VerifyResult(True, f"Google user {user} is suspended: no session can be used")
        when = self._signed_out.get(user)
        if when is None:
            return VerifyResult(
                False,
                f"no sign-out of Google user {user} is on record here "
                "(Google has no API that lists a user's sessions)",
            )
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        again = await self._signed_in_since(user, when)
        if again:
            return VerifyResult(False, f"Google user {user} signed in again at {again}")
        return VerifyResult(
            True,
            f"Google accepted the sign-out of user {user} at {stamp}; no sign-in reported since",
        )

    async def _signed_in_since(self, user: str, when: datetime) -> str:
        """The time of a successful sign-in of ``user`` after ``when`` ('' if none reported)."""
        path = f"admin/reports/v1/activity/users/{quote(user, safe='')}/applications/login"
        params = {
            "eventName": "login_success",
            "startTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
            + f"{when.microsecond // 1000:03d}Z",
            "maxResults": 10,
        }
        data = await self.http.get_json(path, params=params)
        items = data.get("items") if isinstance(data, dict) else None
        for item in items if isinstance(items, list) else []:
            ident = item.get("id") if isinstance(item, dict) else None
            stamp = iso_time(ident.get("time")) if isinstance(ident, dict) else None
            if stamp is not None and stamp > when:
                return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
        return ""
