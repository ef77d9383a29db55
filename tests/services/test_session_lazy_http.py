"""A session with HTTP providers opens without importing httpx (providers/http/).

The TUI's first frame comes from the last inventory snapshot, before any
provider is asked anything: a real deployment (SCIM, Okta, GitHub, Entra) should not
pay for httpx (and its client, TLS context and transport) before that frame.
The HTTP layer imports httpx and builds its client when a provider first
talks to its service; the settings are still validated as the session opens.

The import check runs in a fresh interpreter, so that nothing this test run
imported earlier hides an import; it asserts on modules, never on time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

from pamtui.providers.base import ProviderConfigError
from pamtui.services.session import Session

HEAVY = ("httpx", "httpcore", "h11", "anyio", "certifi")

_PROVIDERS = """
[[providers]]
name = "corp-scim"
type = "scim"
base_url = "http://127.0.0.1:9/scim/v2"
token = {{ env = "PAMTUI_TEST_TOKEN" }}
{scim_extra}
[[providers]]
name = "corp-okta"
type = "okta"
base_url = "http://127.0.0.1:9"
token = {{ env = "PAMTUI_TEST_TOKEN" }}

[[providers]]
name = "corp-github"
type = "github"
base_url = "http://127.0.0.1:9"
org = "acme"
token = {{ env = "PAMTUI_TEST_TOKEN" }}

[[providers]]
name = "corp-entra"
type = "entra"
base_url = "http://127.0.0.1:9/v1.0"
authority = "http://127.0.0.1:9"
tenant_id = "00000000-0000-0000-0000-000000000000"
client_id = "11111111-1111-1111-1111-111111111111"
client_secret = {{ env = "PAMTUI_TEST_TOKEN" }}
"""

_FIRST_FRAME = """
import asyncio, json, sys
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
session = Session.open(config_path={config!r}, db_path={db!r})
app = PamtuiApp(session)
loaded = [m for m in {modules!r} if m in sys.modules]
asyncio.run(session.aclose())  # closing clients never used builds none
loaded += [m for m in {modules!r} if m in sys.modules and m not in loaded]
print(json.dumps({{"loaded": loaded, "providers": sorted(session.providers)}}))
"""


def _config(tmp_path: Path, scim_extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(_PROVIDERS.format(scim_extra=scim_extra), encoding="utf-8")
    return path


def test_a_session_with_http_providers_opens_without_importing_httpx(tmp_path: Path):
    code = _FIRST_FRAME.format(
        config=str(_config(tmp_path)), db=str(tmp_path / "pamtui.db"), modules=HEAVY
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PAMTUI_TEST_TOKEN": "a-test-token-1234",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {
        "loaded": [],
        "providers": ["corp-entra", "corp-github", "corp-okta", "corp-scim"],
    }


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("timeout_s = 0", r"provider 'corp-scim'.*'timeout_s'"),
        ("tokn = 1", r"provider 'corp-scim'.*unknown setting 'tokn'"),
        ('user_agent = "pamtui\\u00e9"', r"provider 'corp-scim'.*'user_agent'"),
        ('ca_bundle = "{here}"', r"provider 'corp-scim'.*'ca_bundle': cannot load"),
        pytest.param(
            'proxy = "socks5://127.0.0.1:1080"',
            r"provider 'corp-scim': setting 'proxy': a SOCKS proxy needs the socksio package",
            marks=pytest.mark.skipif(find_spec("socksio") is not None, reason="socksio installed"),
        ),
    ],
)
def test_an_http_settings_mistake_still_fails_the_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, extra: str, message: str
):
    """As before the client was built lazily; what httpx itself refused when the
    client was built (a non-ASCII user agent, a SOCKS proxy without socksio) was
    an internal error at open, and is now a configuration error at open."""
    monkeypatch.setenv("PAMTUI_TEST_TOKEN", "a-test-token-1234")
    cfg = _config(tmp_path, extra.format(here=__file__) + "\n")
    with pytest.raises(ProviderConfigError, match=message):
        Session.open(config_path=str(cfg), db_path=str(tmp_path / "pamtui.db"))
