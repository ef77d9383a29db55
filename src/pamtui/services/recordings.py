"""Operator sessions are recorded: asciicast v2 files, their hash in the journal.

Privileged access management watches privileged access; here that applies to
the operators themselves. Each ``pamtui serve-ssh`` session's terminal
output (what the operator saw, never what they typed: a typed TOTP code is
not output) is written as it happens to an asciicast v2 file
(``recordings/SESSION.cast`` beside the database, 0600 in a 0700 directory,
created new through :func:`pamtui.safe_write.check_target`'s rules: never
through a symlink, never over an existing file, never the database). When
the session ends its SHA-256 and size go into the journal's
``ssh_session_end`` entry (``recording_file``, ``recording_sha256``,
``recording_bytes``), which the hash chain then covers.

Replaying (``pamtui sessions play ID``) reads the file once, checks it
against the journal and refuses it if it was altered, truncated or
extended; only then are its events written to the terminal, with their
timing. The output is the TUI's own (its escape sequences are replayed as
recorded); a file that is not what the service wrote never reaches the
terminal. The audit screen (``w``) makes the same check, then plays the
output inside the app through a VT100 emulator (``services/playback.py``).
"""

from __future__ import annotations

import codecs
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pamtui import kept_files
from pamtui.errors import EXIT_FALSE, EXIT_USAGE, PamtuiError
from pamtui.journal import EntryFilter, Journal
from pamtui.model import JournalEntry
from pamtui.safe_write import FILE_MODE, check_target

DIRECTORY = kept_files.RECORDINGS.name
SESSION_START = "ssh_session_start"
SESSION_END = "ssh_session_end"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class RecordingError(PamtuiError):
    """A recording is missing, unfinished, or does not match the journal."""

    exit_code = EXIT_FALSE
    label = "sessions"


class UnknownSession(RecordingError):
    exit_code = EXIT_USAGE


def recordings_dir(db_path: Path | str) -> Path:
    return Path(db_path).expanduser().parent / DIRECTORY


def file_name(session_id: str) -> str:
    return f"{session_id}.cast"


@dataclass(frozen=True)
class Summary:
    """What the journal keeps of a finished recording."""

    file: str
    sha256: str
    size: int

    def detail(self) -> dict[str, Any]:
        return {
            "recording_file": self.file,
            "recording_sha256": self.sha256,
            "recording_bytes": self.size,
        }


class Recorder:
    """Writes one session's output as asciicast v2, as it happens, hashing what it writes."""

    def __init__(self, fd: int, path: Path, started: float) -> None:
        self._fd = fd
        self.path = path
        self._started = started
        self._hash = hashlib.sha256()
        self._size = 0
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._summary: Summary | None = None

    @classmethod
    def create(
        cls,
        db_path: Path | str,
        session_id: str,
        *,
        cols: int,
        rows: int,
        term: str = "",
        title: str = "",
    ) -> Recorder:
        """A new recording for ``session_id``; OSError or SafeWriteError if it cannot be."""
        directory = recordings_dir(db_path)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if directory.stat().st_mode & 0o022:  # others could remove or replace recordings
            raise RecordingError(
                f"{directory}: the recordings directory is writable by others; "
                f"fix with: chmod go-w {directory}"
            )
        target = check_target(
            directory / file_name(session_id), protect=[db_path], own=kept_files.RECORDINGS
        )
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        started = time.time()
        recorder = cls(fd, target, started)
        header: dict[str, Any] = {
            "version": 2,
            "width": cols,
            "height": rows,
            "timestamp": int(started),
            "env": {"TERM": term},
        }
        if title:
            header["title"] = title
        recorder._write(json.dumps(header, ensure_ascii=True) + "\n")
        return recorder

    def _write(self, line: str) -> None:
        data = line.encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._hash.update(data)
        self._size += len(data)

    def _event(self, kind: str, text: str) -> None:
        if self._summary is not None or not text:
            return
        elapsed = round(time.time() - self._started, 6)
        self._write(json.dumps([elapsed, kind, text], ensure_ascii=True) + "\n")

    def output(self, data: bytes) -> None:
        """Terminal output, as the client received it (split UTF-8 is joined)."""
        self._event("o", self._decoder.decode(data))

    def resize(self, cols: int, rows: int) -> None:
        self._event("r", f"{cols}x{rows}")

    def close(self) -> Summary:
        """Finish the file (fsynced) and return what the journal keeps; idempotent."""
        if self._summary is None:
            self._event("o", self._decoder.decode(b"", final=True))
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
            self._summary = Summary(self.path.name, self._hash.hexdigest(), self._size)
        return self._summary


