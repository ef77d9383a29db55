"""The provider kit: what every provider (built-in or plugin) builds on.

- :mod:`~pamtui.providers.kit.settings`: declared settings and their one validator;
- :mod:`~pamtui.providers.kit.cursors`: stream cursors saved atomically;
- the shared helpers of :mod:`pamtui.providers.base` (``where``, ``text``,
  ``check_action``, ``secret_setting``).

The HTTP layer (:mod:`pamtui.providers.http`) is part of the kit too, but is
imported on its own: providers that speak no HTTP should not load httpx.
"""

from pamtui.providers.base import check_action, secret_setting, text, where
from pamtui.providers.kit.cursors import CursorStore, SavedCursor, write_private
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import (
    REQUIRED,
    Setting,
    SettingError,
    Settings,
    boolean,
    choice,
    integer,
    number,
    secret,
    string,
    strings,
    table,
)

__all__ = [
    "REQUIRED",
    "CursorStore",
    "DeclaredProvider",
    "SavedCursor",
    "Setting",
    "SettingError",
    "Settings",
    "boolean",
    "check_action",
    "choice",
    "integer",
    "number",
    "secret",
    "secret_setting",
    "string",
    "strings",
    "table",
    "text",
    "where",
    "write_private",
]
