"""The safe writer, on real files, real symlinks and hard links, and a real journal."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest

from pamtui.journal import Journal
from pamtui.safe_write import (
    SafeWriteError,
    TargetExists,
    check_target,
    protected_files,
    safe_open,
    safe_write_text,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A live journal in WAL mode, its -wal and -shm present (a writer is open)."""
    path = tmp_path / "data" / "pamtui.db"
    journal = Journal.open(path)
    journal.append("tester", "one", detail={"n": 1})
    yield path
    journal.close()


def intact(db: Path) -> None:
    journal = Journal.open(db, read_only=True)
    try:
        report = journal.verify()
        assert report.ok and report.entries >= 1
    finally:
        journal.close()


def only_files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def test_a_new_file_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        written = safe_write_text(tmp_path / "out.txt", "hello\n")
    finally:
        os.umask(old)
    assert written == tmp_path.resolve() / "out.txt"
    assert (tmp_path / "out.txt").read_text() == "hello\n"
    assert mode(tmp_path / "out.txt") == 0o600
    assert only_files(tmp_path) == {"out.txt"}  # no temporary file left behind


def test_an_existing_file_needs_force_and_ends_0600(tmp_path: Path) -> None:
    target = tmp_path / "report.md"
    target.write_text("old")
    os.chmod(target, 0o644)
    with pytest.raises(TargetExists, match="exists: pass --force"):
        safe_write_text(target, "new")
    assert target.read_text() == "old" and mode(target) == 0o644
    safe_write_text(target, "new", force=True)
    assert target.read_text() == "new" and mode(target) == 0o600
    assert only_files(tmp_path) == {"report.md"}


@pytest.mark.parametrize("force", [False, True])
def test_a_symlink_is_never_followed_nor_replaced(tmp_path: Path, force: bool) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    os.chmod(victim, 0o644)
    link = tmp_path / "out.jsonl"
    link.symlink_to(victim)
    with pytest.raises(SafeWriteError, match="symbolic link"):
        safe_write_text(link, "export", force=force)
    assert victim.read_text() == "precious" and mode(victim) == 0o644
    assert link.is_symlink()
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere" / "file")
    with pytest.raises(SafeWriteError, match="symbolic link"):
        safe_write_text(dangling, "export", force=force)
    assert not (tmp_path / "nowhere").exists()


