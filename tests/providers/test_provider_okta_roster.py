"""OktaProvider as a roster source (``roster = true``), against the Okta fake over real HTTP."""

from __future__ import annotations

from pathlib import Path

from pamtui.model import Capability, PersonStatus
from pamtui.providers.roster import roster_sources
from tests.fakes.okta import OktaFake
from tests.providers.test_provider_okta import make


async def test_okta_users_become_people_with_status_ids_and_emails(
    tmp_path: Path, okta_server: OktaFake
) -> None:
    okta_server.add_user(
        "ann@acme.example",
        first="Ann",
        last="Lee",
        employeeNumber="E100",
        secondEmail="ann.lee@old.example",
        department="R&D",
        title="Engineer",
        managerId="E001",
    )
    gone = okta_server.add_user(
        "bob.short@acme.example",
        status="DEPROVISIONED",
        email="robert@acme.example",
        employeeNumber="E200",
    )
    okta_server.add_user("cat@acme.example", status="SUSPENDED", employeeNumber="E300")
    contractor = okta_server.add_user("dan@vendor.example", userType="Contractor")
    provider = make(tmp_path, okta_server.url, roster=True, page_size=2)
    try:
        assert Capability.PEOPLE in provider.capabilities
        assert roster_sources([provider]) == [provider]
        people = {p.id: p async for p in provider.list_people()}
        without_hr_id = {
            f"okta:{uid}"
            for uid, u in okta_server.users.items()
            if not u["profile"].get("employeeNumber")
        }
        assert f"okta:{contractor}" in without_hr_id
        assert set(people) == {"E100", "E200", "E300"} | without_hr_id
        ann = people["E100"]
        assert ann.name == "Ann Lee" and ann.email == "ann@acme.example"
        assert ann.aliases == ("ann.lee@old.example",)
        assert ann.status is PersonStatus.EMPLOYED and ann.terminated is None
        assert (ann.manager, ann.department, ann.title) == ("E001", "R&D", "Engineer")
        assert ann.source == "corp-okta" and ann.worker_type == "employee"
        bob = people["E200"]
        assert bob.status is PersonStatus.TERMINATED and bob.terminated is not None
        assert bob.email == "robert@acme.example" and bob.aliases == ("bob.short@acme.example",)
        assert okta_server.users[gone]["status"] == "DEPROVISIONED"
        assert people["E300"].status is PersonStatus.LEAVE
        assert people[f"okta:{contractor}"].worker_type == "contractor"
        searches = [h.query.get("search") for h in okta_server.requests_to("/api/v1/users$", "GET")]
        assert 'status eq "DEPROVISIONED"' in searches and None in searches
    finally:
        await provider.aclose()


async def test_hr_id_attribute_is_configurable(tmp_path: Path, okta_server: OktaFake) -> None:
    okta_server.add_user("ann@acme.example", employeeNumber="E100", workerId="W-7")
    provider = make(tmp_path, okta_server.url, roster=True, person_id_attribute="workerId")
    try:
        ids = [p.id async for p in provider.list_people()]
        assert "W-7" in ids and "E100" not in ids
    finally:
        await provider.aclose()


def test_not_a_roster_unless_asked(tmp_path: Path, okta_server: OktaFake) -> None:
    provider = make(tmp_path, okta_server.url)
    assert Capability.PEOPLE not in provider.capabilities
    assert roster_sources([provider]) == []
