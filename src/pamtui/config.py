"""Load and validate pamtui's TOML configuration.

A bad file gets one message naming the file, the key and what was expected.
With no config file at all pamtui runs on the bundled demo organisation.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.forward_config import ForwardConfig, parse_forward
from pamtui.model import ROLES
from pamtui.providers.kit.settings import SettingError, Settings, boolean, integer, string

APP_NAME = "pamtui"


class ConfigError(PamtuiError):
    """The configuration is wrong; the message names the file and the key."""

    exit_code = EXIT_USAGE
    label = "config"


@dataclass(frozen=True)
class ProviderConfig:
    """One ``[[providers]]`` entry: its name, its type and the type's own settings."""

    name: str
    type: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OperatorConfig:
    """The guardrails a config asks for (the recorded policy may be stricter).

    There is no name here: who acts is the OS account of the real uid (local
    mode) or the SSH key (serve-ssh), see services/identity.py.
    """

    require_totp: bool = False
    four_eyes_for_privileged: bool = False
    read_only: bool = False


@dataclass(frozen=True)
class OperatorEntry:
    """One ``[[operators]]`` table: an operator's name and roles (model.ROLES)."""

    name: str
    roles: frozenset[str]


@dataclass(frozen=True)
class RiskConfig:
    """``[risk]``: when an unused credential counts as stale."""

    stale_days: int = 90


@dataclass(frozen=True)
class QueueConfig:
    """``[queue]``: leases, how long an approval lasts, and concurrency per provider."""

    lease_seconds: int = 120
    approval_ttl_hours: int = 24
    concurrency_per_provider: int = 4


@dataclass(frozen=True)
class SshConfig:
    """``pamtui serve-ssh``'s limits (see ssh/limits.py and docs/ssh.md)."""

    max_sessions: int = 4
    max_sessions_per_operator: int = 2
    max_connections: int = 32
    max_connections_per_operator: int = 4
    login_grace_seconds: int = 10
    max_unauthenticated: int = 64
    max_unauthenticated_per_source: int = 8
    hub: bool = True
    inventory_refresh_seconds: int = 300


def _bounded(name: str, help: str, default: int, high: int, unit: str = "") -> Any:
    return integer(name, help, default, low=1, high=high, **({"unit": unit} if unit else {}))


@dataclass(frozen=True)
class UiConfig:
    """``[ui]``: the TUI's theme."""

    theme: str = ""


SECTIONS: dict[str, tuple[type, Settings]] = {
    "operator": (
        OperatorConfig,
        Settings(
            boolean("require_totp", "TOTP step-up before executing or approving", False),
            boolean(
                "four_eyes_for_privileged", "a second operator approves privileged steps", False
            ),
            boolean("read_only", "this operator can review but never revoke", False),
        ),
    ),
    "risk": (
        RiskConfig,
        Settings(
            integer(
                "stale_days",
                "an active credential unused this long is stale",
                90,
                low=1,
                high=3650,
                unit="days",
            ),
        ),
    ),
    "queue": (
        QueueConfig,
        Settings(
            integer(
                "lease_seconds",
                "after this, a crashed process's item is re-driven",
                120,
                low=1,
                high=86400,
                unit="seconds",
            ),
            integer(
                "approval_ttl_hours",
                "four-eyes requests expire after this",
                24,
                low=1,
                high=24 * 366,
                unit="hours",
            ),
            integer(
                "concurrency_per_provider",
                "revocations run at once against one provider",
                4,
                low=1,
                high=256,
            ),
        ),
    ),
    "ui": (UiConfig, Settings(string("theme", "the colour theme", ""))),
    "ssh": (
        SshConfig,
        Settings(
            _bounded("max_sessions", "serve-ssh sessions at once", 4, 1000),
            _bounded("max_sessions_per_operator", "serve-ssh sessions of one operator", 2, 1000),
            _bounded("max_connections", "authenticated serve-ssh connections at once", 32, 10000),
            _bounded(
                "max_connections_per_operator", "authenticated connections of one operator", 4, 1000
            ),
            _bounded(
                "login_grace_seconds",
                "close a connection not logged in by then",
                10,
                600,
                "seconds",
            ),
            _bounded("max_unauthenticated", "connections not logged in yet, in total", 64, 10000),
            _bounded(
                "max_unauthenticated_per_source",
                "connections not logged in yet, from one address",
                8,
                1000,
            ),
            boolean(
                "hub",
                "one service child syncs the inventory and polls the streams for every session",
                True,
            ),
            integer(
                "inventory_refresh_seconds",
                "how often the service re-syncs the shared inventory",
                300,
                low=30,
                high=86400,
                unit="seconds",
            ),
        ),
    ),
}
"""Each section's settings, declared like the providers' (bounds on every number)."""


