"""No user file replaces anything pamtui keeps beside its database.

The safe writer refused the database, its sidecars and the TOTP store, but
not the rest of what pamtui keeps there: ``audit export --out
<db dir>/recordings/<id>.cast --force`` replaced a session recording (the
evidence of what an operator did over SSH), and the stream cursors, the
drift snapshots, the inventory snapshot, the events store, the SSH host key
and the journal's archives directory were just as open. Each kind is tried
here with the path its owner uses, by a plain, relative and symlinked route.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pamtui import kept_files
from pamtui.journal import Journal
from pamtui.safe_write import SafeWriteError, check_target, protected_files, safe_write_text


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "pamtui.db"
    Journal.open(path).close()
    return path


def _recording(db: Path) -> Path:
    from pamtui.services.recordings import Recorder

    recorder = Recorder.create(db, "s-1", cols=80, rows=24)
    recorder.output(b"alice typed this\r\n")
    recorder.close()
    return recorder.path


def _cursors(db: Path) -> Path:
    from pamtui.services.cursors import CursorStore

    return CursorStore.beside(db).path


def _drift(db: Path) -> Path:
    from pamtui.services.drift import snapshot_path

    return snapshot_path(db)


def _inventory(db: Path) -> Path:
    from pamtui.services.inventory_snapshot import snapshot_file

    return snapshot_file(db)


def _events(db: Path) -> Path:
    from pamtui.services.event_store import events_file

    return events_file(db)


def _host_key(db: Path) -> Path:
    from pamtui.ssh.keys import default_host_key_path

    return default_host_key_path(db)


def _archive(db: Path) -> Path:
    from pamtui.journal.segments import default_archive_dir

    directory = default_archive_dir(db)
    directory.mkdir()
    return directory / "notes.txt"


def _provider_cursor(db: Path) -> Path:
    from pamtui.providers.kit.cursors import SavedCursor

    return SavedCursor(db.parent, "github", "corp").path


def _ui_settings(db: Path) -> Path:
    return db.parent / "ui-settings.json"


KINDS: dict[str, Callable[[Path], Path]] = {
    "session recording": _recording,
    "stream cursors": _cursors,
    "drift snapshots": _drift,
    "inventory snapshot": _inventory,
    "events store": _events,
    "ssh host key": _host_key,
    "journal archives": _archive,
    "a provider's cursor": _provider_cursor,
    "ui settings": _ui_settings,
}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("exists", [True, False], ids=["existing", "not-yet"])
def test_every_file_pamtui_keeps_beside_the_database_is_refused(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, exists: bool
) -> None:
    target = KINDS[kind](db)
    if exists and not target.exists():
        target.write_text("pamtui's own\n")
    elif not exists and target.exists() and kind != "session recording":
        target.unlink()
    before = target.read_bytes() if target.exists() else None
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "via").symlink_to(db.parent, target_is_directory=True)
    routes = {
        "plain": target,
        "relative": Path(os.path.relpath(target, elsewhere)),
        "symlinked parent": tmp_path / "via" / target.relative_to(db.parent),
    }
    for route, path in routes.items():
        with pytest.raises(SafeWriteError, match="pamtui's") as info:
            safe_write_text(path, "an export\n", protect=protected_files(db), force=True)
        assert "\n" not in str(info.value), (kind, route)
    assert (target.read_bytes() if target.exists() else None) == before


def test_a_new_name_in_the_recordings_directory_is_refused(db: Path) -> None:
    """Not only the recordings that exist: the directory is pamtui's."""
    directory = _recording(db).parent
    for name in ("s-2.cast", "notes.txt"):
        with pytest.raises(SafeWriteError, match="pamtui's"):
            check_target(directory / name, protect=protected_files(db), force=True)
    assert sorted(p.name for p in directory.iterdir()) == ["s-1.cast"]


def test_a_symlinked_database_protects_what_lies_beside_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real" / "pamtui.db"
    Journal.open(real).close()
    link = tmp_path / "elsewhere" / "pamtui.db"
    link.parent.mkdir()
    link.symlink_to(real)
    recording = _recording(real)
    for path in (recording, real.parent / "stream-cursors.json", _events(real)):
        with pytest.raises(SafeWriteError, match="pamtui's"):
            check_target(path, protect=protected_files(link), force=True)


def test_the_owners_use_the_one_list(db: Path) -> None:
    """Each owner's path comes from kept_files: a new kind cannot be forgotten by one side."""
    owners = {
        kept_files.RECORDINGS: _recording(db).parent,
        kept_files.STREAM_CURSORS: _cursors(db),
        kept_files.DRIFT_SNAPSHOTS: _drift(db),
        kept_files.INVENTORY_SNAPSHOT: _inventory(db),
        kept_files.EVENTS: _events(db),
        kept_files.SSH_HOST_KEY: _host_key(db),
        kept_files.ARCHIVES: _archive(db).parent,
    }
    for kept, path in owners.items():
        assert kept.at(db) == path, kept
    assert set(owners) <= set(kept_files.BESIDE_DATABASE)


def test_the_recorder_still_writes_its_own_directory(db: Path) -> None:
    assert _recording(db).read_text().count("\n") == 2
