"""A small, deterministic in-memory provider for TUI and service tests.

It implements the real Provider protocol (no patching); its dates are relative
to the moment it is built, so rendered "N days ago" values are stable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar

from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    AccountStatus,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
    utcnow,
)
from pamtui.providers.base import ProviderContext, ProviderError
from tests.support.hostile import HOSTILE_STRINGS


class StaticProvider:
    type: ClassVar[str] = "static"
    capabilities = frozenset(Capability)

    def __init__(
        self,
        name: str = "static",
        *,
        hostile: bool = False,
        events: list[AccessEvent] | None = None,
    ) -> None:
        self.name = name
        now = utcnow().replace(microsecond=0)
        self.revoke_calls: list[tuple[str, str]] = []
        self.fail_verify: set[str] = set()
        self.fail_revoke: dict[str, str] = {}
        self.response_extra: dict[str, Any] = {}  # echoed in every provider response
        self.accounts: dict[str, Account] = {}
        self.credentials: dict[str, Credential] = {}

        def account(id_: str, name: str, **kw: Any) -> None:
            self.accounts[id_] = Account(
                provider=self.name,
                id=id_,
                name=name,
                kind=kw.pop("kind", AccountKind.HUMAN),
                status=AccountStatus.ACTIVE,
                email=f"{name}@example.test",
                created=now - timedelta(days=400),
                **kw,
            )

        def credential(id_: str, account_id: str, kind: CredentialKind, **kw: Any) -> None:
            self.credentials[id_] = Credential(
                provider=self.name,
                id=id_,
                account_id=account_id,
                kind=kind,
                status=CredentialStatus.ACTIVE,
                fingerprint=f"…{id_[-4:]} sha256:0a1b2c3d",
                created=now - timedelta(days=kw.pop("created_days", 200)),
                **kw,
            )

        account(
            "u1",
            "alice",
            privileged=True,
            owner="E1",
            owner_status=OwnerStatus.EMPLOYED,
            groups=("admins",),
        )
        account("u2", "bob", owner="E2", owner_status=OwnerStatus.TERMINATED)
        account("u3", "carol", owner="E3", owner_status=OwnerStatus.EMPLOYED)
        account(
            "s1",
            "svc-backup",
            kind=AccountKind.SERVICE,
            owner="E1",
            owner_status=OwnerStatus.EMPLOYED,
        )
        credential(
            "t-alice-1",
            "u1",
            CredentialKind.API_TOKEN,
            label="alice-admin",
            scopes=("admin:org",),
            last_used=now - timedelta(hours=2),
        )
        credential(
            "t-bob-1",
            "u2",
            CredentialKind.PERSONAL_ACCESS_TOKEN,
            label="bob-laptop",
            scopes=("repo",),
            last_used=now - timedelta(days=1),
        )
        credential(
            "t-bob-2",
            "u2",
            CredentialKind.SESSION,
            label="bob-session",
            last_used=now - timedelta(days=3),
        )
        credential(
            "t-carol-1",
            "u3",
            CredentialKind.API_TOKEN,
            label="carol-old",
            scopes=("read",),
            last_used=now - timedelta(days=200),
        )
        credential(
            "k-backup-1",
            "s1",
            CredentialKind.ACCESS_KEY,
            label="AKIAEXAMPLE0001",
            scopes=("s3:GetObject",),
            last_used=now - timedelta(minutes=5),
        )
        if hostile:
            for n, text in enumerate(HOSTILE_STRINGS):
                account(f"h{n}", text, kind=AccountKind.BOT, display_name=text)
        self._events = events or []

    @classmethod
    def from_config(cls, name: str, settings: Mapping[str, Any], context: ProviderContext):
        return cls(name)

    async def list_accounts(self) -> AsyncIterator[Account]:
        for account in list(self.accounts.values()):
            yield account

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        for credential in list(self.credentials.values()):
            if account is None or credential.account_id == account.id:
                yield credential

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        for event in self._events:
            yield event
        while True:  # a quiet live stream
            await asyncio.sleep(3600)

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            return [
                RevokeAction(
                    self.name,
                    "revoke_token",
                    TargetKind.CREDENTIAL,
                    target.id,
                    target.account_id,
                    f"Revoke {target.kind} {target.label}",
                    order=10,
                )
            ]
        return [
            RevokeAction(
                self.name,
                "deactivate_account",
                TargetKind.ACCOUNT,
                target.id,
                target.id,
                f"Deactivate account {target.name}",
                reversible=True,
                order=90,
            )
        ]

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        self.revoke_calls.append((action.name, action.target_id))
        if action.target_id in self.fail_revoke:
            raise ProviderError(self.fail_revoke[action.target_id])
        if action.target_kind is TargetKind.CREDENTIAL:
            credential = self.credentials.get(action.target_id)
            if credential is None:
                raise ProviderError(f"no credential {action.target_id}")
            if credential.status is CredentialStatus.REVOKED:
                return RevokeResult(ok=True, already_done=True)
            if action.target_id not in self.fail_verify:
                self.credentials[action.target_id] = replace(
                    credential, status=CredentialStatus.REVOKED
                )
            return RevokeResult(ok=True, provider_response={"status": 204, **self.response_extra})
        account = self.accounts[action.target_id]
        self.accounts[action.target_id] = replace(account, status=AccountStatus.DEACTIVATED)
        return RevokeResult(ok=True)

    async def verify(self, action: RevokeAction) -> VerifyResult:
        if action.target_kind is TargetKind.CREDENTIAL:
            status = self.credentials[action.target_id].status
            return VerifyResult(
                gone=status is not CredentialStatus.ACTIVE,
                detail=str(status),
                provider_response=dict(self.response_extra),
            )
        status = self.accounts[action.target_id].status
        return VerifyResult(gone=status is not AccountStatus.ACTIVE, detail=str(status))

    async def aclose(self) -> None:
        return None
