"""Shared fixtures: isolated config/data dirs and a session on the static provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.services.session import Session
from tests.fakes import StaticProvider

# Fixtures every test directory may use without importing them: the real servers
# shared by the session (scim2-server, moto), the Okta and GitHub fakes, and the
# in-memory keyring backend.
pytest_plugins = [
    "tests.support.servers",
    "tests.support.keyring_memory",
    "tests.fakes.okta",
    "tests.fakes.github",
]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the developer's real config, data dir or keyring."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home" / ".local" / "share"))
    monkeypatch.delenv("PAMTUI_CONFIG", raising=False)
    monkeypatch.delenv("PAMTUI_DB", raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "pamtui.db"


@pytest.fixture
def journal(db_path: Path):
    j = Journal.open(db_path)
    yield j
    j.close()


@pytest.fixture
def static_provider() -> StaticProvider:
    return StaticProvider()


@pytest.fixture
def static_session(db_path: Path, static_provider: StaticProvider):
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {"static": static_provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    yield session
    session.journal.close()
