"""Colour themes: the bundled ``themes/*.toml`` and the user's own.

A theme file is TOML with the fields of ``textual.theme.Theme``::

    name = "my-theme"
    primary = "#0178D4"
    dark = true
    [variables]
    footer-key-foreground = "#ffffff"

Users drop theme files into ``<user config dir>/pamtui/themes/``. A theme's
name is shown in the command palette, whose theme picker (Textual's own) parses
names as markup, so names are limited to letters, digits, ``.``, ``_`` and ``-``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import platformdirs
from textual.theme import Theme

from pamtui.resources import themes_dir

_FIELDS = {
    "name",
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
    "dark",
    "luminosity_spread",
    "text_alpha",
    "variables",
}


THEME_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def user_themes_dir() -> Path:
    return platformdirs.user_config_path("pamtui") / "themes"


def load_theme_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"{path}: unknown theme key {sorted(unknown)[0]!r}")
    if "name" not in data or "primary" not in data:
        raise ValueError(f"{path}: a theme needs at least 'name' and 'primary'")
    if not isinstance(data["name"], str) or not THEME_NAME.fullmatch(data["name"]):
        raise ValueError(f"{path}: a theme's name is up to 64 letters, digits, '.', '_' or '-'")
    return Theme(**data)


def discover_themes() -> tuple[list[Theme], list[str]]:
    """Bundled then user themes, and one problem line per file that failed."""
    themes: list[Theme] = []
    problems: list[str] = []
    folders = [themes_dir(), user_themes_dir()]
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                themes.append(load_theme_file(path))
            except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
                problems.append(f"theme {path.name}: {exc}")
    return themes, problems
