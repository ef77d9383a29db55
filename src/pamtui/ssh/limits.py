"""Who gets a connection and a session on ``pamtui serve-ssh``: the service's limits.

Before these limits, 40 silent TCP connections (no SSH banner, no key)
filled the 32 connection slots and refused a real operator's login for the
30 s of the login timeout. Now:

- a connection that has not authenticated within ``login_grace`` seconds
  (10 by default) is closed (asyncssh's login timer);
- unauthenticated connections are capped **per source address**
  (``max_unauthenticated_per_source``) and **in total**
  (``max_unauthenticated``). At either cap a new connection is still
  admitted and the *oldest* unauthenticated connection of that source
  (or, at the total cap, of the busiest source) is closed: a silent
  connection is old by the time a real client arrives, so it is the one
  that goes, and one source cannot push out the others' logins;
- authenticated connections are counted apart (``max_connections``), so
  pre-auth traffic never takes an operator's place, and per operator
  (``max_connections_per_operator``), so one key's ``ssh -N`` loop cannot
  take the others' places;
- sessions are bounded in total (``max_sessions``) and per operator
  (``max_sessions_per_operator``), so one key cannot take every session.

This module only decides; the server (server.py) closes what it is told to.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from pamtui.wording import plural

Conn = TypeVar("Conn")


@dataclass(frozen=True)
class Limits:
    login_grace: float = 10.0
    max_unauthenticated: int = 64
    max_unauthenticated_per_source: int = 8
    max_connections: int = 32
    """Authenticated connections at once."""
    max_connections_per_operator: int = 4
    max_sessions: int = 4
    max_sessions_per_operator: int = 2


@dataclass
class _Pending(Generic[Conn]):
    conn: Conn
    source: str
    since: float


@dataclass
class Admission(Generic[Conn]):
    """Tracks unauthenticated and authenticated connections; says whom to close."""

    limits: Limits
    pending: list[_Pending[Conn]] = field(default_factory=list)
    authenticated: dict[Conn, str] = field(default_factory=dict)
    """Each authenticated connection and its operator."""

    def admit(self, conn: Conn, source: str) -> list[Conn]:
        """Admit a new (unauthenticated) connection; return the connections to close."""
        evict: list[Conn] = []
        same = [p for p in self.pending if p.source == source]
        while len(same) >= self.limits.max_unauthenticated_per_source:
            oldest = same.pop(0)
            self._drop(oldest)
            evict.append(oldest.conn)
        while len(self.pending) >= self.limits.max_unauthenticated:
            busiest = Counter(p.source for p in self.pending).most_common(1)[0][0]
            oldest = next(p for p in self.pending if p.source == busiest)
            self._drop(oldest)
            evict.append(oldest.conn)
        self.pending.append(_Pending(conn, source, time.monotonic()))
        return evict

    def _drop(self, pending: _Pending[Conn]) -> None:
        self.pending.remove(pending)

    def authenticate(self, conn: Conn, operator: str) -> str | None:
        """The connection authenticated as ``operator``: why it may not stay, or None."""
        self.pending = [p for p in self.pending if p.conn is not conn]
        if len(self.authenticated) >= self.limits.max_connections:
            return "connection limit"
        mine = sum(1 for who in self.authenticated.values() if who == operator)
        if mine >= self.limits.max_connections_per_operator:
            return "connection limit per operator"
        self.authenticated[conn] = operator
        return None

    def gone(self, conn: Conn) -> None:
        self.pending = [p for p in self.pending if p.conn is not conn]
        self.authenticated.pop(conn, None)

    def unauthenticated_from(self, source: str) -> int:
        return sum(1 for p in self.pending if p.source == source)


def session_refusal(
    limits: Limits, operator: str, open_by_operator: Counter[str], total: int
) -> str | None:
    """Why a new session of ``operator`` is refused (a line for the client), or None."""
    if total >= limits.max_sessions:
        n = limits.max_sessions
        which = "the one audit session is" if n == 1 else f"all {n} audit sessions are"
        return f"{which} in use; try again later"
    mine = open_by_operator.get(operator, 0)
    if mine >= limits.max_sessions_per_operator:
        return (
            f"{operator} already has {plural(mine, 'session')} open, the most one operator "
            "may have; "
            "close one and try again"
        )
    return None
