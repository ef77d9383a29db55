"""``DemoProvider``: the simulated Acme Robotics org behind the Provider protocol.

Several instances (say one per system: ``idp``, ``git``, ``cloud``) share one
SQLite state file; each reports only its own system's accounts, and a
revocation made through any of them (or another process) shows up in every
instance's listings and event stream.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pamtui import foreground
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
    Person,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers.base import ProviderContext, ProviderError
from pamtui.providers.demo import grants
from pamtui.providers.demo import state as st
from pamtui.providers.demo.calls import CallLog
from pamtui.providers.demo.clock import Clock
from pamtui.providers.demo.constants import DEFAULT_SEED, GITHUB_ORG, MIN_ACCOUNTS, SYSTEMS
from pamtui.providers.demo.scaled import ensure_scaled, scaled_path
from pamtui.providers.kit.interruptible import scan_in_thread
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings, choice, integer, number, string
from pamtui.providers.roster import PastRole

if TYPE_CHECKING:  # events.py (the traffic model) is imported when the stream opens
    from pamtui.providers.demo.events import EventModel

PAGE = 1000
PEOPLE_PER_PAUSE = 2000
"""People the roster listing yields between two returns to the event loop."""

SETTINGS = Settings(
    choice(
        "system", "the simulated system this instance serves (default: all three)", SYSTEMS, None
    ),
    string(
        "state_file",
        "the SQLite state file (relative: beside the database)",
        non_empty=True,
        expected="a path",
    ),
    integer(
        "seed",
        "the generator's seed",
        None,
        low=-(2**63),
        high=2**63 - 1,
        expected="an integer (64-bit)",
    ),
    number(
        "latency_ms",
        "simulated latency of each call",
        150.0,
        low=0,
        high=60_000,
        unit="milliseconds",
    ),
    number(
        "event_rate",
        "simulated events per second",
        8.0,
        low=0,
        high=100_000,
        unit="events per second",
    ),
    number(
        "backfill_minutes",
        "how far back a stream without a cursor starts",
        30.0,
        low=0,
        high=7 * 24 * 60,
        unit="minutes",
    ),
    integer(
        "scale",
        "a generated org of this many accounts (default: the bundled 250)",
        None,
        low=MIN_ACCOUNTS,
        high=2_000_000,
        expected=f"a number of accounts, at least {MIN_ACCOUNTS} and at most 2000000",
    ),
    string(
        "call_log",
        "count this provider's calls in this SQLite file (relative: beside the database);"
        " for benchmarks and tests (demo/calls.py)",
        non_empty=True,
        expected="a path",
    ),
)
"""Settings of ``type = "demo"``."""


def _ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _enum_map(enum: Any) -> dict[str, Any]:
    """value -> member; a KeyError (not a silent default) on a value the schema lacks."""
    return {member.value: member for member in enum}


def _json_tuples() -> Any:
    """Decode JSON lists to tuples, memoised: groups and scopes repeat a lot at 300k rows."""
    cache: dict[str, tuple[str, ...]] = {}

    def decode(text: str) -> tuple[str, ...]:
        value = cache.get(text)
        if value is None:
            value = cache[text] = tuple(json.loads(text))
        return value

    return decode


class DemoProvider(DeclaredProvider):
    """A believable mid-size company, simulated: accounts, credentials, live traffic."""

    type: ClassVar[str] = "demo"
    SETTINGS: ClassVar[Settings] = SETTINGS
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
        scale: int | None = None,
        clock: Clock | None = None,
        call_log: Path | None = None,
    ) -> None:
        self.name = name
        self.calls: CallLog | None = CallLog(call_log, name) if call_log is not None else None
        """Counts this instance's calls when ``call_log`` is set (demo/calls.py)."""
        self.system = system
        self.systems: tuple[str, ...] = (system,) if system else SYSTEMS
        self.state_file = Path(state_file)
        self.seed = seed
        self.latency_ms = float(latency_ms)
        self.event_rate = float(event_rate)
        self.backfill_minutes = float(backfill_minutes)
        self.scale = scale
        """Accounts of a generated org (None: the bundled 250-account sample)."""
        self.clock: Clock = clock or Clock()
        """Time source of the event stream; tests may swap in a fast-forwarding one."""
        self._conn: sqlite3.Connection | None = None
        self._meta: dict[str, str] | None = None

    # -- configuration -------------------------------------------------------

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> DemoProvider:
        system, scale = values["system"], values["scale"]
        state_dir = Path(context.state_dir)
        if values["state_file"] is not None:
            state_file = Path(values["state_file"]).expanduser()
            if not state_file.is_absolute():
                state_file = state_dir / state_file
        elif scale is not None:
            state_file = scaled_path(state_dir, scale, values["seed"])
        else:
            state_file = st.default_path(state_dir)
        call_log = values["call_log"]
        if call_log is not None:
            call_log = Path(call_log).expanduser()
            if not call_log.is_absolute():
                call_log = state_dir / call_log
        return cls(
            name,
            state_file=state_file,
            system=system,
            seed=values["seed"],
            latency_ms=values["latency_ms"],
            event_rate=values["event_rate"],
            backfill_minutes=values["backfill_minutes"],
            scale=scale,
            clock=options.get("clock"),
            call_log=call_log,
        )

    # -- state ---------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            if self.scale is not None:
                ensure_scaled(self.state_file, scale=self.scale, seed=self.seed)
            else:
                st.ensure(self.state_file, seed=self.seed, now=self.clock.time())
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

    def _count(self, kind: str) -> None:
        if self.calls is not None:
            self.calls.count(kind)

    async def _pages(
        self, sql: str, params: tuple[Any, ...], kind: str
    ) -> AsyncIterator[tuple[Any, ...]]:
        """Keyset pagination on rowid: short reads, no cursor left open between yields.

        Rows are plain tuples whose first column is the rowid. A page is one
        simulated API round trip; listings carry no ``latency_ms`` (that is the
        cost of a revoke or verify call), so a 100,000-account org lists in
        pages of ``PAGE`` rows with no per-account wait.
        """
        conn = self._db()
        last = 0
        while True:
            self._count(kind)  # one page: one simulated round trip
            cursor = conn.cursor()
            cursor.row_factory = None  # tuples: sqlite3.Row costs ~2 µs a row at 400k rows
            rows = cursor.execute(sql, (*params, last, PAGE)).fetchall()
            for row in rows:
                yield row
            if len(rows) < PAGE:
                return
            last = rows[-1][0]
            await asyncio.sleep(0)

    # -- listings ------------------------------------------------------------

    async def list_accounts(self) -> AsyncIterator[Account]:
        # "+a.system": walk the table in rowid order (one scan), not the system index.
        # An account its system cannot attribute (hr_id_known = 0: no SAML identity, no
        # tag) reports no owner, as the real system would; see demo/people.py.
        owner, owner_status = (
            (
                "CASE WHEN a.hr_id_known THEN a.owner END",
                "CASE WHEN a.hr_id_known THEN p.status END",
            )
            if self._has_column("accounts", "hr_id_known")
            else ("a.owner", "p.status")
        )
        sql = (
            "SELECT a.rowid, a.id, a.name, a.kind, a.status, a.email, a.display_name, "
            f"a.system, a.privileged, a.groups, {owner}, {owner_status}, a.created, "
            "a.last_active FROM accounts a LEFT JOIN people p ON p.id = a.owner "
            f"WHERE +a.system IN ({self._marks()}) AND a.rowid > ? ORDER BY a.rowid LIMIT ?"
        )
        name = self.name
        groups = _json_tuples()
        kinds, statuses, owners = (
            _enum_map(AccountKind),
            _enum_map(AccountStatus),
            _enum_map(OwnerStatus),
        )
        unknown = OwnerStatus.UNKNOWN
        async for row in self._pages(sql, self.systems, "list_accounts"):
            (_, aid, aname, kind, status, email, display, system, priv) = row[:9]
            (groups_json, owner, owner_status, created, last_active) = row[9:]
            yield Account(
                provider=name,
                id=aid,
                name=aname,
                kind=kinds[kind],
                status=statuses[status],
                email=email or "",
                display_name=display or "",
                system=system,
                privileged=bool(priv),
                groups=groups(groups_json),
                owner=owner or "",
                owner_status=owners[owner_status] if owner_status else unknown,
                created=_ts(created),
                last_active=_ts(last_active),
            )

    def _has_column(self, table: str, column: str) -> bool:
        """A state file built by an older pamtui lacks the newer columns (until demo --reset)."""
        rows = self._db().execute(f"PRAGMA table_info({table})").fetchall()
        return any(r[1] == column for r in rows)

    # -- the roster (providers/roster.py) ----------------------------------------

    @property
    def serves_roster(self) -> bool:
        """Only the instance serving the idp system reports the roster (they share one file)."""
        return "idp" in self.systems

    async def list_people(self) -> AsyncIterator[Person]:
        """Acme Robotics' HR roster: every person, leavers included (demo/people.py)."""
        self._count("list_people")
        extra = self._has_column("people", "aliases")
        # 80,000 people at the largest demo: read and built off the event loop, on a
        # private connection (the shared one stays on the loop's thread).
        from pamtui.providers.demo.people import read_people  # after the first frame

        conn = st.connect(self.state_file)
        try:
            people = await scan_in_thread(
                lambda c: read_people(c, extended=extra, source=self.name),
                conn,
                name=f"people-{self.name}",
            )
        finally:
            conn.close()
        for n, person in enumerate(people, 1):
            yield person
            if n % PEOPLE_PER_PAUSE == 0:  # 80,000 people: let keystrokes in between
                await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def list_role_history(self) -> AsyncIterator[PastRole]:
        """The roster's job history: the demo's mover's previous role (demo/people.py)."""
        from pamtui.providers.demo.people import past_roles

        self._db()
        for past in past_roles(self._meta or {}):
            yield past
        await asyncio.sleep(0)

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        columns = (
            "rowid, id, account_id, kind, status, label, scopes, fingerprint, "
            "created, expires, last_used"
        )
        if account is None:
            where, params = f"+system IN ({self._marks()})", self.systems
        else:
            where = f"account_id = ? AND system IN ({self._marks()})"
            params = (account.id, *self.systems)
        sql = (
            f"SELECT {columns} FROM credentials WHERE {where} AND rowid > ? ORDER BY rowid LIMIT ?"
        )
        name = self.name
        scopes = _json_tuples()
        kinds, statuses = _enum_map(CredentialKind), _enum_map(CredentialStatus)
        async for row in self._pages(sql, params, "list_credentials"):
            (_, cid, aid, kind, status, label, scopes_json, fingerprint) = row[:8]
            (created, expires, last_used) = row[8:]
            yield Credential(
                provider=name,
                id=cid,
                account_id=aid,
                kind=kinds[kind],
                status=statuses[status],
                label=label or "",
                scopes=scopes(scopes_json),
                fingerprint=fingerprint or "",
                created=_ts(created),
                expires=_ts(expires),
                last_used=_ts(last_used),
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

    def grant_action(self, account: Account, grant: str) -> RevokeAction | None:
        """Remove one group, team or IAM group (``GrantRevoker``); None if not held."""
        return grants.action_for(self.name, account, grant)

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

    def _event_model(self, conn: sqlite3.Connection | None = None) -> EventModel:
        """The traffic model: every credential in traffic. ``conn``: a private one (threads)."""
        from pamtui.providers.demo import events as ev

        if conn is None:
            conn = self._db()
        meta = st.read_meta(conn) if conn is not self._conn else (self._meta or {})
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
            # Read in a thread while the TUI runs: it gives way while the operator types.
            for cid, aid, system, kind, label, agent in foreground.paced(
                conn.execute(
                    "SELECT id, account_id, system, kind, label, user_agent FROM credentials "
                    f"WHERE traffic = 1 AND +system IN ({self._marks()})",
                    self.systems,
                ),
                2000,
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
        from pamtui.providers.demo import events as ev  # the traffic model: after the first frame

        if since is not None:
            ev.parse_cursor(since)  # fail early on a foreign cursor
        self._count("stream_open")
        self._db()  # the state file exists (built here if not) before the thread reads it
        conn = st.connect(self.state_file)  # its own connection: data_version sees others
        try:
            # Scanning 300k credentials takes a while at scale: off the UI's event loop.
            # Interruptible: quitting mid-scan stops the thread before conn.close() below.
            model, denials = await scan_in_thread(
                lambda c: (self._event_model(c), st.Denials(c)), conn, name=f"scan-{self.name}"
            )
            async for event in ev.stream(
                model,
                provider=self.name,
                status=lambda e: denials.status(e.credential_id, e.account_id, e.ts, e.status),
                refresh=denials.maybe_refresh,
                since=since,
                backfill_seconds=self.backfill_minutes * 60,
                clock=self.clock,
                on_poll=lambda: self._count("stream_poll"),
            ):
                yield event
        finally:
            conn.close()

    async def aclose(self) -> None:
        if self.calls is not None:
            self.calls.flush()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __repr__(self) -> str:
        return f"DemoProvider(name={self.name!r}, systems={self.systems}, state={self.state_file})"
