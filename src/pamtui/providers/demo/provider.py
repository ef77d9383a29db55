"""``DemoProvider``: the simulated Acme Robotics org behind the Provider protocol.

Several instances (say one per system: ``idp``, ``git``, ``cloud``) share one
SQLite state file; each reports only its own system's accounts, and a
revocation made through any of them (or another process) shows up in every
instance's listings and event stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
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
    VerifyResult,
)
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.demo import events as ev
from pamtui.providers.demo import state as st
from pamtui.providers.demo.constants import DEFAULT_SEED, GITHUB_ORG, SYSTEMS

PAGE = 1000

_SETTINGS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "system": (str, "one of idp, git, cloud"),
    "state_file": ((str, os.PathLike), "a path"),
    "seed": (int, "an integer"),
    "latency_ms": ((int, float), "a number of milliseconds"),
    "event_rate": ((int, float), "a number of events per second"),
    "backfill_minutes": ((int, float), "a number of minutes"),
}


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def reset(state_dir: Path, *, state_file: Path | None = None, seed: int | None = None) -> Path:
    """Delete the demo state file and build it afresh from the sample data; return its path."""
    path = Path(state_file) if state_file is not None else st.default_path(Path(state_dir))
    st.remove(path)
    return st.ensure(path, seed=seed)


class DemoProvider:
    """A believable mid-size company, simulated: accounts, credentials, live traffic."""

    type: ClassVar[str] = "demo"
    capabilities = frozenset(Capability)

    def __init__(
        self,
        name: str,
        *,
        state_file: Path,
        system: str | None = None,
        seed: int | None = None,
        latency_ms: float = 150,
        event_rate: float = 8,
        backfill_minutes: float = 30,
        clock: ev.Clock | None = None,
    ) -> None:
        self.name = name
        self.system = system
        self.systems: tuple[str, ...] = (system,) if system else SYSTEMS
        self.state_file = Path(state_file)
        self.seed = seed
        self.latency_ms = float(latency_ms)
        self.event_rate = float(event_rate)
        self.backfill_minutes = float(backfill_minutes)
        self.clock: ev.Clock = clock or ev.Clock()
        """Time source of the event stream; tests may swap in a fast-forwarding one."""
        self._conn: sqlite3.Connection | None = None
        self._meta: dict[str, str] | None = None

    # -- configuration -------------------------------------------------------

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], context: ProviderContext
    ) -> DemoProvider:
        where = f"provider {name!r} (type demo)"
        for key, value in settings.items():
            if key not in _SETTINGS:
                known = ", ".join(sorted(_SETTINGS))
                raise ProviderConfigError(
                    f"{where}: unknown setting {key!r} (known settings: {known})"
                )
            types, expected = _SETTINGS[key]
            if isinstance(value, bool) or not isinstance(value, types):
                raise ProviderConfigError(
                    f"{where}: setting {key!r} must be {expected}, "
                    f"not {type(value).__name__} {value!r}"
                )
        system = settings.get("system")
        if system is not None and system not in SYSTEMS:
            raise ProviderConfigError(
                f"{where}: setting 'system' must be one of idp, git, cloud, not {system!r}"
            )
        for key in ("latency_ms", "event_rate", "backfill_minutes"):
            if key in settings and not settings[key] >= 0:
                raise ProviderConfigError(f"{where}: setting {key!r} must not be negative")
        state_dir = Path(context.state_dir)
        if "state_file" in settings:
            state_file = Path(settings["state_file"]).expanduser()
            if not state_file.is_absolute():
                state_file = state_dir / state_file
        else:
            state_file = st.default_path(state_dir)
        return cls(
            name,
            state_file=state_file,
            system=system,
            seed=settings.get("seed"),
            latency_ms=settings.get("latency_ms", 150),
            event_rate=settings.get("event_rate", 8),
            backfill_minutes=settings.get("backfill_minutes", 30),
        )

    # -- state ---------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            st.ensure(self.state_file, seed=self.seed)
            conn = st.connect(self.state_file)
            try:
                self._meta = st.read_meta(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _marks(self) -> str:
        return ",".join("?" * len(self.systems))

    async def _pages(self, sql: str, params: tuple[Any, ...]) -> AsyncIterator[sqlite3.Row]:
        """Keyset pagination: short reads, no cursor left open between yields."""
        conn = self._db()
        last = ""
        while True:
            rows = conn.execute(sql, (*params, last, PAGE)).fetchall()
            for row in rows:
                yield row
            if len(rows) < PAGE:
                return
            last = rows[-1]["id"]
            await asyncio.sleep(0)

    # -- listings ------------------------------------------------------------

    async def list_accounts(self) -> AsyncIterator[Account]:
        sql = (
            "SELECT a.*, p.status AS owner_status FROM accounts a "
            "LEFT JOIN people p ON p.id = a.owner "
            f"WHERE a.system IN ({self._marks()}) AND a.id > ? ORDER BY a.id LIMIT ?"
        )
        async for row in self._pages(sql, self.systems):
            yield self._account(row)

    def _account(self, row: sqlite3.Row) -> Account:
        owner_status = row["owner_status"]
        return Account(
            provider=self.name,
            id=row["id"],
            name=row["name"],
            kind=AccountKind(row["kind"]),
            status=AccountStatus(row["status"]),
            email=row["email"] or "",
            display_name=row["display_name"] or "",
            system=row["system"],
            privileged=bool(row["privileged"]),
            groups=tuple(json.loads(row["groups"])),
            owner=row["owner"] or "",
            owner_status=OwnerStatus(owner_status) if owner_status else OwnerStatus.UNKNOWN,
            created=_ts(row["created"]),
            last_active=_ts(row["last_active"]),
        )

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        if account is None:
            where, params = f"system IN ({self._marks()})", self.systems
        else:
            where = f"account_id = ? AND system IN ({self._marks()})"
            params = (account.id, *self.systems)
        sql = f"SELECT * FROM credentials WHERE {where} AND id > ? ORDER BY id LIMIT ?"
        async for row in self._pages(sql, params):
            yield Credential(
                provider=self.name,
                id=row["id"],
                account_id=row["account_id"],
                kind=CredentialKind(row["kind"]),
                status=CredentialStatus(row["status"]),
                label=row["label"] or "",
                scopes=tuple(json.loads(row["scopes"])),
                fingerprint=row["fingerprint"] or "",
                created=_ts(row["created"]),
                expires=_ts(row["expires"]),
                last_used=_ts(row["last_used"]),
            )

    # -- revocation ----------------------------------------------------------

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        if isinstance(target, Credential):
            return self._credential_actions(target)
        if isinstance(target, Account):
            return self._account_actions(target)
        raise ProviderError(f"cannot revoke a {type(target).__name__}")

    def _credential_actions(self, cred: Credential) -> list[RevokeAction]:
        what = cred.label or cred.id
        if cred.fingerprint:
            what = f"{what} ({cred.fingerprint.split()[0]})"

        def action(name: str, label: str, order: int, reversible: bool = False) -> RevokeAction:
            return RevokeAction.on_credential(
                self.name, cred, name, label, order, reversible=reversible
            )

        kind = cred.kind
        if kind is CredentialKind.SESSION:
            return [action("end_session", f"End session {what}", 10)]
        if kind is CredentialKind.ACCESS_KEY:
            return [
                action(
                    "deactivate_access_key", f"Deactivate access key {cred.id}", 20, reversible=True
                ),
                action("delete_access_key", f"Delete access key {cred.id}", 30),
            ]
        noun = {
            CredentialKind.API_TOKEN: "API token",
            CredentialKind.PERSONAL_ACCESS_TOKEN: "personal access token",
            CredentialKind.SSH_KEY: "SSH key",
        }[kind]
        verb = "Delete" if kind is CredentialKind.SSH_KEY else "Revoke"
        return [action("revoke_token", f"{verb} {noun} {what}", 20)]

    def _account_actions(self, account: Account) -> list[RevokeAction]:
        row = (
            self._db()
            .execute(
                f"SELECT system, kind, console FROM accounts WHERE id = ? AND system IN "
                f"({self._marks()})",
                (account.id, *self.systems),
            )
            .fetchone()
        )
        if row is None:
            raise ProviderError(f"no account {account.id!r} in demo provider {self.name!r}")
        system, who = row["system"], account.name or account.id

        def action(name: str, label: str, order: int, reversible: bool = False) -> RevokeAction:
            return RevokeAction.on_account(
                self.name, account, name, label, order, reversible=reversible
            )

        if system == "idp":
            return [
                action("clear_sessions", f"Clear all Okta sessions of {who}", 40),
                action("suspend_account", f"Suspend Okta user {who}", 60, reversible=True),
                action("deactivate_account", f"Deactivate Okta user {who}", 90),
            ]
        if system == "git":
            return [action("remove_member", f"Remove {who} from GitHub org {GITHUB_ORG}", 90)]
        actions = []
        if row["kind"] == "human":
            actions.append(action("clear_sessions", f"Revoke active console sessions of {who}", 40))
            if row["console"]:
                actions.append(
                    action("delete_login_profile", f"Delete console password of IAM user {who}", 45)
                )
        actions.append(
            action("deactivate_account", f"Deactivate IAM user {who} (attach deny-all policy)", 90)
        )
        return actions

    def _check(self, action: RevokeAction) -> None:
        if action.provider != self.name:
            raise ProviderError(
                f"action for provider {action.provider!r} sent to demo provider {self.name!r}"
            )

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        self._check(action)
        self._db()
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        outcome = await asyncio.to_thread(
            st.apply_revoke,
            self.state_file,
            provider=self.name,
            systems=self.systems,
            action=action.name,
            target_kind=str(action.target_kind),
            target_id=action.target_id,
            idempotency_key=idempotency_key,
            now=self.clock.time(),
        )
        return RevokeResult(
            ok=True,
            already_done=outcome.already_done,
            detail=outcome.detail,
            provider_response=outcome.response,
        )

    async def verify(self, action: RevokeAction) -> VerifyResult:
        self._check(action)
        conn = self._db()
        if self.latency_ms:
            await asyncio.sleep(self.latency_ms / 1000)
        gone, detail = st.check_gone(
            conn, self.systems, action.name, str(action.target_kind), action.target_id
        )
        return VerifyResult(gone=gone, detail=detail, provider_response={"checked": detail})

    # -- events --------------------------------------------------------------

    def _event_model(self) -> ev.EventModel:
        conn = self._db()
        meta = self._meta or {}
        # Two plain scans (the "+" keeps SQLite off the index) beat a join at 300k rows.
        accounts = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                f"SELECT id, kind, name FROM accounts WHERE +system IN ({self._marks()})",
                self.systems,
            )
        }
        actors = [
            {
                "credential_id": cid,
                "account_id": aid,
                "system": system,
                "kind": kind,
                "label": label,
                "user_agent": agent,
                "account_kind": accounts[aid][0],
                "account_name": accounts[aid][1],
            }
            for cid, aid, system, kind, label, agent in conn.execute(
                "SELECT id, account_id, system, kind, label, user_agent FROM credentials "
                f"WHERE traffic = 1 AND +system IN ({self._marks()})",
                self.systems,
            )
            if aid in accounts
        ]
        actors.sort(key=lambda a: a["credential_id"])
        return ev.EventModel(
            seed=int(meta.get("seed", DEFAULT_SEED)),
            systems=self.systems,
            rate=self.event_rate,
            anchor=float(meta["anchor"]),
            org=json.loads(meta.get("org", "{}")),
            incidents=json.loads(meta.get("incidents", "[]")),
            actors=actors,
        )

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        if since is not None:
            ev.parse_cursor(since)  # fail early on a foreign cursor
        model = self._event_model()
        conn = st.connect(self.state_file)  # its own connection: data_version sees others
        try:
            denials = st.Denials(conn)
            async for event in ev.stream(
                model,
                provider=self.name,
                status=lambda e: denials.status(e.credential_id, e.account_id, e.ts, e.status),
                refresh=denials.maybe_refresh,
                since=since,
                backfill_seconds=self.backfill_minutes * 60,
                clock=self.clock,
            ):
                yield event
        finally:
            conn.close()

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"DemoProvider(name={self.name!r}, systems={self.systems}, state={self.state_file})"