@dataclass(frozen=True)
class Config:
    """The whole configuration, validated: what every command and the TUI start from."""

    source: Path | None
    """The file this came from; None for the bundled demo configuration."""
    providers: tuple[ProviderConfig, ...]
    operator: OperatorConfig = OperatorConfig()
    risk: RiskConfig = RiskConfig()
    ui: UiConfig = UiConfig()
    queue: QueueConfig = QueueConfig()
    ssh: SshConfig = SshConfig()
    policies: tuple[Mapping[str, Any], ...] = ()
    baselines: tuple[Mapping[str, Any], ...] = ()
    """[[baselines]]: role baselines, validated by services/baselines.py (``parse_baselines``)."""
    forward: tuple[ForwardConfig, ...] = ()
    keys: Mapping[str, str] = field(default_factory=dict)
    """[keys]: binding id -> key string (the TUI applies it, pamtui/tui/keymap.py)."""
    operators: tuple[OperatorEntry, ...] | None = None
    """[[operators]] (name and roles); None when the file has no such table."""

    @property
    def is_demo(self) -> bool:
        return self.source is None


DEMO_PROVIDERS = (
    ProviderConfig("demo-idp", "demo", {"system": "idp"}),
    ProviderConfig("demo-git", "demo", {"system": "git"}),
    ProviderConfig("demo-cloud", "demo", {"system": "cloud"}),
)


DEMO_BASELINES: tuple[Mapping[str, Any], ...] = (
    {
        "name": "engineering",
        "match": {"department": "Engineering"},
        "allow": {
            "demo-idp": ["Everyone", "VPN-Users", "Dept-Engineering", "App-*"],
            "demo-git": ["*"],
        },
    },
    {
        "name": "sales",
        "match": {"department": "Sales"},
        "allow": {
            "demo-idp": [
                "Everyone",
                "VPN-Users",
                "Dept-Sales",
                "App-Salesforce",
                "App-Gong",
                "App-HubSpot",
                "App-Jira",
                "App-Expensify",
            ],
            "demo-git": [],
        },
    },
)
"""The demo's role baselines: enough to show a mover (docs/people.md, "Baselines")."""


def demo_config() -> Config:
    return Config(source=None, providers=DEMO_PROVIDERS, baselines=DEMO_BASELINES)


def default_config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_db_path() -> Path:
    return platformdirs.user_data_path(APP_NAME) / "pamtui.db"


def resolve_config_path(flag: str | None) -> tuple[Path, bool]:
    """The config path and whether the user named it (flag or environment)."""
    path, why = config_source(flag)
    return path, why != "platform default"


def config_source(flag: str | None) -> tuple[Path, str]:
    """The config path and why that one: ``--config``, ``$PAMTUI_CONFIG`` or the platform's."""
    if flag:
        return Path(flag).expanduser(), "--config"
    env = os.environ.get("PAMTUI_CONFIG")
    if env:
        return Path(env).expanduser(), "$PAMTUI_CONFIG"
    return default_config_path(), "platform default"


def resolve_db_path(flag: str | None) -> Path:
    if flag:
        return Path(flag).expanduser()
    env = os.environ.get("PAMTUI_DB")
    if env:
        return Path(env).expanduser()
    return default_db_path()


def load(flag: str | None = None) -> Config:
    path, named = resolve_config_path(flag)
    if not path.exists():
        if named:
            raise ConfigError(f"{path}: no such config file")
        return demo_config()
    return load_file(path)


