"""Who holds a queue item's lease, and whether that holder is provably dead.

A lease names its holder as ``host:pid:start:nonce``, where ``start`` is the
process's start time as the kernel reports it (``/proc/PID/stat``, field 22,
in clock ticks since boot) and ``nonce`` tells two queues of one process
apart. A holder on this host is *provably dead* when no process has its pid,
or the process that has it started at another time (the pid was reused).
Anything else (another host, no ``/proc``, an old lease without a start time
whose pid is alive) is presumed alive until the lease expires: taking over a
live holder's item would revoke twice, waiting only costs time.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


def process_start(pid: int) -> str | None:
    """The kernel's start time of a running ``pid`` (clock ticks since boot), or None.

    None means "no such process, or a zombie" when ``/proc`` exists, "cannot
    tell" when it does not; :meth:`Holder.is_dead` tells the two apart.
    """
    try:
        stat = (_PROC / str(pid) / "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    # fields[0] is field 3 (state); field 22 (starttime) is fields[19].
    if len(fields) <= 19 or fields[0] in ("Z", "X"):  # killed, not yet reaped: dead
        return None
    return fields[19]


@dataclass(frozen=True)
class Holder:
    """The process that holds a queue item's lease: host, pid and the pid's start time."""

    host: str
    pid: int
    start: str
    """Empty when unknown (a lease written before holders recorded it)."""

    @classmethod
    def current(cls) -> Holder:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, process_start(pid) or "")

    @classmethod
    def parse(cls, owner: str) -> Holder | None:
        """Read a lease owner; None for one that names no process."""
        parts = owner.split(":")
        try:
            if len(parts) == 4:  # host:pid:start:nonce
                return cls(parts[0], int(parts[1]), parts[2])
            if len(parts) == 3:  # host:pid:nonce, before start times were recorded
                return cls(parts[0], int(parts[1]), "")
        except ValueError:
            return None
        return None

    def lease_owner(self) -> str:
        """A fresh owner string for one queue instance of this process."""
        return f"{self.host}:{self.pid}:{self.start}:{uuid.uuid4().hex[:6]}"

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"

    def is_dead(self) -> bool:
        """True only when this holder provably no longer runs (see the module doc)."""
        if self.host != socket.gethostname() or not _PROC.is_dir():
            return False
        start = process_start(self.pid)
        if start is None:
            return True  # /proc exists and has no such pid
        return bool(self.start) and start != self.start


def owner_is_dead(owner: str) -> bool:
    holder = Holder.parse(owner)
    return holder is not None and holder.is_dead()
