"""Secret references in provider settings: environment and the OS keyring."""

from __future__ import annotations

import keyring
import pytest

from pamtui.config import ConfigError
from pamtui.services.session import KEYRING_SERVICE, resolve_secret


def test_env_reference(monkeypatch):
    monkeypatch.setenv("PAMTUI_TEST_TOKEN", "from-env")
    assert resolve_secret({"env": "PAMTUI_TEST_TOKEN"}) == "from-env"
    monkeypatch.delenv("PAMTUI_TEST_TOKEN")
    with pytest.raises(ConfigError, match="PAMTUI_TEST_TOKEN is not set"):
        resolve_secret({"env": "PAMTUI_TEST_TOKEN"})


def test_keyring_reference(memory_keyring):
    keyring.set_password(KEYRING_SERVICE, "corp-scim", "from-keyring")
    assert resolve_secret({"keyring": "corp-scim"}) == "from-keyring"
    with pytest.raises(ConfigError, match="no secret named 'other'"):
        resolve_secret({"keyring": "other"})


def test_plain_strings_are_not_references():
    with pytest.raises(ConfigError, match="must be a reference") as info:
        resolve_secret("ghp_plaintext_token_value")
    assert "ghp_plaintext" not in str(info.value)  # never echo a secret back
