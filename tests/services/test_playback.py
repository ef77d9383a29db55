"""Replaying inside the app: the clock (services.playback.Playback) and the emulated screen."""

from __future__ import annotations

import json

import pytest

from pamtui.model import JournalEntry
from pamtui.services.playback import (
    FRAME,
    SPEEDS,
    Event,
    Playback,
    Recording,
    VirtualTerminal,
    parse,
)
from pamtui.services.recordings import Recorder, RecordingError, recorded_session


def cast(*events: tuple[float, str, str], width: int = 40, height: int = 5) -> bytes:
    header = json.dumps({"version": 2, "width": width, "height": height})
    return "\n".join([header, *(json.dumps(list(e)) for e in events)]).encode() + b"\n"


def test_a_recorder_file_parses_to_its_size_and_events(db_path) -> None:
    rec = Recorder.create(db_path, "p1", cols=100, rows=30)
    rec.output(b"hello ")
    rec.resize(90, 20)
    rec.output(b"world")
    rec.close()
    recording = parse(rec.path.read_bytes())
    assert (recording.columns, recording.rows) == (100, 30)
    assert [(e.kind, e.text) for e in recording.events] == [
        ("o", "hello "),
        ("r", "90x20"),
        ("o", "world"),
    ]


@pytest.mark.parametrize("bad", [b'{"version": 1}\n', b'{"version": 2}\n[1, "o"]\n', b"{\n"])
def test_what_is_not_asciicast_v2_is_one_clear_error(bad: bytes) -> None:
    with pytest.raises(RecordingError):
        parse(bad)


def test_a_huge_recorded_size_is_clipped() -> None:
    recording = parse(cast((0.0, "o", "x"), width=10**9, height=10**9))
    assert (recording.columns, recording.rows) == (500, 200)
    terminal = VirtualTerminal(10, 3)
    terminal.apply([Event(0.0, "r", f"{10**9}x{10**9}"), Event(0.0, "r", "junk")])
    assert (terminal.columns, terminal.rows) == (500, 200)


def test_the_clock_scales_caps_and_groups_events_into_frames() -> None:
    recording = parse(
        cast((0.0, "o", "a"), (0.01, "o", "b"), (4.0, "o", "c"), (10.0, "o", "d"), (30.0, "o", "e"))
    )
    playback = Playback(recording, speed=2.0, max_wait=2.5)
    assert playback.delay() == 0.0
    assert [e.text for e in playback.frame()] == ["a", "b"]  # 10 ms apart: one frame
    assert playback.delay() == pytest.approx((4.0 - 0.01) / 2)
    assert [e.text for e in playback.frame()] == ["c"]
    assert playback.delay() == 2.5  # 3 s at double speed, cut to max_wait
    playback.max_wait = None
    assert playback.delay() == 3.0
    assert [e.text for e in playback.frame()] == ["d"]
    assert [e.text for e in playback.rest()] == ["e"]
    assert playback.done and playback.delay() is None and playback.frame() == []
    assert playback.elapsed == 30.0 and playback.position == 5


def test_the_jump_to_the_end_goes_in_steps_of_a_budget() -> None:
    recording = Recording(80, 24, tuple(Event(float(i), "o", "x" * 100) for i in range(10)))
    playback = Playback(recording)
    steps = []
    while not playback.done:
        steps.append(len(playback.rest(250)))
    assert steps == [3, 3, 3, 1]  # each step passes the budget by at most one event
    huge = Playback(Recording(80, 24, (Event(0.0, "o", "y" * 10_000),)))
    assert len(huge.rest(10)) == 1 and huge.done  # never stuck on an event above the budget


def test_speed_steps_stop_at_both_ends_and_pause_toggles() -> None:
    playback = Playback(Recording(80, 24, ()))
    speeds = [playback.faster() for _ in range(len(SPEEDS) + 2)]
    assert speeds[-1] == SPEEDS[-1] and speeds[0] == 2.0
    speeds = [playback.slower() for _ in range(len(SPEEDS) + 2)]
    assert speeds[-1] == SPEEDS[0]
    assert playback.toggle_pause() is True and playback.toggle_pause() is False


def test_a_frame_is_one_frame_long_at_the_current_speed() -> None:
    step = FRAME * 0.6
    recording = Recording(80, 24, tuple(Event(i * step, "o", str(i)) for i in range(6)))
    slow = Playback(recording)
    assert len(slow.frame()) == 2  # 0 and 0.6 frames; 1.2 frames is the next one
    fast = Playback(recording, speed=4.0)
    assert len(fast.frame()) == 6


def test_the_emulator_interprets_sequences_and_keeps_only_cells() -> None:
    terminal = VirtualTerminal(30, 4)
    terminal.apply(
        [
            Event(0.0, "o", "\x1b]0;pwned-title\x07\x1b[2J\x1b[H"),
            Event(0.1, "o", "plain \x1b[1;31mRED\x1b[0m\r\n[bold red]x[/]"),
            Event(0.2, "o", "\x1b]52;c;cGF5bG9hZA==\x07\x1b[6n\x1b[c\x1b[?25l"),
        ]
    )
    lines = terminal.lines()
    assert lines[0].rstrip() == "plain RED"
    assert lines[1].rstrip() == "[bold red]x[/]"
    assert not any("\x1b" in line or "pwned" in line for line in lines)
    red = terminal.cells()[0][6]
    assert (red.data, red.fg, red.bold) == ("R", "red", True)
    assert terminal.cells()[0][0].fg == "default"
    assert terminal.cursor is None  # hidden by ?25l
    assert terminal.screen.title == ""  # a recording's title is dropped


def test_an_invisible_character_does_not_hide_the_rest_of_the_line() -> None:
    terminal = VirtualTerminal(30, 2)
    # pyte alone stops drawing at U+202E: "evil" and "after" would never be shown.
    terminal.apply([Event(0.0, "o", "RED \u202eevil\u200b after e\u0301")])
    assert terminal.lines()[0].rstrip() == "RED evil after \u00e9"


def _entry(action: str, subject: str, detail: dict) -> JournalEntry:
    return JournalEntry(1, "2026-12-01T00:00:00Z", "alice", action, "", subject, detail, "", "")


def test_only_a_recorded_sessions_start_and_end_lead_to_a_recording() -> None:
    recorded = {"session": "ab12", "recording_file": "ab12.cast"}
    assert recorded_session(_entry("ssh_session_start", "ssh:ab12", recorded)) == "ab12"
    assert recorded_session(_entry("ssh_session_end", "ssh:ab12", recorded)) == "ab12"
    assert recorded_session(_entry("ssh_session_start", "ssh:ab12", {"session": "ab12"})) is None
    assert recorded_session(_entry("ssh_refused", "ssh:ab12", recorded)) is None
    assert recorded_session(_entry("ssh_session_end", "credential:x", recorded)) is None
    assert recorded_session(_entry("ssh_session_end", "ssh:", recorded)) is None
