"""Attacks on four eyes through ``pamtui sweep``: a policy's ``approve = true`` is not a second operator.

Before the fix an account or credential policy (``action = "plan"`` or a
revoke action) staged a privileged account's plan ``approved`` even with
``four_eyes_for_privileged = true`` recorded, so ``pamtui sweep`` then
``pamtui queue run`` revoked a privileged account with nobody's approval,
while the person and access policies already kept four eyes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pamtui.cli import main
from tests.services.test_movers import CONFIG

PRIVILEGED_PLAN = """
[[policies]]
name = "admins"
match = { privileged = true }
action = "plan"
providers = ["demo-git"]
approve = true
"""

PRIVILEGED_TOKENS = """
[[policies]]
name = "admin-tokens"
match = { privileged = true }
action = "revoke_token"
providers = ["demo-git"]
approve = true
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, str]:
    code = main([*argv, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _mine(capsys: pytest.CaptureFixture[str], actor: str) -> list[dict[str, object]]:
    code, queue, err = run(capsys, "queue", "list")
    assert code == 0, err
    assert isinstance(queue, list)
    return [i for i in queue if i["requested_by"] == actor]


@pytest.mark.parametrize(
    ("policy", "actor"),
    [(PRIVILEGED_PLAN, "policy:admins"), (PRIVILEGED_TOKENS, "policy:admin-tokens")],
    ids=["plan", "revoke_token"],
)
def test_an_approving_policy_does_not_skip_four_eyes_on_a_privileged_account(
    capsys: pytest.CaptureFixture[str], cfg: Path, policy: str, actor: str
) -> None:
    cfg.write_text(
        "[operator]\nfour_eyes_for_privileged = true\n" + CONFIG + policy, encoding="utf-8"
    )
    code, report, err = run(capsys, "sweep")
    assert code == 0, err
    mine = _mine(capsys, actor)
    assert mine, report
    # approve = true is the policy's confirmation, not a second operator's.
    assert {i["state"] for i in mine} == {"awaiting_approval"}
    code, _, err = run(capsys, "queue", "run")
    assert {i["state"] for i in _mine(capsys, actor)} == {"awaiting_approval"}


def test_without_four_eyes_an_approving_policy_still_approves(
    capsys: pytest.CaptureFixture[str], cfg: Path
) -> None:
    cfg.write_text(CONFIG + PRIVILEGED_PLAN, encoding="utf-8")
    code, _, err = run(capsys, "sweep")
    assert code == 0, err
    mine = _mine(capsys, "policy:admins")
    assert mine and {i["state"] for i in mine} == {"approved"}
