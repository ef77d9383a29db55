"""``Revocation``: revoke fine-grained PATs (one or in bulk), remove members; verify."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pamtui.model import (
    Account,
    Credential,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.base import ProviderError, check_action
from pamtui.providers.base import text as _text
from pamtui.providers.github.sso import SSO_ID_RE, SSO_PREFIX, credential_id_of
from pamtui.providers.github.values import _id
from pamtui.providers.http import (
    HttpClient,
    HttpError,
    provider_message,
)

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

log = logging.getLogger("pamtui.providers.github")


_BULK_MAX = 100
"""pat_ids per bulk revocation request."""


_BULK_ATTEMPTS = 3
"""A bulk revocation is re-planned when a token vanished between listing and POST."""


_ID_RE = re.compile(r"[1-9][0-9]{0,19}")


REVOKE_TOKEN = "revoke_token"


REVOKE_ALL_TOKENS = "revoke_all_tokens"


REMOVE_MEMBER = "remove_member"


REVOKE_SSO_AUTHORIZATION = "revoke_sso_authorization"


_ACTIONS = {
    REVOKE_SSO_AUTHORIZATION: TargetKind.CREDENTIAL,
    REVOKE_TOKEN: TargetKind.CREDENTIAL,
    REVOKE_ALL_TOKENS: TargetKind.ACCOUNT,
    REMOVE_MEMBER: TargetKind.ACCOUNT,
}


class Revocation:
    """Revoke and verify (a mixin of :class:`GitHubProvider`)."""

    name: str
    http: HttpClient
    org: str
    _org_path: str

    if TYPE_CHECKING:  # provided by GitHubProvider and its base DeclaredProvider

        @property
        def where(self) -> str: ...

        async def _pats(self) -> list[dict[str, Any]]: ...

        async def _members(self, **params: str) -> list[dict[str, Any]]: ...

        async def _sso_authorizations(self, login: str | None = None) -> list[dict[str, Any]]: ...

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential) and target.id.startswith(SSO_PREFIX):
            label = target.label or target.id
            return [
                RevokeAction.on_credential(
                    self.name,
                    target,
                    REVOKE_SSO_AUTHORIZATION,
                    f"Remove the SAML SSO authorization of {label} "
                    f"(credential {credential_id_of(target.id)}) in GitHub org {self.org}",
                    10,
                )
            ]
        if isinstance(target, Credential):
            label = target.label or target.id
            return [
                RevokeAction.on_credential(
                    self.name,
                    target,
                    REVOKE_TOKEN,
                    f"Revoke fine-grained PAT {label} (pat {target.id}) in GitHub org {self.org}",
                    10,
                )
            ]
        if isinstance(target, Account):
            who = target.name or target.id
            return [
                RevokeAction.on_account(
                    self.name,
                    target,
                    REVOKE_ALL_TOKENS,
                    f"Revoke every fine-grained PAT of {who} in GitHub org {self.org} (bulk)",
                    5,
                ),
                RevokeAction.on_account(
                    self.name,
                    target,
                    REMOVE_MEMBER,
                    f"Remove {who} from GitHub org {self.org}",
                    90,
                ),
            ]
        raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")

    def _check(self, action: RevokeAction) -> None:
        check_action(self, action, _ACTIONS)
        if action.name == REVOKE_SSO_AUTHORIZATION:
            if not SSO_ID_RE.fullmatch(action.target_id):
                raise ProviderError(
                    f"{self.where}: invalid SSO credential id {action.target_id[:40]!r}"
                )
            return
        if not _ID_RE.fullmatch(action.target_id):
            what = "pat id" if action.target_kind is TargetKind.CREDENTIAL else "user id"
            raise ProviderError(f"{self.where}: invalid GitHub {what} {action.target_id[:40]!r}")

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        """Idempotent by construction (GitHub takes no idempotency key): see each step."""
        self._check(action)
        if action.name == REVOKE_TOKEN:
            return await self._revoke_token(action.target_id)
        if action.name == REVOKE_ALL_TOKENS:
            return await self._revoke_all(action.target_id)
        if action.name == REVOKE_SSO_AUTHORIZATION:
            return await self._revoke_sso(credential_id_of(action.target_id))
        return await self._remove_member(action.target_id)

    async def _sso_listed(self, credential_id: str) -> bool:
        return any(
            _id(item.get("credential_id")) == credential_id
            for item in await self._sso_authorizations()
        )

    async def _revoke_sso(self, credential_id: str) -> RevokeResult:
        path = f"{self._org_path}/credential-authorizations/{credential_id}"
        # Removing an authorization twice changes nothing: retry like an idempotent request.
        response = await self.http.request("DELETE", path, expect=(204, 404), idempotent=True)
        if response.status_code == 204:
            return RevokeResult(
                ok=True,
                detail=f"SAML SSO authorization of credential {credential_id} removed in org "
                f"{self.org}",
                provider_response={"status": 204},
            )
        # 404: removed already (a second delete), or the org's list still has it.
        if not await self._sso_listed(credential_id):
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"credential {credential_id} is no longer authorised for org {self.org}",
                provider_response={"status": 404},
            )
        raise self._refused("DELETE", response)

    async def _revoke_token(self, pat_id: str) -> RevokeResult:
        path = f"{self._org_path}/personal-access-tokens/{pat_id}"
        # Revoking twice changes nothing: retry like an idempotent request.
        response = await self.http.request(
            "POST", path, json={"action": "revoke"}, expect=(204, 404, 422), idempotent=True
        )
        if response.status_code == 204:
            return RevokeResult(
                ok=True,
                detail=f"fine-grained PAT {pat_id} revoked in org {self.org}",
                provider_response={"status": 204},
            )
        # 404/422: gone already, or a real refusal; the org's list tells which.
        if not any(_id(p.get("id")) == pat_id for p in await self._pats()):
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"fine-grained PAT {pat_id} no longer has access to org {self.org}",
                provider_response={"status": response.status_code},
            )
        raise self._refused("POST", response)

    def _refused(self, method: str, response: httpx.Response) -> HttpError:
        detail = self.http.redact(provider_message(response))
        status = response.status_code
        path = response.request.url.path
        text = f"{self.http.where}: {method} {path} failed with HTTP {status}"
        if response.reason_phrase:
            text += f" {response.reason_phrase}"
        if detail:
            text += f": {detail}"
        return HttpError(text, status=status, method=method, path=path, detail=detail)

    async def _revoke_all(self, user_id: str) -> RevokeResult:
        path = f"{self._org_path}/personal-access-tokens"
        revoked: list[str] = []
        refused: httpx.Response | None = None
        tried: list[str] = []
        for _ in range(_BULK_ATTEMPTS):
            pat_ids = [
                _id(p.get("id"))
                for p in await self._pats()
                if isinstance(p.get("owner"), dict) and _id(p["owner"].get("id")) == user_id
            ]
            if refused is not None and set(tried) <= set(pat_ids):
                # Nothing vanished since the refusal: GitHub means it.
                raise self._refused("POST", refused)
            if not pat_ids:
                if revoked:
                    break
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"user {user_id} holds no fine-grained PAT in org {self.org}",
                    provider_response={"pat_ids": []},
                )
            retry = False
            for start in range(0, len(pat_ids), _BULK_MAX):
                chunk = pat_ids[start : start + _BULK_MAX]
                response = await self.http.request(
                    "POST",
                    path,
                    json={"action": "revoke", "pat_ids": [int(p) for p in chunk]},
                    expect=(202, 204, 404, 422),
                    idempotent=True,
                )
                if response.status_code in (404, 422):
                    # A token may have vanished between listing and POST: list again.
                    log.debug("%s: bulk revoke got %s, re-listing", self.name, response.status_code)
                    refused, tried, retry = response, chunk, True
                    break
                revoked.extend(chunk)
            if not retry:
                break
        else:
            raise ProviderError(
                f"{self.where}: bulk revocation of user {user_id}'s tokens kept failing "
                f"(the token list changed {_BULK_ATTEMPTS} times); try again",
                retryable=True,
            )
        return RevokeResult(
            ok=True,
            detail=f"{len(revoked)} fine-grained PAT(s) of user {user_id} revoked in org "
            f"{self.org}",
            provider_response={"status": 202, "pat_ids": revoked},
        )

    async def _member_login(self, user_id: str) -> str | None:
        for member in await self._members():
            if _id(member.get("id")) == user_id:
                return _text(member.get("login")) or None
        return None

    async def _remove_member(self, user_id: str) -> RevokeResult:
        login = await self._member_login(user_id)
        if login is None:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"user {user_id} is not a member of org {self.org}",
                provider_response={"member": False},
            )
        path = f"{self._org_path}/memberships/{quote(login, safe='')}"
        response = await self.http.request("DELETE", path, expect=(200, 204, 404))
        if response.status_code == 404:
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"user {user_id} ({login}) was already removed from org {self.org}",
                provider_response={"status": 404},
            )
        return RevokeResult(
            ok=True,
            detail=f"user {user_id} ({login}) removed from org {self.org}",
            provider_response={"status": response.status_code},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        self._check(action)
        if action.name == REMOVE_MEMBER:
            login = await self._member_login(action.target_id)
            return VerifyResult(
                gone=login is None,
                detail=f"user {action.target_id} "
                + ("is not a member" if login is None else f"({login}) is still a member")
                + f" of org {self.org}",
                provider_response={"member": login is not None},
            )
        if action.name == REVOKE_SSO_AUTHORIZATION:
            credential_id = credential_id_of(action.target_id)
            listed = await self._sso_listed(credential_id)
            return VerifyResult(
                gone=not listed,
                detail=f"credential {credential_id} "
                + ("is still" if listed else "is no longer")
                + f" authorised for org {self.org}",
                provider_response={"listed": listed},
            )
        pats = await self._pats()
        if action.name == REVOKE_TOKEN:
            present = any(_id(p.get("id")) == action.target_id for p in pats)
            return VerifyResult(
                gone=not present,
                detail=f"fine-grained PAT {action.target_id} "
                + ("still has" if present else "no longer has")
                + f" access to org {self.org}",
                provider_response={"listed": present},
            )
        left = [
            _id(p.get("id"))
            for p in pats
            if isinstance(p.get("owner"), dict) and _id(p["owner"].get("id")) == action.target_id
        ]
        return VerifyResult(
            gone=not left,
            detail=f"user {action.target_id} holds {len(left)} fine-grained PAT(s) in org "
            f"{self.org}",
            provider_response={"pat_ids": left},
        )
