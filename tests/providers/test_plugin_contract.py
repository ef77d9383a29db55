"""A third-party plugin runs the contract the way docs/plugins.md says, in its own pytest.

A tiny plugin (a provider keeping its state in a JSON file) is installed for
real as a distribution on ``sys.path`` with a ``pamtui.providers`` entry
point; its test module subclasses ``ProviderContract`` exactly like the
documented example and runs in a separate pytest, outside pamtui's tests
(no pamtui conftest, no pytest-asyncio mode). The same plugin with a
revoke that fails the second time (a second class in the same module) must
fail the suite, and only there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

PLUGIN = '''
"""A provider whose org is a JSON file in the state dir (so a new instance sees revokes)."""
import json
from pamtui.model import (AccessEvent, Account, AccountKind, AccountStatus, Capability,
    Credential, CredentialKind, CredentialStatus, RevokeAction, RevokeResult, TargetKind,
    VerifyResult)
from pamtui.providers.base import ProviderConfigError, ProviderError, secret_setting
from datetime import UTC, datetime

class ProbeProvider:
    type = "contract-probe"
    capabilities = frozenset(Capability)

    def __init__(self, name, path, broken=False):
        self.name, self.path, self.broken = name, path, broken
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({"a1": "active", "a2": "active",
                                        "c1": "active", "c2": "active"}))

    @classmethod
    def from_config(cls, name, settings, context):
        for key in settings:
            if key not in ("token", "broken"):
                raise ProviderConfigError(f"provider {name!r}: unknown setting {key!r}")
        secret_setting(f"provider {name!r}", "token", settings.get("token"), context)
        return cls(name, context.state_dir / "probe.json", settings.get("broken", False))

    def _state(self):
        return json.loads(self.path.read_text())

    async def list_accounts(self):
        state = self._state()
        for aid in ("a1", "a2"):
            yield Account(self.name, aid, aid, AccountKind.HUMAN, AccountStatus(
                "active" if state[aid] == "active" else "deactivated"))

    async def list_credentials(self, account=None):
        state = self._state()
        for cid, aid in (("c1", "a1"), ("c2", "a2")):
            if account is None or account.id == aid:
                yield Credential(self.name, cid, aid, CredentialKind.API_TOKEN,
                    CredentialStatus("active" if state[cid] == "active" else "revoked"))

    async def stream_events(self, since=None):
        if since is not None and not since.isdigit():
            raise ProviderError(f"not a contract-probe cursor: {since[:40]!r}")
        start = 0 if since is None else int(since) + 1
        for n in range(start, 3):
            yield AccessEvent(self.name, datetime(2026, 1, 1, 0, 0, n, tzinfo=UTC), "a1", "c1",
                              "GET", f"/x/{n}", 200, cursor=str(n))

    def revoke_actions(self, target):
        if isinstance(target, Credential):
            return [RevokeAction.on_credential(self.name, target, "revoke_token", "Revoke", 10)]
        return [RevokeAction.on_account(self.name, target, "deactivate_account", "Off", 90)]

    async def revoke(self, action, idempotency_key):
        if action.provider != self.name:
            raise ProviderError(f"provider {self.name!r}: not my action")
        state = self._state()
        if state[action.target_id] != "active":
            if self.broken:
                raise ProviderError(f"provider {self.name!r}: already revoked")
            return RevokeResult(ok=True, already_done=True)
        state[action.target_id] = "revoked"
        self.path.write_text(json.dumps(state))
        return RevokeResult(ok=True)

    async def verify(self, action):
        return VerifyResult(gone=self._state()[action.target_id] != "active")

    async def aclose(self):
        pass
'''

TESTS = """
import pytest

from pamtui.providers.base import ProviderContext
from pamtui.providers.contract import ProviderContract, ProviderFactory, Seed

TOKEN = "probe-test-token-4f2a"


class TestProbeContract(ProviderContract):
    provider_type = "contract-probe"
    settings = {}

    @pytest.fixture
    def fault_injector(self):
        return None

    @pytest.fixture
    def provider_factory(self, tmp_path):
        return ProviderFactory(
            "contract-probe",
            {"token": {"env": "PROBE_TOKEN"}, **self.settings},
            ProviderContext(state_dir=tmp_path / "state", resolve_secret=lambda ref: TOKEN),
            secret_settings=("token",),
            secret_values=(TOKEN,),
            not_applicable={"faults": "no network: the org is a JSON file"},
        )

    @pytest.fixture
    def seed(self):
        return Seed(account_id="a1", credential_id="c1")


class TestBrokenProbeContract(TestProbeContract):
    # The same plugin with a revoke that fails when the access is already gone.

    settings = {"broken": True}
"""


def _plugin(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "contract_probe.py").write_text(PLUGIN)
    dist = site / "contract_probe-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: contract-probe\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[pamtui.providers]\ncontract-probe = contract_probe:ProbeProvider\n"
    )
    project = tmp_path / "plugin"
    project.mkdir()
    (project / "test_contract.py").write_text(textwrap.dedent(TESTS))
    return project, {**os.environ, "PYTHONPATH": str(site)}


def _pytest(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rfs",
            "-p",
            "no:cacheprovider",
            "test_contract.py",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_plugin_runs_the_documented_contract_which_catches_its_bug(tmp_path: Path) -> None:
    project, env = _plugin(tmp_path)
    result = _pytest(project, env)
    out = result.stdout
    assert result.returncode == 1, out[-3000:] + result.stderr[-2000:]
    assert "2 failed, 12 passed, 12 skipped" in out, out[-2000:]
    assert "FAILED test_contract.py::TestProbeContract" not in out, out[-3000:]
    for check in ("credential", "account"):
        assert (
            f"FAILED test_contract.py::TestBrokenProbeContract::test_revoke_{check}_twice" in out
        ), out[-3000:]
    assert "already revoked" in out
    assert "faults does not apply: no network: the org is a JSON file" in out
