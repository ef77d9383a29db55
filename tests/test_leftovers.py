"""A killed writer's temporary file is removed by the next writer, and nothing else is.

The attacker's and the unlucky operator's routes: a save killed with SIGKILL
(a real process stopped midway through a real save), a live writer's file, a
symlink dressed as a leftover, another file's leftover.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pamtui.leftovers import QUIET_SECONDS, remove_dead_leftovers
from pamtui.model import Account, AccountKind, AccountStatus
from pamtui.services.inventory import AccountView
from pamtui.services.inventory_snapshot import read_meta, save

OLD = time.time() - QUIET_SECONDS - 60


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _file(path: Path, *, mtime: float = OLD, text: str = "x") -> Path:
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def test_only_old_files_of_dead_writers_of_this_file_go(tmp_path):
    target = tmp_path / "pamtui.db-inventory.sqlite"
    dead = _dead_pid()
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as alive:
        try:
            gone = [_file(tmp_path / f"{target.name}.{dead}.tmp")]
            kept = [
                _file(tmp_path / f"{target.name}.{alive.pid}.tmp"),  # a live writer
                _file(tmp_path / f"{target.name}.9999999999.tmp"),  # no pid kill() takes
                _file(tmp_path / f"{target.name}.{dead}.tmp-wal", mtime=time.time()),  # fresh
                _file(tmp_path / f"other.sqlite.{dead}.tmp"),  # another file's
                _file(tmp_path / f"{target.name}.backup"),
                _file(tmp_path / f"{target.name}.{dead}.tmp.keep"),
                _file(tmp_path / f".{target.name}.{dead}.tmp"),  # hidden: not this writer's
            ]
            removed = remove_dead_leftovers(target)
        finally:
            alive.kill()
    assert removed == gone
    assert not gone[0].exists()
    assert all(path.exists() for path in kept)


def test_this_process_id_counts_as_dead_for_files_older_than_the_process(tmp_path):
    target = tmp_path / "demo.sqlite"
    me = os.getpid()
    earlier = _file(tmp_path / f".{target.name}.{me}.0badf00d.tmp")  # an earlier start's
    mine = _file(tmp_path / f".{target.name}.{me}.c0ffee00.tmp", mtime=time.time())
    later = time.time() + QUIET_SECONDS + 60  # as if this process ran long enough
    assert remove_dead_leftovers(target, hidden=True, now=later) == [earlier]
    assert mine.exists()


def test_hidden_leftovers_with_a_random_part_and_sqlite_sidecars(tmp_path):
    target = tmp_path / "demo-100000.sqlite"
    dead = _dead_pid()
    names = [f".{target.name}.{dead}.1a2b3c4d.tmp{suffix}" for suffix in ("", "-wal", "-shm")]
    for name in names:
        _file(tmp_path / name)
    assert sorted(p.name for p in remove_dead_leftovers(target, hidden=True)) == sorted(names)
    assert list(tmp_path.iterdir()) == []


def test_a_symlink_named_like_a_leftover_is_not_followed_nor_removed(tmp_path):
    target = tmp_path / "pamtui.db-inventory.sqlite"
    precious = _file(tmp_path / "precious.txt", text="keep me")
    link = tmp_path / f"{target.name}.{_dead_pid()}.tmp"
    link.symlink_to(precious)
    os.utime(link, (OLD, OLD), follow_symlinks=False)
    assert remove_dead_leftovers(target) == []
    assert link.is_symlink() and precious.read_text() == "keep me"


_KILLED_SAVE = """
import sys
import time
from pathlib import Path
from pamtui.model import Account, AccountKind, AccountStatus
from pamtui.services.inventory import AccountView
from pamtui.services.inventory_snapshot import save

from pamtui import foreground


def stop_midway(items, chunk=500, stop=None):
    # The real save writes its rows through foreground.paced: stop it, for the
    # parent to kill, once it has written a few thousand of them.
    for n, item in enumerate(items):
        if n == 5_000:
            print("midway", flush=True)
            time.sleep(120)
        yield item


foreground.paced = stop_midway
views = [
    AccountView(
        Account("demo", f"a{i}", f"user{i}", AccountKind.HUMAN, AccountStatus.ACTIVE),
        (),
        frozenset(),
    )
    for i in range(20_000)
]
print("saving", flush=True)
save(Path(sys.argv[1]), "stamp", views, ["demo"])
print("saved", flush=True)
"""


def test_a_save_killed_midway_leaves_a_file_the_next_save_removes(tmp_path):
    target = tmp_path / "pamtui.db-inventory.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_SAVE, str(target)], stdout=subprocess.PIPE, text=True
    )
    leftover = tmp_path / f"{target.name}.{child.pid}.tmp"
    try:
        assert child.stdout is not None and child.stdout.readline() == "saving\n"
        assert child.stdout.readline() == "midway\n"  # rows written, not yet renamed
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert leftover.exists() and not target.exists()  # killed before the rename
    os.utime(leftover, (OLD, OLD))  # as if the operator starts again later

    account = Account("demo", "a1", "user1", AccountKind.HUMAN, AccountStatus.ACTIVE)
    save(target, "stamp", [AccountView(account, (), frozenset())], ["demo"])

    assert not leftover.exists()
    meta = read_meta(target, "stamp")
    assert meta is not None and meta["fingerprint"] == "stamp"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_a_start_with_the_demo_state_built_removes_a_killed_builds_leftover(tmp_path):
    from pamtui.providers.demo.state import build_once

    state = _file(tmp_path / "demo-100000.sqlite", mtime=time.time())
    leftover = _file(tmp_path / f".{state.name}.{_dead_pid()}.0badf00d.tmp")

    def never(_tmp: Path) -> None:
        raise AssertionError("the state file exists: nothing to build")

    assert build_once(state, never) == state
    assert not leftover.exists() and state.exists()


def test_opening_the_cursor_store_removes_a_killed_writes_leftover(tmp_path):
    from pamtui.providers.kit.cursors import CursorStore

    db = tmp_path / "pamtui.db"
    leftover = _file(tmp_path / f".stream-cursors.json.{_dead_pid()}.tmp")
    CursorStore.beside(db)
    assert not leftover.exists()
