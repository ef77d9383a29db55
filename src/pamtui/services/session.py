"""One operator's working session: config, journal, providers, queue.

The CLI, the TUI and the SSH server all start here; none of them talks to a
provider or to SQLite directly.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pamtui import config as config_mod
from pamtui.config import Config, ConfigError
from pamtui.journal import Journal
from pamtui.providers import registry
from pamtui.providers.base import Provider, ProviderContext
from pamtui.services.inventory import Inventory
from pamtui.services.queue import RevocationQueue


def resolve_secret(reference: Any) -> str:
    """Turn ``{env = "VAR"}`` into the secret (keyring references come later)."""
    if isinstance(reference, Mapping) and set(reference) == {"env"}:
        value = os.environ.get(str(reference["env"]))
        if value is None:
            raise ConfigError(f"environment variable {reference['env']} is not set")
        return value
    raise ConfigError(f'unsupported secret reference {reference!r}; use {{ env = "VAR" }}')


def build_providers(cfg: Config, state_dir: Path) -> dict[str, Provider]:
    context = ProviderContext(state_dir=state_dir, resolve_secret=resolve_secret)
    providers: dict[str, Provider] = {}
    for pc in cfg.providers:
        providers[pc.name] = registry.create(pc.type, pc.name, pc.settings, context)
    return providers


@dataclass
class Session:
    config: Config
    journal: Journal
    providers: dict[str, Provider]
    read_only: bool
    db_path: Path
    operator: str
    inventory: Inventory = field(init=False)
    queue: RevocationQueue = field(init=False)

    def __post_init__(self) -> None:
        self.inventory = Inventory(self.providers, stale_days=self.config.risk.stale_days)
        self.queue = RevocationQueue(
            self.journal, self.providers, self.operator, read_only=self.read_only
        )

    @classmethod
    def open(
        cls,
        *,
        config_path: str | None = None,
        db_path: str | None = None,
        read_only: bool = False,
        cfg: Config | None = None,
    ) -> Session:
        cfg = cfg or config_mod.load(config_path)
        read_only = read_only or cfg.operator.read_only
        path = config_mod.resolve_db_path(db_path)
        journal = Journal.open(path, read_only=read_only and path.exists())
        try:
            providers = build_providers(cfg, state_dir=path.parent)
        except Exception:
            journal.close()
            raise
        return cls(cfg, journal, providers, read_only, path, cfg.operator.login)

    async def aclose(self) -> None:
        for provider in self.providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        self.journal.close()
