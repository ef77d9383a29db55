"""Locate the bundled themes and sample data, installed or in a checkout.

In a wheel they live in ``pamtui/_bundled/``; in a source checkout (editable
install, or tests run from the repo) they are the repo's top-level folders.
"""

from __future__ import annotations

from pathlib import Path

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
