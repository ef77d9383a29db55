"""The README tour's "offboard a person" step, run as the installed program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

PAMTUI = Path(sys.executable).with_name("pamtui")
LUCIA = "lucia.castillo@acme-robotics.example"


def pamtui(db: Path, *argv: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PAMTUI_CONFIG"}
    env["PAMTUI_DB"] = str(db)
    return subprocess.run(
        [str(PAMTUI), *argv], capture_output=True, text=True, timeout=120, check=False, env=env
    )


def test_the_tour_step_works_as_written(db_path: Path) -> None:
    dry = pamtui(db_path, "offboard", LUCIA, "--reason", "left 2026-11-10", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "block new logins at the identity provider" in dry.stdout
    done = pamtui(db_path, "offboard", LUCIA, "--reason", "left 2026-11-10", "--yes")
    assert done.returncode == 0, done.stderr
    assert "every step verified: Lucía Castillo's access has ended" in done.stdout
    report = pamtui(db_path, "offboard", "report", "E1111")
    assert report.returncode == 0, report.stderr
    assert "OFFBOARDED" in report.stdout
    ambiguous = pamtui(db_path, "offboard", "lucia", "--reason", "x", "--dry-run")
    assert ambiguous.returncode == 2 and "matches 2 people" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
