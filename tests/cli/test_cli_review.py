"""``pamtui review`` on the bundled demo with a temporary database."""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from pamtui.sanitize import is_clean
from tests.support.hostile import HOSTILE_STRINGS


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(db_path, monkeypatch):
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return db_path


@pytest.fixture
def campaign(capsys, db) -> dict:
    code, out, err = run(
        capsys, "review", "start", "--scope", "privileged", "--limit", "3", "--due", "2026-12-31",
        "--json",
    )  # fmt: skip
    assert code == 0, err
    return json.loads(out)


def test_start_list_show(capsys, campaign):
    assert campaign["items"] == 3 and campaign["scope"] == "privileged"
    assert campaign["due"] == "2026-12-31" and campaign["status"] == "open"
    code, out, _ = run(capsys, "review", "list")
    assert code == 0 and "0/3 decided" in out and "privileged" in out
    code, out, _ = run(capsys, "review", "show", str(campaign["id"]), "--json")
    shown = json.loads(out)
    assert [i["item"] for i in shown["items_detail"]] == [1, 2, 3]
    assert all("privileged" in i["flags"] for i in shown["items_detail"])
    assert all(i["decision"] == "" for i in shown["items_detail"])


def test_usage_errors_exit_2(capsys, db):
    for argv, message in (
        (["review", "start", "--scope", "everyone"], "scope must be"),
        (["review", "start", "--scope", "provider:nope"], "no provider named"),
        (["review", "start", "--scope", "all", "--due", "soon"], "--due"),
        (["review", "start", "--scope", "all", "--limit", "0"], "--limit"),
        (["review", "show", "x1"], "must be a number"),
    ):
        code, _, err = run(capsys, *argv)
        assert code == 2 and message in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err


def test_unknown_campaign_and_refused_decisions_exit_2(capsys, campaign):
    """Wrong as typed (no such campaign or item, a decision the item's state refuses): 2."""
    cid = str(campaign["id"])
    code, _, err = run(capsys, "review", "show", "99")
    assert code == 2 and "no review campaign 99" in err
    code, _, err = run(capsys, "review", "decide", cid, "1", "keep")
    assert code == 2 and "justification" in err
    code, _, err = run(capsys, "review", "decide", cid, "9", "defer")
    assert code == 2 and "no item 9" in err
    code, out, _ = run(capsys, "review", "decide", cid, "1", "keep", "--justification", "on call")
    assert code == 0 and "keep by" in out and "1/3 decided" in out
    code, _, err = run(capsys, "review", "decide", cid, "1", "defer")
    assert code == 2 and "decided already" in err and "nothing overwritten" in err
    assert "pass --override to replace it" in err
    code, out, _ = run(capsys, "review", "decide", cid, "1", "defer", "--override")
    assert code == 0 and "defer" in out


def test_full_campaign_report_matches_the_journal(capsys, campaign, db, tmp_path):
    cid = str(campaign["id"])
    assert run(capsys, "review", "decide", cid, "1", "keep", "--justification", "ok")[0] == 0
    code, out, err = run(capsys, "review", "decide", cid, "2", "revoke", "--justification", "gone")
    assert code == 0, err
    assert "staged #" in out and "pamtui queue run" in out
    code, out, _ = run(capsys, "queue", "list", "--json")
    staged = json.loads(out)
    assert staged and all(item["state"] == "approved" for item in staged)
    assert all(item["reason"].startswith(f"access review #{cid} item 2") for item in staged)
    assert run(capsys, "review", "decide", cid, "3", "defer")[0] == 0
    assert run(capsys, "queue", "run")[0] == 0

    out_file = tmp_path / "report.md"
    code, out, err = run(capsys, "review", "report", cid, "--format", "md", "--out", str(out_file))
    assert code == 0, err
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    report = out_file.read_text()
    code, head, _ = run(capsys, "audit", "head")
    assert f"**Journal head at report time:** {head.strip()}" in report
    assert "**Decisions match the journal:** yes" in report
    assert report.count(": verified, journal seq") == len(staged)
    assert "3/3 decided" in report

    journal = Journal.open(db, read_only=True)
    try:
        decisions = [e for e in journal.entries(limit=1000) if e.action == "review_decision"]
    finally:
        journal.close()
    assert len(decisions) == 3
    for entry in decisions:
        assert f"`{entry.seq}:{entry.hash}`" in report

    code, out, _ = run(capsys, "review", "report", cid, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["decision"] for r in rows] == ["keep", "revoke", "defer"]
    code, out, _ = run(capsys, "review", "report", cid, "--format", "html")
    assert out.startswith("<!DOCTYPE html>") and head.strip() in out
    code, out, _ = run(capsys, "audit", "verify", "--expect-head", head.strip())
    assert code == 0


def test_hostile_justification_is_printed_clean(capsys, campaign):
    cid = str(campaign["id"])
    hostile = " ".join(HOSTILE_STRINGS)
    assert run(capsys, "review", "decide", cid, "1", "keep", "--justification", hostile)[0] == 0
    for argv in (["review", "show", cid], ["review", "report", cid, "--format", "md"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        assert all(is_clean(line) for line in out.splitlines()), argv


def test_reports_on_a_database_without_reviews(capsys, db):
    Journal.open(db).close()
    code, out, _ = run(capsys, "review", "list")
    assert code == 0 and out.startswith("ID")
