"""Bulk approval in the installed program, typed into tmux in one burst (issue 15).

A sweep stages a leaver's steps; in the queue pane the operator types
``space space y`` in one ``send-keys`` burst: the two rows marked become
approved, every other row stays staged, and nothing runs (approving is not
executing). Checked on screen and from the command line and the journal.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.test_e2e_tmux import _cli, tmux  # noqa: F401  (fixture: a real tmux server)

pytestmark = pytest.mark.tmux

CONFIG = """\
[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0

[[policies]]
name = "terminated-owners"
match = { owner_status = "terminated" }
action = "plan"
"""


def _queue_focused(screen: str) -> bool:
    """The focus mark sits in the bottom-right pane's border: the queue's."""
    lines = screen.splitlines()
    title = next((n for n, line in enumerate(lines) if "Revocation queue" in line), None)
    return title is not None and any(
        "● focus" in line and line.index("● focus") > len(line) // 2 for line in lines[title:]
    )


def _queue(env: dict[str, str], config: Path) -> dict[int, dict]:
    listed = _cli(env, "queue", "list", "--json", "--config", str(config))
    assert listed.returncode == 0, listed.stderr
    return {item["id"]: item for item in json.loads(listed.stdout)}


def test_two_rows_marked_and_approved_in_one_burst_and_nothing_runs(tmux, tmp_path) -> None:  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    swept = _cli(tmux.env, "sweep", "--config", str(config))
    assert swept.returncode == 0, swept.stderr
    before = _queue(tmux.env, config)
    assert len(before) > 2 and {i["state"] for i in before.values()} == {"staged"}
    newest = sorted(before, reverse=True)[:2]  # the pane lists the newest first

    tmux.start("--config", str(config))
    tmux.wait_for(lambda s: "staged" in s and "ORPHAN" in s)
    tmux.keys("4")  # the queue pane, once it has the focus (its border says so)
    tmux.wait_for(_queue_focused)
    tmux.type("  y")  # mark, mark, approve: one burst, as an operator types it
    screen = tmux.wait_for("approved 2 items; nothing ran", timeout=20)
    assert tmux.alive()

    deadline = time.monotonic() + 10
    after = _queue(tmux.env, config)
    while time.monotonic() < deadline and sum(i["state"] == "approved" for i in after.values()) < 2:
        time.sleep(0.2)
        after = _queue(tmux.env, config)
    approved = sorted(i for i, item in after.items() if item["state"] == "approved")
    assert approved == sorted(newest), screen
    assert {after[i]["state"] for i in after if i not in newest} == {"staged"}
    assert {after[i]["approved_by"] for i in newest} != {""}

    tmux.keys("q")
    deadline = time.monotonic() + 10
    while tmux.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not tmux.alive()
    executed = _cli(tmux.env, "audit", "list", "--json", "--action", "execute")
    assert executed.returncode == 0 and json.loads(executed.stdout) == []  # nothing ran
