"""The ``offboard`` policy action: ``pamtui sweep`` stages person-level plans, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.config import ConfigError
from pamtui.journal import EntryFilter, Journal
from pamtui.model import Person, PersonStatus
from pamtui.services.policy import evaluate_people, parse_policies
from tests.services.test_offboard_person import CONFIG

POLICY = """
[[policies]]
name = "leavers"
match = { owner_status = "terminated", terminated_days_over = 0 }
action = "offboard"
approve = true
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG + POLICY, encoding="utf-8")
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_sweep_stages_one_person_plan_per_leaver_and_only_once(capsys, cfg, db_path) -> None:
    code, out, err = run(capsys, "sweep", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["dry_run"] and any(e["subject"] == "person:E1111" for e in dry["entries"])
    code, out, err = run(capsys, "sweep", "--json")
    assert code == 0, err
    report = json.loads(out)
    staged = [e for e in report["entries"] if e["outcome"] == "staged"]
    lucia = [e for e in staged if e["subject"] == "person:E1111"]
    assert {e["provider"] for e in lucia} == {"demo-idp", "demo-git", "demo-cloud"}
    journal = Journal.open(db_path, read_only=True)
    try:
        plans = journal.entries(EntryFilter(action="offboard_plan"), limit=1000)
        by_person = {e.detail["person"]: e for e in plans}
        assert "E1111" in by_person and by_person["E1111"].actor == "policy:leavers"
        assert sorted(by_person["E1111"].detail["items"]) == sorted(e["item"] for e in lucia)
    finally:
        journal.close()
    # Again (cron): nothing new for Lucía, reported as already queued.
    code, out, err = run(capsys, "sweep", "--json")
    assert code == 0, err
    again = json.loads(out)
    assert not [e for e in again["entries"] if e["outcome"] == "staged"]
    assert any(
        e["outcome"] == "duplicate" and e["subject"] == "person:E1111" for e in again["entries"]
    )
    # Approved by the policy: `queue run` executes them, gates first, every step verified.
    code, out, err = run(capsys, "queue", "run")
    assert code == 0, err
    code, out, err = run(capsys, "offboard", "report", "E1111", "--format", "csv")
    assert code == 0, err
    rows = [line for line in out.splitlines() if ",step," in line]
    assert rows and all(",verified," in line for line in rows)


def test_people_conditions_are_checked_in_the_config() -> None:
    def parse(table: str) -> None:
        import tomllib

        parse_policies(tomllib.loads(table)["policies"], "c.toml")

    parse(POLICY)
    with pytest.raises(ConfigError, match=r"match\.privileged: an offboard policy matches people"):
        parse(POLICY.replace("terminated_days_over = 0", "privileged = true"))
    with pytest.raises(ConfigError, match='needs "terminated"'):
        parse(POLICY.replace('owner_status = "terminated"', 'owner_status = "employed"'))
    with pytest.raises(ConfigError, match="providers: not allowed"):
        parse(POLICY + 'providers = ["demo-git"]\n')
    with pytest.raises(ConfigError, match="terminated_days_over: expected a whole number"):
        parse(POLICY.replace("terminated_days_over = 0", "terminated_days_over = -1"))
    with pytest.raises(ConfigError, match='only with action = "offboard"'):
        parse(POLICY.replace('action = "offboard"', 'action = "plan"'))


def test_terminated_days_over_counts_from_the_termination_date() -> None:
    import tomllib

    def policy(days: int):
        text = POLICY.replace("terminated_days_over = 0", f"terminated_days_over = {days}")
        return parse_policies(tomllib.loads(text)["policies"], "c.toml")

    now = datetime(2026, 12, 4, tzinfo=UTC)
    people = [
        Person("E1", "Left Long Ago", status=PersonStatus.TERMINATED,
               terminated=datetime(2026, 10, 1, tzinfo=UTC)),
        Person("E2", "Left Yesterday", status=PersonStatus.TERMINATED,
               terminated=datetime(2026, 12, 3, tzinfo=UTC)),
        Person("E3", "Leaves Next Week", status=PersonStatus.TERMINATED,
               terminated=datetime(2026, 12, 11, tzinfo=UTC)),
        Person("E4", "Still Here"),
    ]  # fmt: skip
    assert [p.person.id for p in evaluate_people(policy(0), people, now)] == ["E1", "E2"]
    assert [p.person.id for p in evaluate_people(policy(30), people, now)] == ["E1"]
