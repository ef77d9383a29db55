"""The ``hr-csv`` roster source against real-looking BambooHR and Workday exports."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.model import PersonStatus
from pamtui.providers.base import ProviderConfigError, ProviderContext
from pamtui.providers.hr_csv import HrCsvProvider
from pamtui.providers.registry import load_type
from pamtui.providers.roster import RosterError, RosterSource, roster_sources

DATA = Path(__file__).parents[1] / "data" / "roster"


def source(tmp_path: Path, file: str, **settings: object) -> HrCsvProvider:
    settings.setdefault("path", str(DATA / file))
    return HrCsvProvider.from_config("hr", settings, ProviderContext(state_dir=tmp_path))


async def people(src: HrCsvProvider) -> dict[str, object]:
    return {p.id: p async for p in src.list_people()}


def test_registered_like_any_provider_and_is_a_roster_source(tmp_path: Path) -> None:
    assert load_type("hr-csv") is HrCsvProvider
    src = source(tmp_path, "bamboohr.csv", mapping="bamboohr")
    assert isinstance(src, RosterSource)
    assert roster_sources({"hr": src}) == [src]


async def test_bamboohr_csv_with_bom_and_quoted_commas(tmp_path: Path) -> None:
    roster = await people(source(tmp_path, "bamboohr.csv", mapping="bamboohr"))
    assert list(roster) == ["1001", "1111", "1162", "1180", "1190"]  # BOM: the id column is found
    ana, lucia, li, omar, jordan = roster.values()
    assert (ana.email, ana.status, ana.terminated) == (
        "ana.richter@acme-robotics.example",
        PersonStatus.EMPLOYED,
        None,  # BambooHR's empty date is 0000-00-00
    )
    assert lucia.name == "Lucía Castillo" and lucia.status is PersonStatus.TERMINATED
    assert lucia.terminated is not None and lucia.terminated.date().isoformat() == "2026-11-10"
    assert lucia.title == "QA Engineer, Fleet" and lucia.manager == "1098"
    assert li.department == "Research, Robotics"
    assert omar.name == "Castillo, Omar" and omar.status is PersonStatus.LEAVE
    assert jordan.worker_type == "contractor"
    assert {p.source for p in roster.values()} == {"hr"}


async def test_bamboohr_api_json_report(tmp_path: Path) -> None:
    roster = await people(source(tmp_path, "bamboohr.json", mapping="bamboohr"))
    assert roster["1001"].name == "Ana Richter"
    assert roster["1111"].status is PersonStatus.TERMINATED


async def test_workday_csv_and_json(tmp_path: Path) -> None:
    roster = await people(source(tmp_path, "workday.csv", mapping="workday"))
    ana = roster["E1001"]
    assert ana.aliases == ("arichter@acme-robotics.example", "ana@acme-robotics.example")
    assert ana.department == "Engineering (Ana Richter)"
    assert roster["E1111"].status is PersonStatus.TERMINATED
    assert roster["E1111"].terminated.date().isoformat() == "2026-11-10"  # 11/10/2026
    assert roster["E1180"].status is PersonStatus.LEAVE
    assert roster["C2001"].worker_type == "contractor"
    assert roster["C2001"].title == "Contractor, firmware"
    as_json = await people(source(tmp_path, "workday.json", mapping="workday"))
    assert as_json["E1111"].status is PersonStatus.TERMINATED


async def test_a_renamed_column_is_one_line_naming_file_and_column(tmp_path: Path) -> None:
    src = source(tmp_path, "bamboohr-renamed.csv", mapping="bamboohr")
    with pytest.raises(RosterError) as err:
        await people(src)
    message = str(err.value)
    assert "\n" not in message
    assert "bamboohr-renamed.csv" in message and "'Work Email'" in message and "(email)" in message


async def test_a_column_override_reads_the_renamed_export(tmp_path: Path) -> None:
    src = source(tmp_path, "bamboohr-renamed.csv", mapping="bamboohr", columns={"email": "Email"})
    assert (await people(src))["1001"].email == "ana.richter@acme-robotics.example"


async def test_re_read_only_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    shutil.copy(DATA / "workday.csv", path)
    src = source(tmp_path, "", path=str(path), mapping="workday")
    assert len(await people(src)) == 4
    assert len(await people(src)) == 4
    assert src.reads == 1
    with path.open("a", encoding="utf-8") as f:
        f.write(
            "E1200,New Hire,new.hire@acme-robotics.example,,Active,,E1001,IT,Engineer,Employee\n"
        )
    roster = await people(src)
    assert src.reads == 2 and roster["E1200"].name == "New Hire"
    # Same size, new content: the modification time tells.
    text = path.read_text(encoding="utf-8").replace("New Hire", "Old Hire")
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert (await people(src))["E1200"].name == "Old Hire"


def test_bad_settings_are_named(tmp_path: Path) -> None:
    with pytest.raises(ProviderConfigError, match="'path' is required"):
        HrCsvProvider.from_config("hr", {}, ProviderContext(state_dir=tmp_path))
    with pytest.raises(ProviderConfigError, match="mapping"):
        source(tmp_path, "workday.csv", mapping="sap")
    with pytest.raises(ProviderConfigError, match=r"columns\.salary"):
        source(tmp_path, "workday.csv", columns={"salary": "Pay"})


def test_cli_people_from_an_hr_export_and_its_renamed_column_error(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    config = tmp_path / "pamtui.toml"
    config.write_text(
        '[[providers]]\nname = "hr"\ntype = "hr-csv"\n'
        f'path = "{DATA / "workday.csv"}"\nmapping = "workday"\n',
        encoding="utf-8",
    )
    config.chmod(0o600)
    code = main(["people", "--config", str(config), "--status", "leave"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "E1180" in out and "Omar Castillo" in out and "E1001" not in out
    config.write_text(
        '[[providers]]\nname = "hr"\ntype = "hr-csv"\n'
        f'path = "{DATA / "bamboohr-renamed.csv"}"\nmapping = "bamboohr"\n',
        encoding="utf-8",
    )
    code = main(["people", "--config", str(config)])
    out, err = capsys.readouterr()
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "bamboohr-renamed.csv" in lines[0] and "Work Email" in lines[0]
    assert "Traceback" not in err


def test_hostile_roster_text_never_reaches_the_terminal(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import csv

    from tests.support.hostile import HOSTILE_STRINGS

    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    roster = tmp_path / "hostile.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "email", "status", "title", "department"])
        for n, text in enumerate(HOSTILE_STRINGS):
            writer.writerow([f"H{n}", f"Eve {text}", f"eve{n}@x.example", "active", text, text])
    config = tmp_path / "pamtui.toml"
    config.write_text(
        f'[[providers]]\nname = "hr"\ntype = "hr-csv"\npath = "{roster}"\n', encoding="utf-8"
    )
    config.chmod(0o600)
    outputs = []
    for argv in (["people"], ["people", "show", "H3"], ["people", "show", "eve"]):
        main([*argv, "--config", str(config)])
        out, err = capsys.readouterr()
        outputs.append(out + err)
    assert "Eve" in outputs[0] and "H3" in outputs[1] and "matches" in outputs[2]
    for text in outputs:
        assert not any(ch in text for ch in ("\x1b", "\x07", "\x9b", "\x00", "\u202e", "\r"))
