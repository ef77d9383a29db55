"""Recordings: asciicast v2 written as it happens, checked against the journal on replay."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from pamtui.journal import Journal
from pamtui.safe_write import SafeWriteError
from pamtui.services import recordings
from pamtui.services.recordings import Recorder, RecordingError


def test_output_split_inside_a_character_is_recorded_whole(db_path) -> None:
    rec = Recorder.create(db_path, "s1", cols=80, rows=24, term="xterm")
    snow = "\u2603".encode()
    rec.output(b"a" + snow[:1])
    rec.output(snow[1:] + b"\x1b[0m")
    rec.resize(100, 30)
    summary = rec.close()
    data = rec.path.read_bytes()
    assert summary.sha256 == hashlib.sha256(data).hexdigest() and summary.size == len(data)
    header, *lines = data.decode().splitlines()
    assert json.loads(header)["width"] == 80
    events = [json.loads(line)[1:] for line in lines]
    assert "".join(t for k, t in events if k == "o") == "a\u2603\x1b[0m"
    assert ["r", "100x30"] in events
    assert os.stat(rec.path).st_mode & 0o777 == 0o600


def test_a_recording_is_never_written_over_a_file_or_through_a_link(db_path, tmp_path) -> None:
    Recorder.create(db_path, "s2", cols=80, rows=24).close()
    with pytest.raises(SafeWriteError):
        Recorder.create(db_path, "s2", cols=80, rows=24)
    target = tmp_path / "elsewhere"
    (recordings.recordings_dir(db_path) / "s3.cast").symlink_to(target)
    with pytest.raises(SafeWriteError):
        Recorder.create(db_path, "s3", cols=80, rows=24)
    assert not target.exists()


def _journalled(db_path, session: str, summary) -> None:
    journal = Journal.open(db_path)
    journal.append("alice", "ssh_session_start", subject=f"ssh:{session}",
                   detail={"session": session, "recording_file": summary.file})  # fmt: skip
    journal.append("alice", "ssh_session_end", subject=f"ssh:{session}",
                   detail={"session": session, "duration_s": 1.0, **summary.detail()})  # fmt: skip
    journal.close()


def test_play_keeps_the_timing_scaled_and_capped(db_path) -> None:
    rec = Recorder.create(db_path, "s4", cols=80, rows=24)
    rec.output(b"one")
    summary = rec.close()
    header, event = rec.path.read_text().splitlines()
    # Rewrite the timing as a recording of 0 s, 4 s and 10 s would have it.
    data = "\n".join([header, json.dumps([0.0, "o", "one"]), json.dumps([4.0, "o", "two"]),
                      json.dumps([10.0, "o", "three"])]) + "\n"  # fmt: skip
    waits: list[float] = []
    shown: list[str] = []
    recordings.play(data.encode(), shown.append, speed=2.0, max_wait=2.5, sleep=waits.append)
    assert shown == ["one", "two", "three"]
    assert waits == [2.0, 2.5]
    assert summary.size > 0


def test_a_changed_recording_fails_its_hash_check(db_path) -> None:
    rec = Recorder.create(db_path, "s5", cols=80, rows=24)
    rec.output(b"hello")
    summary = rec.close()
    _journalled(db_path, "s5", summary)
    journal = Journal.open(db_path, read_only=True)
    try:
        assert b"hello" in recordings.verified_recording(journal, db_path, "s5")
        rec.path.write_bytes(rec.path.read_bytes().replace(b"hello", b"HELLO"))
        with pytest.raises(RecordingError, match="does not match its hash"):
            recordings.verified_recording(journal, db_path, "s5")
    finally:
        journal.close()


@pytest.mark.parametrize("name", ["../pamtui.db", "/etc/passwd", "..", "sub/s7.cast", ""])
def test_a_recording_is_read_only_from_the_recordings_directory(db_path, name) -> None:
    rec = Recorder.create(db_path, "s7", cols=80, rows=24)
    rec.output(b"x")
    summary = rec.close()
    _journalled(db_path, "s7", recordings.Summary(name, summary.sha256, summary.size))
    journal = Journal.open(db_path, read_only=True)
    try:
        with pytest.raises(RecordingError, match="not a file in the recordings directory"):
            recordings.verified_recording(journal, db_path, "s7")
    finally:
        journal.close()


def test_a_recordings_directory_others_can_write_is_refused(db_path) -> None:
    directory = recordings.recordings_dir(db_path)
    directory.mkdir(parents=True)
    directory.chmod(0o777)
    with pytest.raises(RecordingError, match="writable by others"):
        Recorder.create(db_path, "s6", cols=80, rows=24)
    assert not (directory / "s6.cast").exists()
