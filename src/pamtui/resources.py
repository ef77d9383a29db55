"""Locate the bundled themes and sample data, installed or in a checkout.

In a wheel they live in ``pamtui/_bundled/``; in a source checkout (editable
install, or tests run from the repo) they are the repo's top-level folders.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import platformdirs

_PACKAGE_DIR = Path(__file__).resolve().parent


def bundled_dir(name: str) -> Path:
    installed = _PACKAGE_DIR / "_bundled" / name
    if installed.is_dir():
        return installed
    checkout = _PACKAGE_DIR.parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"pamtui's bundled {name!r} folder is missing; reinstall pamtui")


def sample_data_dir() -> Path:
    return bundled_dir("sample_data")


def themes_dir() -> Path:
    return bundled_dir("themes")


def user_themes_dir() -> Path:
    """Where users drop their own theme files (``<user config dir>/pamtui/themes``)."""
    return platformdirs.user_config_path("pamtui") / "themes"


def theme_names() -> list[str]:
    """The names of the bundled and the user's theme files (Textual's own not included).

    Read without Textual, so the CLI can refuse ``--theme nope`` before any UI starts;
    a file that does not parse is skipped here (the TUI reports it).
    """
    names = []
    for folder in (themes_dir(), user_themes_dir()):
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else ():
            try:
                name = tomllib.loads(path.read_text(encoding="utf-8")).get("name")
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue
            if isinstance(name, str) and name:
                names.append(name)
    return names
