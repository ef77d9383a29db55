"""Role baselines: parsing with errors that name the file and the key, and matching."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pamtui.config import ConfigError, parse
from pamtui.model import Person
from pamtui.services.baselines import (
    MATCH_FIELDS,
    allowed,
    matching,
    parse_baselines,
    role_of,
)

PROVIDERS = ["demo-git", "demo-idp"]
WHERE = Path("/etc/pamtui/config.toml")


def engineering(**change: Any) -> dict[str, Any]:
    table: dict[str, Any] = {
        "name": "engineering",
        "match": {"department": "Engineering"},
        "allow": {"demo-git": ["platform", "team-*"], "demo-idp": ["group:engineering"]},
    }
    table.update(change)
    return table


def test_the_documented_example_parses_and_matches() -> None:
    (b,) = parse_baselines([engineering()], WHERE, providers=PROVIDERS)
    assert b.name == "engineering"
    assert b.matches(role_of(Person("E1", "Ann", department=" engineering ")))
    assert not b.matches(role_of(Person("E2", "Bo", department="Sales")))
    assert b.allows("demo-git", "platform") and b.allows("demo-git", "team-web")
    assert not b.allows("demo-git", "Platform")  # group names are case-sensitive
    assert not b.allows("demo-cloud", "platform") and not b.governs("demo-cloud")


def test_every_condition_must_hold_and_a_list_means_any() -> None:
    (b,) = parse_baselines(
        [engineering(match={"department": ["Engineering", "R&D"], "title": "SRE"})], WHERE
    )
    assert b.matches({"department": "R&D", "title": "sre"})
    assert not b.matches({"department": "R&D", "title": "Manager"})


def test_an_empty_match_is_everyone() -> None:
    bs = parse_baselines([engineering(name="all", match={}), engineering()], WHERE)
    sales = role_of(Person("E3", "Cy", department="Sales"))
    assert [b.name for b in matching(bs, sales)] == ["all"]
    assert allowed(matching(bs, sales), "demo-idp", "group:engineering")


def test_match_fields_are_the_persons_text_fields() -> None:
    assert {"department", "title", "worker_type", "manager"} <= set(MATCH_FIELDS)
    assert not {"id", "name", "email"} & set(MATCH_FIELDS)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"nope": 1}, "baselines[0].nope: unknown key"),
        ({"name": "Eng"}, "baselines[0].name: expected a name"),
        ({"match": "Engineering"}, "baselines[0].match: expected a table of HR fields"),
        ({"match": {"salary": "1"}}, "baselines[0].match.salary: unknown HR field"),
        ({"match": {"department": ""}}, "baselines[0].match.department: expected a non-empty"),
        ({"match": {"department": [1]}}, "baselines[0].match.department: expected"),
        ({"allow": {}}, "baselines[0].allow: expected a table of provider"),
        ({"allow": {"demo-cloud": ["x"]}}, "baselines[0].allow.demo-cloud: no provider named"),
        ({"allow": {"demo-git": "platform"}}, "baselines[0].allow.demo-git: expected a list"),
    ],
)
def test_each_mistake_names_the_file_and_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_baselines([engineering(**table)], WHERE, providers=PROVIDERS)
    assert str(err.value).startswith(f"{WHERE}: {message}"), str(err.value)


def test_a_name_used_twice_is_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"baselines\[1\]\.name: .* already used by baselines\[0\]"
    ):
        parse_baselines([engineering(), engineering()], WHERE)


def test_the_config_file_carries_baselines_and_refuses_a_table_of_them() -> None:
    raw = {"providers": [{"name": "demo-git", "type": "demo"}], "baselines": [engineering()]}
    assert parse(raw, WHERE).baselines[0]["name"] == "engineering"
    with pytest.raises(ConfigError, match=r"baselines: expected an array of tables"):
        parse({**raw, "baselines": {"name": "x"}}, WHERE)
    assert parse({"providers": raw["providers"]}, WHERE).baselines == ()


def test_a_bad_baseline_fails_config_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pamtui.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[[providers]]\nname = "demo-git"\ntype = "demo"\n\n'
        '[[baselines]]\nname = "eng"\nmatch = { department = "Eng" }\n'
        'allow = { "demo-gti" = ["platform"] }\n',
        encoding="utf-8",
    )
    assert main(["config", "check", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "baselines[0].allow.demo-gti: no provider named 'demo-gti'" in err
    assert "Traceback" not in err
