"""The asyncssh server behind ``pamtui serve-ssh``.

Public-key authentication only, against :mod:`pamtui.ssh.keys` (the SSH user
name must be the key's operator). A key whose operator has an ``[[operators]]``
entry is that operator with its roles (:meth:`AuditSshServer.actor_for`): a
shell on a pty runs the triage TUI, an exec request one allow-listed command
(:mod:`pamtui.ssh.commands`), both in ``pamtui.cli.remote``, told who it acts
for on an inherited pipe. Any other key is an auditor: a shell on a pty runs
the read-only audit screen (:mod:`pamtui.ssh.audit`) and nothing else.
Subsystems (SFTP), TCP/Unix forwarding, agent and X11 forwarding are refused,
and refused attempts are journalled. Sessions are
journalled at start and end (operator, key fingerprint, client address,
duration, and the SHA-256 of the session's recording); journal writes run on
one worker thread, never on the event loop. Who is let in is decided by
:mod:`pamtui.ssh.limits`; what happens inside a session (the child, its
recording, its end) is :mod:`pamtui.ssh.channel`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import asyncssh

from pamtui.config import OperatorEntry
from pamtui.forward_config import ForwardConfig
from pamtui.model import Actor
from pamtui.services.forward import SERVICE, follow
from pamtui.services.journal import Journal, JournalError
from pamtui.ssh.channel import TERMINAL_RESET, LiveSession, SessionChannel, log
from pamtui.ssh.keys import AuthorizedKey, AuthorizedKeys
from pamtui.ssh.limits import Admission, Limits, session_refusal

UNAUTHENTICATED = "ssh:unauthenticated"
HUB_RESTART_FIRST = 2.0
HUB_RESTART_MAX = 60.0
"""Seconds: the hub's restart pause doubles from the first to the max (``_keep_hub``)."""
_TERM = re.compile(r"[A-Za-z0-9._+-]{1,64}")
# The child's environment is built, not inherited: nothing the client sends
# (SendEnv) and no secret in the server's environment reaches it.
_ENV_KEEP = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
)


@dataclass
class ServeOptions:
    db_path: Path
    authorized_keys: AuthorizedKeys
    host_key: Any  # asyncssh.SSHKey
    config_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 2222
    idle_timeout: float = 900.0
    limits: Limits = field(default_factory=Limits)
    refusals_per_minute: int = 30
    child_argv: Callable[[str], list[str]] | None = None  # tests may replace the child
    forward: tuple[ForwardConfig, ...] = ()  # [[forward]]: forwarded while the service runs
    hub: bool = True
    """One child polls every provider's stream for all sessions (services/hub.py)."""
    operators: tuple[OperatorEntry, ...] = ()
    """[[operators]]: a key whose operator is listed gets the triage TUI with those roles;
    any other key is an auditor (the read-only audit screen, nothing else)."""


