"""In-memory keyring backends for the tests, selected by configuration.

Tests set ``PYTHON_KEYRING_BACKEND=tests.support.keyring_memory.MemoryKeyring`` and
call ``keyring.core.init_backend()``: keyring loads the class by name, exactly
as it would load a real backend from the environment or keyringrc.cfg.
"""

from __future__ import annotations

from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Secrets in a dict of this instance: gone when the backend is replaced."""

    priority = 50  # high: chosen over anything auto-detected

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError("no such password") from None


class PlaintextishKeyring(MemoryKeyring):
    """Works like MemoryKeyring; its name marks it as a plain-text store."""

    priority = 0.5


def use_backend(monkeypatch: pytest.MonkeyPatch, name: str) -> KeyringBackend:
    """Select a keyring backend by name, as PYTHON_KEYRING_BACKEND does for users."""
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", name)
    keyring.core.init_backend()
    return keyring.get_keyring()


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A real keyring backend chosen by configuration, holding secrets in memory."""
    backend = use_backend(monkeypatch, "tests.support.keyring_memory.MemoryKeyring")
    assert type(backend) is MemoryKeyring
    yield backend
    # Leave no test backend behind (and never fall through to a real keyring).
    keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))
