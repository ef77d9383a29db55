"""Layering, checked in a fresh interpreter: only tui/ may import Textual.

model, providers, journal and services must work headless (the CLI, sweep from
cron, the SSH server) and must not drag the UI in.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEADLESS = [
    "pamtui.model",
    "pamtui.sanitize",
    "pamtui.config",
    "pamtui.providers.registry",
    "pamtui.providers.http",
    "pamtui.providers.demo",
    "pamtui.providers.scim",
    "pamtui.providers.jsonl",
    "pamtui.providers.github",
    "pamtui.providers.okta",
    "pamtui.providers.aws_iam",
    "pamtui.providers.contract",  # shipped for plugin authors' tests: no Textual, no pytest
    "pamtui.providers.faultproxy",
    "pamtui.services.health",
    "pamtui.services.cursors",
    "pamtui.services.mfa",
    "pamtui.journal",
    "pamtui.journal.export",
    "pamtui.services.session",
    "pamtui.services.queue",
    "pamtui.services.policy",
    "pamtui.services.audit",
    "pamtui.services.watch",
    "pamtui.cli",  # imports the TUI only when the TUI is asked for
]


@pytest.mark.parametrize("module", HEADLESS)
def test_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'pamtui') and (m.startswith('textual') or m.startswith('pamtui.tui'))))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} pulls in: {result.stdout.strip()}"


def test_providers_do_not_know_the_queue_or_the_journal() -> None:
    code = (
        "import sys, pamtui.providers.demo, pamtui.providers.http; "
        "print(sorted(m for m in sys.modules if m.startswith(('pamtui.services', "
        "'pamtui.journal'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("module", ["pamtui.providers.contract", "pamtui.providers.faultproxy"])
def test_contract_kit_imports_neither_pytest_nor_textual(module: str) -> None:
    """Plugin authors import the contract from the wheel; importing it must stay cheap."""
    code = (
        f"import sys, {module}; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest', 'textual')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"{module} pulls in: {result.stdout.strip()}"
