"""``pamtui demo --reset`` restores the whole demo, so what pamtui says afterwards is true.

Before, it reset only the simulated providers: the queue, the reviews, the
drift snapshots and the journal still described the old org, so ``audit
recheck`` reported every earlier revocation as "CAME BACK".
"""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from pamtui.services.drift import snapshot_path

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"
ME = pwd.getpwuid(os.getuid()).pw_name


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_after_a_reset_the_demo_is_coherent(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(db_path)
    revoke = ["revoke", "--db", db, "--provider", "demo-git", "--account", ACCOUNT]
    code, _, err = run(capsys, *revoke, "--credential", TOKEN, "--reason", "departed", "--yes")
    assert code == 0, err
    code, _, err = run(capsys, "review", "start", "--db", db, "--scope", "privileged")
    assert code == 0, err
    assert snapshot_path(db_path).exists()  # the syncs above were snapshotted

    code, out, err = run(capsys, "demo", "--reset", "--json", "--db", db)
    assert code == 0, err
    done = json.loads(out)
    assert done["journal_rotated"] and done["cleared"]["queue_items"] == 1
    assert done["cleared"]["review_campaigns"] == 1 and done["drift_snapshots_removed"]

    code, out, err = run(capsys, "audit", "recheck", "--db", db)
    assert code == 0, err  # was 1: "1 CAME BACK" (the token is active again after the reset)
    assert "0 CAME BACK" in out
    code, out, _ = run(capsys, "queue", "list", "--json", "--db", db)
    assert json.loads(out) == []
    code, out, _ = run(capsys, "review", "list", "--json", "--db", db)
    assert json.loads(out) == []
    code, out, _ = run(capsys, "audit", "list", "--json", "--action", "demo_reset", "--db", db)
    assert len(json.loads(out)) == 1
    code, out, err = run(capsys, "audit", "verify", "--db", db)  # old entries in the archive
    assert code == 0, out + err
    assert "1 archive included" in out
    # And there is drift to look at: an admin granted behind pamtui's back after the reset.
    assert done["drift_seeded"]
    code, out, err = run(capsys, "drift", "--json", "--db", db)
    assert code == 0, err
    changed = [c for c in json.loads(out)["changes"] if c["account"] == done["drift_seeded"]]
    assert {c["kind"] for c in changed} >= {"privilege_granted", "admin_scope_added"}


def test_a_reset_beside_real_providers_keeps_the_journal_and_records_itself(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database holds real work too: only the demo's own state file is reset,
    and one ``demo_reset`` entry (it used to write none) says so."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n\n'
        '[[providers]]\nname = "okta"\ntype = "okta"\nbase_url = "https://x.example"\n'
    )
    cfg.chmod(0o600)
    db = str(db_path)
    journal = Journal.open(db_path)
    journal.append("tester", "note", detail={"real": True})
    journal.close()
    code, out, err = run(capsys, "demo", "--reset", "--json", "--db", db, "--config", str(cfg))
    assert code == 0, err
    assert json.loads(out)["journal_rotated"] is False
    code, out, _ = run(capsys, "audit", "list", "--json", "--db", db)
    # Not rotated, but journalled: the reset brings back every access revoked there.
    entries = json.loads(out)  # newest first
    assert [e["action"] for e in entries] == ["demo_reset", "note"]
    assert entries[0]["actor"] == ME
    assert entries[0]["detail"]["archive"] == "" and entries[0]["detail"]["cleared"] == {}
    code, out, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 0, out + err


def test_a_scaled_reset_is_journalled(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``demo --scale N --reset`` rebuilt the scaled org's state file without a word
    in the journal, while the full ``demo --reset`` records itself."""
    db = str(db_path)
    journal = Journal.open(db_path)
    journal.append("tester", "note")
    journal.close()
    code, _, err = run(capsys, "demo", "--scale", "40", "--reset", "--db", db)
    assert code == 0, err
    code, out, _ = run(capsys, "audit", "list", "--json", "--action", "demo_reset", "--db", db)
    entries = json.loads(out)
    assert len(entries) == 1 and entries[0]["actor"] == ME, entries
    assert entries[0]["detail"]["scale"] == 40
    code, out, err = run(capsys, "audit", "verify", "--db", db)
    assert code == 0, out + err
