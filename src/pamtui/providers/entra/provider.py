"""``EntraProvider``: a Microsoft Entra ID tenant through Microsoft Graph v1.0."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any, ClassVar

from pamtui.model import Capability
from pamtui.providers.base import ProviderConfigError, ProviderContext, where
from pamtui.providers.entra.auth import GraphAuth, TokenSource
from pamtui.providers.entra.directory import Directory
from pamtui.providers.entra.events import AuditStream
from pamtui.providers.entra.graph import Graph, GraphHttp
from pamtui.providers.entra.revoke import Revocation
from pamtui.providers.entra.settings import (
    DEFAULT_ACCOUNT_ACTIONS,
    DEFAULT_PRIVILEGED_ROLES,
    SETTINGS,
)
from pamtui.providers.http import HttpClient, Sleep, http_from
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings


class EntraProvider(Directory, Revocation, AuditStream, DeclaredProvider):
    """Users, service principals, applications, grants and audit logs of an Entra ID tenant."""

    type: ClassVar[str] = "entra"
    SETTINGS: ClassVar[Settings] = SETTINGS
    SECRET_WHAT: ClassVar[str] = "the client secret"
    capabilities = frozenset(
        {
            Capability.ACCOUNTS,
            Capability.CREDENTIALS,
            Capability.EVENTS,
            Capability.REVOKE,
            Capability.VERIFY,
        }
    )

    def __init__(
        self,
        name: str,
        http: GraphHttp,
        tokens: TokenSource,
        *,
        tenant_id: str,
        privileged_roles: tuple[str, ...] = DEFAULT_PRIVILEGED_ROLES,
        account_actions: tuple[str, ...] = DEFAULT_ACCOUNT_ACTIONS,
        page_size: int = 999,
        poll_seconds: float = 60.0,
        backfill_minutes: int = 60,
        state_dir: Any = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.http = http
        self.tokens = tokens
        self.tenant_id = tenant_id
        self.graph = Graph(http, where(name, self.type))
        self.privileged_roles = privileged_roles
        self.account_actions = account_actions
        self.page_size = page_size
        self.poll_seconds = poll_seconds
        self.backfill_minutes = backfill_minutes
        self._sleep = sleep
        self._sign_in_activity = True
        self._other_addresses: dict[str, tuple[str, ...]] = {}
        """User id → addresses beyond its primary one, from the last listing."""
        """False once Graph refused ``signInActivity`` (no Entra ID P1/P2 licence)."""
        self._revoked_at: dict[str, datetime] = {}
        """User id → Graph's time (``Date``) of this process's last ``revokeSignInSessions``."""
        self.cursor_file = SavedCursor(
            state_dir, self.type, name, scope={"tenant": tenant_id, "graph": http.settings.base_url}
        )

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> EntraProvider:
        here = where(name, cls.type)
        sleep = options.pop("sleep", asyncio.sleep)
        graph_settings = http_from(name, here, values)
        token_http = HttpClient(
            name, http_from(name, here, {**values, "base_url": values["authority"]}), sleep=sleep
        )
        if (values["client_secret"] is None) == (values["client_certificate"] is None):
            raise ProviderConfigError(
                f"{here}: set exactly one of 'client_secret' and 'client_certificate' "
                '(a secret reference: { env = "VAR" } or { keyring = "NAME" })'
            )
        tokens = TokenSource(
            token_http,
            tenant_id=values["tenant_id"],
            client_id=values["client_id"],
            client_secret=values["client_secret"],
            client_certificate=values["client_certificate"],
            scope=values["scope"],
            where=here,
            sleep=sleep,
        )
        http = GraphHttp(name, graph_settings, auth=GraphAuth(tokens), sleep=sleep, **options)
        http.tokens = tokens
        own = SETTINGS.own(values)
        for key in ("client_id", "authority", "scope"):
            own.pop(key)
        return cls(name, http, tokens, state_dir=context.state_dir, sleep=sleep, **own)

    async def aclose(self) -> None:
        await self.http.aclose()
        await self.tokens.http.aclose()

    def __repr__(self) -> str:
        return (
            f"EntraProvider(name={self.name!r}, tenant={self.tenant_id!r}, "
            f"base_url={self.http.settings.base_url!r})"
        )
