"""One SSH session channel of ``pamtui serve-ssh``: a child on a pty (or pipes), recorded.

The child is the auditor's audit screen, an operator's triage TUI, or an
operator's allow-listed command (on plain pipes when no pty was asked for).

Split from server.py (the listener, connections and limits): this is what
happens inside one session, from the shell request to the journalled end,
including its recording (services/recordings.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncssh

from pamtui.errors import PamtuiError
from pamtui.services import identity
from pamtui.services.journal import JournalError
from pamtui.services.recordings import Recorder, file_name
from pamtui.ssh.commands import CommandRefused, split
from pamtui.ssh.pipechild import PipeChild
from pamtui.ssh.ptychild import PtyChild

if TYPE_CHECKING:
    from pamtui.ssh.server import _Connection

# What a killed Textual app leaves on: alternate screen, mouse reporting,
# bracketed paste, focus events, the kitty keyboard protocol, hidden cursor.
TERMINAL_RESET = (
    b"\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?1015l\x1b[?1004l"
    b"\x1b[?2004l\x1b[<u\x1b[0m\x1b[?25h\x1b[?1049l\r\n"
)


def log(message: str) -> None:
    print(f"pamtui serve-ssh: {message}", file=sys.stderr, flush=True)


@dataclass
class LiveSession:
    """One audit screen being shown: what the registry lists."""

    id: str
    operator: str
    fingerprint: str
    client: str
    started: float
    pid: int | None = None
    ended: bool = False
    detail: dict[str, Any] = field(default_factory=dict)


class SessionChannel(asyncssh.SSHServerSession):
    def __init__(self, connection: _Connection) -> None:
        self.connection = connection
        self.server = connection.server
        self.chan: asyncssh.SSHServerChannel | None = None
        self.term: str | None = None
        self.size = (80, 24)
        self.has_pty = False
        self.child: PtyChild | PipeChild | None = None
        self.live: LiveSession | None = None
        self.recorder: Recorder | None = None
        self._ending: asyncio.Task | None = None
        self._end_reason = "client disconnected"
        self.words: list[str] | None = None
        """An operator's allow-listed command (exec request); None: the TUI (shell)."""
        self.refusal: str | None = None

    def connection_made(self, chan: asyncssh.SSHServerChannel) -> None:
        self.chan = chan
        self.connection.sessions.add(self)

    # -- requests --------------------------------------------------------------

    def pty_requested(self, term_type: str, term_size: tuple, term_modes: Any) -> bool:
        self.has_pty = True
        self.term = term_type
        if term_size[0] and term_size[1]:
            self.size = (term_size[0], term_size[1])
        return True

    def shell_requested(self) -> bool:
        if not self.has_pty:
            return self.connection._refuse("shell without a pty")
        return True

    def exec_requested(self, command: str) -> bool:
        key = self.connection.key
        if key is None or not self.server.actor_for(key).roles:  # an auditor: the screen only
            return self.connection._refuse("exec request", command=command[:200])
        try:
            self.words = split(command)
        except CommandRefused as exc:
            self.connection._refuse("command not allowed", command=command[:200])
            self.refusal = str(exc)
        return True  # the refusal is said on stderr, with an exit status

    def subsystem_requested(self, subsystem: str) -> bool:
        return self.connection._refuse("subsystem request", subsystem=subsystem[:100])

    def break_received(self, msec: int) -> bool:
        return False

    def signal_received(self, signal: str) -> None:
        return None

    def session_started(self) -> None:
        asyncio.get_running_loop().create_task(self._start())

    async def _start(self) -> None:
        conn, chan = self.connection, self.chan
        assert chan is not None
        limits = self.server.options.limits
        if self.refusal is not None:
            end = "\r\n" if self.has_pty else "\n"
            chan.write_stderr(f"pamtui: refused: {self.refusal}{end}".encode())
            chan.exit(2)
            return
        refusal = self.server.reserve_slot(conn.operator)
        if refusal is not None:
            self.connection._refuse(
                "session limit",
                max_sessions=limits.max_sessions,
                max_sessions_per_operator=limits.max_sessions_per_operator,
            )
            chan.write_stderr(f"pamtui: {refusal}\r\n".encode())
            chan.exit(1)
            return
        session_id = uuid.uuid4().hex[:12]
        cols, rows = self.size
        try:
            detail = {
                **conn.base_detail(),
                "session": session_id,
                "term": self.term or "",
                "size": f"{cols}x{rows}",
                "recording_file": file_name(session_id),
            }
            assert conn.key is not None  # a session opens only after authentication
            actor = self.server.actor_for(conn.key)
            detail["roles"] = sorted(actor.roles)
            if self.words is not None:
                detail["command"] = " ".join(self.words)[:200]
            try:
                await self.server.journal(
                    conn.operator, "ssh_session_start", subject=f"ssh:{session_id}", detail=detail
                )
            except JournalError as exc:
                log(f"cannot journal the session start, refusing it: {exc}")
                chan.write_stderr(b"pamtui: the journal is unavailable; session refused\r\n")
                chan.exit(1)
                return
            if chan.is_closing():  # the client left while the entry was written
                self.live = LiveSession(
                    session_id, conn.operator, detail["key_fingerprint"], conn.client, time.time()
                )
                self.server.sessions[session_id] = self.live
                await self._finish("client disconnected", None)
                return
            self.live = LiveSession(
                session_id, conn.operator, detail["key_fingerprint"], conn.client, time.time()
            )
            self.server.sessions[session_id] = self.live
        finally:
            self.server.release_reservation(conn.operator)
        try:  # every session is recorded, or it does not run (see services/recordings.py)
            self.recorder = Recorder.create(
                self.server.options.db_path,
                session_id,
                cols=cols,
                rows=rows,
                term=self.term or "",
                title=f"pamtui: {conn.operator} from {conn.client}",
            )
        except (OSError, PamtuiError) as exc:
            log(f"cannot record session {session_id}, refusing it: {exc}")
            chan.write_stderr(b"pamtui: the session cannot be recorded; session refused\r\n")
            self._end_reason = "cannot record"
            chan.exit(1)
            return
        identity_fd: int | None = None
        try:
            if actor.roles:  # an operator: the TUI or a command, told who it is on a pipe
                identity_fd, writer = os.pipe()
                try:
                    os.write(writer, identity.encode(actor))  # small: fits in the pipe
                finally:
                    os.close(writer)
                mode = "tui" if self.words is None else "exec"
                argv = self.server.operator_argv(identity_fd, mode, self.words or [])
            else:
                argv = self.server.child_argv(conn.operator)
            if self.words is not None and not self.has_pty:  # a script's command: plain pipes
                self.child = PipeChild(
                    argv,
                    env=self.server.child_env(self.term),
                    on_output=self._output,
                    on_error=self._error,
                    on_exit=self._child_exited,
                    cwd=str(Path(self.server.options.db_path).parent),
                    pass_fds=() if identity_fd is None else (identity_fd,),
                )
            else:
                self.child = PtyChild(
                    argv,
                    env=self.server.child_env(self.term),
                    cols=cols,
                    rows=rows,
                    on_output=self._output,
                    on_exit=self._child_exited,
                    cwd=str(Path(self.server.options.db_path).parent),
                    pass_fds=() if identity_fd is None else (identity_fd,),
                )
        except OSError as exc:
            log(f"cannot start the audit screen: {exc}")
            chan.write_stderr(b"pamtui: cannot start the audit screen\r\n")
            self._end_reason = f"cannot start: {exc.strerror}"
            chan.exit(1)
            return
        finally:
            if identity_fd is not None:
                os.close(identity_fd)
        self.live.pid = self.child.pid
        self.server._handles[session_id] = self
        log(f"session {session_id}: {conn.operator} from {conn.client}, pid {self.child.pid}")

    # -- data --------------------------------------------------------------------

    def _output(self, data: bytes) -> None:
        if self.recorder is not None:
            try:
                self.recorder.output(data)
            except OSError as exc:  # an unrecorded session does not go on
                log(f"cannot record session output, ending it: {exc}")
                self.recorder = None
                asyncio.get_running_loop().create_task(self.shutdown("cannot record"))
                return
        if self.chan is not None and not self.chan.is_closing():
            self.chan.write(data)

    def _error(self, data: bytes) -> None:
        """A pipe child's standard error: recorded too, and sent as the client's stderr."""
        if self.recorder is not None:
            with contextlib.suppress(OSError):
                self.recorder.output(data)
        if self.chan is not None and not self.chan.is_closing():
            self.chan.write_stderr(data)

    def data_received(self, data: bytes, datatype: Any) -> None:
        self.connection.last_activity = time.monotonic()
        if self.child is not None:
            self.child.write(data)

    def terminal_size_changed(self, width: int, height: int, pixwidth: int, pixheight: int):
        if width and height:
            self.size = (width, height)
            if self.recorder is not None:
                with contextlib.suppress(OSError):
                    self.recorder.resize(width, height)
            if self.child is not None:
                self.child.resize(width, height)

    def pause_writing(self) -> None:
        if self.child is not None:
            self.child.pause_output()

    def resume_writing(self) -> None:
        if self.child is not None:
            self.child.resume_output()

    def eof_received(self) -> bool:
        # The client's input ended (ssh -tt < file): keep showing the screen
        # until the app exits, the idle timeout fires or the client leaves.
        # A command on pipes sees the end of its input (``--totp -`` reads it).
        if isinstance(self.child, PipeChild):
            self.child.close_input()
        return True

    # -- the end -------------------------------------------------------------------

    def _child_exited(self, status: int | None) -> None:
        if self._ending is not None:
            return  # ended by the server or the client: _finish closes the channel
        self._end_reason = "audit screen exited"
        if self.chan is not None and not self.chan.is_closing():
            self.chan.exit(status if status is not None and status >= 0 else 1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.connection.sessions.discard(self)
        if self._ending is None and self.live is not None:
            self._ending = asyncio.get_running_loop().create_task(
                self._finish(self._end_reason, None)
            )

    async def shutdown(self, reason: str, message: str | None = None) -> None:
        """Server-side end: stop the app, restore the client's terminal, say why."""
        if self._ending is None:
            self._end_reason = reason
            self._ending = asyncio.get_running_loop().create_task(self._finish(reason, message))
        await asyncio.shield(self._ending)

    async def _finish(self, reason: str, message: str | None) -> None:
        status = None
        if self.child is not None:
            status = await self.child.terminate()
        chan = self.chan
        if chan is not None and not chan.is_closing():
            farewell = TERMINAL_RESET + (message or f"pamtui: {reason}").encode() + b"\r\n"
            if self.recorder is not None:
                with contextlib.suppress(OSError):
                    self.recorder.output(farewell)
            chan.write(farewell)
            chan.exit(0)
        recording: dict[str, Any] = {}
        if self.recorder is not None:
            try:
                recording = self.recorder.close().detail()
            except OSError as exc:
                log(f"cannot finish the recording of this session: {exc}")
        live = self.live
        if live is None or live.ended:
            return
        live.ended = True
        self.server.sessions.pop(live.id, None)
        self.server._handles.pop(live.id, None)
        duration = round(time.time() - live.started, 1)
        log(f"session {live.id} ended ({reason}) after {duration} s")
        try:
            await self.server.journal(
                live.operator,
                "ssh_session_end",
                subject=f"ssh:{live.id}",
                detail={
                    **self.connection.base_detail(),
                    "session": live.id,
                    "duration_s": duration,
                    "reason": reason,
                    "exit_status": status,
                    **recording,
                },
            )
        except JournalError as exc:
            log(f"cannot journal the end of session {live.id}: {exc}")
