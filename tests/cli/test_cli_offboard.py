"""``pamtui offboard`` and ``offboard report`` on the bundled demo, as the README tour runs them.

Real parts: the demo's state file, the journal, the queue; the command line in-process
(``pamtui.cli.main``) with the same arguments a user types.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import EntryFilter, Journal
from pamtui.providers.demo import state as st
from pamtui.services import identity
from tests.support.totp import enrol

LUCIA = "lucia.castillo@acme-robotics.example"


@pytest.fixture
def db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("PAMTUI_CONFIG", raising=False)
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return db_path


def run(capsys: pytest.CaptureFixture, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def lucia_account(db_path: Path, system: str) -> str:
    conn = st.connect(st.default_path(db_path.parent))
    try:
        row = conn.execute(
            "SELECT id FROM accounts WHERE owner = 'E1111' AND system = ?", (system,)
        ).fetchone()
    finally:
        conn.close()
    assert row is not None
    return str(row["id"])


def test_the_tour_offboards_lucia_everywhere_and_proves_it(capsys, db, tmp_path) -> None:
    code, out, err = run(capsys, "offboard", LUCIA, "--reason", "left 2026-11-10", "--dry-run")
    assert code == 0, err
    assert "dry run: nothing staged" in out
    providers = [line.strip() for line in out.splitlines() if line.startswith("  demo-")]
    assert providers == ["demo-idp", "demo-cloud", "demo-git"]
    assert "1. block new logins at the identity provider: Suspend Okta user" in out
    code, out, err = run(capsys, "queue", "list", "--json")
    assert code == 0 and out.strip() == "[]"

    code, out, err = run(capsys, "offboard", LUCIA, "--reason", "left 2026-11-10", "--yes")
    assert code == 0, err
    assert "every step verified: Lucía Castillo's access has ended" in out
    for provider in ("demo-idp", "demo-git", "demo-cloud"):
        assert any(line.startswith(f"  {provider}: ") and "verified" in line
                   for line in out.splitlines())  # fmt: skip
    assert "[ERR]" not in out and "[-- ]" not in out

    report = tmp_path / "lucia.md"
    code, out, err = run(capsys, "offboard", "report", "E1111", "--out", str(report))
    assert code == 0, err
    text = report.read_text(encoding="utf-8")
    assert "OFFBOARDED" in text and "lucia-castillo-acme" in text
    assert stat.S_IMODE(os.stat(report).st_mode) == 0o600
    journal = Journal.open(db, read_only=True)
    try:
        verified = journal.entries(EntryFilter(action="verified"), limit=100)
    finally:
        journal.close()
    assert verified and all(f"`{e.seq}:{e.hash}`" in text for e in verified)
    code, _, err = run(capsys, "offboard", "report", "E1111", "--out", str(report))
    assert code == 2 and "--out" in err  # no overwrite without --force
    code, out, err = run(capsys, "audit", "recheck", "--person", LUCIA)
    assert code == 0 and "everything of theirs is still gone" in out, err


def test_access_recreated_behind_pamtuis_back_fails_report_and_recheck(capsys, db) -> None:
    code, _, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes")
    assert code == 0, err
    idp = lucia_account(db, "idp")
    st.reactivate_account(st.default_path(db.parent), idp)
    code, out, err = run(capsys, "offboard", "report", "E1111", "--format", "csv")
    assert code == 1
    assert "came back" in out and "not proven offboarded" in err
    code, out, err = run(capsys, "offboard", "report", "E1111", "--format", "html")
    assert code == 1 and "<h1>Offboarding certificate" in out
    code, out, _ = run(capsys, "audit", "recheck", "--person", "E1111")
    assert code == 1 and "came back" in out and "still live" in out


def test_usage_mistakes_exit_2_in_one_line(capsys, db) -> None:
    code, _, err = run(capsys, "offboard", "lucia", "--reason", "left", "--dry-run")
    assert code == 2 and "matches 2 people" in err and "E1111" in err
    code, _, err = run(capsys, "offboard", LUCIA, "--dry-run")
    assert code == 2 and "--reason" in err
    code, _, err = run(capsys, "offboard", "nobody@nowhere.example", "--reason", "x")
    assert code == 2 and "no person" in err
    code, _, err = run(capsys, "offboard", "report", "E1111", "--format", "pdf")
    assert code == 2 and "--format" in err
    with open("/dev/null") as no_terminal:
        import sys

        saved, sys.stdin = sys.stdin, no_terminal
        try:
            code, _, err = run(capsys, "offboard", LUCIA, "--reason", "left")
        finally:
            sys.stdin = saved
    assert code == 2 and "--yes" in err


def test_four_eyes_leaves_the_plan_open(capsys, db, tmp_path, monkeypatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[operator]\nfour_eyes_for_privileged = true\n"
        + "".join(
            f'[[providers]]\nname = "demo-{s}"\ntype = "demo"\nsystem = "{s}"\n'
            for s in ("idp", "git", "cloud")
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("PAMTUI_CONFIG", str(cfg))
    code, _, err = run(capsys, "offboard", "E1111", "--reason", "x", "--dry-run")
    assert code == 0, err
    st.grant_privilege(st.default_path(db.parent), lucia_account(db, "git"), "owners")
    code, out, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes")
    assert code == 1, err
    assert "four eyes required" in out and "Still open" in out
    code, out, _ = run(capsys, "queue", "list", "--json")
    assert '"awaiting_approval"' in out and '"verified"' not in out


@pytest.fixture
def stepped_up(tmp_path, db_path, memory_keyring, monkeypatch):
    monkeypatch.setattr(identity, "os_account", lambda: "ops-alice")  # the real uid's account
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        "[operator]\nrequire_totp = true\n\n"
        + "".join(
            f'[[providers]]\nname = "demo-{s}"\ntype = "demo"\nsystem = "{s}"\nlatency_ms = 0\n'
            for s in ("idp", "git", "cloud")
        )
    )
    totp = enrol(db_path, "ops-alice")
    monkeypatch.setenv("PAMTUI_CONFIG", str(cfg))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return totp


def test_offboard_needs_a_step_up_code_which_may_come_on_stdin(
    capsys, stepped_up, monkeypatch
) -> None:
    with open("/dev/null") as no_terminal:
        monkeypatch.setattr("sys.stdin", no_terminal)
        code, _, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes")
    assert code == 2 and "TOTP" in err
    code, _, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes", "--totp", "000000")
    assert code != 0
    code, out, _ = run(capsys, "queue", "list", "--json")
    assert out.strip() == "[]"  # a wrong code stages nothing
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(stepped_up.now() + "\n"))
    code, out, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes")
    assert code == 0, err
    assert "every step verified" in out


def test_hostile_roster_text_is_cleaned_in_every_output(capsys, db, tmp_path, monkeypatch) -> None:
    """A roster name with a terminal escape and markup never reaches the terminal or a report."""
    hostile = "Lucía \x1b[2J<script>x</script> | *Castillo*"
    roster = tmp_path / "people.csv"
    roster.write_text(
        f'id,name,email,status,terminated\nE1111,"{hostile}",{LUCIA},terminated,2026-11-10\n',
        encoding="utf-8",
    )
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'[[providers]]\nname = "hr"\ntype = "hr-csv"\npath = "{roster}"\n'
        + "".join(
            f'[[providers]]\nname = "demo-{s}"\ntype = "demo"\nsystem = "{s}"\nlatency_ms = 0\n'
            for s in ("idp", "git", "cloud")
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("PAMTUI_CONFIG", str(cfg))
    code, out, err = run(capsys, "offboard", "E1111", "--reason", "left", "--yes")
    assert code == 0, err
    assert "\x1b" not in out + err and "every step verified" in out
    for fmt in ("md", "html", "csv"):
        code, out, err = run(capsys, "offboard", "report", "E1111", "--format", fmt)
        assert code == 0, err
        assert "\x1b" not in out + err
        if fmt == "html":
            assert "<script>" not in out and "&lt;script&gt;" in out
    code, out, err = run(capsys, "audit", "recheck", "--person", "E1111", "--json")
    assert code == 0 and '"ok": true' in out, err
    code, _, err = run(capsys, "audit", "recheck", "--person", "E9999")
    assert code == 2 and "no person" in err


def test_offboard_json_is_the_plan_and_each_steps_outcome(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PAMTUI_DB", str(tmp_path / "data" / "pamtui.db"))
    who = "lucia.castillo@acme-robotics.example"
    assert main(["offboard", who, "--reason", "left", "--dry-run", "--json"]) == 0
    planned = json.loads(capsys.readouterr().out)
    assert planned["dry_run"] and planned["person"]["id"] == "E1111"
    providers = {step["provider"] for step in planned["plan"]["steps"]}
    assert providers == {"demo-idp", "demo-git", "demo-cloud"}
    assert any(step["gate"] for step in planned["plan"]["steps"])
    assert main(["offboard", who, "--reason", "left", "--yes", "--json"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["exit_code"] == 0 and done["items"]
    assert {item["state"] for item in done["items"]} == {"verified"}


def test_report_with_json_is_a_usage_error_not_markdown(capsys, db) -> None:
    """``offboard report X --json | jq`` got the Markdown certificate and exit 0."""
    code, out, err = run(capsys, "offboard", "report", LUCIA, "--json")
    assert code == 2 and out == ""
    assert err.startswith("pamtui: --json") and "--format" in err and err.count("\n") == 1
