"""``pamtui people`` with a SCIM service provider as both roster and account system.

The real scim2-server holds HR-fed users (the enterprise extension); the CLI reads
them as people, correlates the same server's accounts to them by HR id, and shows
the extension's fields.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.providers.scim import ENTERPRISE_USER
from tests.support.servers import SCIM_TOKEN, Tenant


@pytest.fixture
def config(tmp_path: Path, tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SCIM_TOKEN", SCIM_TOKEN)
    monkeypatch.setenv("PAMTUI_DB", str(tmp_path / "pamtui.db"))
    path = tmp_path / "pamtui.toml"
    path.write_text(
        "[[providers]]\n"
        'name = "corp-scim"\n'
        'type = "scim"\n'
        f'base_url = "{tenant.base_url}"\n'
        'token = { env = "SCIM_TOKEN" }\n'
        "roster = true\n",
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def test_people_from_scim_linked_by_hr_id(
    capsys: pytest.CaptureFixture[str], tenant: Tenant, config: Path
) -> None:
    boss = tenant.add_user(
        "maria@acme.example",
        displayName="Maria Boss",
        emails=[{"value": "maria@acme.example", "type": "work"}],
        **{ENTERPRISE_USER: {"employeeNumber": "E001"}},
    )
    tenant.add_user(
        "lucia@acme.example",
        displayName="Lucía Castillo",
        active=False,
        emails=[{"value": "lucia@acme.example", "type": "work"}],
        **{
            ENTERPRISE_USER: {
                "employeeNumber": "E111",
                "manager": {"value": boss},
                "department": "Robotics",
                "organization": "Acme",
                "division": "R&D",
                "costCenter": "CC-7",
            }
        },
    )
    code = main(["--config", str(config), "people", "show", "E111", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    person = shown["person"]
    assert person["status"] == "terminated" and person["manager"] == "E001"
    assert (
        person["department"],
        person["organization"],
        person["division"],
        person["cost_center"],
    ) == ("Robotics", "Acme", "R&D", "CC-7")
    [account] = shown["accounts"]
    assert account["provider"] == "corp-scim" and account["rule"] == "hr_id"

    code = main(["--config", str(config), "people", "show", "lucia@acme.example"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "Lucía Castillo (E111): terminated" in out
    assert "Acme · R&D" in out and "CC-7" in out

    code = main(["--config", str(config), "people", "--status", "terminated", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [r["id"] for r in json.loads(out)] == ["E111"]
