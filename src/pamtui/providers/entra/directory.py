"""``Directory``: users, service principals, applications, roles and their credentials.

A mixin of :class:`~pamtui.providers.entra.provider.EntraProvider`; every read
goes through :class:`~pamtui.providers.entra.graph.Graph` with ``$select`` so
Graph sends only what pamtui maps.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    Identity,
)
from pamtui.providers.base import iso_time, text
from pamtui.providers.entra.graph import Graph
from pamtui.providers.http import HttpError

log = logging.getLogger("pamtui.providers.entra")

USER_FIELDS = (
    "id,displayName,userPrincipalName,mail,otherMails,accountEnabled,employeeId,"
    "createdDateTime,userType"
)
SIGN_IN_FIELD = "signInActivity"
APP_FIELDS = "id,appId,displayName,passwordCredentials,keyCredentials"
SP_FIELDS = (
    "id,appId,displayName,accountEnabled,servicePrincipalType,passwordCredentials,keyCredentials"
)
GRANT_FIELDS = "id,clientId,consentType,principalId,resourceId,scope"
ASSIGNMENT_FIELDS = "id,appRoleId,principalId,resourceId,resourceDisplayName,createdDateTime"

SERVICE_PRINCIPAL = "servicePrincipal"
APPLICATION = "application"
USER = "user"

_LOOKUPS = 8
"""Concurrent per-user requests (app role assignments)."""


def q(value: str) -> str:
    """An id as one path segment: quote everything, so '/', '?' or '..' cannot escape."""
    return quote(value, safe="")


class Directory:
    name: str
    graph: Graph
    page_size: int
    privileged_roles: tuple[str, ...]
    _sign_in_activity: bool
    _other_addresses: dict[str, tuple[str, ...]]

    # ----------------------------------------------------------------- accounts

    def account_identities(self, account: Account) -> list[Identity]:
        """People correlation's provider rule: a user's other addresses as email identities.

        ``Account`` carries one address (``mail``, else the first of
        ``otherMails``); a person known to HR by another of their ``otherMails``,
        or by the UPN, is found through these. Read from the last listing.
        """
        evidence = f"Entra ID otherMails/userPrincipalName of {account.name}"
        return [
            Identity("email", address, evidence)
            for address in self._other_addresses.get(account.id, ())
        ]

    async def list_accounts(self) -> AsyncIterator[Account]:
        roles = await self.privileged_members()
        async for user in self._users():
            held = tuple(name for _, name in roles.get(text(user.get("id")), ()))
            yield self._user_account(user, held)
        async for sp in self.graph_pages("servicePrincipals", SP_FIELDS):
            held = tuple(name for _, name in roles.get(text(sp.get("id")), ()))
            yield self._service_account(sp, SERVICE_PRINCIPAL, held)
        async for app in self.graph_pages("applications", APP_FIELDS):
            yield self._service_account(app, APPLICATION, ())

    async def graph_pages(self, path: str, select: str) -> AsyncIterator[dict[str, Any]]:
        async for page in self.graph.pages(path, {"$select": select, "$top": self.page_size}):
            for item in page:
                if text(item.get("id")):
                    yield item

    async def _users(self) -> AsyncIterator[dict[str, Any]]:
        """Users with ``signInActivity`` where the tenant is licensed for it, else without."""
        if self._sign_in_activity:
            select = f"{USER_FIELDS},{SIGN_IN_FIELD}"
            yielded = False
            try:
                first = self.graph.pages("users", {"$select": select, "$top": self.page_size})
                async for page in first:
                    for user in page:
                        if text(user.get("id")):
                            yielded = True
                            yield user
                return
            except HttpError as exc:
                # Graph answers 403 for signInActivity without an Entra ID P1/P2 licence,
                # on the first page; a 403 later is another problem and is not hidden.
                if exc.status != 403 or yielded:
                    raise
                log.info("%s: no signInActivity (%s); listing users without it", self.name, exc)
                self._sign_in_activity = False
        async for user in self.graph_pages("users", USER_FIELDS):
            yield user

    async def privileged_members(self) -> dict[str, list[tuple[str, str]]]:
        """Object id → (role id, role name) of each privileged directory role it holds."""
        wanted = {r.lower() for r in self.privileged_roles}
        found: dict[str, list[tuple[str, str]]] = {}
        async for role in self.graph_pages("directoryRoles", "id,displayName,roleTemplateId"):
            name = text(role.get("displayName"))
            template = text(role.get("roleTemplateId"))
            if name.lower() not in wanted and template.lower() not in wanted:
                continue
            role_id = text(role["id"])
            async for member in self.graph_pages(f"directoryRoles/{q(role_id)}/members", "id"):
                found.setdefault(text(member["id"]), []).append((role_id, name or template))
        return found

    def _user_account(self, user: Mapping[str, Any], roles: tuple[str, ...]) -> Account:
        user_id = text(user.get("id"))
        upn = text(user.get("userPrincipalName"))
        mail = text(user.get("mail"))
        others = [text(m) for m in user.get("otherMails") or () if text(m)]
        primary = mail or (others[0] if others else "") or (upn if "@" in upn else "")
        seen = (*others, upn) if "@" in upn else tuple(others)
        self._other_addresses[user_id] = tuple(
            dict.fromkeys(a for a in seen if a.lower() != primary.lower())
        )
        activity = user.get("signInActivity")
        last = None
        if isinstance(activity, dict):
            last = iso_time(activity.get("lastSignInDateTime"))
            non_interactive = iso_time(activity.get("lastNonInteractiveSignInDateTime"))
            if non_interactive is not None and (last is None or non_interactive > last):
                last = non_interactive
        enabled = user.get("accountEnabled")
        return Account(
            provider=self.name,
            id=user_id,
            name=upn or user_id,
            kind=AccountKind.HUMAN,
            status=AccountStatus.SUSPENDED if enabled is False else AccountStatus.ACTIVE,
            email=primary,
            display_name=text(user.get("displayName")),
            system=USER,
            privileged=bool(roles),
            groups=tuple(f"role:{r}" for r in roles),
            owner=text(user.get("employeeId")),
            created=iso_time(user.get("createdDateTime")),
            last_active=last,
        )

    def _service_account(
        self, item: Mapping[str, Any], system: str, roles: tuple[str, ...]
    ) -> Account:
        enabled = item.get("accountEnabled")
        display = text(item.get("displayName"))
        return Account(
            provider=self.name,
            id=text(item.get("id")),
            name=display or text(item.get("appId")) or text(item.get("id")),
            kind=AccountKind.SERVICE,
            status=AccountStatus.SUSPENDED if enabled is False else AccountStatus.ACTIVE,
            display_name=display,
            system=system,
            privileged=bool(roles),
            groups=tuple(f"role:{r}" for r in roles),
        )

    # ----------------------------------------------------------------- credentials

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        now = datetime.now(UTC)
        if account is None:
            user_ids: list[str] = []
            async for user in self.graph_pages("users", "id"):
                user_ids.append(text(user["id"]))
            async for grant in self.graph_pages("oauth2PermissionGrants", GRANT_FIELDS):
                credential = self._grant(grant)
                if credential is not None:
                    yield credential
            for batch in _batches(user_ids, _LOOKUPS * 4):
                for found in await asyncio.gather(*(self._assignments(u) for u in batch)):
                    for credential in found:
                        yield credential
            async for sp in self.graph_pages("servicePrincipals", SP_FIELDS):
                for credential in self._secrets(sp, "servicePrincipals", now):
                    yield credential
            async for app in self.graph_pages("applications", APP_FIELDS):
                for credential in self._secrets(app, "applications", now):
                    yield credential
            return
        if account.system == USER:
            path = f"users/{q(account.id)}/oauth2PermissionGrants"
            async for grant in self.graph_pages(path, GRANT_FIELDS):
                credential = self._grant(grant)
                if credential is not None and credential.account_id == account.id:
                    yield credential
            for credential in await self._assignments(account.id):
                yield credential
            return
        if account.system in (SERVICE_PRINCIPAL, APPLICATION):
            collection = (
                "servicePrincipals" if account.system == SERVICE_PRINCIPAL else "applications"
            )
            select = SP_FIELDS if account.system == SERVICE_PRINCIPAL else APP_FIELDS
            if account.system == SERVICE_PRINCIPAL:
                params = {
                    "$select": GRANT_FIELDS,
                    "$filter": f"clientId eq '{account.id.replace(chr(39), chr(39) * 2)}'",
                }
                async for page in self.graph.pages("oauth2PermissionGrants", params):
                    for grant in page:
                        credential = self._grant(grant)
                        if credential is not None and credential.account_id == account.id:
                            yield credential
            item = await self.graph.get(f"{collection}/{q(account.id)}", {"$select": select})
            if isinstance(item, dict):
                for credential in self._secrets(item, collection, now):
                    yield credential

    async def _assignments(self, user_id: str) -> list[Credential]:
        path = f"users/{q(user_id)}/appRoleAssignments"
        found = []
        async for item in self.graph_pages(path, ASSIGNMENT_FIELDS):
            resource = text(item.get("resourceDisplayName")) or text(item.get("resourceId"))
            found.append(
                Credential(
                    provider=self.name,
                    id=f"approle:{user_id}:{text(item['id'])}",
                    account_id=user_id,
                    kind=CredentialKind.API_TOKEN,
                    status=CredentialStatus.ACTIVE,
                    label=f"app role assignment to {resource}",
                    scopes=(f"appRole:{text(item.get('appRoleId'))}",),
                    created=iso_time(item.get("createdDateTime")),
                )
            )
        return found

    def _grant(self, grant: Mapping[str, Any]) -> Credential | None:
        """A delegated permission grant, on its user (or, consented for all users, its client)."""
        grant_id = text(grant.get("id"))
        everyone = text(grant.get("consentType")) == "AllPrincipals"
        owner = text(grant.get("clientId")) if everyone else text(grant.get("principalId"))
        if not grant_id or not owner:
            return None
        scopes = tuple(s for s in text(grant.get("scope")).split() if s)
        who = "all users" if everyone else "one user"
        return Credential(
            provider=self.name,
            id=f"grant:{grant_id}",
            account_id=owner,
            kind=CredentialKind.API_TOKEN,
            status=CredentialStatus.ACTIVE,
            label=f"delegated permission grant ({who}) to resource {text(grant.get('resourceId'))}",
            scopes=scopes,
        )

    def _secrets(self, item: Mapping[str, Any], collection: str, now: datetime) -> list[Credential]:
        """Client secrets (``passwordCredentials``) and certificates (``keyCredentials``)."""
        owner = text(item.get("id"))
        found = []
        for field, kind in (("passwordCredentials", "password"), ("keyCredentials", "key")):
            for secret in item.get(field) or ():
                if not isinstance(secret, dict) or not text(secret.get("keyId")):
                    continue
                expires = iso_time(secret.get("endDateTime"))
                what = "client secret" if kind == "password" else "certificate"
                label = text(secret.get("displayName")) or text(secret.get("keyId"))
                hint = text(secret.get("hint"))
                found.append(
                    Credential(
                        provider=self.name,
                        id=f"{kind}:{collection}:{owner}:{text(secret['keyId'])}",
                        account_id=owner,
                        kind=CredentialKind.ACCESS_KEY,
                        status=CredentialStatus.EXPIRED
                        if expires is not None and expires <= now
                        else CredentialStatus.ACTIVE,
                        label=f"{what} {label}",
                        scopes=(what,),
                        fingerprint=f"{hint}..." if hint else "",
                        created=iso_time(secret.get("startDateTime")),
                        expires=expires,
                    )
                )
        return found


def _batches(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
