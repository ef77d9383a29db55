"""An auditor's read-only copy of a journal: audited when that is safe, refused when not.

SQLite opens a WAL-mode database (every pamtui journal, and its archives) by
creating ``-shm`` beside it, which a read-only directory forbids. Without the
side files the file alone is complete only if no ``-wal`` holds entries not
yet checkpointed into it: then it is read as it is; otherwise the audit
commands refuse in one line, never answering for a journal missing entries.
Real files, real modes, the real CLI in a child process on which the modes
bind (see :mod:`tests.support.privileges`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pamtui.journal import Journal
from tests.support.privileges import without_root_powers

SRC = Path(__file__).resolve().parents[2] / "src"


def _journal(path: Path, count: int, *, subject: str = "s") -> Journal:
    journal = Journal.open(path)
    for i in range(count):
        journal.append("alice", "note", subject=f"{subject}{i}")
    return journal


def _copy(source: Path, into: Path, sidecars: tuple[str, ...] = ()) -> Path:
    """Copy ``source`` (and the named side files) into ``into``, then make it all read-only."""
    into.mkdir()
    for suffix in ("", *sidecars):
        shutil.copy(f"{source}{suffix}", into / f"{source.name}{suffix}")
    for item in into.iterdir():
        item.chmod(0o444)
    into.chmod(0o555)
    return into / source.name


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[None]:
    """Give the test's directories back their write bit, so pytest can clean up."""
    yield
    for root, dirs, _ in os.walk(tmp_path):
        for name in dirs:
            Path(root, name).chmod(0o700)
    tmp_path.chmod(0o700)


def _pamtui(tmp_path: Path, db: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PAMTUI_DEBUG": "0",
    }
    return subprocess.run(
        [*without_root_powers(), sys.executable, "-m", "pamtui", "--db", str(db), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_a_checkpointed_read_only_copy_is_audited(tmp_path: Path, restore_modes: None) -> None:
    """Was: "cannot open the journal ...: attempt to write a readonly database", exit 1."""
    _journal(tmp_path / "live" / "pamtui.db", 5).close()  # closing checkpoints: no -wal left
    copy = _copy(tmp_path / "live" / "pamtui.db", tmp_path / "copy")
    out = tmp_path / "elsewhere.jsonl"

    verify = _pamtui(tmp_path, copy, "audit", "verify")
    listed = _pamtui(tmp_path, copy, "audit", "list")
    export = _pamtui(tmp_path, copy, "audit", "export", "--format", "jsonl", "--out", str(out))

    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 5 entries")
    assert listed.returncode == 0, listed.stderr
    assert all(f"s{i}" in listed.stdout for i in range(5))
    assert export.returncode == 0, export.stderr
    assert len(out.read_text().splitlines()) == 5
    assert sorted(p.name for p in copy.parent.iterdir()) == ["pamtui.db"]


def _copy_with_wal_entries(tmp_path: Path, side_files: tuple[str, ...]) -> Path:
    """A copy of a journal whose last 3 of 8 entries are only in its -wal (copied
    while the journal is open, with ``side_files``)."""
    live = tmp_path / "live" / "pamtui.db"
    journal = _journal(live, 5)
    journal.close()
    journal = Journal.open(live)
    journal.conn.execute("PRAGMA wal_autocheckpoint=0")
    for i in range(3):
        journal.append("bob", "note", subject=f"w{i}")
    copy = _copy(live, tmp_path / "copy", side_files)
    journal.close()
    return copy


def test_a_copy_whose_wal_cannot_be_read_is_refused_not_verified_short(
    tmp_path: Path, restore_modes: None
) -> None:
    """The last 3 entries are only in the -wal: read without it, verify would say "ok: 5"."""
    copy = _copy_with_wal_entries(tmp_path, ("-wal",))  # without its -shm

    for argv in (("audit", "verify"), ("audit", "list"), ("audit", "head")):
        result = _pamtui(tmp_path, copy, *argv)
        assert result.returncode == 1, (argv, result.stdout)
        assert result.stdout == ""
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("pamtui: ")
        assert "pamtui.db-wal" in result.stderr and "writable directory" in result.stderr
        assert "checkpoint" in result.stderr and "internal error" not in result.stderr


def test_a_copy_with_its_wal_and_shm_reads_the_wal_entries(
    tmp_path: Path, restore_modes: None
) -> None:
    copy = _copy_with_wal_entries(tmp_path, ("-wal", "-shm"))

    verify = _pamtui(tmp_path, copy, "audit", "verify")

    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 8 entries")


def test_a_read_only_copy_of_a_rotated_journal_verifies_with_its_archives(
    tmp_path: Path, restore_modes: None
) -> None:
    live = tmp_path / "live" / "pamtui.db"
    journal = _journal(live, 3)
    journal.rotate()  # into live/pamtui.db-archives/, where verify looks
    journal.append("alice", "note", subject="after")
    journal.close()
    archives = tmp_path / "live" / "pamtui.db-archives"
    copy = _copy(live, tmp_path / "copy")
    copy.parent.chmod(0o755)
    _copy(next(archives.iterdir()), copy.parent / archives.name)
    copy.parent.chmod(0o555)

    verify = _pamtui(tmp_path, copy, "audit", "verify")

    assert verify.returncode == 0, verify.stderr
    assert verify.stdout.startswith("ok: 5 entries"), verify.stdout


def test_an_archive_whose_wal_cannot_be_read_is_named_with_the_reason(
    tmp_path: Path, restore_modes: None
) -> None:
    """Was: "... archive X, not verified here (X is empty, not at 3:...)": it is not empty."""
    live = tmp_path / "live" / "pamtui.db"
    journal = _journal(live, 3)
    _, _, archive = journal.rotate()
    journal.close()
    held = Journal.open(archive)  # someone had the archive open when it was copied
    held.conn.execute("PRAGMA wal_autocheckpoint=0")
    held.conn.execute("CREATE TABLE scratch (x)")
    copy = _copy(live, tmp_path / "copy")
    copy.parent.chmod(0o755)
    _copy(archive, copy.parent / archive.parent.name, ("-wal",))
    copy.parent.chmod(0o555)
    held.close()

    verify = _pamtui(tmp_path, copy, "audit", "verify")

    assert verify.returncode == 1, verify.stdout
    assert "entries 1..3 are in archive" in verify.stdout
    assert "is empty" not in verify.stdout
    assert f"{archive.name}-wal holds entries" in verify.stdout


def test_a_file_still_writable_in_a_read_only_directory_is_refused_with_the_fix(
    tmp_path: Path, restore_modes: None
) -> None:
    """Read without locks, a journal someone may still write could be read half-written."""
    _journal(tmp_path / "live" / "pamtui.db", 2).close()
    copy = _copy(tmp_path / "live" / "pamtui.db", tmp_path / "copy")
    copy.parent.chmod(0o755)
    copy.chmod(0o644)
    copy.parent.chmod(0o555)

    verify = _pamtui(tmp_path, copy, "audit", "verify")

    assert verify.returncode == 1, verify.stdout
    assert verify.stdout == "" and verify.stderr.count("\n") == 1
    assert f"chmod a-w {copy}" in verify.stderr and "writable directory" in verify.stderr
