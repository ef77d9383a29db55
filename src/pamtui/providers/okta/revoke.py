"""``Revocation``: revoke API tokens, clear sessions, suspend, deactivate, delete; verify."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pamtui.model import (
    Account,
    Credential,
    CredentialKind,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderError, check_action
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, HttpError
from pamtui.providers.okta.settings import _ACTIONS, ACCOUNT_ACTIONS
from pamtui.providers.okta.values import _get, _iso, _timestamp

_CLEAR_LOOKBACK = timedelta(hours=1)
"""After a restart, a ``user.session.clear`` this recent verifies ``clear_sessions``."""


_CLOCK_SKEW = timedelta(minutes=5)


class Revocation:
    """Revoke and verify (a mixin of :class:`OktaProvider`)."""

    name: str
    http: HttpClient
    account_actions: tuple[str, ...]
    forget_devices: bool
    _cleared_at: dict[str, datetime]

    if TYPE_CHECKING:  # provided by DeclaredProvider, a later base of OktaProvider

        @property
        def where(self) -> str: ...

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            if target.kind is not CredentialKind.API_TOKEN:
                raise ProviderError(f"{self.where}: cannot revoke a {target.kind} credential")
            what = target.label or target.id
            return [
                RevokeAction.on_credential(
                    self.name, target, "revoke_token", f"Revoke Okta API token {what}", 20
                )
            ]
        if not isinstance(target, Account):
            raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")
        who = target.name or target.id
        labels = {
            "clear_sessions": f"Clear all Okta sessions and OAuth tokens of {who}",
            "suspend_account": f"Suspend Okta user {who}",
            "deactivate_account": f"Deactivate Okta user {who}",
            "delete_account": f"Delete Okta user {who} (permanent)",
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

    def _check(self, action: RevokeAction) -> str:
        check_action(self, action, _ACTIONS)
        if not action.target_id.strip() or action.target_id in (".", ".."):
            raise ProviderError(f"{self.where}: invalid Okta id {action.target_id!r}")
        # ids are opaque: quote everything so '/', '?' or '..' cannot escape the collection
        quoted = quote(action.target_id, safe="")
        if action.target_kind is TargetKind.CREDENTIAL:
            return f"api/v1/api-tokens/{quoted}"
        return f"api/v1/users/{quoted}"

    async def _read(self, path: str) -> dict[str, Any] | None:
        response = await self.http.request("GET", path, expect=(200, 404))
        if response.status_code == 404:
            return None
        data = self.http.parse_json(response)
        if not isinstance(data, dict):
            raise ProviderError(f"{self.where}: GET /{path} did not return a JSON object")
        return data

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        path = self._check(action)
        if action.name == "revoke_token":
            return await self._revoke_token(action, path)
        if action.name == "clear_sessions":
            return await self._clear_sessions(action, path)
        user = await self._read(path)
        if user is None:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} does not exist (already deleted)",
                provider_response={"status": 404},
            )
        if action.name == "delete_account":
            return await self._delete(action, path, user)
        target = "SUSPENDED" if action.name == "suspend_account" else "DEPROVISIONED"
        verb = "suspend" if action.name == "suspend_account" else "deactivate"
        status = _text(user.get("status")).upper()
        if status == "DEPROVISIONED" or status == target:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} is already {status}",
                provider_response={"user_status": status},
            )
        if verb == "suspend" and status != "ACTIVE":
            raise ProviderError(
                f"{self.where}: Okta only suspends ACTIVE users; user {action.target_id} "
                f"is {status or 'of unknown status'} (deactivate it instead)"
            )
        try:
            response = await self.http.request(
                "POST",
                f"{path}/lifecycle/{verb}",
                params={"sendEmail": "false"} if verb == "deactivate" else None,
                expect=(200,),
                idempotent=True,  # the state transition is the same when repeated
            )
        except HttpError as exc:
            if exc.status not in (400, 403, 404):
                raise
            # Lost a race (or a retried request that had already worked): read back.
            after = await self._read(path)
            now = _text(after.get("status")).upper() if after else "DELETED"
            if now in (target, "DEPROVISIONED", "DELETED"):
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"Okta user {action.target_id} is already {now}",
                    provider_response={"user_status": now},
                )
            raise
        return RevokeResult(
            ok=True,
            detail=f"Okta user {action.target_id} {verb}d (was {status})",
            provider_response={"status": response.status_code, "user_status": target},
        )

    async def _delete(self, action: RevokeAction, path: str, user: dict[str, Any]) -> RevokeResult:
        status = _text(user.get("status")).upper()
        calls = 1 if status == "DEPROVISIONED" else 2  # Okta: the first delete deactivates
        answered: list[int] = []
        for _ in range(calls):
            response = await self.http.request(
                "DELETE", path, params={"sendEmail": "false"}, expect=(200, 202, 204, 404)
            )
            answered.append(response.status_code)
            if response.status_code == 404:
                break
        if answered[0] == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} was already deleted",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"Okta user {action.target_id} deleted (was {status})",
            provider_response={"status": answered[-1], "delete_calls": len(answered)},
        )

    async def _revoke_token(self, action: RevokeAction, path: str) -> RevokeResult:
        response = await self.http.request("DELETE", path, expect=(200, 204, 404))
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta API token {action.target_id} does not exist (already revoked)",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"Okta API token {action.target_id} revoked",
            provider_response={"status": response.status_code},
        )

    async def _clear_sessions(self, action: RevokeAction, path: str) -> RevokeResult:
        started = datetime.now(UTC)
        # forgetDevices is always sent: its default differs between Identity Engine
        # (true) and Classic Engine orgs, and the operator's choice must not depend on that.
        params = {
            "oauthTokens": "true",
            "forgetDevices": "true" if self.forget_devices else "false",
        }
        response = await self.http.request(
            "DELETE", f"{path}/sessions", params=params, expect=(200, 204, 404)
        )
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"Okta user {action.target_id} does not exist (no sessions)",
                provider_response={"status": 404},
            )
        self._cleared_at[action.target_id] = started
        return RevokeResult(
            ok=True,
            detail=f"Okta sessions and OAuth tokens of user {action.target_id} cleared"
            + ("; remembered devices forgotten" if self.forget_devices else ""),
            provider_response={
                "status": response.status_code,
                "forget_devices": self.forget_devices,
            },
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        path = self._check(action)
        if action.name == "clear_sessions":
            return await self._verify_cleared(action, path)
        found = await self._read(path)
        noun = "API token" if action.name == "revoke_token" else "user"
        if found is None:
            return VerifyResult(
                gone=True,
                detail=f"Okta {noun} {action.target_id} does not exist",
                provider_response={"status": 404},
            )
        if action.name in ("revoke_token", "delete_account"):
            return VerifyResult(
                gone=False,
                detail=f"Okta {noun} {action.target_id} still exists",
                provider_response={"status": 200},
            )
        status = _text(found.get("status")).upper()
        transitioning = _text(found.get("transitioningToStatus")).upper()
        wanted = {"DEPROVISIONED"}
        if action.name == "suspend_account":
            wanted.add("SUSPENDED")
        gone = status in wanted
        detail = f"Okta user {action.target_id} is {status or 'of unknown status'}"
        if transitioning:
            detail += f" (transitioning to {transitioning})"
        return VerifyResult(
            gone=gone,
            detail=detail,
            provider_response={"user_status": status},
        )

    async def _verify_cleared(self, action: RevokeAction, path: str) -> VerifyResult:
        if await self._read(path) is None:
            return VerifyResult(
                gone=True,
                detail=f"Okta user {action.target_id} does not exist",
                provider_response={"status": 404},
            )
        now = datetime.now(UTC)
        sent = self._cleared_at.get(action.target_id)
        since = (sent - _CLOCK_SKEW) if sent is not None else now - _CLEAR_LOOKBACK
        user_id = action.target_id.replace("\\", "\\\\").replace('"', '\\"')
        params = {
            "since": _iso(since),
            "filter": f'eventType eq "user.session.clear" and target.id eq "{user_id}"',
            "sortOrder": "DESCENDING",
            "limit": "20",
        }
        page = await self.http.get_json("api/v1/logs", params=params)
        for entry in page if isinstance(page, list) else []:
            published = _timestamp(_get(entry, "published"))
            ids = {_text(_get(t, "id")) for t in _get(entry, "target") or []}
            if (
                _text(_get(entry, "eventType")) == "user.session.clear"
                and action.target_id in ids
                and _text(_get(entry, "outcome", "result")).upper() == "SUCCESS"
                and published is not None
                and published >= since
            ):
                return VerifyResult(
                    gone=True,
                    detail=(
                        f"Okta's System Log records the sessions of user {action.target_id} "
                        f"cleared at {_iso(published)} (Okta has no API listing a user's "
                        "sessions: this is the record of the clear, not a live check)"
                    ),
                    provider_response={
                        "verified_by": "system_log",
                        "event": _text(_get(entry, "uuid")),
                        "published": _iso(published),
                    },
                )
        return VerifyResult(
            gone=False,
            detail=(
                f"unverifiable: no System Log record of the sessions of Okta user "
                f"{action.target_id} being cleared since {_iso(since)} (Okta has no API "
                "listing a user's sessions)"
            ),
            provider_response={"verified_by": "system_log", "event": ""},
        )
