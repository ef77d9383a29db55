"""What the operator chose in the TUI and expects back next time (today: the theme).

Kept in ``ui-settings.json`` in the user's data directory, not in the config
file: the config may be shared or managed (and is TOML with the operator's
comments), while a theme picked in the command palette is one person's
preference. Written through the one safe writer (0600, atomic, never through
a symlink). The theme at start is, in order: ``--theme``, the one saved
here, the config's ``[ui] theme``, pamtui's default.

A missing or unreadable file is no error: the TUI starts as if nothing was
saved (a preference must never keep pamtui from starting).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import platformdirs

from pamtui import kept_files
from pamtui.safe_write import SafeWriteError, safe_write_text

FILE_NAME = kept_files.UI_SETTINGS.name


def settings_path() -> Path:
    return platformdirs.user_data_path("pamtui") / FILE_NAME


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def saved_theme(path: Path | None = None) -> str | None:
    """The theme last chosen in the TUI, or None."""
    theme = _load(path or settings_path()).get("theme")
    return theme if isinstance(theme, str) and theme else None


def save_theme(name: str, path: Path | None = None) -> str | None:
    """Remember ``name`` for the next start; the problem as one line, or None."""
    target = path or settings_path()
    settings = {**_load(target), "theme": name}
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        safe_write_text(target, json.dumps(settings, indent=2) + "\n", force=True)
    except (OSError, SafeWriteError) as exc:
        return f"the theme was not saved for next time: {exc}"
    return None
