"""Where each provider's event stream got to, kept across restarts.

The cursor saved for a provider is that of the last event *handed to the
consumer* (the TUI), not the last one read from the provider: events still in
the feed's buffer when pamtui stops are read again next time rather than lost.
So a restart shows no gap, and since a provider resumes strictly after the
cursor, nothing is shown twice.

The file is small JSON beside the journal, written atomically (temporary file
then rename) and owner-only. Writes are throttled: at 5,000 events a second
the cursor moves constantly, and a crash loses at most ``flush_every`` seconds
of position, which the provider then replays (duplicates are impossible only
for what was flushed; the window is documented in the README).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

FILE_NAME = "stream-cursors.json"
FORMAT = 1


class CursorStore:
    def __init__(
        self,
        path: Path,
        *,
        flush_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.flush_every = flush_every
        self._clock = clock
        self._cursors: dict[str, dict[str, str]] = {}
        self._dirty = False
        self._last_flush = clock()
        self.problem = ""
        """Why the file could not be read or written, for the status line ('' when fine)."""
        self._load()

    @classmethod
    def beside(cls, db_path: Path, **options: Any) -> CursorStore:
        return cls(Path(db_path).parent / FILE_NAME, **options)

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # A damaged file costs a backfill, never the session.
            self.problem = f"stream cursors ignored ({self.path}): {exc}"
            return
        if not isinstance(raw, dict) or raw.get("format") != FORMAT:
            self.problem = f"stream cursors ignored ({self.path}): unknown format"
            return
        streams = raw.get("streams")
        if not isinstance(streams, dict):
            self.problem = f"stream cursors ignored ({self.path}): unknown format"
            return
        for name, entry in streams.items():
            if (
                isinstance(entry, dict)
                and isinstance(entry.get("cursor"), str)
                and isinstance(entry.get("type"), str)
            ):
                self._cursors[name] = {"type": entry["type"], "cursor": entry["cursor"]}

    def since(self, types: Mapping[str, str]) -> dict[str, str | None]:
        """The cursor to resume each provider from; None when unknown or its type changed.

        ``types`` maps provider name to provider type: a cursor saved for an okta
        provider means nothing to a scim provider that took over the name.
        """
        found: dict[str, str | None] = {}
        for name, type_ in types.items():
            entry = self._cursors.get(name)
            found[name] = entry["cursor"] if entry and entry["type"] == type_ else None
        return found

    def advance(self, name: str, type_: str, cursor: str) -> None:
        """Record that the event with ``cursor`` was shown; flushes when due."""
        if not cursor:
            return
        self._cursors[name] = {"type": type_, "cursor": cursor}
        self._dirty = True
        if self._clock() - self._last_flush >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._dirty:
            return
        self._last_flush = self._clock()
        document = {"format": FORMAT, "streams": self._cursors}
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(document, out, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:
            # A read-only or full disk must not stop the stream; the operator is told.
            self.problem = f"stream cursors not saved ({self.path}): {exc.strerror or exc}"
            tmp.unlink(missing_ok=True)
            return
        self._dirty = False
        self.problem = ""
