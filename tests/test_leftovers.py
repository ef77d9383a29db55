"""A killed writer's temporary file is removed by the next writer, and nothing else is.

The attacker's and the unlucky operator's routes: a save killed with SIGKILL
(a real process, a real 100,000-row snapshot file), a live writer's file, a
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
                _file(tmp_path / f"{target.name}.{os.getpid()}.tmp"),  # this process
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
from pathlib import Path
from pamtui.model import Account, AccountKind, AccountStatus
from pamtui.services.inventory import AccountView
from pamtui.services.inventory_snapshot import save

views = [
    AccountView(
        Account("demo", f"a{i}", f"user{i}", AccountKind.HUMAN, AccountStatus.ACTIVE),
        (),
        frozenset(),
    )
    for i in range(100_000)
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
        for _ in range(2000):  # until the save has written something (bounded: 20 s)
            if leftover.exists() and leftover.stat().st_size > 64 * 1024:
                break
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
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
