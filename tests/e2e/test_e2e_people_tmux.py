"""Offboard a person from the people view of the installed ``pamtui``, in real tmux.

The demo's departed employee Lucía Castillo (E1111) still has live access in three
systems. The operator opens the people view, filters to her (typed in one burst),
opens her accounts, presses R, types a reason and confirms; every step runs against
the demo providers and verifies. The CLI's offboarding report then finds her done.
"""

from __future__ import annotations

import pytest

from tests.e2e.test_e2e_tmux import _cli, tmux  # noqa: F401 (the fixture)

pytestmark = pytest.mark.tmux


def test_offboard_lucia_from_the_people_view(tmux) -> None:  # noqa: F811
    tmux.start()
    # The accounts pane has every account with its credentials (no "loading").
    tmux.wait_for(lambda s: "Accounts 250" in s and "loading" not in s, timeout=30)
    tmux.keys("u")
    tmux.wait_for("People 200")
    tmux.type("/lucia castillo")  # one burst, as operators type
    tmux.wait_for("People 1/200")
    tmux.keys("Enter")  # leave the filter box for the list...
    tmux.keys("Enter")  # ...and open her accounts
    tmux.wait_for(lambda s: all(p in s for p in ("(E1111)", "demo-idp", "demo-git", "demo-cloud")))
    tmux.keys("R")
    tmux.wait_for("Reason (journalled)")
    tmux.type("left 2026-11-10")
    tmux.keys("Enter")
    screen = tmux.wait_for("every step verified", timeout=60)
    assert "FAILED" not in screen, screen

    report = _cli(tmux.env, "offboard", "report", "E1111")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "OFFBOARDED" in report.stdout


def test_remove_the_movers_old_access_from_the_people_view(tmux) -> None:  # noqa: F811
    """README tour step 7: `/mover`, Enter, Enter, r, a reason: five grants, each verified."""
    tmux.start()
    tmux.wait_for(lambda s: "Accounts 250" in s and "loading" not in s, timeout=30)
    tmux.keys("u")
    tmux.wait_for("1 mover")
    tmux.type("/mover")
    tmux.wait_for("People 1/200")
    tmux.keys("Enter")
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "(E1028)" in s and "moved from Engineering" in s)
    tmux.keys("r")
    tmux.wait_for("Reason (journalled)")
    tmux.type("moved to Sales")
    tmux.keys("Enter")
    screen = tmux.wait_for("every step verified (5)", timeout=60)
    assert "FAILED" not in screen, screen

    shown = _cli(tmux.env, "people", "--movers", "--json")
    assert shown.returncode == 0 and shown.stdout.strip() == "[]", shown.stdout + shown.stderr
