"""Which provider types are installed: what ``pamtui providers`` lists.

The registry (entry-point group ``pamtui.providers``) belongs to the providers
layer; the CLI asks here, so the front ends never import a provider module
(import-linter holds that rule, see pyproject.toml).
"""

from __future__ import annotations

from pamtui.providers.kit.settings import markdown_table, text_lines
from pamtui.providers.registry import ProviderType, available_types, settings_of

__all__ = ["ProviderType", "available_types", "markdown_table", "settings_of", "text_lines"]
