"""``Revocation``: deactivate and delete keys, the console password, older STS sessions; verify."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

from pamtui.model import (
    Account,
    Credential,
    CredentialKind,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.aws_iam.calls import AwsApiError, BotoCalls
from pamtui.providers.aws_iam.documents import _as_list, _document, _utc
from pamtui.providers.aws_iam.settings import AwsSettings
from pamtui.providers.base import (
    ProviderError,
    check_action,
)

REVOKE_SESSIONS_POLICY = "AWSRevokeOlderSessions"
"""Name of the inline deny policy (the name the IAM console uses for roles)."""

_SID_PREFIX = "PamtuiRevokeOlderSessions"

_USER_NAME = re.compile(r"^[\w+=,.@-]{1,128}$")

_KEY_ID = re.compile(r"^[A-Z0-9]{16,128}$")

_CREDENTIAL_ACTIONS = ("deactivate_access_key", "delete_access_key")

_ACCOUNT_ACTIONS = ("delete_login_profile", "revoke_older_sessions")

_ACTIONS = {
    **{name: TargetKind.CREDENTIAL for name in _CREDENTIAL_ACTIONS},
    **{name: TargetKind.ACCOUNT for name in _ACCOUNT_ACTIONS},
}


class Revocation(BotoCalls):
    """Revoke and verify (a mixin of :class:`AwsIamProvider`)."""

    settings: AwsSettings

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            if target.kind is not CredentialKind.ACCESS_KEY:
                raise ProviderError(f"{self.where}: cannot revoke a {target.kind} credential")
            who = target.account_id

            def on_key(name: str, label: str, order: int, reversible: bool = False):
                return RevokeAction.on_credential(
                    self.name, target, name, label, order, reversible=reversible
                )

            return [
                on_key(
                    "deactivate_access_key",
                    f"Deactivate access key {target.id} of IAM user {who}",
                    20,
                    True,
                ),
                on_key("delete_access_key", f"Delete access key {target.id} of IAM user {who}", 30),
                RevokeAction(
                    self.name,
                    "revoke_older_sessions",
                    TargetKind.ACCOUNT,
                    who,
                    who,
                    f"Deny STS sessions issued before now to IAM user {who} "
                    f"(temporary credentials outlive the key)",
                    True,
                    50,
                ),
            ]
        if isinstance(target, Account):
            who = target.name or target.id

            def on_account(name: str, label: str, order: int, reversible: bool = False):
                return RevokeAction.on_account(
                    self.name, target, name, label, order, reversible=reversible
                )

            return [
                on_account(
                    "delete_login_profile", f"Delete console password of IAM user {who}", 45
                ),
                on_account(
                    "revoke_older_sessions",
                    f"Deny STS sessions issued before now to IAM user {who} "
                    f"(inline policy {REVOKE_SESSIONS_POLICY})",
                    50,
                    True,
                ),
            ]
        raise ProviderError(f"{self.where}: cannot revoke a {type(target).__name__}")

    def _check(self, action: RevokeAction) -> None:
        check_action(self, action, _ACTIONS)
        if action.name in _CREDENTIAL_ACTIONS and not _KEY_ID.match(action.target_id):
            raise ProviderError(f"{self.where}: invalid access key id {action.target_id!r}")
        if not _USER_NAME.match(action.account_id):
            raise ProviderError(f"{self.where}: invalid IAM user name {action.account_id!r}")

    async def _key_status(self, user: str, key_id: str) -> str | None:
        """``Active``/``Inactive``, or None when the key (or its user) does not exist."""
        try:
            keys = await asyncio.to_thread(
                self._pages, "list_access_keys", "AccessKeyMetadata", UserName=user
            )
        except AwsApiError as exc:
            if exc.code == "NoSuchEntity":
                return None
            raise
        for key in keys:
            if key.get("AccessKeyId") == key_id:
                return str(key.get("Status") or "")
        return None

    async def _session_policy(self, user: str) -> tuple[dict[str, Any] | None, str]:
        """Our deny policy on ``user`` (or None) and the ``Date`` of IAM's answer."""
        try:
            answer = await self._call(
                self.iam, "get_user_policy", UserName=user, PolicyName=REVOKE_SESSIONS_POLICY
            )
        except AwsApiError as exc:
            if exc.code == "NoSuchEntity":
                cause = exc.__cause__
                headers = getattr(cause, "response", {}).get("ResponseMetadata", {})
                return None, str(headers.get("HTTPHeaders", {}).get("date", ""))
            raise
        date = str(answer.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("date", ""))
        return _document(answer.get("PolicyDocument")), date

    @staticmethod
    def _cutoff(document: dict[str, Any] | None) -> datetime | None:
        """The ``aws:TokenIssueTime`` cut-off of our deny policy, if it is one."""
        for statement in _as_list((document or {}).get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
                continue
            if "*" not in _as_list(statement.get("Action")):
                continue
            condition = (statement.get("Condition") or {}).get("DateLessThan") or {}
            if isinstance(condition, dict):
                cutoff = _utc(condition.get("aws:TokenIssueTime"))
                if cutoff is not None:
                    return cutoff
        return None

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        self._check(action)
        user, target = action.account_id, action.target_id
        if action.name == "deactivate_access_key":
            status = await self._key_status(user, target)
            if status is None:
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} does not exist (already deleted)",
                    provider_response={"status": "absent"},
                )
            if status == "Inactive":
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} is already inactive",
                    provider_response={"status": "Inactive"},
                )
            await self._call(
                self.iam, "update_access_key", UserName=user, AccessKeyId=target, Status="Inactive"
            )
            return RevokeResult(
                ok=True,
                detail=f"access key {target} of {user} deactivated",
                provider_response={"status": "Inactive"},
            )
        if action.name == "delete_access_key":
            try:
                await self._call(self.iam, "delete_access_key", UserName=user, AccessKeyId=target)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"access key {target} of {user} was already deleted",
                    provider_response={"code": exc.code},
                )
            return RevokeResult(
                ok=True,
                detail=f"access key {target} of {user} deleted",
                provider_response={"status": "deleted"},
            )
        if action.name == "delete_login_profile":
            try:
                await self._call(self.iam, "delete_login_profile", UserName=user)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return RevokeResult(
                    ok=True,
                    already_done=True,
                    detail=f"IAM user {user} has no console password (already removed)",
                    provider_response={"code": exc.code},
                )
            return RevokeResult(
                ok=True,
                detail=f"console password of IAM user {user} deleted",
                provider_response={"status": "deleted"},
            )
        return await self._revoke_sessions(user, idempotency_key)

    async def _revoke_sessions(self, user: str, idempotency_key: str) -> RevokeResult:
        sid = _SID_PREFIX + hashlib.sha256(idempotency_key.encode()).hexdigest()[:16]
        document, date = await self._session_policy(user)
        existing = self._cutoff(document)
        if existing is not None and any(
            isinstance(s, dict) and s.get("Sid") == sid
            for s in _as_list((document or {}).get("Statement"))
        ):
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"sessions of IAM user {user} issued before "
                f"{existing:%Y-%m-%dT%H:%M:%SZ} are already denied",
                provider_response={
                    "policy": REVOKE_SESSIONS_POLICY,
                    "cutoff": existing.isoformat(),
                },
            )
        now = None
        if date:
            with contextlib.suppress(TypeError, ValueError):
                from email.utils import parsedate_to_datetime

                now = parsedate_to_datetime(date).astimezone(UTC)
        cutoff = (now or datetime.now(UTC)).replace(microsecond=0)
        if existing is not None and existing > cutoff:
            cutoff = existing  # never move the cut-off backwards
        stamp = cutoff.strftime("%Y-%m-%dT%H:%M:%SZ")
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"DateLessThan": {"aws:TokenIssueTime": stamp}},
                }
            ],
        }
        try:
            await self._call(
                self.iam,
                "put_user_policy",
                UserName=user,
                PolicyName=REVOKE_SESSIONS_POLICY,
                PolicyDocument=json.dumps(policy),
            )
        except AwsApiError as exc:
            if exc.code != "NoSuchEntity":
                raise
            return RevokeResult(
                ok=True,
                already_done=True,
                detail=f"IAM user {user} does not exist (no sessions to revoke)",
                provider_response={"code": exc.code},
            )
        return RevokeResult(
            ok=True,
            detail=f"STS sessions of IAM user {user} issued before {stamp} are denied "
            f"(inline policy {REVOKE_SESSIONS_POLICY})",
            provider_response={"policy": REVOKE_SESSIONS_POLICY, "cutoff": stamp},
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        self._check(action)
        user, target = action.account_id, action.target_id
        if action.name in _CREDENTIAL_ACTIONS:
            status = await self._key_status(user, target)
            if status is None:
                return VerifyResult(
                    gone=True,
                    detail=f"access key {target} of {user} does not exist",
                    provider_response={"status": "absent"},
                )
            gone = action.name == "deactivate_access_key" and status == "Inactive"
            return VerifyResult(
                gone=gone,
                detail=f"access key {target} of {user} exists, status {status}",
                provider_response={"status": status},
            )
        if action.name == "delete_login_profile":
            try:
                await self._call(self.iam, "get_login_profile", UserName=user)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                return VerifyResult(
                    gone=True,
                    detail=f"IAM user {user} has no console password",
                    provider_response={"code": exc.code},
                )
            return VerifyResult(
                gone=False,
                detail=f"IAM user {user} still has a console password",
                provider_response={"login_profile": True},
            )
        document, _ = await self._session_policy(user)
        cutoff = self._cutoff(document)
        if cutoff is None:
            return VerifyResult(
                gone=False,
                detail=f"IAM user {user} has no {REVOKE_SESSIONS_POLICY} deny policy",
                provider_response={"policy": None},
            )
        return VerifyResult(
            gone=True,
            detail=f"STS sessions of IAM user {user} issued before "
            f"{cutoff:%Y-%m-%dT%H:%M:%SZ} are denied",
            provider_response={"policy": REVOKE_SESSIONS_POLICY, "cutoff": cutoff.isoformat()},
        )
