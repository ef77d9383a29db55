"""``pamtui demo --reset`` restores the whole demo, so what pamtui says afterwards is true.

Before, it reset only the simulated providers: the queue, the reviews, the
drift snapshots and the journal still described the old org, so ``audit
recheck`` reported every earlier revocation as "CAME BACK".
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from pamtui.services.drift import snapshot_path

ACCOUNT, TOKEN = "lucia-castillo-acme", "716008953"


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


def test_a_reset_beside_real_providers_leaves_the_journal_alone(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database holds real work too: only the demo's own state file is reset."""
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
    assert [e["action"] for e in json.loads(out)] == ["note"]
