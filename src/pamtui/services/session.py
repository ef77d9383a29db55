"""One operator's working session: config, journal, providers, queue.

The CLI, the TUI and the SSH server all start here; none of them talks to a
provider or to SQLite directly.

What a first frame or a one-shot command does not need is built (and its
module imported) on first use: ``queue``, ``revocations``, ``policies``,
``baselines``, ``movers``, ``people``, ``drift`` and ``totp`` are cached
properties (the TUI builds the revocation path right after its first frame,
on the event loop, before any worker thread asks for it). Validation does not
wait for them: a session with ``[[policies]]`` or its own ``[[baselines]]``
parses them as it opens, so a typo still fails ``pamtui`` and ``pamtui sweep``
at start (benchmarks/bench_tui_start.py measures what the deferral saves).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pamtui import config as config_mod
from pamtui import heap
from pamtui.config import Config, ConfigError
from pamtui.journal import Journal, JournalError
from pamtui.model import ROLES, Actor
from pamtui.providers import registry
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext
from pamtui.services import identity, policy_store
from pamtui.services.inventory import AccountView, Inventory
from pamtui.services.journal import refuse_to_create
from pamtui.services.roles import RoleGuard, journal_refusals
from pamtui.services.stream import RecentActivity

if TYPE_CHECKING:  # imported where first used (see the module's docstring)
    from pamtui.services.baselines import Baseline
    from pamtui.services.drift_recorder import DriftRecorder
    from pamtui.services.movers import MoversService
    from pamtui.services.people import PeopleService
    from pamtui.services.policy import Policy
    from pamtui.services.queue import RevocationQueue
    from pamtui.services.revoke import RevocationService
    from pamtui.services.totp_store import TotpStore

KEYRING_SERVICE = "pamtui"


def resolve_secret(reference: Any) -> str:
    """Turn ``{ env = "VAR" }`` or ``{ keyring = "NAME" }`` into the secret."""
    if isinstance(reference, Mapping) and set(reference) == {"env"}:
        value = os.environ.get(str(reference["env"]))
        if value is None:
            raise ConfigError(f"environment variable {reference['env']} is not set")
        return value
    if isinstance(reference, Mapping) and set(reference) == {"keyring"}:
        import keyring
        from keyring.errors import KeyringError

        name = str(reference["keyring"])
        try:
            value = keyring.get_password(KEYRING_SERVICE, name)
        except KeyringError as exc:
            raise ConfigError(f"the OS keyring is not usable: {exc}") from exc
        if value is None:
            raise ConfigError(
                f"no secret named {name!r} in the keyring (service {KEYRING_SERVICE!r})"
            )
        return value
    raise ConfigError('a secret must be a reference: { env = "VAR" } or { keyring = "NAME" }')


def build_providers(cfg: Config, state_dir: Path) -> dict[str, Provider]:
    context = ProviderContext(state_dir=state_dir, resolve_secret=resolve_secret)
    providers: dict[str, Provider] = {}
    for pc in cfg.providers:
        try:
            providers[pc.name] = registry.create(pc.type, pc.name, pc.settings, context)
        except ProviderConfigError as exc:
            if cfg.source is None:
                raise
            raise ProviderConfigError(f"{cfg.source}: {exc}") from exc  # name the file too
    return providers


@dataclass
class Session:
    """One operator's session: config, journal, providers, inventory, queue and roles."""

    config: Config
    journal: Journal
    providers: dict[str, Provider]
    read_only: bool
    db_path: Path
    operator: str
    actor: Actor | None = None
    """Who acts (services/identity.py); None: ``operator`` with every role (in-process use)."""
    guard: RoleGuard = field(init=False)
    """The actor's roles, checked by the services (services/roles.py)."""
    inventory: Inventory = field(init=False)
    activity: RecentActivity = field(init=False, default_factory=RecentActivity)
    shared_stream: Path | None = field(init=False, default=None)
    """Under serve-ssh: the hub's event store to follow instead of polling the
    providers' streams (services/hub.py); None: poll them (local mode)."""

    def __post_init__(self) -> None:
        if self.actor is None:
            self.actor = Actor(self.operator, None, frozenset(ROLES), "local")
        if self.actor.key_fingerprint:
            self.journal.actor_keys[self.actor.name] = self.actor.key_fingerprint
        self.guard = RoleGuard(self.actor, journal_refusals(self.journal))
        self.inventory = Inventory(
            self.providers,
            stale_days=self.config.risk.stale_days,
            # A sync builds 400,000 long-lived objects at 100k accounts: see pamtui/heap.py.
            allocating=heap.long_lived,
        )
        # Each sync is snapshotted beside the journal (pamtui drift); see services/drift.py.
        self.inventory.on_synced = self._record_drift
        # Validated at every start, so a policy typo fails `pamtui` and `sweep` alike;
        # a config without them does not import the policy modules at all.
        if self.config.policies:
            self.policies  # noqa: B018 (the cached property parses and validates)
        if self.config.baselines and not self._demo_baselines:
            self.baselines  # noqa: B018 (as policies: a typo fails the start)

    @cached_property
    def queue(self) -> RevocationQueue:
        """The revocation queue (``[queue]``): built, and its modules imported, on first use."""
        from pamtui.services.queue import RevocationQueue

        q = self.config.queue
        return RevocationQueue(
            self.journal,
            self.providers,
            self.operator,
            read_only=self.read_only,
            lease=timedelta(seconds=q.lease_seconds),
            approval_ttl=timedelta(hours=q.approval_ttl_hours),
            concurrency_per_provider=q.concurrency_per_provider,
        )

    @cached_property
    def revocations(self) -> RevocationService:
        """The one revocation path: every route that ends access goes through it."""
        from pamtui.services.revoke import RevocationService

        return RevocationService(
            self.queue,
            self.providers,
            self.config.operator,
            lambda code, subject: self.step_up(code, subject=subject),
            self.guard,
        )

    @cached_property
    def policies(self) -> tuple[Policy, ...]:
        """The ``[[policies]]``, parsed and validated (at open when there are any)."""
        if not self.config.policies:
            return ()
        from pamtui.services.policy import parse_policies

        return parse_policies(
            self.config.policies, self.config.source, providers=list(self.providers)
        )

    @property
    def _demo_baselines(self) -> bool:
        return self.config.baselines is config_mod.DEMO_BASELINES

    @cached_property
    def baselines(self) -> tuple[Baseline, ...]:
        """Role baselines (``[[baselines]]``), for movers and excess access (services/movers.py)."""
        from pamtui.services.baselines import parse_baselines

        # The bundled demo's baselines name the demo's providers; a session that runs
        # them with other providers (tests, plugins) simply has them govern nothing.
        return parse_baselines(
            self.config.baselines,
            self.config.source,
            providers=None if self._demo_baselines else list(self.providers),
        )

    @cached_property
    def movers(self) -> MoversService:
        """Movers and excess: ``await session.movers.assess(corr, views)`` after a people refresh."""
        from pamtui.services.movers import MoversService
        from pamtui.services.people_history import PeopleHistory

        history = PeopleHistory(self.journal, read_only=self.read_only)
        return MoversService(self.providers, self.baselines, history)

    @cached_property
    def people(self) -> PeopleService:
        """Roster and correlation: ``await session.people.refresh(session.inventory.rows())``."""
        from pamtui.services.people import PeopleService

        return PeopleService(
            self.providers, self.journal, read_only=self.read_only, guard=self.guard
        )

    @cached_property
    def drift(self) -> DriftRecorder:
        """Each sync's snapshot beside the journal, and what changed (``pamtui drift``)."""
        from pamtui.services.drift import SnapshotStore
        from pamtui.services.drift_recorder import DriftRecorder

        store = SnapshotStore.beside(self.db_path)
        return DriftRecorder(store, self.journal, read_only=self.read_only)

    async def _record_drift(self, by_provider: dict[str, list[AccountView]]) -> None:
        await self.drift(by_provider)

    @cached_property
    def totp(self) -> TotpStore:
        """The server-held TOTP store beside the database (opened on first use)."""
        from pamtui.services.totp_store import TotpStore

        return TotpStore.beside(self.db_path)

    def step_up(self, code: str | None, *, subject: str = "") -> None:
        """When policy requires it, check the operator's TOTP code (or refuse).

        Raises ``StepUpError`` (journalled by the MFA service, never the code).
        """
        if not self.config.operator.require_totp:
            return
        from pamtui.services.mfa import StepUp, StepUpError

        if not code:
            raise StepUpError("a TOTP code is required by policy (operator.require_totp)")
        StepUp(self.journal, self.operator, store=self.totp).check(code, subject=subject)

    def needs_four_eyes(self, view: AccountView) -> bool:
        return self.revocations.four_eyes_for(view)

    @classmethod
    def open(
        cls,
        *,
        config_path: str | None = None,
        db_path: str | None = None,
        read_only: bool = False,
        cfg: Config | None = None,
        actor: Actor | None = None,
    ) -> Session:
        cfg = cfg or config_mod.load(config_path)
        actor = actor or identity.current_actor(cfg)
        # An auditor (no role) reads; nothing it runs can write.
        read_only = read_only or cfg.operator.read_only or not actor.roles
        path = config_mod.resolve_db_path(db_path)
        refuse_to_create(actor, path)
        journal = Journal.open(path, read_only=read_only and path.exists())
        if actor.key_fingerprint:  # every entry this operator causes names the key
            journal.actor_keys[actor.name] = actor.key_fingerprint
        try:
            # The policy recorded with the data wins over this config (which may
            # only tighten it): everything below reads cfg.operator, so the queue's
            # read-only, the revocation service and step_up all get the effective one.
            cfg = policy_store.effective_config(journal, cfg, actor=actor.name, read_only=read_only)
            read_only = read_only or cfg.operator.read_only
            providers = build_providers(cfg, state_dir=path.parent)
        except Exception:
            journal.close()
            raise
        session = cls(cfg, journal, providers, read_only, path, actor.name, actor)
        try:
            session._on_open()
        except Exception:
            journal.close()
            raise
        return session

    def _on_open(self) -> None:
        """Journal a policy change (services/policy_history.py); flag recheck findings."""
        from pamtui.services import policy_history, recheck

        with contextlib.suppress(JournalError):  # a dead journal refuses revocations anyway
            policy_history.record(
                self.journal, self.config.policies, source=self.config.source, actor="system"
            )
        self.inventory.regressed = recheck.regressed_accounts(self.journal)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        if "totp" in self.__dict__:  # built (and perhaps opened) by a step-up or enrolment
            self.totp.close()
        self.journal.close()
        heap.thaw()  # what the syncs froze is the collector's again
