"""A child process on a pseudo-terminal, driven from an asyncio loop.

The child is a session leader (``start_new_session``) and takes the pty as
its controlling terminal itself (``TIOCSCTTY``, see ``pamtui.ssh.audit``).
Bytes flow through the pty master without a thread: ``add_reader`` /
``add_writer`` on a non-blocking fd. Ending it is SIGHUP, then SIGTERM, then
SIGKILL to its process group, with short waits between.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import pty
import signal
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Mapping, Sequence

_READ_SIZE = 65536


def set_winsize(fd: int, cols: int, rows: int) -> None:
    cols = max(1, min(int(cols or 80), 1000))
    rows = max(1, min(int(rows or 24), 1000))
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class PtyChild:
    """``argv`` on a new pty of ``cols`` x ``rows``; output goes to ``on_output``."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        cols: int,
        rows: int,
        on_output: Callable[[bytes], None],
        on_exit: Callable[[int | None], None],
        cwd: str | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self._on_output = on_output
        self._on_exit = on_exit
        self._pending = bytearray()
        self._loop = asyncio.get_running_loop()
        self._reading = False
        self._closed = False
        self.returncode: int | None = None
        master, slave = pty.openpty()
        try:
            set_winsize(slave, cols, rows)
            self.proc = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=dict(env),
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
                pass_fds=tuple(pass_fds),
            )
        except BaseException:
            os.close(master)
            raise
        finally:
            os.close(slave)
        self.pid = self.proc.pid
        self.master = master
        os.set_blocking(master, False)
        self.resume_output()
        self._exit_watch = self._loop.create_task(self._watch_exit())

    # -- output: child -> client ---------------------------------------------

    def pause_output(self) -> None:
        if self._reading and not self._closed:
            self._loop.remove_reader(self.master)
            self._reading = False

    def resume_output(self) -> None:
        if not self._reading and not self._closed:
            self._loop.add_reader(self.master, self._readable)
            self._reading = True

    def _readable(self) -> None:
        try:
            data = os.read(self.master, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:  # EIO: every slave fd is closed (the child is gone)
                raise
            data = b""
        if data:
            self._on_output(data)
        else:
            self.pause_output()

    # -- input: client -> child --------------------------------------------

    def write(self, data: bytes) -> None:
        if self._closed:
            return
        if self._pending:
            self._pending += data
            return
        try:
            written = os.write(self.master, data)
        except BlockingIOError:
            written = 0
        except OSError:
            return  # the child is gone; its exit is reported separately
        if written < len(data):
            self._pending += data[written:]
            self._loop.add_writer(self.master, self._writable)

    def _writable(self) -> None:
        try:
            written = os.write(self.master, self._pending)
        except BlockingIOError:
            return
        except OSError:
            written = len(self._pending)
        del self._pending[:written]
        if not self._pending:
            self._loop.remove_writer(self.master)

    def resize(self, cols: int, rows: int) -> None:
        if self._closed:
            return
        with contextlib.suppress(OSError):
            set_winsize(self.master, cols, rows)
        # The kernel signals the foreground group; say it again in case the
        # child has not taken the pty as its controlling terminal yet.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGWINCH)

    # -- lifetime ------------------------------------------------------------

    async def _watch_exit(self) -> None:
        try:
            pidfd = os.pidfd_open(self.pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is not None:
            exited = asyncio.Event()
            self._loop.add_reader(pidfd, exited.set)
            try:
                await exited.wait()
            finally:
                self._loop.remove_reader(pidfd)
                os.close(pidfd)
        while self.proc.poll() is None:
            await asyncio.sleep(0.05)
        self.returncode = self.proc.returncode
        # Drain what the child wrote just before it exited.
        while not self._closed:
            try:
                data = os.read(self.master, _READ_SIZE)
            except OSError:
                break
            if not data:
                break
            self._on_output(data)
        self._close_fd()
        self._on_exit(self.returncode)

    def _close_fd(self) -> None:
        if self._closed:
            return
        self.pause_output()
        if self._pending:
            self._loop.remove_writer(self.master)
            self._pending.clear()
        self._closed = True
        os.close(self.master)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    async def terminate(self, grace: float = 1.0) -> int | None:
        """SIGHUP, then SIGTERM, then SIGKILL the child's group; its exit status."""
        for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + grace
            while self.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exit_watch), timeout=2)
        self._close_fd()
        return self.proc.poll()
