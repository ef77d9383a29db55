"""The provider contract (``pamtui.providers.contract``) for every built-in provider.

Each class below says how to build one provider type against its real backend
(fixtures in ``conftest.py``); the checks are ``ProviderContract``'s, the same
a third-party plugin runs (docs/plugins.md). Checks that do not apply to a
provider are skipped with the reason (``pytest -rs`` lists them): demo and
jsonl have no network and no secret, jsonl and scim have no revoke target of
some kind, scim has no event stream.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pamtui.providers.contract import (
    ProviderContract,
    check_every_type_covered,
    covered_types,
    uncovered_types,
)
from tests.providers.conftest import Backend


class _Contract(ProviderContract):
    """Maps a ``<type>_backend`` fixture onto the three fixtures the contract asks for."""

    backend_fixture = ""

    @pytest.fixture
    def backend(self, request: pytest.FixtureRequest) -> Backend:
        return request.getfixturevalue(self.backend_fixture)

    @pytest.fixture
    def provider_factory(self, backend: Backend):
        return backend.factory

    @pytest.fixture
    def seed(self, backend: Backend):
        return backend.seed

    @pytest.fixture
    def fault_injector(self, backend: Backend):
        return backend.faults


class TestDemoContract(_Contract):
    provider_type = "demo"
    backend_fixture = "demo_backend"


class TestJsonlContract(_Contract):
    provider_type = "jsonl"
    backend_fixture = "jsonl_backend"


class TestScimContract(_Contract):
    provider_type = "scim"
    backend_fixture = "scim_backend"


class TestOktaContract(_Contract):
    provider_type = "okta"
    backend_fixture = "okta_backend"


class TestGitHubContract(_Contract):
    provider_type = "github"
    backend_fixture = "github_backend"


class TestAwsIamContract(_Contract):
    provider_type = "aws-iam"
    backend_fixture = "aws_backend"


class TestHrCsvContract(_Contract):
    provider_type = "hr-csv"
    backend_fixture = "hr_csv_backend"


class TestEntraContract(_Contract):
    provider_type = "entra"
    backend_fixture = "entra_backend"


class TestGoogleWorkspaceContract(_Contract):
    provider_type = "google-workspace"
    backend_fixture = "google_backend"


COVERED = covered_types(globals().values())


def test_every_registered_provider_type_has_a_contract() -> None:
    check_every_type_covered(COVERED)


def test_a_new_entry_point_without_a_contract_fails(tmp_path: Path) -> None:
    """Register a plugin for real (a dist-info on sys.path) and ask the same question."""
    dist = tmp_path / "pamtui_contract_probe-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: pamtui-contract-probe\nVersion: 0.1\n"
    )
    (dist / "entry_points.txt").write_text(
        "[pamtui.providers]\nprobe-newtype = pamtui_contract_probe:Provider\n"
    )
    code = textwrap.dedent(
        f"""
        from pamtui.providers.contract import check_every_type_covered, uncovered_types
        print(uncovered_types({sorted(COVERED)!r}))
        check_every_type_covered({sorted(COVERED)!r})
        """
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.stdout.strip() == "['probe-newtype']", result.stdout + result.stderr
    assert result.returncode != 0
    assert "unknown provider type 'probe-newtype'" in result.stderr
    assert uncovered_types(COVERED) == []  # this interpreter does not see the probe
