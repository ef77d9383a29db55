"""``pamtui people --movers/--excess`` and ``people show``'s access section, as real commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pamtui.cli import main
from tests.services.test_movers import CONFIG, MOVER

EXCESS = """
[[baselines]]
name = "everyone"
match = {}
allow = { "demo-idp" = ["Everyone", "VPN-Users", "Dept-*", "App-*"] }
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_people_movers_lists_the_demo_mover(capsys, cfg) -> None:
    code, out, err = run(capsys, "people", "--movers", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [MOVER] and rows[0]["access"] == ["mover"]
    code, out, err = run(capsys, "people", "--movers")
    assert code == 0 and "Fatima Abbott" in out and "MOVER" in out
    code, out, err = run(capsys, "people", "--json")
    assert code == 0 and len(json.loads(out)) > 100  # every person, each with "access"
    assert all("access" in r for r in json.loads(out))


def test_people_show_lists_each_grant_and_whether_pamtui_can_remove_it(capsys, cfg) -> None:
    code, out, err = run(capsys, "people", "show", MOVER, "--json")
    assert code == 0, err
    access = json.loads(out)["access"]
    assert access["baselines"] == ["sales"] and access["previous_baselines"] == ["engineering"]
    assert access["previous_role"]["department"] == "Engineering"
    grants = {(f["provider"], f["grant"]) for f in access["findings"]}
    assert ("demo-git", "firmware") in grants and ("demo-idp", "Dept-Engineering") in grants
    assert all(f["flag"] == "mover" and f["removable"] for f in access["findings"])
    code, out, err = run(capsys, "people", "show", MOVER)
    assert code == 0 and "moved from Engineering / Staff Engineer" in out
    assert "MOVER  Dept-Engineering on demo-idp/" in out


def test_excess_is_flagged_where_a_matching_baseline_governs(capsys, cfg) -> None:
    # Engineers hold GitHub teams the engineering baseline allows ("*"); a baseline for
    # everyone that governs demo-idp only: groups there beyond it are excess.
    cfg.write_text(CONFIG.replace('"App-*"', '"App-Jira"') + EXCESS, encoding="utf-8")
    code, out, err = run(capsys, "people", "--excess", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert rows and all("excess" in r["access"] for r in rows)
    code, out, err = run(capsys, "people", "show", rows[0]["id"], "--json")
    flags = {f["flag"] for f in json.loads(out)["access"]["findings"]}
    assert "excess" in flags


def test_movers_without_baselines_is_a_usage_error(capsys, cfg) -> None:
    cfg.write_text(CONFIG.split("[[baselines]]")[0], encoding="utf-8")
    code, out, err = run(capsys, "people", "--movers")
    assert code == 2 and "[[baselines]]" in err and "Traceback" not in err
