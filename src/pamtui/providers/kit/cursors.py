"""Stream cursors kept on disk: one atomic, owner-only writer for every provider.

Two shapes share it:

- :class:`SavedCursor`: one provider's own cursor file in its ``state_dir``
  (``{type}-{name}.cursor``, JSON ``{"cursor": ..., <scope>}``), so a stream
  started without a cursor resumes where the previous run stopped. The scope
  (the org and API host, the log path) is stored beside the cursor: a cursor
  saved for another org or file means nothing and is ignored.
- :class:`CursorStore`: pamtui's own record of the last event *shown* per
  provider (``stream-cursors.json`` beside the journal), see below.

A damaged or unreadable file costs a backfill, never the session: loading
returns None and says why in ``problem``; a failed write (read-only or full
disk) is reported the same way and the stream goes on.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pamtui import kept_files
from pamtui.leftovers import remove_dead_leftovers

log = logging.getLogger("pamtui.providers.cursors")

FILE_NAME = kept_files.STREAM_CURSORS.name
FORMAT = 1


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file, then rename), mode 0600.

    The temporary file sits in the same directory (so the rename is atomic)
    and is removed when anything fails; OSError is left to the caller.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            os.fchmod(out.fileno(), 0o600)
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def safe_file_name(text: str) -> str:
    """A provider name made safe as part of a file name."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


class SavedCursor:
    """One provider's stream cursor in ``state_dir/{prefix}-{name}.cursor``.

    ``scope`` is stored with the cursor and must match on load. ``every``
    throttles saves (a forced save ignores it); saving the cursor already
    saved does nothing. Files written by earlier versions still load: the
    aws-iam provider wrote the bare cursor text, not JSON.
    """

    def __init__(
        self,
        state_dir: Path | None,
        prefix: str,
        name: str,
        *,
        scope: Mapping[str, str] | None = None,
        every: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = (
            None
            if state_dir is None
            else kept_files.PROVIDER_CURSOR.in_directory(
                state_dir, f"{prefix}-{safe_file_name(name)}"
            )
        )
        if self.path is not None:  # once per store, not on every (throttled) write
            remove_dead_leftovers(self.path, hidden=True)
        self.scope = dict(scope or {})
        self.every = every
        self._clock = clock
        self._saved: str | None = None
        self._saved_at = -float("inf")
        self.problem = ""
        """Why the file could not be read or written ('' when fine)."""

    def load(self, validate: Callable[[str], Any] | None = None) -> str | None:
        """The saved cursor, or None (no file, another scope, or unreadable: see ``problem``).

        ``validate`` (e.g. the provider's cursor decoder) may raise to reject it.
        """
        if self.path is None:
            return None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self._ignore(exc)
            return None
        try:
            saved = json.loads(text)
        except ValueError:
            saved = None
        if isinstance(saved, dict):
            if any(saved.get(key) != value for key, value in self.scope.items()):
                return None  # another org, host or file: its cursor means nothing here
            cursor = saved.get("cursor")
        elif not self.scope and text.strip() and "\n" not in text.strip():
            cursor = text.strip()  # the bare text an earlier aws-iam provider wrote
        else:
            cursor = None
        if not isinstance(cursor, str) or not cursor:
            self._ignore(ValueError("no cursor in it"))
            return None
        if validate is not None:
            try:
                validate(cursor)
            except Exception as exc:  # the provider's decoder says what is wrong
                self._ignore(exc)
                return None
        self._saved = cursor
        return cursor

    def _ignore(self, exc: BaseException) -> None:
        """Say in ``problem`` (and the log) why the saved cursor is not used."""
        self.problem = f"ignoring unreadable cursor file {self.path}: {exc}"
        log.warning("%s", self.problem)

    def save(self, cursor: str | None, *, force: bool = False) -> bool:
        """Keep ``cursor``; False when nothing was written (throttled, same, or failed)."""
        if self.path is None or not cursor or cursor == self._saved:
            return False
        now = self._clock()
        if not force and now - self._saved_at < self.every:
            return False
        try:
            write_private(self.path, json.dumps({**self.scope, "cursor": cursor}))
        except OSError as exc:
            self.problem = f"cannot save cursor to {self.path}: {exc.strerror or exc}"
            log.warning("%s", self.problem)
            return False
        self._saved, self._saved_at = cursor, now
        self.problem = ""
        return True


class CursorStore:
    """The last event *shown* per provider, across restarts (``stream-cursors.json``).

    The cursor saved for a provider is that of the last event handed to the
    consumer (the TUI), not the last one read from the provider: events still
    in the feed's buffer when pamtui stops are read again next time rather
    than lost. So a restart shows no gap, and since a provider resumes
    strictly after the cursor, nothing is shown twice.

    Writes are throttled: at 5,000 events a second the cursor moves
    constantly, and a crash loses at most ``flush_every`` seconds of position,
    which the provider then replays (duplicates are impossible only for what
    was flushed; the window is documented in the README).
    """

    def __init__(
        self,
        path: Path,
        *,
        flush_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        remove_dead_leftovers(path, hidden=True)  # once per store, not every 2 s
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
        try:
            write_private(self.path, json.dumps(document, sort_keys=True))
        except OSError as exc:
            # A read-only or full disk must not stop the stream; the operator is told.
            self.problem = f"stream cursors not saved ({self.path}): {exc.strerror or exc}"
            return
        self._dirty = False
        self.problem = ""