class AuditSshServer:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.sessions: dict[str, LiveSession] = {}
        self._handles: dict[str, SessionChannel] = {}
        self._reserved: Counter[str] = Counter()
        self._connections: set[_Connection] = set()
        self.admission: Admission[_Connection] = Admission(options.limits)
        self._journal = Journal.open(options.db_path)  # creates the db the child reads
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pamtui-journal")
        self._acceptor: asyncssh.SSHAcceptor | None = None
        self._refusal_window: list[float] = []
        self._suppressed = 0
        self.port: int | None = None
        self._forward_stop = threading.Event()
        self._forwarder: threading.Thread | None = None
        self._hub: subprocess.Popen[bytes] | None = None
        self._hub_watch: asyncio.Task[None] | None = None

    # -- the listener ----------------------------------------------------------

    async def start(self) -> int:
        opts = self.options
        self._acceptor = await asyncssh.create_server(
            lambda: _Connection(self),
            opts.host,
            opts.port,
            server_host_keys=[opts.host_key],
            public_key_auth=True,
            password_auth=False,
            kbdint_auth=False,
            host_based_auth=False,
            gss_auth=False,
            agent_forwarding=False,
            x11_forwarding=False,
            allow_scp=False,
            allow_pty=True,
            encoding=None,
            line_editor=False,
            login_timeout=opts.limits.login_grace,
            keepalive_interval=30,
            keepalive_count_max=3,
        )
        self.port = self._acceptor.sockets[0].getsockname()[1]
        if opts.forward:  # the bastion service owns the journal: it forwards it too
            self._forwarder = threading.Thread(
                target=follow,
                args=(opts.db_path, opts.forward, self._forward_stop),
                kwargs={"actor": SERVICE},
                name="pamtui-forward",
                daemon=True,
            )
            self._forwarder.start()
        if opts.hub:
            self._hub_watch = asyncio.get_running_loop().create_task(self._keep_hub())
        return self.port

    async def _keep_hub(self) -> None:
        """Run the hub child; restart it whenever it ends, backing off while it keeps failing.

        2 s after a crash, doubling up to a minute; back to 2 s once a hub has
        run for a minute (a hub that dies at start must not spin the CPU).
        """
        argv = [sys.executable, "-m", "pamtui.cli.hub", "--db", str(self.options.db_path)]
        if self.options.config_path is not None:
            argv += ["--config", str(self.options.config_path)]
        pause = HUB_RESTART_FIRST
        while True:
            started = time.monotonic()
            self._hub = subprocess.Popen(
                argv, env=self.child_env(None), stdin=subprocess.DEVNULL, start_new_session=True
            )
            log(f"hub started (pid {self._hub.pid})")
            while self._hub.poll() is None:
                await asyncio.sleep(0.5)
            if time.monotonic() - started >= HUB_RESTART_MAX:
                pause = HUB_RESTART_FIRST
            log(f"hub ended with status {self._hub.returncode}: restarting in {pause:.0f} s")
            await asyncio.sleep(pause)
            pause = min(pause * 2, HUB_RESTART_MAX)

    async def _stop_hub(self) -> None:
        if self._hub_watch is not None:
            self._hub_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._hub_watch
        hub = self._hub
        if hub is not None and hub.poll() is None:
            hub.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(hub.wait, 10)
            except subprocess.TimeoutExpired:
                hub.kill()
                await asyncio.to_thread(hub.wait, 10)

    async def close(self) -> None:
        if self._acceptor is not None:
            self._acceptor.close()
        await asyncio.gather(
            *(s.shutdown("server shutdown") for s in list(self._handles.values())),
            return_exceptions=True,
        )
        for conn in list(self._connections):
            conn.close()
        if self._acceptor is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._acceptor.wait_closed(), timeout=2)
        await self._stop_hub()
        self._forward_stop.set()
        if self._forwarder is not None:
            await asyncio.to_thread(self._forwarder.join, 30)
        self._writer.shutdown(wait=True)
        self._journal.close()

    # -- sessions ------------------------------------------------------------

    def reserve_slot(self, operator: str) -> str | None:
        """Hold a session slot for ``operator``, or say why not (a line for the client)."""
        open_by = Counter(s.operator for s in self.sessions.values()) + self._reserved
        total = len(self.sessions) + sum(self._reserved.values())
        refusal = session_refusal(self.options.limits, operator, open_by, total)
        if refusal is None:
            self._reserved[operator] += 1
        return refusal

    def release_reservation(self, operator: str) -> None:
        self._reserved[operator] -= 1

    def actor_for(self, key: AuthorizedKey) -> Actor:
        """The key's operator with its [[operators]] roles (none: an auditor)."""
        roles: frozenset[str] = frozenset()
        for entry in self.options.operators:
            if entry.name == key.operator:
                roles = entry.roles
        return Actor(key.operator, key.fingerprint, roles, "ssh")

    def operator_argv(self, identity_fd: int, mode: str, words: list[str]) -> list[str]:
        """``pamtui.cli.remote``: the TUI or one command, told its identity on ``identity_fd``."""
        argv = [sys.executable, "-m", "pamtui.cli.remote", "--identity-fd", str(identity_fd)]
        argv += ["--db", str(self.options.db_path)]
        if self.options.config_path is not None:
            argv += ["--config", str(self.options.config_path)]
        if self.options.hub:
            argv.append("--follow-hub")
        return [*argv, mode, "--", *words]

    def child_argv(self, operator: str) -> list[str]:
        if self.options.child_argv is not None:
            return self.options.child_argv(operator)
        argv = [sys.executable, "-m", "pamtui.ssh.audit", "--read-only"]
        argv += ["--db", str(self.options.db_path)]
        if self.options.config_path is not None:
            argv += ["--config", str(self.options.config_path)]
        return [*argv, "--operator", operator]

    @staticmethod
    def child_env(term: str | None) -> dict[str, str]:
        env = {k: os.environ[k] for k in _ENV_KEEP if k in os.environ}
        env.setdefault("PATH", "/usr/bin:/bin")
        env.setdefault("LANG", "C.UTF-8")
        env["TERM"] = term if term and _TERM.fullmatch(term) else "xterm-256color"
        env["COLORTERM"] = "truecolor"  # OpenSSH does not forward it
        return env

    # -- the journal ------------------------------------------------------------

    async def journal(
        self, actor: str, action: str, *, subject: str = "", detail: dict[str, Any]
    ) -> None:
        """Append on the writer thread; raises JournalError if it cannot."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._writer,
            partial(self._journal.append, actor, action, subject=subject, detail=detail),
        )

    def refused(self, actor: str, reason: str, detail: dict[str, Any]) -> None:
        """Journal a refusal in the background, at most refusals_per_minute."""
        log(f"refused {actor} from {detail.get('client', '?')}: {reason}")
        now = time.monotonic()
        self._refusal_window = [t for t in self._refusal_window if now - t < 60]
        if len(self._refusal_window) >= self.options.refusals_per_minute:
            self._suppressed += 1
            return
        self._refusal_window.append(now)
        detail = {"reason": reason, **detail}
        if self._suppressed:
            detail["suppressed_before"] = self._suppressed
            self._suppressed = 0

        async def write() -> None:
            try:
                await self.journal(actor, "ssh_refused", subject="ssh", detail=detail)
            except (JournalError, RuntimeError) as exc:  # RuntimeError: shutting down
                log(f"cannot journal a refusal: {exc}")

        asyncio.get_running_loop().create_task(write())


class _Connection(asyncssh.SSHServer):
    def __init__(self, server: AuditSshServer) -> None:
        self.server = server
        self.conn: asyncssh.SSHServerConnection | None = None
        self.client = "?"
        self.username: str | None = None
        self.key: AuthorizedKey | None = None
        self.authenticated = False
        self.failures: list[dict[str, str]] = []
        self.sessions: set[SessionChannel] = set()
        self.last_activity = time.monotonic()
        self._watchdog: asyncio.Task | None = None

    # -- connection ------------------------------------------------------------

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self.conn = conn
        peer = conn.get_extra_info("peername") or ("?", 0)
        self.client = f"{peer[0]}:{peer[1]}"
        for old in self.server.admission.admit(self, str(peer[0])):
            log(f"too many unauthenticated connections: closing {old.client}, the oldest")
            old.close()
        self.server._connections.add(self)
        self._watchdog = asyncio.get_running_loop().create_task(self._watch_idle())

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)
        self.server.admission.gone(self)
        if self._watchdog is not None:
            self._watchdog.cancel()
        if not self.authenticated and self.username is not None:
            reasons = sorted({f["reason"] for f in self.failures}) or ["no public key offered"]
            self.server.refused(
                UNAUTHENTICATED,
                "; ".join(reasons),
                {
                    "username": self.username,
                    "client": self.client,
                    "key_fingerprints": sorted({f["fingerprint"] for f in self.failures}),
                },
            )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    async def _watch_idle(self) -> None:
        idle = self.server.options.idle_timeout
        tick = max(0.2, min(5.0, idle / 4))
        while True:
            await asyncio.sleep(tick)
            if not self.authenticated or time.monotonic() - self.last_activity < idle:
                continue
            log(f"closing {self.operator} from {self.client}: idle for {idle:g} s")
            minutes = f"{idle / 60:g} minutes" if idle >= 60 else f"{idle:g} seconds"
            await asyncio.gather(
                *(
                    s.shutdown("idle timeout", f"pamtui: closed after {minutes} without input")
                    for s in list(self.sessions)
                ),
                return_exceptions=True,
            )
            self.close()
            return

    @property
    def operator(self) -> str:
        return self.key.operator if self.key else UNAUTHENTICATED

    def base_detail(self) -> dict[str, Any]:
        return {
            "client": self.client,
            "key_fingerprint": self.key.fingerprint if self.key else "",
        }

    # -- authentication ----------------------------------------------------------

    def begin_auth(self, username: str) -> bool:
        self.username = username[:100]
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def host_based_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        found = self.server.options.authorized_keys.lookup(key.public_data)
        fingerprint = key.get_fingerprint("sha256")
        if found is None:
            self.failures.append({"reason": "unknown key", "fingerprint": fingerprint})
            return False
        if found.operator != username:
            self.failures.append(
                {
                    "reason": f"key belongs to operator {found.operator}, not to the user name",
                    "fingerprint": fingerprint,
                }
            )
            return False
        self.key = found
        return True

    def auth_completed(self) -> None:
        self.authenticated = True
        self.last_activity = time.monotonic()
        assert self.key is not None  # set by validate_public_key before auth completes
        log(f"{self.operator} authenticated from {self.client} ({self.key.fingerprint})")
        refusal = self.server.admission.authenticate(self, self.key.operator)
        if refusal is not None:
            limits = self.server.options.limits
            self._refuse(
                refusal,
                max_connections=limits.max_connections,
                max_connections_per_operator=limits.max_connections_per_operator,
            )
            asyncio.get_running_loop().call_soon(self.close)

    # -- what a connection may ask for ---------------------------------------------

    def session_requested(self) -> asyncssh.SSHServerSession:
        return SessionChannel(self)

    def _refuse(self, reason: str, **extra: Any) -> bool:
        self.server.refused(self.operator, reason, {**self.base_detail(), **extra})
        return False

    def _prohibit(self, reason: str, **extra: Any) -> bool:
        self._refuse(reason, **extra)
        raise asyncssh.ChannelOpenError(
            asyncssh.OPEN_ADMINISTRATIVELY_PROHIBITED, f"{reason} is not allowed"
        )

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int):
        return self._prohibit("port forwarding", destination=f"{dest_host[:100]}:{dest_port}")

    def server_requested(self, listen_host: str, listen_port: int):
        return self._refuse("remote port forwarding", listen=f"{listen_host[:100]}:{listen_port}")

    def unix_connection_requested(self, dest_path: str):
        return self._prohibit("unix socket forwarding", destination=dest_path[:200])

    def unix_server_requested(self, listen_path: str):
        return self._refuse("remote unix socket forwarding", listen=listen_path[:200])

    def tun_requested(self, unit: int | None):
        return self._refuse("tun forwarding")

    def tap_requested(self, unit: int | None):
        return self._refuse("tap forwarding")


__all__ = ["TERMINAL_RESET", "AuditSshServer", "LiveSession", "ServeOptions", "log"]
