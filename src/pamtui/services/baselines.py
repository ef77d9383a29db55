"""Role baselines: which access a department or a job title should have, per provider.

One ``[[baselines]]`` table of the config file::

    [[baselines]]
    name = "engineering"                         # required, unique, [a-z0-9-]+
    match = { department = "Engineering" }       # HR fields; every one given must hold
    allow = { "demo-git" = ["platform", "web"], "demo-idp" = ["Dept-Engineering", "App-*"] }

- ``match`` names fields of the person's HR record (:data:`MATCH_FIELDS`:
  ``department``, ``title``, ``worker_type``, ``manager``, and whatever other
  text field the roster carries). A value is a string or a list of strings
  (any of them); comparison ignores case and surrounding spaces. An empty
  table, ``match = {}``, matches every person (a baseline for everyone).
- ``allow`` maps a configured provider name to the grants that role may hold
  there: the groups, teams or roles the provider reports on an account
  (``Account.groups``, as ``pamtui people show`` lists them). A pattern may
  use ``*`` and ``?`` (``"App-*"``); matching is case-sensitive, as group
  names are. An empty list says "nothing here".

A baseline **governs** the providers its ``allow`` names. What a person holds
in a provider that no matching baseline governs is not judged (see
``services/movers.py``).

Validation raises :class:`~pamtui.config.ConfigError` naming the file, the
baseline's index and the key, like ``[[policies]]``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from os import PathLike
from typing import Any

from pamtui.config import ConfigError
from pamtui.model import Person

_NAME = re.compile(r"[a-z0-9-]+")
_KEYS = ("name", "match", "allow")
_NOT_ROLE = frozenset({"id", "name", "email", "source"})
MATCH_FIELDS: tuple[str, ...] = tuple(
    f.name for f in dataclasses.fields(Person) if f.type in ("str", str) and f.name not in _NOT_ROLE
)
"""The HR fields a baseline may match: the person's text fields except identity ones."""

ROLE_FIELDS: tuple[str, ...] = tuple(f for f in MATCH_FIELDS if f != "manager")
"""The fields whose change makes a person a mover (a new manager alone is not a new role)."""


def role_of(person: Person) -> dict[str, str]:
    """The person's role as baselines see it: each role field's value."""
    return {f: str(getattr(person, f, "") or "") for f in ROLE_FIELDS}


def _fold(value: str) -> str:
    return value.strip().casefold()


@dataclass(frozen=True)
class Baseline:
    name: str
    match: Mapping[str, frozenset[str]]
    """HR field -> the accepted values, folded (lower case, stripped)."""
    allow: Mapping[str, tuple[str, ...]]
    """Provider name -> grant patterns."""

    def matches(self, role: Mapping[str, str]) -> bool:
        """Whether a role (``role_of(person)`` or a past role from history) fits."""
        return all(_fold(role.get(f, "")) in values for f, values in self.match.items())

    def governs(self, provider: str) -> bool:
        return provider in self.allow

    def allows(self, provider: str, grant: str) -> bool:
        return any(fnmatchcase(grant, pattern) for pattern in self.allow.get(provider, ()))


def matching(baselines: Iterable[Baseline], role: Mapping[str, str]) -> tuple[Baseline, ...]:
    """The baselines a role fits, in config order."""
    return tuple(b for b in baselines if b.matches(role))


def allowed(baselines: Iterable[Baseline], provider: str, grant: str) -> bool:
    """Whether any of ``baselines`` allows ``grant`` in ``provider``."""
    return any(b.allows(provider, grant) for b in baselines)


def parse_baselines(
    raw: Sequence[Mapping[str, Any]],
    where: str | PathLike[str] | None,
    *,
    providers: Collection[str] | None = None,
) -> tuple[Baseline, ...]:
    """Validate the ``[[baselines]]`` tables (``Config.baselines``) of the file ``where``.

    With ``providers`` (the configured provider names), an ``allow`` naming any
    other provider is an error: a typo there would silently govern nothing.
    """
    where = str(where) if where is not None else "<config>"
    out: list[Baseline] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(raw):
        baseline = _parse_one(table, where, f"baselines[{index}]", providers)
        if baseline.name in seen:
            raise ConfigError(
                f"{where}: baselines[{index}].name: baseline name {baseline.name!r} is already "
                f"used by baselines[{seen[baseline.name]}]"
            )
        seen[baseline.name] = index
        out.append(baseline)
    return tuple(out)


def _strings(value: Any) -> list[str] | None:
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(i, str) and i.strip() for i in items):
        return None
    return [i.strip() for i in items]


def _parse_one(table: Any, where: str, key: str, known: Collection[str] | None) -> Baseline:
    def fail(sub: str, expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}{sub}: expected {expected}")

    if not isinstance(table, Mapping):
        raise fail("", "a table ([[baselines]])")
    unknown = sorted(str(k) for k in table if k not in _KEYS)
    if unknown:
        raise ConfigError(f"{where}: {key}.{unknown[0]}: unknown key (known: {', '.join(_KEYS)})")
    name = table.get("name")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise fail(".name", "a name of lowercase letters, digits and '-' (e.g. 'engineering')")

    match_raw = table.get("match")
    if not isinstance(match_raw, Mapping):
        raise fail(
            ".match",
            'a table of HR fields, e.g. match = { department = "Engineering" } '
            "(match = {} for everyone)",
        )
    match: dict[str, frozenset[str]] = {}
    for field_name, value in match_raw.items():
        if field_name not in MATCH_FIELDS:
            raise ConfigError(
                f"{where}: {key}.match.{field_name}: unknown HR field "
                f"(known: {', '.join(MATCH_FIELDS)})"
            )
        values = _strings(value)
        if not values:
            raise fail(f".match.{field_name}", "a non-empty string or a list of them")
        match[field_name] = frozenset(_fold(v) for v in values)

    allow_raw = table.get("allow")
    if not isinstance(allow_raw, Mapping) or not allow_raw:
        raise fail(
            ".allow",
            'a table of provider = [grants], e.g. allow = { "corp-okta" = ["Engineering"] }',
        )
    allow: dict[str, tuple[str, ...]] = {}
    for provider, grants in allow_raw.items():
        if known is not None and provider not in known:
            raise ConfigError(
                f"{where}: {key}.allow.{provider}: no provider named {provider!r} is configured"
            )
        if not isinstance(grants, list) or not all(isinstance(g, str) and g for g in grants):
            raise fail(
                f".allow.{provider}",
                "a list of group, team or role names (patterns with * allowed; [] for none)",
            )
        allow[provider] = tuple(dict.fromkeys(grants))
    return Baseline(name=name, match=match, allow=allow)
