"""Layering: the import-linter contracts in pyproject.toml, and Textual at run time.

The layer rule (front ends -> services -> journal | providers -> model) is
kept by import-linter, not by a list here: ``lint-imports`` runs in .ci/run,
and this test runs it too so ``pytest`` alone catches a broken layer.

What import-linter cannot see is what a module pulls in when it is *run*
(an import inside a function that the module calls while loading, a plugin
found through an entry point). So every module outside the UI is also
imported in a fresh interpreter, and Textual must not be there: model,
providers, journal, services and the CLI must work headless (sweep from cron,
the SSH server) without dragging the UI in.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SRC = REPO / "src"

# The UI itself, and the SSH server's audit screen and operator TUI, which are Textual apps.
UI = ("pamtui.tui", "pamtui.ssh.audit", "pamtui.ssh.operator_app")


def headless_modules() -> list[str]:
    """Every module of the package outside the UI, found on disk (no hand-kept list)."""
    names = []
    for path in sorted((SRC / "pamtui").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name != "pamtui.__main__" and not name.startswith(UI):
            names.append(name)
    return names


def test_the_headless_list_is_found_not_kept() -> None:
    modules = headless_modules()
    for expected in ("pamtui.model", "pamtui.errors", "pamtui.services.queue", "pamtui.cli"):
        assert expected in modules
    assert not [m for m in modules if m.startswith("pamtui.tui")]


def test_headless_modules_do_not_import_textual() -> None:
    # One interpreter for all of them (a fresh one per module costs minutes on a
    # busy machine); the first module after whose import Textual appears is named.
    code = (
        "import importlib, sys\n"
        f"for name in {headless_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "    if any(m == 'textual' or m.startswith(('textual.', 'pamtui.tui')) for m in sys.modules):\n"
        "        print(name); break\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"{result.stdout.strip()} pulls in Textual"


def test_import_linter_contracts_hold() -> None:
    # import-linter is in the test extras: missing, it is a broken install, not a skip.
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports is not None, "pip install -e '.[test]' installs import-linter"
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


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


def test_no_module_over_600_lines_without_a_stated_reason() -> None:
    """Issue 13: small modules with one job; a long one says why in its docstring."""
    import ast

    unexplained = []
    for path in sorted((SRC / "pamtui").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") <= 600:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        if "Why one module" not in doc:
            unexplained.append(f"{path.relative_to(SRC)} ({text.count(chr(10))} lines)")
    assert unexplained == [], "split these, or say why they are one module"
