"""Find provider types through the ``pamtui.providers`` entry-point group.

Built-in providers are registered in pamtui's own pyproject exactly as a
third-party plugin would register its own, so there is one way in.

A start loads its configured types from the last scan's answer while nothing
installed has changed since (providers/type_cache.py); anything else scans.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pamtui.providers import type_cache
from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext
from pamtui.providers.kit.settings import Settings

if TYPE_CHECKING:  # importlib.metadata: imported by a scan only (type_cache.py)
    from importlib.metadata import EntryPoint

ENTRY_POINT_GROUP = "pamtui.providers"


@dataclass(frozen=True)
class ProviderType:
    """A provider type found in the entry points: its name, module and distribution."""

    name: str
    module: str
    distribution: str


class UnknownProviderType(ProviderConfigError):
    pass


def _entry_points() -> dict[str, EntryPoint]:
    # A scan reads every installed distribution's metadata (~7 ms here): once per
    # start, not once per configured provider; again if sys.path changes.
    return dict(_scan(tuple(sys.path)))


@functools.lru_cache(maxsize=4)
def _scan(_path: tuple[str, ...]) -> tuple[tuple[str, EntryPoint], ...]:
    from importlib.metadata import entry_points

    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    type_cache.remember(ENTRY_POINT_GROUP, {name: ep.value for name, ep in found.items()})
    return tuple(found.items())


@functools.lru_cache(maxsize=4)
def _remembered(_path: tuple[str, ...]) -> dict[str, str] | None:
    """The last scan's ``{type: "module:attr"}`` while nothing installed changed, else None."""
    return type_cache.cached_types(ENTRY_POINT_GROUP)


def available_types() -> list[ProviderType]:
    """Installed provider types, without importing them."""
    types = []
    for name, ep in sorted(_entry_points().items()):
        dist = ep.dist.name if ep.dist is not None else "?"
        types.append(ProviderType(name=name, module=ep.value, distribution=dist))
    return types


def load_type(type_name: str) -> type[Provider]:
    remembered = _remembered(tuple(sys.path)) or {}
    value = remembered.get(type_name)
    if value is None:  # not in the last scan's answer, or no answer: scan
        ep = _entry_points().get(type_name)
        if ep is None:
            known = ", ".join(sorted(_entry_points())) or "none"
            raise UnknownProviderType(
                f"unknown provider type {type_name!r} (installed types: {known})"
            )
        value = ep.value
    try:
        cls = type_cache.load(value)
    except Exception as exc:  # a broken plugin must not take pamtui down
        raise ProviderConfigError(
            f"provider type {type_name!r} failed to load from {value}: {exc}"
        ) from exc
    return cls


def settings_of(type_name: str) -> Settings:
    """The declared settings of an installed provider type (its class's ``SETTINGS``)."""
    declared = getattr(load_type(type_name), "SETTINGS", None)
    if not isinstance(declared, Settings):
        raise ProviderConfigError(f"provider type {type_name!r} declares no settings")
    return declared


def create(
    type_name: str, name: str, settings: Mapping[str, Any], context: ProviderContext
) -> Provider:
    return load_type(type_name).from_config(name, settings, context)