def _routes_to(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Every way we know to name the database without writing its path plainly."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "linked-dir").symlink_to(db.parent, target_is_directory=True)
    monkeypatch.chdir(elsewhere)
    return {
        "plain": str(db),
        "relative": os.path.relpath(db, elsewhere),
        "dotdot": str(elsewhere / ".." / "data" / "." / db.name),
        "symlinked parent": str(tmp_path / "linked-dir" / db.name),
        "wal": str(db) + "-wal",
        "shm": str(db) + "-shm",
        "rollback journal": str(db) + "-journal",
        "wal via symlinked parent": str(tmp_path / "linked-dir" / (db.name + "-wal")),
    }


@pytest.mark.parametrize("force", [False, True])
def test_the_database_and_its_files_are_refused_by_every_route(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, force: bool
) -> None:
    before = {p.name: p.stat().st_size for p in db.parent.iterdir()}
    assert {"pamtui.db-wal", "pamtui.db-shm"} <= set(before)
    for route, path in _routes_to(db, tmp_path, monkeypatch).items():
        with pytest.raises(SafeWriteError, match="database") as info:
            safe_write_text(path, "not a journal", protect=protected_files(db), force=force)
        assert "\n" not in str(info.value), route
    assert {p.name: p.stat().st_size for p in db.parent.iterdir()} == before
    intact(db)


def test_a_hard_link_to_the_database_is_refused(db: Path, tmp_path: Path) -> None:
    alias = tmp_path / "innocent.jsonl"
    os.link(db, alias)
    with pytest.raises(SafeWriteError, match="another name for it"):
        safe_write_text(alias, "x", protect=protected_files(db), force=True)
    intact(db)


def test_a_symlinked_database_is_protected_where_it_really_is(tmp_path: Path) -> None:
    real = tmp_path / "real" / "pamtui.db"
    Journal.open(real).close()
    link = tmp_path / "pamtui.db"
    link.symlink_to(real)
    for path in (real, Path(str(real) + "-wal"), Path(str(link) + "-wal")):
        with pytest.raises(SafeWriteError, match="database"):
            check_target(path, protect=protected_files(link), force=True)


def test_sqlite_files_and_their_sidecars_are_refused_even_with_force(
    db: Path, tmp_path: Path
) -> None:
    """A rotated archive is a SQLite file wherever it lies and whatever its name."""
    journal = Journal.open(db)
    archive = tmp_path / "old-segment.db"
    journal.rotate(archive)
    journal.close()
    size = archive.stat().st_size
    with pytest.raises(SafeWriteError, match="SQLite database"):
        safe_write_text(archive, "x", force=True)
    assert archive.stat().st_size == size
    Path(str(archive) + "-journal").write_text("")
    with pytest.raises(SafeWriteError, match="belongs to the SQLite database"):
        safe_write_text(str(archive) + "-journal", "x", force=True)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(SafeWriteError, match="SQLite database"):
        safe_write_text(other, "x", force=True)
    assert sqlite3.connect(other).execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_directories_missing_parents_and_empty_names(tmp_path: Path) -> None:
    with pytest.raises(SafeWriteError, match="is a directory"):
        safe_write_text(tmp_path, "x", force=True)
    with pytest.raises(SafeWriteError, match="does not exist"):
        safe_write_text(tmp_path / "no" / "such" / "f.txt", "x")
    for name in ("", "  ", str(tmp_path / "..")):
        with pytest.raises(SafeWriteError, match="does not name a file"):
            safe_write_text(name, "x")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(SafeWriteError, match="not a regular file"):
        safe_write_text(fifo, "x", force=True)


def test_a_failure_while_writing_leaves_the_old_file_and_no_debris(tmp_path: Path) -> None:
    target = tmp_path / "audit.jsonl"
    target.write_text("previous export\n")
    with (
        pytest.raises(RuntimeError, match="journal went away"),
        safe_open(target, force=True) as out,
    ):
        out.write("half of the new export")
        raise RuntimeError("journal went away")
    assert target.read_text() == "previous export\n"
    assert only_files(tmp_path) == {"audit.jsonl"}
    new = tmp_path / "new.jsonl"
    with pytest.raises(RuntimeError), safe_open(new) as out:
        out.write("partial")
        raise RuntimeError("stop")
    assert not new.exists() and only_files(tmp_path) == {"audit.jsonl"}


def test_nothing_is_at_the_target_until_the_file_is_complete(tmp_path: Path) -> None:
    target = tmp_path / "big.csv"
    with safe_open(target) as out:
        out.write("a,b\r\n")
        assert not target.exists()
        temps = [p for p in tmp_path.iterdir() if p.name != "big.csv"]
        assert len(temps) == 1 and temps[0].name.startswith(".big.csv.")
        assert mode(temps[0]) == 0o600
    assert target.read_bytes() == b"a,b\r\n"


def test_a_file_created_meanwhile_is_not_replaced_without_force(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    with pytest.raises(TargetExists), safe_open(target) as out:
        out.write("mine")
        target.write_text("someone else's")
    assert target.read_text() == "someone else's"
    assert only_files(tmp_path) == {"report.html"}


def test_a_symlink_planted_meanwhile_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    target = tmp_path / "out.txt"
    with pytest.raises(SafeWriteError, match="symbolic link"), safe_open(target, force=True) as out:
        out.write("export")
        target.symlink_to(victim)
    assert victim.read_text() == "precious"
    assert only_files(tmp_path) == {"victim", "out.txt"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_directory_is_a_one_line_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(SafeWriteError, match="Permission denied") as info:
            safe_write_text(locked / "out.txt", "x")
        assert "\n" not in str(info.value) and str(locked / "out.txt") in str(info.value)
    finally:
        locked.chmod(0o700)


def _bind(source: Path, target: Path) -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    target.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(target)], capture_output=True)
    return done.returncode == 0


def test_a_second_mount_of_the_journal_directory_is_refused(db: Path, tmp_path: Path) -> None:
    """A bind mount is a route realpath cannot see: the directory's inode can."""
    mirror = tmp_path / "mirror"
    if not _bind(db.parent, mirror):
        pytest.skip("needs root and mount --bind")
    try:
        for name in (db.name, db.name + "-wal", db.name + "-journal"):
            with pytest.raises(SafeWriteError, match="database"):
                safe_write_text(mirror / name, "x", protect=protected_files(db), force=True)
        assert not Path(str(db) + "-journal").exists()
        safe_write_text(mirror / "fine.txt", "x", protect=protected_files(db))
        assert (db.parent / "fine.txt").read_text() == "x"
    finally:
        subprocess.run(["umount", str(mirror)], check=True)
    intact(db)


@pytest.mark.parametrize("force", [False, True])
def test_the_totp_store_beside_the_database_is_refused(
    db: Path, tmp_path: Path, force: bool
) -> None:
    """Operators' TOTP secrets live in <db>-totp: an export must never land there."""
    store = Path(str(db) + "-totp")
    # Before the store exists: the name is still pamtui's.
    for name in (store, Path(str(store) + "-journal")):
        with pytest.raises(SafeWriteError, match="database or one of its files"):
            safe_write_text(name, "x", protect=protected_files(db), force=force)
    assert not store.exists()
    from pamtui.services.totp_store import TotpStore

    totp = TotpStore.beside(db)
    totp.enrolment("alice")  # creates it
    totp.close()
    size = store.stat().st_size
    for route in (store, tmp_path / "data" / ".." / "data" / store.name):
        with pytest.raises(SafeWriteError, match="database or one of its files"):
            safe_write_text(route, "x", protect=protected_files(db), force=force)
    # Without being told the database, it is refused as a SQLite file.
    with pytest.raises(SafeWriteError, match="SQLite database"):
        safe_write_text(store, "x", force=True)
    assert store.stat().st_size == size