def refuse_world_writable(path: Path, what: str) -> None:
    """Anyone who can write it could add a provider or disable four eyes: refuse."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o002:
        raise ConfigError(
            f"{path}: the {what} is world-writable, so anyone on this machine could change "
            f"it; fix with: chmod o-w {path}"
        )


def load_file(path: Path) -> Config:
    refuse_world_writable(path, "config file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    return parse(raw, path)


_TOP_KEYS = {
    "operator",
    "operators",
    "risk",
    "ui",
    "queue",
    "ssh",
    "providers",
    "policies",
    "baselines",
    "forward",
    "keys",
}


def parse(raw: Mapping[str, Any], path: Path | None) -> Config:
    where = str(path) if path else "<config>"

    def fail(key: str, expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: expected {expected}")

    unknown = sorted(set(raw) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(_TOP_KEYS))})"
        )

    if isinstance(raw.get("operator"), dict) and "name" in raw["operator"]:
        # Anyone can write a config file; a name in it proved nothing (issue 14).
        raise ConfigError(
            f"{where}: operator.name: no longer accepted: who acts is the OS account "
            "(local mode) or the authenticated SSH key (serve-ssh); remove the key"
        )
    operator = _section(raw, "operator", where)
    risk = _section(raw, "risk", where)
    ui = _section(raw, "ui", where)
    queue = _section(raw, "queue", where)
    ssh = _section(raw, "ssh", where)

    providers_raw = raw.get("providers", [])
    if not isinstance(providers_raw, list):
        raise fail("providers", "an array of tables ([[providers]])")
    providers: list[ProviderConfig] = []
    seen: set[str] = set()
    for index, item in enumerate(providers_raw):
        key = f"providers[{index}]"
        if not isinstance(item, dict):
            raise fail(key, "a table")
        name, type_ = item.get("name"), item.get("type")
        if not isinstance(name, str) or not name.strip():
            raise fail(f"{key}.name", "a non-empty string")
        if not isinstance(type_, str) or not type_.strip():
            raise fail(f"{key}.type", "a provider type such as 'demo', 'scim' or 'okta'")
        if name in seen:
            raise ConfigError(f"{where}: {key}.name: provider name {name!r} is used twice")
        seen.add(name)
        settings = {k: v for k, v in item.items() if k not in ("name", "type")}
        providers.append(ProviderConfig(name, type_, settings))
    if "providers" not in raw:
        # A file that only sets [ui] or [operator] (say, a theme) still runs the demo.
        providers = list(DEMO_PROVIDERS)
    if not providers:
        raise ConfigError(f"{where}: providers: configure at least one [[providers]] table")

    policies_raw = raw.get("policies", [])
    if not isinstance(policies_raw, list) or not all(isinstance(p, dict) for p in policies_raw):
        raise fail("policies", "an array of tables ([[policies]])")

    baselines_raw = raw.get("baselines", [])
    if not isinstance(baselines_raw, list) or not all(isinstance(b, dict) for b in baselines_raw):
        raise fail("baselines", "an array of tables ([[baselines]])")
    baselines = tuple(baselines_raw)
    if "providers" not in raw and "baselines" not in raw:
        baselines = DEMO_BASELINES  # the demo's own (the same object: see Session)

    return Config(
        source=path,
        providers=tuple(providers),
        operator=operator,
        risk=risk,
        ui=ui,
        queue=queue,
        ssh=ssh,
        policies=tuple(policies_raw),
        baselines=baselines,
        forward=_forward(raw.get("forward"), where),
        keys=_keys(raw.get("keys", {}), where),
        operators=_operators(raw["operators"], where) if "operators" in raw else None,
    )


def _operators(raw: Any, where: str) -> tuple[OperatorEntry, ...]:
    """``[[operators]]``: each a unique name and a non-empty list of known roles."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: operators: expected an array of tables ([[operators]])")
    entries: list[OperatorEntry] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        key = f"operators[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: {key}: expected a table")
        unknown = sorted(set(item) - {"name", "roles"})
        if unknown:
            raise ConfigError(f"{where}: {key}.{unknown[0]}: unknown key (known: name, roles)")
        name, roles = item.get("name"), item.get("roles")
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise ConfigError(f"{where}: {key}.name: expected a non-empty string")
        if name in seen:
            raise ConfigError(f"{where}: {key}.name: operator {name!r} is listed twice")
        seen.add(name)
        if (
            not isinstance(roles, list)
            or not roles
            or not all(isinstance(r, str) and r in ROLES for r in roles)
        ):
            raise ConfigError(
                f"{where}: {key}.roles: expected a non-empty list of {', '.join(ROLES)}, "
                f"got {roles!r}"
            )
        entries.append(OperatorEntry(name, frozenset(roles)))
    return tuple(entries)


def _keys(raw: Any, where: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: keys: expected a table ([keys]) of binding id = key")
    for binding_id, key in raw.items():
        if not isinstance(key, str) or not key.strip():
            raise ConfigError(
                f'{where}: keys.{binding_id}: expected a key string such as "ctrl+r" '
                '(several: "j,down")'
            )
    return dict(raw)


def _forward(raw: Any, where: str) -> tuple[ForwardConfig, ...]:
    try:
        return parse_forward(raw)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _section(raw: Mapping[str, Any], name: str, where: str) -> Any:
    """One ``[section]`` as its dataclass; an error names the file, the key and the range."""
    cls, declared = SECTIONS[name]
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {name}: expected a table ([{name}])")
    kwargs = {}
    for key, item in value.items():
        if key not in declared.names():
            known = ", ".join(declared.names())
            raise ConfigError(f"{where}: {name}.{key}: unknown key (known: {known})")
        setting = declared[key]
        expected = {"boolean": "bool", "string": "str", "integer": "int"}[setting.kind]
        if type(item) is not {"bool": bool, "str": str, "int": int}[expected]:
            raise ConfigError(
                f"{where}: {name}.{key}: expected {expected}, got {type(item).__name__}"
            )
        try:
            kwargs[key] = setting.parse(item)
        except SettingError:
            raise ConfigError(
                f"{where}: {name}.{key}: expected {setting.expectation()}, got {item!r}"
            ) from None
    return cls(**kwargs)
