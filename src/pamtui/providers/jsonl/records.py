"""Lines and records: complete lines from a byte stream, dotted paths, timestamps, statuses."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any, BinaryIO

from pamtui.providers.base import ProviderError

CHUNK = 64 * 1024


MAX_LINE = 1024 * 1024
"""A line longer than this is dropped (and counted) rather than buffered."""


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
