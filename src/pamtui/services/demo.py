"""The bundled demo organisation: restore it, or generate one at a given scale.

What ``pamtui demo`` does, through the services layer so the CLI never imports
the demo provider's modules (import-linter holds that rule, see pyproject.toml).
"""

from __future__ import annotations

from pamtui.providers.demo import reset
from pamtui.providers.demo.generate import MIN_ACCOUNTS
from pamtui.providers.demo.provider import ensure_scaled, scaled_path

__all__ = ["MIN_ACCOUNTS", "ensure_scaled", "reset", "scaled_path"]
