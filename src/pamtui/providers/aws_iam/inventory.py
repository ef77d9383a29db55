"""``Inventory``: IAM users as accounts, access keys as credentials, privileged or not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
)
from pamtui.providers.aws_iam.calls import AwsApiError, BotoCalls
from pamtui.providers.aws_iam.documents import _owner_status, _utc, broad_grant
from pamtui.providers.aws_iam.settings import AwsSettings

log = logging.getLogger("pamtui.providers.aws_iam")

MAX_POLICY_DOCUMENTS = 50
"""Policy documents read per user when looking for ``*:*`` grants."""

USER_CONCURRENCY = 4
"""Users whose details are read at the same time (each in a worker thread)."""

_AWS_MANAGED = "arn:aws:iam::aws:policy/"


class Inventory(BotoCalls):
    """Listings of the provider (a mixin of :class:`AwsIamProvider`)."""

    settings: AwsSettings
    _privileged_names: frozenset[str]

    async def _per_user(self, fn: Callable[..., Any], *args: Any) -> AsyncIterator[Any]:
        """``fn(user, *args)`` in worker threads, :data:`USER_CONCURRENCY` users at a time.

        Results come in ``ListUsers`` order; a user deleted meanwhile is skipped.
        """

        async def one(user: dict[str, Any]) -> Any:
            try:
                return await asyncio.to_thread(fn, user, *args)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                log.debug("%s: user %s vanished while listing", self.name, user["UserName"])
                return None

        batch: list[dict[str, Any]] = []

        async def flush() -> list[Any]:
            results = await asyncio.gather(*(one(u) for u in batch))
            batch.clear()
            return [r for r in results if r is not None]

        async for user in self._users():
            batch.append(user)
            if len(batch) >= USER_CONCURRENCY:
                for result in await flush():
                    yield result
        for result in await flush():
            yield result

    async def list_accounts(self) -> AsyncIterator[Account]:
        cache: dict[str, Any] = {}
        async for account in self._per_user(self._account, cache):
            yield account

    def _policy_reasons(
        self, state: dict[str, Any], budget: list[int], user: str, group_names: list[str]
    ) -> list[str]:
        """Why ``user`` is privileged (synchronous, in a worker thread)."""
        reasons: list[str] = []

        def managed(policies: list[dict[str, Any]], via: str) -> None:
            for policy in policies:
                pname, arn = policy.get("PolicyName", ""), policy.get("PolicyArn", "")
                if pname.casefold() in self._privileged_names:
                    reasons.append(f"{pname} via {via}")
                elif arn and not arn.startswith(_AWS_MANAGED) and budget[0] > 0:
                    docs: dict[str, str] = state.setdefault("managed", {})
                    if arn not in docs:
                        budget[0] -= 1
                        info = self._sync(self.iam, "get_policy", PolicyArn=arn)["Policy"]
                        version = self._sync(
                            self.iam,
                            "get_policy_version",
                            PolicyArn=arn,
                            VersionId=info["DefaultVersionId"],
                        )["PolicyVersion"]
                        docs[arn] = broad_grant(version.get("Document"))
                    if docs[arn]:
                        reasons.append(f"{pname} ({docs[arn]}) via {via}")

        def inline(names: list[str], get: str, via: str, **who: str) -> None:
            for pname in names:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
                doc = self._sync(self.iam, get, PolicyName=pname, **who).get("PolicyDocument")
                why = broad_grant(doc)
                if why:
                    reasons.append(f"inline {pname} ({why}) via {via}")

        managed(
            self._pages("list_attached_user_policies", "AttachedPolicies", UserName=user), "user"
        )
        inline(
            self._pages("list_user_policies", "PolicyNames", UserName=user),
            "get_user_policy",
            "user",
            UserName=user,
        )
        groups: dict[str, list[str]] = state.setdefault("groups", {})
        for gname in group_names:
            if gname not in groups:
                before = len(reasons)
                managed(
                    self._pages(
                        "list_attached_group_policies", "AttachedPolicies", GroupName=gname
                    ),
                    f"group {gname}",
                )
                inline(
                    self._pages("list_group_policies", "PolicyNames", GroupName=gname),
                    "get_group_policy",
                    f"group {gname}",
                    GroupName=gname,
                )
                groups[gname] = reasons[before:]
                del reasons[before:]
            reasons.extend(groups[gname])
        return reasons

    def _account(self, user: dict[str, Any], cache: dict[str, Any]) -> Account:
        name = user["UserName"]
        groups = [
            str(g.get("GroupName"))
            for g in self._pages("list_groups_for_user", "Groups", UserName=name)
            if g.get("GroupName")
        ]
        reasons = self._policy_reasons(cache, [MAX_POLICY_DOCUMENTS], name, groups)
        tags = {
            t.get("Key", ""): str(t.get("Value", ""))
            for t in self._pages("list_user_tags", "Tags", UserName=name)
        }
        console = True
        try:
            self._sync(self.iam, "get_login_profile", UserName=name)
        except AwsApiError as exc:
            if exc.code != "NoSuchEntity":
                raise
            console = False
        last_active = _utc(user.get("PasswordLastUsed"))
        for key in self._pages("list_access_keys", "AccessKeyMetadata", UserName=name):
            used = self._last_used(key.get("AccessKeyId", "")).get("LastUsedDate")
            used = _utc(used)
            if used and (last_active is None or used > last_active):
                last_active = used
        s = self.settings
        owner = tags.get(s.owner_tag, "").strip() if s.owner_tag else ""
        kind_text = tags.get(s.kind_tag, "").strip().lower() if s.kind_tag else ""
        if "bot" in kind_text:
            kind = AccountKind.BOT
        elif "service" in kind_text:
            kind = AccountKind.SERVICE
        elif kind_text or console or user.get("PasswordLastUsed"):
            kind = AccountKind.HUMAN
        else:
            kind = AccountKind.SERVICE
        arn = str(user.get("Arn", ""))
        account_number = arn.split(":")[4] if arn.count(":") >= 5 else ""
        if reasons:
            log.debug("%s: %s is privileged: %s", self.name, name, "; ".join(reasons))
        return Account(
            provider=self.name,
            id=name,
            name=name,
            kind=kind,
            status=AccountStatus.ACTIVE,
            email=owner if "@" in owner else "",
            display_name=tags.get("Name", "").strip(),
            system=f"aws:{account_number}" if account_number else "aws",
            privileged=bool(reasons),
            groups=tuple(groups),
            owner=owner,
            owner_status=_owner_status(tags.get(s.hr_tag, "")) if s.hr_tag else OwnerStatus.UNKNOWN,
            created=_utc(user.get("CreateDate")),
            last_active=last_active,
        )

    def _last_used(self, key_id: str) -> dict[str, Any]:
        if not key_id:
            return {}
        try:
            answer = self._sync(self.iam, "get_access_key_last_used", AccessKeyId=key_id)
        except AwsApiError as exc:
            if exc.code in ("NoSuchEntity", "AccessDenied"):
                return {}
            raise
        return answer.get("AccessKeyLastUsed") or {}

    def _credentials_of(self, user: str) -> list[Credential]:
        creds = []
        for key in self._pages("list_access_keys", "AccessKeyMetadata", UserName=user):
            key_id = key.get("AccessKeyId", "")
            if not key_id:
                continue
            used = self._last_used(key_id)
            service, region = used.get("ServiceName", ""), used.get("Region", "")
            label = f"access key {key_id}"
            if service and service != "N/A":
                label += f" (last used: {service}" + (
                    f" in {region})" if region and region != "N/A" else ")"
                )
            status = (
                CredentialStatus.ACTIVE
                if key.get("Status") == "Active"
                else CredentialStatus.INACTIVE
            )
            creds.append(
                Credential(
                    provider=self.name,
                    id=key_id,
                    account_id=user,
                    kind=CredentialKind.ACCESS_KEY,
                    status=status,
                    label=label,
                    fingerprint=f"…{key_id[-4:]}",
                    created=_utc(key.get("CreateDate")),
                    last_used=_utc(used.get("LastUsedDate")),
                )
            )
        return creds

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        if account is not None:
            try:
                creds = await asyncio.to_thread(self._credentials_of, account.id)
            except AwsApiError as exc:
                if exc.code != "NoSuchEntity":
                    raise
                creds = []  # the user is gone, and its keys with it
            for cred in creds:
                yield cred
            return
        async for creds in self._per_user(lambda user: self._credentials_of(user["UserName"])):
            for cred in creds:
                yield cred
