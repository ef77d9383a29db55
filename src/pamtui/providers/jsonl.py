"""``JsonlProvider``: an API gateway's JSON-lines access log as a live event stream.

Any gateway that writes one JSON object per line (Kong, Envoy, Traefik, nginx
with a JSON ``log_format``, a cloud load balancer shipped to a file) can show
its traffic in pamtui's live stream. The provider only reads events: it lists
no accounts or credentials and cannot revoke anything.

Settings (one ``[[providers]]`` table)::

    [[providers]]
    name = "edge"
    type = "jsonl"
    path = "/var/log/kong/access.jsonl"   # or: command = ["journalctl", "-f", "-o", "cat", "-u", "kong"]
    ts_format = "epoch_ms"                # iso8601 (default), epoch, epoch_ms
    poll_interval_s = 0.25                # how often an idle file is checked
    start_at = "end"                      # end (default): only new lines; beginning
    [providers.fields]                    # pamtui field = dotted path in the record
    ts = "started_at"                     # required
    account = "consumer.username"         # required
    credential = "authenticated_entity.id"
    method = "request.method"
    path = "request.uri"
    status = "response.status"
    source_ip = "client_ip"
    user_agent = "request.headers.user-agent"

A dotted path walks nested objects (``a.b.c``; a number indexes a list); a key
that itself contains dots (``"request.uri"``) is matched as a whole first.

Behaviour, ``path`` mode:

- Only complete lines are read; a partial last line is kept until its newline
  arrives. Blank lines are ignored.
- Rotation (the path now names another inode): the old file is read to its end,
  then the new one from its start. Truncation (the file shrank below what was
  read): reading starts again at 0. A missing file is waited for.
- Each event's ``cursor`` is ``"{inode}:{offset}"`` (offset of the line's end).
  ``stream_events(since)`` resumes after it: same inode, at that offset; other
  inode, the rotated-away file is looked up next to the log (a name starting
  with the log's name or stem, e.g. ``access.jsonl.1``) and finished from the
  offset, then the current file is read from its start. So a restart neither
  loses nor repeats lines (as long as the rotated file is still there).
- The last cursor is also kept in ``state_dir/jsonl-{name}.cursor`` (mode 0600,
  with the log path); when ``since`` is None and ``start_at`` is ``end`` the
  stream resumes from it.

Behaviour, ``command`` mode: the argv is run with no shell, in its own process
group, and its stdout is read line by line. The cursor is a line counter
(``"cmd:{n}"``): a command cannot be resumed, so ``since`` is ignored and no
cursor is persisted. When the command exits, the last line is read and the
stream raises a retryable :class:`ProviderError` with the exit status and the
end of its stderr. Closing the stream (or the provider) terminates the process
group (SIGTERM, then SIGKILL after 2 s).

Malformed lines (not a JSON object, a required field missing, a bad timestamp
or status, longer than 1 MiB) are skipped and counted in ``skipped``;
``last_error`` says what was wrong with the latest one. Text from the log is
untrusted and is passed through unchanged as data: the UI sanitises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import signal
import stat
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

from pamtui.model import (
    AccessEvent,
    Account,
    Capability,
    Credential,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError, where
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import (
    REQUIRED,
    Setting,
    SettingError,
    Settings,
    choice,
    seconds,
    string,
    table,
)

CHUNK = 64 * 1024
MAX_LINE = 1024 * 1024
"""A line longer than this is dropped (and counted) rather than buffered."""
SAVE_EVERY_S = 1.0
"""While events keep coming, the cursor file is rewritten at most this often."""
STOP_GRACE_S = 2.0
STDERR_TAIL = 2048

FIELDS = ("ts", "account", "credential", "method", "path", "status", "source_ip", "user_agent")
REQUIRED_FIELDS = ("ts", "account")
TS_FORMATS = ("iso8601", "epoch", "epoch_ms")
START_AT = ("end", "beginning")
_ONLY_EVENTS = "this provider only reads events"


def _path(raw: str) -> Path:
    return Path(raw).expanduser().absolute()


def _command(raw: Any) -> list[str]:
    # Not a "strings" setting: arguments are kept exactly (spaces, empty ones).
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(a, str) for a in raw)
        or not raw[0]
    ):
        raise SettingError(
            'must be a non-empty list of strings (an argv, e.g. ["journalctl", "-f"])'
            + f", not {type(raw).__name__} {_short(raw)}"
        )
    return list(raw)


def _fields(raw: Mapping[str, Any]) -> dict[str, str]:
    for key, value in raw.items():
        if key not in FIELDS:
            raise SettingError(
                f"is not a known field (known fields: {', '.join(FIELDS)})", key=f"fields.{key}"
            )
        if not isinstance(value, str) or not value or "" in value.split("."):
            raise SettingError(
                'must be a dotted JSON path such as "request.method"'
                + f", not {type(value).__name__} {_short(value)}",
                key=f"fields.{key}",
            )
    for key in REQUIRED_FIELDS:
        if key not in raw:
            raise SettingError("is required (a dotted JSON path)", key=f"fields.{key}")
    return dict(raw)


SETTINGS = Settings(
    string(
        "path",
        "the JSON-lines log file to tail (or: command)",
        non_empty=True,
        expected="the path of a JSON-lines file",
        check=_path,
    ),
    Setting(
        "command",
        "any",
        "an argv whose stdout is read, run without a shell (or: path)",
        expected='a non-empty list of strings (an argv, e.g. ["journalctl", "-f"])',
        check=_command,
    ),
    table(
        "fields",
        "pamtui field = dotted JSON path: ts and account required; credential, method, path, "
        "status, source_ip, user_agent",
        REQUIRED,
        expected="a table mapping pamtui fields to dotted JSON paths (ts and account required)",
        check=_fields,
    ),
    choice("ts_format", "how the ts field is written", TS_FORMATS, "iso8601"),
    seconds("poll_interval_s", "how often an idle file is checked", 0.25, low_open=True, high=60),
    choice("start_at", "end: only new lines; beginning: the whole file", START_AT, "end"),
)
"""Settings of ``type = "jsonl"``."""


class _Malformed(Exception):
    pass


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _lookup(record: Any, parts: list[str]) -> Any:
    """Follow a dotted path; ``None`` when any step is missing."""
    node = record
    for i, part in enumerate(parts):
        if isinstance(node, dict):
            rest = ".".join(parts[i:])
            if i < len(parts) - 1 and rest in node:
                return node[rest]
            if part not in node:
                return None
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _parse_ts(value: Any, fmt: str) -> datetime:
    if value is None:
        raise _Malformed("timestamp missing")
    try:
        if fmt == "iso8601":
            if not isinstance(value, str):
                raise _Malformed(f"timestamp {_short(value)} is not an ISO 8601 string")
            ts = datetime.fromisoformat(value.strip())
            if ts.tzinfo is None:
                ts = ts.replace(tzinfo=UTC)
            return ts.astimezone(UTC)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise _Malformed(f"timestamp {_short(value)} is not a number")
        seconds = float(value)
        if fmt == "epoch_ms":
            seconds /= 1000
        if not math.isfinite(seconds):
            raise _Malformed(f"timestamp {_short(value)} is not finite")
        return datetime.fromtimestamp(seconds, UTC)
    except _Malformed:
        raise
    except (ValueError, OverflowError, OSError) as exc:
        raise _Malformed(f"bad {fmt} timestamp {_short(value)}: {exc}") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _status(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool):
        raise _Malformed(f"status {_short(value)} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise _Malformed(f"status {_short(value)} is not an integer")


class _Lines:
    """Split a byte stream into complete lines; keep the partial rest."""

    def __init__(self, max_line: int | None = None) -> None:
        self.max_line = MAX_LINE if max_line is None else max_line
        self._buf = bytearray()
        self._dropped = 0
        """Bytes of an over-long line already thrown away (its end not seen yet)."""

    def feed(self, data: bytes) -> list[tuple[bytes | None, int]]:
        """Complete lines in ``data`` as ``(line or None if too long, bytes consumed)``."""
        self._buf += data
        out: list[tuple[bytes | None, int]] = []
        start = 0
        while (nl := self._buf.find(b"\n", start)) >= 0:
            length = nl + 1 - start
            if self._dropped:
                out.append((None, length + self._dropped))
                self._dropped = 0
            elif length - 1 > self.max_line:
                out.append((None, length))
            else:
                out.append((bytes(self._buf[start:nl]), length))
            start = nl + 1
        del self._buf[:start]
        if len(self._buf) > self.max_line:
            self._dropped += len(self._buf)
            self._buf.clear()
        return out

    def flush(self) -> tuple[bytes | None, int] | None:
        """The unterminated rest, as a last line (the stream has ended)."""
        if self._dropped:
            rest: tuple[bytes | None, int] = (None, self._dropped + len(self._buf))
        elif self._buf:
            rest = (bytes(self._buf), len(self._buf))
        else:
            return None
        self.reset()
        return rest

    @property
    def pending(self) -> bool:
        return bool(self._buf) or bool(self._dropped)

    def reset(self) -> None:
        self._buf.clear()
        self._dropped = 0


class _Tail:
    """One open log file: its inode and the offset after the last complete line."""

    def __init__(self, fh: BinaryIO, ino: int, pos: int, label: str) -> None:
        self.fh = fh
        self.ino = ino
        self.pos = pos
        self.label = label
        self.lines = _Lines()
        fh.seek(pos)

    def close(self) -> None:
        self.fh.close()


def _last_line_start(fh: BinaryIO, size: int) -> int:
    """Offset just after the last newline before ``size`` (0 if none)."""
    pos = size
    while pos > 0:
        step = min(CHUNK, pos)
        fh.seek(pos - step)
        i = fh.read(step).rfind(b"\n")
        if i >= 0:
            return pos - step + i + 1
        pos -= step
    return 0


def _parse_cursor(cursor: str) -> tuple[int, int]:
    ino, sep, off = cursor.partition(":")
    if not sep or not ino.isdigit() or not off.isdigit():
        raise ProviderError(f"not a jsonl file cursor: {cursor!r}")
    return int(ino), int(off)


class JsonlProvider(DeclaredProvider):
    """Access events tailed from a JSON-lines log file or a command's output."""

    type: ClassVar[str] = "jsonl"
    SETTINGS: ClassVar[Settings] = SETTINGS
    capabilities = frozenset({Capability.EVENTS})

    def __init__(
        self,
        name: str,
        *,
        fields: Mapping[str, str],
        path: Path | None = None,
        command: list[str] | None = None,
        ts_format: str = "iso8601",
        poll_interval_s: float = 0.25,
        start_at: str = "end",
        state_dir: Path | None = None,
    ) -> None:
        if (path is None) == (command is None):
            raise ProviderConfigError(
                f"provider {name!r} (type jsonl): set exactly one of path, command"
            )
        self.name = name
        self.path = path
        self.command = list(command) if command is not None else None
        self.fields = {key: str(value).split(".") for key, value in fields.items()}
        self.ts_format = ts_format
        self.poll_interval_s = float(poll_interval_s)
        self.start_at = start_at
        self.state_dir = state_dir
        self.skipped = 0
        """Malformed lines skipped so far."""
        self.last_error = ""
        """What was wrong with the latest skipped line (or the cursor file)."""
        self._procs: set[asyncio.subprocess.Process] = set()
        self._saved = SavedCursor(
            state_dir if path is not None else None,
            "jsonl",
            name,
            scope={"path": str(path)},
            every=SAVE_EVERY_S,
        )
        """The last cursor, kept between runs for this log file (path mode only)."""

    # -- configuration -------------------------------------------------------

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> JsonlProvider:
        if (values["path"] is None) == (values["command"] is None):
            raise ProviderConfigError(
                f"{where(name, cls.type)}: set exactly one of 'path' (a log file) or "
                "'command' (an argv list)"
            )
        return cls(
            name,
            state_dir=Path(context.state_dir),
            **SETTINGS.own(values),
        )

    # -- what this provider does not do --------------------------------------

    async def list_accounts(self) -> AsyncIterator[Account]:
        for account in ():
            yield account

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        for credential in ():
            yield credential

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        return []

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        raise ProviderError(_ONLY_EVENTS)

    async def verify(self, action: RevokeAction) -> VerifyResult:
        raise ProviderError(_ONLY_EVENTS)

    # -- records -------------------------------------------------------------

    def _skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        self.last_error = f"{where}: {reason}"

    def _event(self, line: bytes | None, cursor: str, where: str) -> AccessEvent | None:
        """The event on one line, or None (a malformed line is counted)."""
        if line is None:
            self._skip(where, f"line longer than {MAX_LINE} bytes")
            return None
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        try:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise _Malformed(f"not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise _Malformed(f"not a JSON object but {type(record).__name__}")
            values = {key: _lookup(record, parts) for key, parts in self.fields.items()}
            ts = _parse_ts(values["ts"], self.ts_format)
            account = values["account"]
            if account is None or account == "":
                raise _Malformed(
                    f"account missing (fields.account = {'.'.join(self.fields['account'])!r})"
                )
            if isinstance(account, (dict, list)):
                raise _Malformed(f"account {_short(account)} is not a string")
            return AccessEvent(
                provider=self.name,
                ts=ts,
                account_id=_text(account),
                credential_id=_text(values.get("credential")),
                method=_text(values.get("method")),
                path=_text(values.get("path")),
                status=_status(values.get("status")),
                source_ip=_text(values.get("source_ip")),
                user_agent=_text(values.get("user_agent")),
                cursor=cursor,
            )
        except _Malformed as exc:
            self._skip(where, str(exc))
            return None

    def _consume(self, tail: _Tail, data: bytes) -> list[AccessEvent]:
        events = []
        for line, length in tail.lines.feed(data):
            start = tail.pos
            tail.pos += length
            event = self._event(line, f"{tail.ino}:{tail.pos}", f"{tail.label} at byte {start}")
            if event is not None:
                events.append(event)
        return events

    # -- events --------------------------------------------------------------

    def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        if self.command is not None:
            return self._stream_command()
        if since is not None:
            _parse_cursor(since)  # fail early on a foreign cursor
        return self._stream_file(since)

    # .. files ...............................................................

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
        while data := tail.fh.read(CHUNK):
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

                data = tail.fh.read(CHUNK)
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

    # .. commands ............................................................

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
            while data := await proc.stdout.read(CHUNK):
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
        while data := await proc.stderr.read(CHUNK):
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

    async def aclose(self) -> None:
        for proc in list(self._procs):
            await self._stop(proc)

    def __repr__(self) -> str:
        source = f"path={self.path}" if self.path is not None else f"command={self.command!r}"
        return f"JsonlProvider(name={self.name!r}, {source})"
