"""ScimProvider as a roster source (``roster = true``), against the real scim2-server.

Users carry the RFC 7643 enterprise extension (employeeNumber, manager,
department, organization, division, costCenter) as an HR-fed SCIM service
provider sends them; correlation then links the same server's accounts by HR id.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pamtui.model import Capability, LinkRule, OwnerStatus, PersonStatus, RiskFlag
from pamtui.providers.base import ProviderConfigError
from pamtui.providers.roster import roster_sources
from pamtui.providers.scim import CORE_USER, ENTERPRISE_USER, ScimProvider
from pamtui.services.people import correlate
from tests.providers.test_provider_scim import context, make
from tests.support.servers import Tenant


def _enterprise(**fields: object) -> dict[str, object]:
    return {ENTERPRISE_USER: fields}


def _work(address: str) -> list[dict[str, object]]:
    return [{"value": address, "type": "work", "primary": True}]


@pytest.fixture
def org(tenant: Tenant) -> dict[str, str]:
    """A small HR-fed org: a manager, her report, a leaver, a contractor, a service account."""
    boss = tenant.add_user(
        "maria.boss@acme.example",
        displayName="Maria Boss",
        emails=_work("maria.boss@acme.example"),
        title="VP Engineering",
        **_enterprise(
            employeeNumber="E001",
            department="Engineering",
            organization="Acme Robotics",
            division="R&D",
            costCenter="CC-100",
        ),
    )
    ann = tenant.add_user(
        "ann@acme.example",
        name={"givenName": "Ann", "familyName": "Lee"},
        emails=[
            {"value": "ann.lee@acme.example", "type": "work", "primary": True},
            {"value": "ann@home.example", "type": "home"},
        ],
        title="Engineer",
        **_enterprise(
            employeeNumber="E100",
            department="Engineering",
            costCenter="CC-100",
            manager={"value": boss},
        ),
    )
    leaver = tenant.add_user(
        "lucia.castillo@acme.example",
        displayName="Lucía Castillo",
        emails=_work("lucia.castillo@acme.example"),
        active=False,
        **_enterprise(employeeNumber="E111", manager={"value": boss}),
    )
    contractor = tenant.add_user(
        "emma@vendor.example",
        displayName="Emma O'Brien",
        userType="Contractor",
        emails=_work("emma@vendor.example"),
    )
    service = tenant.add_user(
        "backup-svc", userType="Service Account", **_enterprise(employeeNumber="E001")
    )
    return {"boss": boss, "ann": ann, "leaver": leaver, "contractor": contractor, "svc": service}


async def test_users_become_people_with_enterprise_fields_and_status(
    tmp_path: Path, tenant: Tenant, org: dict[str, str]
) -> None:
    provider = make(tmp_path, tenant.base_url, roster=True, page_size=2)
    try:
        assert Capability.PEOPLE in provider.capabilities
        assert roster_sources([provider]) == [provider]
        people = {p.id: p async for p in provider.list_people()}
        # the service account is no person; the contractor has no HR id
        assert set(people) == {"E001", "E100", "E111", f"scim:{org['contractor']}"}

        boss = people["E001"]
        assert boss.name == "Maria Boss" and boss.title == "VP Engineering"
        assert (boss.department, boss.organization, boss.division, boss.cost_center) == (
            "Engineering",
            "Acme Robotics",
            "R&D",
            "CC-100",
        )
        assert boss.status is PersonStatus.EMPLOYED and boss.manager == ""

        ann = people["E100"]
        assert ann.name == "Ann Lee"
        assert ann.email == "ann.lee@acme.example"
        # the other email and a login that is another address are aliases
        assert set(ann.aliases) == {"ann@home.example", "ann@acme.example"}
        # manager.value is the manager's SCIM id: it becomes her HR id
        assert ann.manager == "E001"
        assert ann.source == "corp-scim" and ann.worker_type == "employee"

        lucia = people["E111"]
        assert lucia.status is PersonStatus.TERMINATED
        assert lucia.owner_status is OwnerStatus.TERMINATED
        assert lucia.terminated is not None  # meta.lastModified of the deactivated user
        assert lucia.manager == "E001"

        emma = people[f"scim:{org['contractor']}"]
        assert emma.worker_type == "contractor" and emma.email == "emma@vendor.example"
    finally:
        await provider.aclose()


async def test_correlation_links_the_servers_accounts_by_hr_id(
    tmp_path: Path, tenant: Tenant, org: dict[str, str]
) -> None:
    provider = make(tmp_path, tenant.base_url, roster=True)
    try:
        accounts = [a async for a in provider.list_accounts()]
        people = [p async for p in provider.list_people()]
    finally:
        await provider.aclose()
    corr = correlate(accounts, people)
    by_id = {key[1]: link for key, link in corr.links.items()}
    assert by_id[org["ann"]].person_id == "E100" and by_id[org["ann"]].rule is LinkRule.HR_ID
    assert by_id[org["leaver"]].person_id == "E111"
    assert by_id[org["leaver"]].rule is LinkRule.HR_ID
    # the contractor has no HR id anywhere: linked by work email
    contractor = by_id[org["contractor"]]
    assert contractor.person_id == f"scim:{org['contractor']}"
    assert contractor.rule is LinkRule.WORK_EMAIL
    # the service account names Maria as its owner
    assert by_id[org["svc"]].person_id == "E001"
    # the leaver's account is already inactive: not ORPHANED (nothing live is left)
    leaver_key = ("corp-scim", org["leaver"])
    assert RiskFlag.ORPHANED not in corr.flags(leaver_key)
    assert corr.unowned() == []


async def test_two_users_with_one_hr_id_are_one_person_employed_while_either_is(
    tmp_path: Path, tenant: Tenant
) -> None:
    tenant.add_user(
        "ann@old.example",
        displayName="Ann Lee (old)",
        active=False,
        emails=_work("ann@old.example"),
        **_enterprise(employeeNumber="E100"),
    )
    tenant.add_user(
        "ann.lee@acme.example",
        displayName="Ann Lee",
        emails=_work("ann.lee@acme.example"),
        **_enterprise(employeeNumber="E100"),
    )
    tenant.add_user(
        "gone@old.example",
        active=False,
        emails=_work("gone@old.example"),
        **_enterprise(employeeNumber="E200"),
    )
    tenant.add_user(
        "gone.again@old.example",
        active=False,
        emails=_work("gone.again@old.example"),
        **_enterprise(employeeNumber="E200"),
    )
    provider = make(tmp_path, tenant.base_url, roster=True)
    try:
        people = {p.id: p async for p in provider.list_people()}
    finally:
        await provider.aclose()
    ann = people["E100"]
    # the active user's record, whatever order the server lists them in
    assert ann.status is PersonStatus.EMPLOYED and ann.terminated is None
    assert ann.name == "Ann Lee" and ann.email == "ann.lee@acme.example"
    assert ann.aliases == ("ann@old.example",)
    gone = people["E200"]
    assert gone.status is PersonStatus.TERMINATED
    assert {gone.email, *gone.aliases} == {"gone@old.example", "gone.again@old.example"}


async def test_hr_attribute_says_leave_or_terminated_over_active(
    tmp_path: Path, tenant: Tenant
) -> None:
    tenant.add_user(
        "on-leave@acme.example",
        active=False,
        **_enterprise(employeeNumber="E1", department="Parental leave"),
    )
    tenant.add_user(
        "not-yet-off@acme.example", **_enterprise(employeeNumber="E2", department="terminated")
    )
    tenant.add_user(
        "fine@acme.example", **_enterprise(employeeNumber="E3", department="Engineering")
    )
    provider = make(tmp_path, tenant.base_url, roster=True, hr_attribute="department")
    try:
        people = {p.id: p async for p in provider.list_people()}
    finally:
        await provider.aclose()
    assert people["E1"].status is PersonStatus.LEAVE
    # HR says terminated while the account is still active: exactly the leaver to catch
    assert people["E2"].status is PersonStatus.TERMINATED
    assert people["E3"].status is PersonStatus.EMPLOYED


async def test_person_id_attribute_can_be_a_core_attribute_for_owner_and_person(
    tmp_path: Path, tenant: Tenant
) -> None:
    uid = tenant.add_user(
        "ann@acme.example", externalId="W-7", **_enterprise(employeeNumber="E100")
    )
    provider = make(
        tmp_path,
        tenant.base_url,
        roster=True,
        person_id_attribute=f"{CORE_USER}:externalId",
    )
    try:
        [person] = [p async for p in provider.list_people()]
        [account] = [a async for a in provider.list_accounts()]
    finally:
        await provider.aclose()
    assert person.id == "W-7"
    assert account.id == uid and account.owner == "W-7"


async def test_missing_employee_number_gets_a_scim_id_and_no_owner(
    tmp_path: Path, tenant: Tenant
) -> None:
    uid = tenant.add_user("nobody@acme.example", **_enterprise(department="Sales"))
    provider = make(tmp_path, tenant.base_url, roster=True)
    try:
        [person] = [p async for p in provider.list_people()]
        [account] = [a async for a in provider.list_accounts()]
    finally:
        await provider.aclose()
    assert person.id == f"scim:{uid}" and person.department == "Sales"
    assert account.owner == ""


def test_not_a_roster_unless_asked(tmp_path: Path) -> None:
    provider = make(tmp_path, "http://127.0.0.1:9/v2")
    assert Capability.PEOPLE not in provider.capabilities
    assert roster_sources([provider]) == []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"roster": "yes"}, "roster"),
        ({"person_id_attribute": ""}, "person_id_attribute"),
        ({"person_id_attribute": "urn:x"}, "person_id_attribute"),
        ({"person_id_attribute": "a..b"}, "person_id_attribute"),
    ],
)
def test_roster_settings_are_checked_with_the_key_named(
    tmp_path: Path, settings: dict[str, object], named: str
) -> None:
    with pytest.raises(ProviderConfigError) as info:
        ScimProvider.from_config(
            "corp-scim",
            {"base_url": "http://127.0.0.1:9/v2", "token": {"env": "SCIM_TOKEN"}, **settings},
            context(tmp_path),
        )
    assert named in str(info.value)


def test_odd_but_seen_shapes_of_users(tmp_path: Path) -> None:
    """Shapes scim2-server would refuse but services send: a bare manager id, an
    extension that is not an object, mixed-case names, a work email in capitals."""
    provider = make(tmp_path, "http://127.0.0.1:9/v2", roster=True)
    boss = {"id": "u-1", "userName": "boss", ENTERPRISE_USER.upper(): {"EMPLOYEENUMBER": "E1"}}
    report = {
        "id": "u-2",
        "userName": "ann@acme.example",
        "Active": False,
        "Emails": [{"Value": "ann.lee@acme.example", "Type": "Work"}],
        ENTERPRISE_USER: {"employeeNumber": "E2", "manager": "u-1"},
        "meta": {"lastModified": "not a date"},
    }
    broken = {"id": "u-3", "userName": "x@acme.example", ENTERPRISE_USER: "E3"}
    person_of_user = {"u-1": "E1", "u-2": "E2", "u-3": "scim:u-3"}
    assert provider._person(boss, person_of_user).id == "E1"
    ann = provider._person(report, person_of_user)
    assert ann.id == "E2" and ann.manager == "E1"
    assert ann.email == "ann.lee@acme.example" and ann.aliases == ("ann@acme.example",)
    assert ann.status is PersonStatus.TERMINATED and ann.terminated is None
    odd = provider._person(broken, person_of_user)
    assert odd.id == "scim:u-3" and odd.department == "" and odd.manager == ""
