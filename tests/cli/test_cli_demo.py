"""The command line against the bundled demo organisation (real state files)."""

from __future__ import annotations

import json

import pytest

from pamtui.cli import main
from pamtui.journal import Journal

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"  # the demo's departed employee


@pytest.fixture
def db(db_path, monkeypatch):
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return db_path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def revoke_args(*extra: str) -> list[str]:
    return [
        "revoke",
        "--provider",
        "demo-git",
        "--account",
        ACCOUNT,
        "--credential",
        TOKEN,
        "--reason",
        "departed, token used at 03:00",
        *extra,
    ]


def test_accounts_json_and_risky(capsys, db):
    code, out, _ = run(capsys, "accounts", "--json")
    assert code == 0
    accounts = json.loads(out)
    assert len(accounts) == 250
    assert {a["provider"] for a in accounts} == {"demo-idp", "demo-git", "demo-cloud"}
    lucia = next(a for a in accounts if a["name"] == ACCOUNT)
    assert "orphaned" in lucia["flags"]
    assert all("secret" not in json.dumps(c) for c in lucia["credentials"])
    code, out, _ = run(capsys, "accounts", "--risky", "--provider", "demo-git")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split()[:2] == ["PROVIDER", "ACCOUNT"]
    assert all(line.startswith("demo-git") for line in lines[1:])
    assert any(ACCOUNT in line and "orphaned" in line for line in lines)


def test_revoke_dry_run_stages_nothing(capsys, db):
    code, out, _ = run(capsys, *revoke_args("--dry-run"))
    assert code == 0 and "dry run" in out and "local dev" in out
    assert Journal.open(db, read_only=True).head() is None


def test_revoke_needs_confirmation_without_a_terminal(capsys, db, monkeypatch):
    with open("/dev/null") as no_terminal:
        monkeypatch.setattr("sys.stdin", no_terminal)
        code, _, err = run(capsys, *revoke_args())
    assert code == 2 and "--yes" in err


def test_revoke_verifies_and_journals(capsys, db):
    code, out, _ = run(capsys, *revoke_args("--yes"))
    assert code == 0, out
    assert "verified" in out
    code, out, _ = run(capsys, "queue", "list", "--json")
    (item,) = json.loads(out)
    assert (item["state"], item["target"]) == ("verified", f"credential:{TOKEN}")
    journal = Journal.open(db, read_only=True)
    assert [e.action for e in journal.entries(newest_first=False)] == [
        "stage",
        "approve",
        "execute",
        "revoked",
        "verified",
    ]
    assert journal.verify().ok
    # Revoking it again is idempotent: nothing staged, success.
    code, out, _ = run(capsys, *revoke_args("--yes"))
    assert code == 0 and "revoked already: nothing to revoke" in out
    assert journal.count() == 5
    # demo --reset brings the token back.
    code, out, _ = run(capsys, "demo", "--reset")
    assert code == 0 and "restored" in out
    code, out, _ = run(capsys, *revoke_args("--dry-run"))
    assert code == 0 and "local dev" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["revoke", "--provider", "nope", "--account", "x", "--reason", "r", "--yes"],
            "no provider named 'nope'",
        ),
        (
            ["revoke", "--provider", "demo-git", "--account", "nobody", "--reason", "r", "--yes"],
            "no account 'nobody'",
        ),
        (
            revoke_args("--action", "explode", "--yes"),
            "does not apply here (choose from: revoke_token)",
        ),
        (["accounts", "--provider", "nope"], "no provider named 'nope'"),
    ],
)
def test_usage_mistakes_exit_2_with_one_line(capsys, db, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_read_only_refuses_to_revoke(capsys, db):
    code, _, err = run(capsys, "--read-only", *revoke_args("--yes"))
    assert code == 1 and "read-only" in err
    assert not db.exists() or Journal.open(db, read_only=True).head() is None


def test_providers_lists_the_demo_type(capsys, db):
    code, out, _ = run(capsys, "providers", "--json")
    data = json.loads(out)
    assert code == 0
    assert {
        "type": "demo",
        "module": "pamtui.providers.demo:DemoProvider",
        "distribution": "pamtui",
    } in data["types"]
    assert [c["name"] for c in data["configured"]] == ["demo-idp", "demo-git", "demo-cloud"]


def test_unknown_provider_type_in_config_is_a_config_error(capsys, db, tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[[providers]]\nname = "x"\ntype = "okat"\n')
    code, _, err = run(capsys, "accounts", "--config", str(cfg))
    assert code == 2 and "unknown provider type 'okat'" in err
    code, _, err = run(capsys, "accounts", "--config", str(cfg).replace("c.toml", "nope.toml"))
    assert code == 2 and "no such config file" in err


def test_sweep_stages_policy_items_once(capsys, db, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n\n'
        '[[policies]]\nname = "terminated-owners"\nmatch = { owner_status = "terminated" }\n'
        'action = "plan"\n'
    )
    code, out, _ = run(capsys, "sweep", "--config", str(cfg), "--dry-run")
    assert code == 0 and "would stage" in out
    assert Journal.open(db, read_only=True).head() is None  # a dry run journals nothing
    code, out, _ = run(capsys, "sweep", "--config", str(cfg), "--json")
    report = json.loads(out)
    assert code == 0 and report["counts"]["staged"] > 0
    # The rules come first in a new journal: the first staged item follows them.
    actions = [e.action for e in reversed(Journal.open(db, read_only=True).entries(limit=10_000))]
    assert actions[0] == "policy_change" and "stage" in actions[1:]
    code, out, _ = run(capsys, "queue", "list", "--json", "--config", str(cfg))
    items = json.loads(out)
    assert items and {i["requested_by"] for i in items} == {"policy:terminated-owners"}
    assert {i["state"] for i in items} == {"staged"}
    code, out, _ = run(capsys, "sweep", "--config", str(cfg), "--json")
    assert json.loads(out)["counts"]["staged"] == 0  # nothing staged twice
    first = items[-1]["id"]
    code, out, _ = run(
        capsys, "queue", "edit", str(first), "--reason", "checked with HR", "--config", str(cfg)
    )
    assert code == 0 and "checked with HR" in out


def test_a_policy_typo_is_a_config_error(capsys, db, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n\n'
        '[[policies]]\nname = "x"\nmatch = { unused_dayz = 3 }\naction = "revoke_token"\n'
    )
    code, _, err = run(capsys, "accounts", "--config", str(cfg))
    assert code == 2 and "policies[0].match" in err and "unused_dayz" in err
