"""Remove the temporary files a killed pamtui left beside the files it rewrites.

Files that must change atomically (the inventory snapshot, the demo's state
file, the stream cursors) are written under ``<name>.<pid>[.<random>].tmp``
beside the real one and renamed over it. A process killed while writing
(SIGKILL, a closed terminal, a dropped SSH session) leaves its temporary file
behind, and nothing else would ever remove it: at 100,000 accounts a snapshot's
is close to 200 MB, one per killed start.

The next writer of the same file removes such leftovers first (the stream
cursors: when their store is opened, not on each throttled write). A leftover is
removed only when all of these hold, so a file another process is still
writing is never touched:

- its name is exactly the pattern above for this file, with a process id;
- no process with that id exists (``kill(pid, 0)`` says so; a process of
  another user counts as existing), or the id is this process's and the file
  is older than this process (an earlier start in a container, same pid);
- it is a regular file (not a symlink) owned by the current user;
- it has not changed for ``QUIET_SECONDS`` (a writer in another PID
  namespace, which ``kill`` cannot see, is still writing it).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from pathlib import Path

QUIET_SECONDS = 120.0
"""A leftover must be at least this old (by mtime) to be removed."""

_STARTED = time.time()
"""About when this process started (this module is imported at start): a file
named with this process's id but older than that is an earlier process's (a
container gives pamtui the same pid at every start)."""


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return True  # not a process id we may reason about: keep the file
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError, ValueError):  # another user's process, or no pid: keep
        return True
    return True


def remove_dead_leftovers(
    path: Path, *, hidden: bool = False, now: float | None = None
) -> list[Path]:
    """Remove the temporary files of dead writers of ``path``; the paths removed.

    ``hidden``: the writer names its temporary file with a leading dot
    (``.<name>.<pid>.tmp``). Never raises for a file it cannot inspect or remove.
    """
    path = Path(path)
    prefix = ("." if hidden else "") + path.name + "."
    pattern = re.compile(
        re.escape(prefix) + r"(?P<pid>[0-9]{1,10})(\.[0-9a-f]{1,32})?\.tmp(-wal|-shm|-journal)?"
    )
    now = time.time() if now is None else now
    removed: list[Path] = []
    try:
        names = os.listdir(path.parent)
    except OSError:
        return removed
    me = os.getpid()
    uid = os.geteuid()
    for name in names:
        match = pattern.fullmatch(name)
        if match is None:
            continue
        pid = int(match["pid"])
        if pid != me and _process_exists(pid):
            continue
        candidate = path.parent / name
        try:
            st = os.lstat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or st.st_uid != uid or now - st.st_mtime < QUIET_SECONDS:
            continue
        if pid == me and st.st_mtime >= _STARTED - 1:
            continue  # this process's own, perhaps being written by another thread
        with contextlib.suppress(OSError):
            candidate.unlink()
            removed.append(candidate)
    return removed
