"""The GitHub fake and provider against GitHub's published REST description (an excerpt).

``tests/data/github-rest/credential-authorizations.json`` is vendored from
``github/rest-api-description`` (see the README there). The fake must answer
the documented method and path with the documented statuses, honour the
documented query parameters, and the provider must send only documented ones.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.github import GitHubFake
from tests.providers.test_provider_github import _credentials, make

SPEC = json.loads(
    (Path(__file__).parent.parent / "data/github-rest/credential-authorizations.json").read_text()
)
LIST = "/orgs/{org}/credential-authorizations"
ONE = "/orgs/{org}/credential-authorizations/{credential_id}"

SCHEMA = SPEC["components"]["schemas"]["credential-authorization"]
JSON_TYPES = {"string": str, "integer": int, "array": list}


def _query_names(operation: dict[str, Any]) -> set[str]:
    names = set()
    for param in operation["parameters"]:
        if "$ref" in param:
            param = SPEC["components"]["parameters"].get(param["$ref"].rsplit("/", 1)[1], {})
        if param.get("in") == "query":
            names.add(param["name"])
    return names


def test_the_excerpt_documents_what_pamtui_uses() -> None:
    assert set(SPEC["paths"][LIST]) == {"get"}
    assert set(SPEC["paths"][ONE]) == {"delete"}
    assert _query_names(SPEC["paths"][LIST]["get"]) == {"per_page", "page", "login"}
    assert set(SPEC["paths"][ONE]["delete"]["responses"]) == {"204", "404"}
    [path_param] = [p for p in SPEC["paths"][ONE]["delete"]["parameters"] if p.get("in") == "path"]
    assert path_param["name"] == "credential_id" and path_param["schema"]["type"] == "integer"


async def test_fake_and_provider_follow_the_description(
    tmp_path: Path, github_server: GitHubFake
) -> None:
    github_server.add_member("ann")
    github_server.add_member("bob")
    first = github_server.add_sso_authorization("ann")
    github_server.add_sso_authorization("ann", credential_type="SSH key", fingerprint="ab:cd")
    github_server.add_sso_authorization("bob")
    provider = make(tmp_path, github_server, page_size=2)
    try:
        creds = [c async for c in provider.list_credentials()]
        assert len(creds) == 3
        listed = _query_names(SPEC["paths"][LIST]["get"])
        org_list = LIST.format(org=github_server.org)
        hits = github_server.hits("GET", org_list)
        assert len(hits) == 2  # 3 items at per_page=2, following the Link header
        for hit in hits:
            sent = set(parse_qs(urlsplit(hit.target).query))
            assert sent <= listed, sent - listed
        # every item the fake serves follows the documented schema
        properties = SCHEMA["properties"]
        for item in github_server.sso_authorizations.values():
            assert set(SCHEMA["required"]) <= set(item) <= set(properties), set(item)
            for key, value in item.items():
                if value is None:
                    assert properties[key].get("nullable"), key
                    continue
                assert isinstance(value, JSON_TYPES[properties[key]["type"]]), key
                assert value in properties[key].get("enum", [value]), (key, value)

        [cred] = [c for c in creds if c.id == f"sso-{first}"]
        [action] = provider.revoke_actions(cred)
        first_result = await provider.revoke(action, "k")
        second_result = await provider.revoke(action, "k")
        path = ONE.format(org=github_server.org, credential_id=first)
        assert len(github_server.hits("DELETE", path)) == 2
        # the fake answered documented statuses: 204, then 404 for the second delete
        statuses = [
            first_result.provider_response["status"],
            second_result.provider_response["status"],
        ]
        assert statuses == [204, 404]
        assert {str(s) for s in statuses} <= set(SPEC["paths"][ONE]["delete"]["responses"])
        assert (await provider.verify(action)).gone
        assert set(await _credentials(provider)) == {c.label for c in creds if c.id != cred.id}
    finally:
        await provider.aclose()
