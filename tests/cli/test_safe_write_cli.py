"""Every command that writes a file for a user, driven as users drive it (issue 17).

Each defect is reproduced the way it was found: ``audit export --out
"$PAMTUI_DB"`` (which emptied the journal, then printed a traceback),
``review report 1 --format md --out "$PAMTUI_DB"`` (which replaced the
database and exited 0), ``--out`` through a symlink (followed, 0644), the
audit screen's export, and ``demo --write-config``.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def pamtui(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pamtui", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=os.environ.copy(),
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def db(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    journal = Journal.open(db_path)
    for i in range(20):
        journal.append("alice", "stage", provider="okta", subject=f"credential:t{i}")
        journal.append(
            "alice",
            "verified",
            provider="okta",
            subject=f"credential:t{i}",
            detail={"action": "revoke_token", "account_id": f"u{i}", "item": i},
        )
    journal.close()
    return db_path


def entries(db: Path) -> int:
    journal = Journal.open(db, read_only=True)
    try:
        report = journal.verify()
        assert report.ok, report.problem
        return report.entries
    finally:
        journal.close()


def one_line_error(result_err: str) -> None:
    assert result_err.count("\n") == 1 and result_err.startswith("pamtui: ")
    assert "Traceback" not in result_err


# -- audit export ------------------------------------------------------------


def test_audit_export_to_the_database_is_refused_and_the_journal_survives(db: Path) -> None:
    before = entries(db)
    for target in (str(db), str(db) + "-wal", str(db) + "-shm"):
        result = pamtui("audit", "export", "--format", "jsonl", "--out", target)
        assert result.returncode == 2, result.stderr
        one_line_error(result.stderr)
        assert "database" in result.stderr
        assert entries(db) == before
    result = pamtui("audit", "export", "--format", "jsonl", "--out", str(db), "--force")
    assert result.returncode == 2 and entries(db) == before


def test_audit_export_by_roundabout_routes_to_the_database(db: Path, tmp_path: Path) -> None:
    before = entries(db)
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "via").symlink_to(db.parent, target_is_directory=True)
    for target in (
        os.path.relpath(db, work),
        f"../{db.parent.name}/../{db.parent.name}/{db.name}",
        str(tmp_path / "via" / db.name),
        str(tmp_path / "via" / (db.name + "-wal")),
    ):
        result = pamtui("audit", "export", "--format", "csv", "--out", target, cwd=work)
        assert result.returncode == 2, (target, result.stderr)
        one_line_error(result.stderr)
    assert entries(db) == before


def test_audit_export_does_not_follow_a_symlink(capsys, db: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    os.chmod(victim, 0o644)
    link = tmp_path / "audit.jsonl"
    link.symlink_to(victim)
    code, _, err = run(capsys, "audit", "export", "--format", "jsonl", "--out", str(link))
    assert code == 2 and "symbolic link" in err
    one_line_error(err)
    assert victim.read_text() == "precious\n" and mode(victim) == 0o644
    assert link.is_symlink()


def test_audit_export_replaces_a_file_only_with_force(capsys, db: Path, tmp_path: Path) -> None:
    out = tmp_path / "audit.jsonl"
    out.write_text("last week's export\n")
    os.chmod(out, 0o644)
    code, _, err = run(capsys, "audit", "export", "--format", "jsonl", "--out", str(out))
    assert code == 2 and "exists: pass --force" in err
    assert out.read_text() == "last week's export\n"
    code, stdout, err = run(
        capsys, "audit", "export", "--format", "jsonl", "--out", str(out), "--force"
    )
    assert code == 0, err
    assert "exported 40 entries (jsonl)" in stdout
    assert mode(out) == 0o600
    assert len(out.read_text().splitlines()) == 40
    assert {p.name for p in tmp_path.iterdir()} >= {"audit.jsonl"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".audit.jsonl.")]


# -- export formats: skipped entries and help ----------------------------------


def test_ocsf_export_says_how_many_entries_it_skipped_and_why(
    capsys, db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "events.ocsf.jsonl"
    code, stdout, _ = run(capsys, "audit", "export", "--format", "ocsf", "--out", str(out))
    assert code == 0
    assert "exported 20 entries (ocsf)" in stdout
    assert "skipped 20 (20 stage)" in stdout and "not an access change" in stdout
    assert len(out.read_text().splitlines()) == 20
    code, stdout, err = run(capsys, "audit", "export", "--format", "ocsf")
    assert code == 0 and len(stdout.splitlines()) == 20
    assert "exported 20 entries (ocsf); skipped 20 (20 stage)" in err
    code, _, err = run(capsys, "audit", "export", "--format", "jsonl")
    assert code == 0 and "skipped" not in err and "exported 40 entries" in err


def test_export_help_lists_the_formats_and_the_ocsf_mapping(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["audit", "export", "--help"])
    text = capsys.readouterr().out
    for name in ("jsonl", "csv", "ocsf", "cef"):
        assert f"  {name} " in text
    assert "{jsonl,csv,ocsf,cef}" in text
    assert "3001 Account Change: Disable" in text and "3001 Account Change: Delete" in text
    assert "3005 User Access Management: Revoke Privileges" in text
    assert "deactivate_account, suspend_account" in text
    assert "stage, approve, execute, cancel, session_start" in text and "skipped" in text
    assert "--force" in text


def test_cef_puts_the_account_id_in_duid_and_a_name_in_duser(capsys, db: Path) -> None:
    journal = Journal.open(db)
    journal.append(
        "bob",
        "verified",
        provider="okta",
        subject="account:00u1",
        detail={"action": "deactivate_account", "account_id": "00u1", "account_name": "quinn"},
    )
    journal.close()
    code, stdout, _ = run(capsys, "audit", "export", "--format", "cef", "--actor", "bob")
    assert code == 0
    (line,) = stdout.splitlines()
    assert " duid=00u1 " in line and " duser=quinn " in line
    code, stdout, _ = run(capsys, "audit", "export", "--format", "cef", "--actor", "alice")
    verified = [line for line in stdout.splitlines() if "|verified:" in line]
    assert verified and all(" duid=u" in line and "duser=" not in line for line in verified)


# -- review report -------------------------------------------------------------


@pytest.fixture
def campaign(capsys, db: Path) -> str:
    code, out, err = run(
        capsys, "review", "start", "--scope", "privileged", "--limit", "2", "--json"
    )
    assert code == 0, err
    return str(json.loads(out)["id"])


def test_review_report_to_the_database_is_refused(capsys, db: Path, campaign: str) -> None:
    before = entries(db)
    for target in (str(db), str(db) + "-wal"):
        for extra in ((), ("--force",)):
            code, out, err = run(
                capsys, "review", "report", campaign, "--format", "md", "--out", target, *extra
            )
            assert code == 2, (target, extra, out, err)
            one_line_error(err)
            assert "database" in err
    assert entries(db) == before
    code, _, err = run(capsys, "review", "list")
    assert code == 0, err


def test_review_report_symlink_and_force(capsys, db: Path, campaign: str, tmp_path: Path) -> None:
    victim = tmp_path / "victim.md"
    victim.write_text("precious")
    os.chmod(victim, 0o644)
    link = tmp_path / "report.md"
    link.symlink_to(victim)
    code, _, err = run(capsys, "review", "report", campaign, "--out", str(link), "--force")
    assert code == 2 and "symbolic link" in err
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    report = tmp_path / "real.md"
    code, out, err = run(capsys, "review", "report", campaign, "--out", str(report))
    assert code == 0, err and "wrote the md report" in out
    assert mode(report) == 0o600 and report.read_text().startswith("# Access review")
    code, _, err = run(capsys, "review", "report", campaign, "--out", str(report))
    assert code == 2 and "exists: pass --force" in err
    code, _, err = run(capsys, "review", "report", campaign, "--out", str(report), "--force")
    assert code == 0, err
    code, _, err = run(capsys, "review", "report", campaign, "--out", str(tmp_path))
    assert code == 2 and "is a directory" in err


# -- demo --write-config -------------------------------------------------------


def test_demo_write_config_goes_through_the_safe_writer(capsys, db: Path, tmp_path: Path) -> None:
    before = entries(db)
    for target in (str(db), str(db) + "-shm"):
        code, _, err = run(capsys, "demo", "--scale", "40", "--write-config", target, "--force")
        assert code == 2 and "database" in err, err
        one_line_error(err)
    assert entries(db) == before
    config = tmp_path / "conf" / "scaled.toml"
    code, out, err = run(capsys, "demo", "--scale", "40", "--write-config", str(config))
    assert code == 0, err
    assert mode(config) == 0o600 and "[[providers]]" in config.read_text()
    code, _, err = run(capsys, "demo", "--scale", "40", "--write-config", str(config))
    assert code == 2 and "exists: pass --force" in err
    code, _, err = run(capsys, "demo", "--scale", "40", "--write-config", str(config), "--force")
    assert code == 0, err
    link = tmp_path / "link.toml"
    link.symlink_to(config)
    code, _, err = run(capsys, "demo", "--scale", "40", "--write-config", str(link), "--force")
    assert code == 2 and "symbolic link" in err


# -- the audit screen's export ---------------------------------------------------


async def test_the_audit_screen_refuses_to_export_over_the_database(db: Path, tmp_path: Path):
    from textual.widgets import Input

    from pamtui.tui.app import AuditApp
    from pamtui.tui.screens.audit import ExportDialog

    before = entries(db)
    app = AuditApp(Journal.open(db, read_only=True))
    notes: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.notify

        def spy(message, *args, **kwargs):
            notes.append(str(message))
            return original(message, *args, **kwargs)

        app.notify = spy  # type: ignore[method-assign]
        existing = tmp_path / "existing.jsonl"
        existing.write_text("keep me")
        for target in (str(db), str(db) + "-wal", str(existing)):
            await pilot.press("E")
            await pilot.pause()
            assert isinstance(app.screen, ExportDialog)
            box = app.screen.query_one("#export-path", Input)
            box.value = target
            box.focus()
            await pilot.press("enter")
            await pilot.pause()
    assert entries(db) == before
    assert existing.read_text() == "keep me"
    assert len(notes) == 3 and all(n.startswith("export failed:") for n in notes), notes
    assert "database" in notes[0] and "database" in notes[1]
    assert "choose another file name" in notes[2]


def test_audit_export_over_a_session_recording_is_refused(db: Path) -> None:
    """``--out <db dir>/recordings/<id>.cast --force`` replaced the evidence of an SSH session."""
    from pamtui.services.recordings import Recorder

    recorder = Recorder.create(db, "s-1", cols=80, rows=24)
    recorder.output(b"alice typed this\r\n")
    recorder.close()
    before = recorder.path.read_bytes()
    cursors = db.parent / "stream-cursors.json"
    cursors.write_text('{"format": 1, "cursors": {}}\n')
    for target in (recorder.path, db.parent / "recordings" / "new.jsonl", cursors):
        result = pamtui("audit", "export", "--format", "jsonl", "--out", str(target), "--force")
        assert result.returncode == 2, result.stderr
        one_line_error(result.stderr)
        assert "one of its files (" in result.stderr
    assert recorder.path.read_bytes() == before
    assert sorted(p.name for p in recorder.path.parent.iterdir()) == ["s-1.cast"]
    assert cursors.read_text() == '{"format": 1, "cursors": {}}\n'
