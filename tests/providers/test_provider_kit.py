"""The provider kit: declared settings, their one validator, the docs made from them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pamtui.providers import registry
from pamtui.providers.base import ProviderConfigError, ProviderContext
from pamtui.providers.http import HTTP_SETTINGS
from pamtui.providers.kit import (
    REQUIRED,
    DeclaredProvider,
    Settings,
    boolean,
    choice,
    integer,
    number,
    secret,
    string,
    strings,
)
from pamtui.providers.kit.settings import markdown_table

ROOT = Path(__file__).resolve().parents[2]
WHERE = "provider 'p' (type plug)"
BUILT_IN = ("demo", "scim", "jsonl", "okta", "github", "aws-iam")


class PluginProvider(DeclaredProvider):
    """How a third-party plugin declares its settings: a SETTINGS class attribute."""

    type: ClassVar[str] = "plug"
    SETTINGS: ClassVar[Settings] = Settings(
        string("tenant", "the tenant id", REQUIRED, pattern=r"[a-z0-9-]+", expected="a tenant id"),
        secret("api_key", "the API key"),
        integer("page_size", "items per page", 50, low=1, high=500),
        number(
            "poll_seconds", "poll interval", 30.0, low=0, low_open=True, high=3600, unit="seconds"
        ),
        boolean("events", "read the event stream", True),
        choice("region", "the data region", ("eu", "us"), "eu"),
        strings("admins", "groups that make an account privileged"),
    )

    def __init__(self, name: str, api_key: str, **own: Any) -> None:
        self.name, self.api_key, self.own = name, api_key, own

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> PluginProvider:
        return cls(name, values["api_key"], **cls.SETTINGS.own(values))


def context(secrets: dict[str, str]) -> ProviderContext:
    return ProviderContext(
        state_dir=Path("/nonexistent"), resolve_secret=lambda ref: secrets[ref["env"]]
    )


GOOD = {"tenant": "acme", "api_key": {"env": "KEY"}}


def parse(raw: dict[str, Any]) -> dict[str, Any]:
    return PluginProvider.SETTINGS.parse(WHERE, raw, context({"KEY": "s3cret-value"}))


def test_defaults_are_filled_and_secrets_resolved() -> None:
    values = parse(GOOD)
    assert values == {
        "tenant": "acme",
        "api_key": "s3cret-value",
        "page_size": 50,
        "poll_seconds": 30.0,
        "events": True,
        "region": "eu",
        "admins": (),
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "setting 'tenant' is required (the tenant id)"),
        ({**GOOD, "tenant": "ACME!"}, "setting 'tenant' must be a tenant id"),
        ({**GOOD, "page_size": 0}, "setting 'page_size' must be an integer between 1 and 500"),
        ({**GOOD, "page_size": 10**12}, "setting 'page_size' must be an integer between 1 and 500"),
        ({**GOOD, "page_size": "5"}, "must be an integer between 1 and 500, not str"),
        ({**GOOD, "page_size": True}, "must be an integer between 1 and 500, not bool"),
        ({**GOOD, "poll_seconds": 0}, "must be a number of seconds > 0 and at most 3600"),
        ({**GOOD, "poll_seconds": float("nan")}, "'poll_seconds' must be a finite number"),
        ({**GOOD, "events": "yes"}, "setting 'events' must be true or false, not str"),
        ({**GOOD, "region": "mars"}, "setting 'region' must be one of eu, us, not 'mars'"),
        ({**GOOD, "admins": "Admins"}, "setting 'admins' must be a list of strings"),
        ({**GOOD, "tenat": "x"}, "unknown setting 'tenat' (known settings: admins, api_key,"),
    ],
)
def test_errors_name_provider_key_and_what_was_expected(raw: dict[str, Any], message: str) -> None:
    with pytest.raises(ProviderConfigError) as info:
        parse(raw)
    assert str(info.value).startswith(WHERE + ": ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_plugin_is_built_through_the_kit() -> None:
    plugin = PluginProvider.from_config(
        "p", {**GOOD, "page_size": 7}, context({"KEY": "s3cret-value"})
    )
    assert plugin.api_key == "s3cret-value" and plugin.where == WHERE
    assert plugin.own == {
        "tenant": "acme",
        "page_size": 7,
        "poll_seconds": 30.0,
        "events": True,
        "region": "eu",
        "admins": (),
    }
    with pytest.raises(ProviderConfigError, match="'page_size'"):
        PluginProvider.from_config("p", {**GOOD, "page_size": 501}, context({}))


def test_a_secret_written_into_the_config_is_refused_without_echoing_it() -> None:
    with pytest.raises(ProviderConfigError) as info:
        parse({**GOOD, "api_key": "plain-secret-123"})
    assert "'api_key'" in str(info.value) and "plain-secret-123" not in str(info.value)


def test_every_built_in_type_declares_its_settings() -> None:
    for type_name in BUILT_IN:
        declared = registry.settings_of(type_name)
        assert declared.names(), type_name
        for item in declared:
            assert item.help, f"{type_name}.{item.name} has no help line"
            if item.kind in ("integer", "number"):
                assert item.low is not None and item.high is not None, (type_name, item.name)


def test_readme_tables_match_the_declarations() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "provider_settings.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert markdown_table(registry.settings_of("okta"), leave_out=HTTP_SETTINGS) in readme
    assert markdown_table(HTTP_SETTINGS) in readme


def pamtui(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pamtui", *argv], capture_output=True, text=True, timeout=60
    )


def test_cli_prints_the_declaration() -> None:
    text = pamtui("providers", "--settings", "github")
    assert text.returncode == 0, text.stderr
    assert "org (required): a GitHub organisation login" in text.stdout
    assert "page_size = 100: an integer between 1 and 100" in text.stdout

    as_json = pamtui("providers", "--settings", "github", "--json")
    document = json.loads(as_json.stdout)
    by_name = {s["name"]: s for s in document["settings"]}
    assert by_name["page_size"] == {
        "name": "page_size",
        "kind": "integer",
        "required": False,
        "secret": False,
        "help": "per_page of every listing",
        "expected": "an integer between 1 and 100",
        "default": 100,
        "min": 1,
        "min_exclusive": False,
        "max": 100,
    }
    assert by_name["token"]["secret"] is True and by_name["org"]["required"] is True
    assert by_name["base_url"]["default"] == "https://api.github.com"

    markdown = pamtui("providers", "--settings", "github", "--markdown")
    assert markdown.stdout == markdown_table(registry.settings_of("github"))

    unknown = pamtui("providers", "--settings", "nope")
    assert unknown.returncode == 2
    assert "unknown provider type 'nope'" in unknown.stderr and "Traceback" not in unknown.stderr


def test_provider_config_errors_name_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[[providers]]\nname = "corp-okta"\ntype = "okta"\nbase_url = "https://acme.okta.com"\n'
        'token = { env = "OKTA_TOKEN" }\npage_size = 500\n'
    )
    result = pamtui("accounts", "--config", str(config), "--db", str(tmp_path / "p.db"))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(config) in result.stderr
    assert "provider 'corp-okta' (type okta): setting 'page_size' must be an integer" in (
        result.stderr
    )


def test_split_packages_keep_their_imports_and_modules_stay_small() -> None:
    import pamtui.providers.aws_iam as aws_iam
    import pamtui.providers.http as http

    for name in (
        "HttpClient",
        "HttpError",
        "HttpSettings",
        "http_settings",
        "iter_scim_pages",
        "iter_link_pages",
        "next_link",
        "parse_retry_after",
        "provider_message",
        "TokenAuth",
        "bearer_auth",
        "ssws_auth",
        "httpx_client_options",
    ):
        assert hasattr(http, name), name
    for name in (
        "AwsIamProvider",
        "AwsSettings",
        "AwsApiError",
        "StreamPosition",
        "broad_grant",
        "BOTO3_MISSING",
        "REVOKE_SESSIONS_POLICY",
    ):
        assert hasattr(aws_iam, name), name
    package = ROOT / "src" / "pamtui" / "providers"
    modules = [*package.glob("*.py"), *package.glob("*/*.py")]
    for module in modules:
        if module.parent.name == "demo" and module.name != "provider.py":
            continue  # the demo's generator, state and events are another job
        lines = module.read_text(encoding="utf-8").count("\n")
        assert lines <= 600, f"{module.relative_to(package)}: {lines} lines"
