"""People correlation with the real GitHub provider's SAML identities (fake GitHub over HTTP)."""

from __future__ import annotations

from pathlib import Path

from pamtui.model import LinkRule, RiskFlag
from pamtui.providers.base import ProviderContext
from pamtui.providers.hr_csv import HrCsvProvider
from pamtui.services.inventory import Inventory
from pamtui.services.people import PeopleService
from tests.fakes.github import GitHubFake
from tests.providers.test_provider_github import make

ROSTER = Path(__file__).parents[1] / "data" / "roster" / "workday.csv"


async def test_github_members_link_to_people_by_saml_nameid(
    tmp_path: Path, github_server: GitHubFake, journal
) -> None:
    github_server.add_member("ana-gh")
    github_server.add_member("lucia-gh")
    github_server.add_member("omar-gh")
    github_server.add_member("stranger")
    github_server.add_saml_identity("ana-gh", "ARichter@Acme-Robotics.example")  # an alias
    github_server.add_saml_identity("lucia-gh", "E1111")  # the HR id
    github_server.add_saml_identity("omar-gh", "OMAR.CASTILLO@acme-robotics.example")
    github_server.add_saml_identity("stranger", "who@elsewhere.example")
    github = make(tmp_path, github_server, saml_identities=True)
    roster = HrCsvProvider.from_config(
        "hr", {"path": str(ROSTER), "mapping": "workday"}, ProviderContext(state_dir=tmp_path)
    )
    providers = {"corp-github": github, "hr": roster}
    try:
        views = await Inventory(providers).sync()
        corr = await PeopleService(providers, journal).refresh(views)
    finally:
        await github.aclose()
    ids = {v.account.name: v.account.key for v in views if v.account.provider == "corp-github"}
    got = {name: corr.links.get(key) for name, key in ids.items()}
    assert got["ana-gh"] is not None and got["ana-gh"].person_id == "E1001"
    assert got["lucia-gh"] is not None and got["lucia-gh"].person_id == "E1111"
    assert got["omar-gh"] is not None and got["omar-gh"].person_id == "E1180"
    for name in ("ana-gh", "lucia-gh", "omar-gh"):
        link = got[name]
        assert link is not None and link.rule is LinkRule.PROVIDER
        assert link.evidence.startswith("github saml nameId (org acme")
    assert RiskFlag.ORPHANED in corr.flags(ids["lucia-gh"])  # E1111 left: the roster says so
    assert got["stranger"] is None
    assert RiskFlag.UNOWNED in corr.flags(ids["stranger"])
    assert "who@elsewhere.example" in corr.unresolved[ids["stranger"]]
