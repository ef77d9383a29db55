"""``FileTail``: follow a log file through rotation and truncation; its cursor; a command's output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pamtui.model import (
    AccessEvent,
)
from pamtui.providers.base import ProviderError
from pamtui.providers.jsonl import records
from pamtui.providers.jsonl.records import _last_line_start, _Lines, _parse_cursor, _Tail
from pamtui.providers.kit.cursors import SavedCursor

STOP_GRACE_S = 2.0


STDERR_TAIL = 2048


class FileTail:
    """Reading the log file or the command (a mixin of :class:`JsonlProvider`)."""

    name: str
    path: Path | None
    command: list[str] | None
    poll_interval_s: float
    start_at: str
    last_error: str
    _saved: SavedCursor
    _procs: set[asyncio.subprocess.Process]

    if TYPE_CHECKING:  # provided by JsonlProvider: parsing lines into events

        def _consume(self, tail: _Tail, data: bytes) -> list[AccessEvent]: ...

        def _skip(self, where: str, reason: str) -> None: ...

        def _event(self, line: bytes | None, cursor: str, where: str) -> AccessEvent | None: ...

    @property
    def cursor_file(self) -> Path | None:
        """Where the last cursor is kept between runs (path mode only)."""
        return self._saved.path

    def _load_cursor(self) -> tuple[int, int] | None:
        cursor = self._saved.load(_parse_cursor)
        if self._saved.problem:
            self.last_error = self._saved.problem
        return None if cursor is None else _parse_cursor(cursor)

    def _save_cursor(self, cursor: str | None, *, force: bool = False) -> None:
        if not self._saved.save(cursor, force=force) and self._saved.problem:
            self.last_error = self._saved.problem

    def _find_rotated(self, ino: int) -> Path | None:
        """The rotated-away log with inode ``ino`` next to the current one, if any."""
        assert self.path is not None
        prefixes = {self.path.name, self.path.stem}
        try:
            entries = list(os.scandir(self.path.parent))
        except OSError:
            return None
        for entry in entries:
            if entry.name == self.path.name or not entry.name.startswith(tuple(prefixes)):
                continue
            with contextlib.suppress(OSError):
                if entry.inode() == ino and entry.is_file(follow_symlinks=False):
                    return Path(entry.path)
        return None

    def _open(self, path: Path) -> tuple[BinaryIO, os.stat_result] | None:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - held open across awaits, closed in finally
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ProviderError(f"cannot read {path}: {exc}", retryable=True) from exc
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            fh.close()
            raise ProviderError(
                f"{path} is not a regular file (for a pipe or a socket use command = [...])"
            )
        return fh, st

    def _finish(self, tail: _Tail) -> list[AccessEvent]:
        """Read a file that will not grow any more to its end."""
        events: list[AccessEvent] = []
        while data := tail.fh.read(records.CHUNK):
            events.extend(self._consume(tail, data))
        if tail.lines.pending:
            rest = tail.lines.flush()
            assert rest is not None
            self._skip(f"{tail.label} at byte {tail.pos}", "incomplete last line (no newline)")
            tail.pos += rest[1]
        return events

    async def _stream_file(self, since: str | None) -> AsyncIterator[AccessEvent]:
        assert self.path is not None
        path = self.path
        resume = _parse_cursor(since) if since is not None else None
        if resume is None and self.start_at == "end":
            resume = self._load_cursor()
        delivered: str | None = None
        tail: _Tail | None = None

        # Where the first open starts: an offset, or None for "after the last line".
        start: int | None = 0
        resume_ino: int | None = None
        if resume is not None:
            resume_ino, start = resume
            try:
                current_ino: int | None = os.stat(path).st_ino
            except OSError:
                current_ino = None
            if current_ino != resume_ino:
                # The file we were reading rotated away: finish it if it is still here.
                old = self._find_rotated(resume_ino)
                opened = self._open(old) if old is not None else None
                if opened is not None:
                    fh, st = opened
                    old_tail = _Tail(fh, st.st_ino, start if start <= st.st_size else 0, str(old))
                    try:
                        for event in self._finish(old_tail):
                            delivered = event.cursor
                            yield event
                    finally:
                        old_tail.close()
                start = 0
        elif self.start_at == "end" and path.exists():
            start = None

        try:
            while True:
                if tail is None:
                    opened = self._open(path)
                    if opened is None:
                        start = 0  # appears later: all of it is new
                        await asyncio.sleep(self.poll_interval_s)
                        continue
                    fh, st = opened
                    if start is None:
                        pos = _last_line_start(fh, st.st_size)
                    elif resume_ino is not None and st.st_ino != resume_ino:
                        pos = 0
                    else:
                        pos = start if start <= st.st_size else 0
                    tail = _Tail(fh, st.st_ino, pos, str(path))
                    start, resume_ino = 0, None

                data = tail.fh.read(records.CHUNK)
                if data:
                    for event in self._consume(tail, data):
                        delivered = event.cursor
                        yield event
                    self._save_cursor(delivered)
                    await asyncio.sleep(0)
                    continue

                # At the end of the file: rotated, truncated, or just quiet?
                try:
                    now_ino: int | None = os.stat(path).st_ino
                except FileNotFoundError:
                    now_ino = None  # moved away, nothing new yet: keep reading the old one
                if now_ino is not None and now_ino != tail.ino:
                    try:
                        events = self._finish(tail)
                    finally:
                        tail.close()
                    done = f"{tail.ino}:{tail.pos}"
                    tail = None
                    for event in events:
                        delivered = event.cursor
                        yield event
                    delivered = done
                    continue
                if os.fstat(tail.fh.fileno()).st_size < tail.fh.tell():
                    tail.fh.seek(0)
                    tail.pos = 0
                    tail.lines.reset()
                    continue
                if not tail.lines.pending:
                    delivered = f"{tail.ino}:{tail.pos}"  # skipped lines need no re-reading
                self._save_cursor(delivered, force=True)
                await asyncio.sleep(self.poll_interval_s)
        finally:
            if tail is not None:
                tail.close()
            self._save_cursor(delivered, force=True)

    async def _stream_command(self) -> AsyncIterator[AccessEvent]:
        assert self.command is not None
        argv = self.command
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=os.name == "posix",
            )
        except OSError as exc:
            raise ProviderError(f"cannot run {argv[0]!r}: {exc}", retryable=True) from exc
        self._procs.add(proc)
        stderr = bytearray()
        drain = asyncio.create_task(self._drain_stderr(proc, stderr))
        lines = _Lines()
        count = 0
        label = f"command {argv[0]}"

        def parse(items: list[tuple[bytes | None, int]]) -> Iterator[AccessEvent]:
            nonlocal count
            for line, _length in items:
                count += 1
                event = self._event(line, f"cmd:{count}", f"{label} line {count}")
                if event is not None:
                    yield event

        try:
            assert proc.stdout is not None
            while data := await proc.stdout.read(records.CHUNK):
                for event in parse(lines.feed(data)):
                    yield event
            rest = lines.flush()
            for event in parse([rest] if rest is not None else []):
                yield event
            code = await proc.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(drain), 1.0)
            said = stderr.decode("utf-8", errors="replace").strip()
            raise ProviderError(
                f"{label} exited with status {code}" + (f": {said}" if said else ""),
                retryable=True,
            )
        finally:
            drain.cancel()
            await self._stop(proc)
            self._procs.discard(proc)

    @staticmethod
    async def _drain_stderr(proc: asyncio.subprocess.Process, keep: bytearray) -> None:
        assert proc.stderr is not None
        while data := await proc.stderr.read(records.CHUNK):
            keep += data
            del keep[:-STDERR_TAIL]

    @staticmethod
    async def _stop(proc: asyncio.subprocess.Process) -> None:
        if proc.returncode is not None:
            return

        def send(sig: int) -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.name == "posix":
                    os.killpg(proc.pid, sig)  # its own group: children go too
                else:
                    proc.send_signal(sig)

        kill = getattr(signal, "SIGKILL", signal.SIGTERM)
        send(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
        except TimeoutError:
            send(kill)
            await proc.wait()
        except asyncio.CancelledError:
            send(kill)
            raise
