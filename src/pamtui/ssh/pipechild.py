"""A child process on plain pipes: an operator's command over SSH without a pty.

``ssh alice@bastion queue list --json`` asks for no terminal: its standard
output and standard error must stay apart (a script parses one and a person
reads the other), and nothing may turn ``\\n`` into ``\\r\\n``. Same interface
as :class:`pamtui.ssh.ptychild.PtyChild`, which serves the sessions with a pty.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence

_READ_SIZE = 65536


class PipeChild:
    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        on_output: Callable[[bytes], None],
        on_error: Callable[[bytes], None],
        on_exit: Callable[[int | None], None],
        cwd: str | None = None,
        pass_fds: Sequence[int] = (),
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._on_exit = on_exit
        self.proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
            pass_fds=tuple(pass_fds),
        )
        self.pid = self.proc.pid
        assert self.proc.stdin and self.proc.stdout and self.proc.stderr
        self._stdin = self.proc.stdin.fileno()
        self._open: dict[int, Callable[[bytes], None]] = {
            self.proc.stdout.fileno(): on_output,
            self.proc.stderr.fileno(): on_error,
        }
        self._paused = False
        for fd in self._open:
            os.set_blocking(fd, False)
            self._loop.add_reader(fd, self._readable, fd)
        self._done = asyncio.Event()
        self._exit_watch = self._loop.create_task(self._watch_exit())

    def _readable(self, fd: int) -> None:
        try:
            data = os.read(fd, _READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            self._open[fd](data)
            return
        self._loop.remove_reader(fd)
        del self._open[fd]
        if not self._open:
            self._done.set()

    def pause_output(self) -> None:
        if not self._paused:
            for fd in self._open:
                self._loop.remove_reader(fd)
            self._paused = True

    def resume_output(self) -> None:
        if self._paused:
            for fd in self._open:
                self._loop.add_reader(fd, self._readable, fd)
            self._paused = False

    def write(self, data: bytes) -> None:
        with contextlib.suppress(OSError):  # a command that reads no input closed it
            os.write(self._stdin, data)

    def close_input(self) -> None:
        with contextlib.suppress(OSError):
            assert self.proc.stdin is not None
            self.proc.stdin.close()

    def resize(self, cols: int, rows: int) -> None:
        return None

    async def _watch_exit(self) -> None:
        await self._done.wait()  # every byte read: both pipes are at end of file
        while self.proc.poll() is None:
            await asyncio.sleep(0.02)
        self.close_input()
        self._on_exit(self.proc.returncode)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    async def terminate(self, grace: float = 1.0) -> int | None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, sig)
            deadline = time.monotonic() + grace
            while self.proc.poll() is None and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
        for fd in list(self._open):
            self._loop.remove_reader(fd)
        self._open.clear()
        self._done.set()
        self.close_input()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._exit_watch), timeout=2)
        return self.proc.poll()