# -- reading ------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    session: str
    operator: str
    key_fingerprint: str
    client: str
    started: str
    duration_s: float | None
    reason: str
    recording: Summary | None

    @property
    def ended(self) -> bool:
        return self.duration_s is not None


def _summary(detail: dict[str, Any]) -> Summary | None:
    name, digest, size = (
        detail.get("recording_file"),
        detail.get("recording_sha256"),
        detail.get("recording_bytes"),
    )
    if isinstance(name, str) and isinstance(digest, str) and isinstance(size, int):
        return Summary(name, digest, size)
    return None


def list_sessions(journal: Journal, *, limit: int = 1000) -> list[SessionInfo]:
    """Recorded SSH sessions, newest first, from the journal's start and end entries."""
    ends = {e.subject: e for e in journal.entries(EntryFilter(action=SESSION_END), limit=limit)}
    found: list[SessionInfo] = []
    for start in journal.entries(EntryFilter(action=SESSION_START), limit=limit):
        if "recording_file" not in start.detail:
            continue  # from before sessions were recorded
        end = ends.get(start.subject)
        detail = end.detail if end is not None else {}
        duration = detail.get("duration_s")
        found.append(
            SessionInfo(
                session=str(start.detail.get("session", start.subject)),
                operator=start.actor,
                key_fingerprint=str(start.detail.get("key_fingerprint", "")),
                client=str(start.detail.get("client", "")),
                started=start.ts,
                duration_s=float(duration) if isinstance(duration, int | float) else None,
                reason=str(detail.get("reason", "")),
                recording=_summary(detail),
            )
        )
    return found


def recorded_session(entry: JournalEntry) -> str | None:
    """The session id whose recording ``entry`` announces, or None.

    The start and end entries of a recorded session (subject ``ssh:ID``, a
    ``recording_file`` in the detail) are the ones that lead to a recording;
    a start from before sessions were recorded, or any other entry, does not.
    """
    if entry.action not in (SESSION_START, SESSION_END) or "recording_file" not in entry.detail:
        return None
    kind, _, session = entry.subject.partition(":")
    return session if kind == "ssh" and session else None


def verified_recording(journal: Journal, db_path: Path | str, session_id: str) -> bytes:
    """The recording's bytes, once checked against the journal; RecordingError if not."""
    subject = f"ssh:{session_id}"
    starts = journal.entries(EntryFilter(action=SESSION_START, subject=subject), limit=1)
    if not starts:
        raise UnknownSession(f"no recorded session {session_id!r} (see 'pamtui sessions list')")
    ends = journal.entries(EntryFilter(action=SESSION_END, subject=subject), limit=1)
    summary = _summary(ends[0].detail) if ends else None
    if summary is None:
        raise RecordingError(
            f"session {session_id} has no recorded end in the journal (still running, or the "
            "service stopped before it could record its hash): it cannot be checked"
        )
    if summary.file in ("", ".", "..") or Path(summary.file).name != summary.file:
        raise RecordingError(
            f"session {session_id}: the journal names the recording {summary.file!r}, "
            "which is not a file in the recordings directory; refusing to read it"
        )
    path = recordings_dir(db_path) / summary.file
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _CLOEXEC)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc.strerror}") from None
    with open(fd, "rb") as handle:
        data = handle.read()
    if len(data) != summary.size or hashlib.sha256(data).hexdigest() != summary.sha256:
        raise RecordingError(
            f"{path} does not match its hash in the journal (entry #{ends[0].seq}): "
            "the recording was altered; refusing to replay it"
        )
    return data


def events(data: bytes) -> Iterator[tuple[float, str, str]]:
    """The asciicast v2 events (time, kind, text) of a verified recording."""
    lines = data.decode("utf-8").splitlines()
    header = json.loads(lines[0]) if lines else {}
    if not isinstance(header, dict) or header.get("version") != 2:
        raise RecordingError("not an asciicast v2 recording")
    for line in lines[1:]:
        when, kind, text = json.loads(line)
        yield float(when), str(kind), str(text)


def play(
    data: bytes,
    write: Callable[[str], None],
    *,
    speed: float = 1.0,
    max_wait: float | None = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Write the output events with their timing (``speed`` times faster); returns events.

    Pauses longer than ``max_wait`` (after the speed-up) are cut to it, as
    a session's idle minutes are not worth waiting through again.
    """
    previous = 0.0
    shown = 0
    for when, kind, text in events(data):
        delay = max(0.0, when - previous) / speed
        previous = when
        if max_wait is not None:
            delay = min(delay, max_wait)
        if delay > 0:
            sleep(delay)
        if kind == "o":
            write(text)
            shown += 1
    return shown
