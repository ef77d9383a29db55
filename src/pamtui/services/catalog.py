"""Which provider types are installed: what ``pamtui providers`` lists.

The registry (entry-point group ``pamtui.providers``) belongs to the providers
layer; the CLI asks here, so the front ends never import a provider module
(import-linter holds that rule, see pyproject.toml).

A provider type whose code needs an optional package declares it on its class
as ``REQUIRES = (("module", "what to pip install"), ...)``: an installed type
whose package is missing is not "ok" (``pamtui providers``, ``pamtui doctor``),
although its entry point loads (the import is deferred until it is created).
"""

from __future__ import annotations

import importlib.util

from pamtui.providers.kit.settings import markdown_table, text_lines
from pamtui.providers.registry import ProviderType, available_types, load_type, settings_of

__all__ = [
    "ProviderType",
    "available_types",
    "markdown_table",
    "missing_packages",
    "settings_of",
    "text_lines",
]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked in sys.modules
        return False


def missing_packages(type_name: str) -> list[tuple[str, str]]:
    """``(module, what to install)`` for each package the type needs and cannot import."""
    requires = getattr(load_type(type_name), "REQUIRES", ())
    return [(module, install) for module, install in requires if not _importable(module)]
