"""Replaying a recorded SSH session from the audit screen (w), inside the app.

Real parts throughout: recordings written by the service's own ``Recorder``
(or, for the snapshot, a hand-timed asciicast file whose hash is journalled
the same way), a real journal file opened read-only as ``pamtui audit`` and
the auditors' SSH audit app open it, and the Textual Pilot.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from textual.widgets import Static

from pamtui.journal import Journal
from pamtui.sanitize import is_clean
from pamtui.services.playback import Event, VirtualTerminal, parse
from pamtui.services.recordings import (
    Recorder,
    Summary,
    file_name,
    recordings_dir,
    verified_recording,
)
from pamtui.ssh.audit import SshAuditApp
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import AuditScreen, JournalTable
from pamtui.tui.screens.replay import ReplayScreen
from pamtui.tui.widgets.terminal_view import TerminalView, colour, screen_text

SIZE = (120, 40)
HOSTILE = (
    b"\x1b]0;pwned-title\x07\x1b]52;c;cGF5bG9hZA==\x07"  # a title, a clipboard write
    b"[bold red]x[/] [@click=app.quit]click[/]\r\n"  # markup, to be shown as typed
    b"\x1b[31mRED\x1b[0m \xe2\x80\xaeevil\r\n"  # a colour for the emulator; a bidi override
    b"\x1b[6n\x1b[c"  # queries a terminal would answer
)


def journal_session(db_path: Path, session: str, summary: Summary, *, ts: str = "") -> None:
    """The start and end entries serve-ssh writes around a recorded session."""
    stamp = {"ts": ts} if ts else {}
    journal = Journal.open(db_path)
    with journal.transaction() as tx:
        tx.append("alice", "stage", subject="credential:t1", detail={"label": "before"}, **stamp)
        tx.append("alice", "ssh_session_start", subject=f"ssh:{session}",
                  detail={"session": session, "recording_file": summary.file}, **stamp)  # fmt: skip
        tx.append("alice", "ssh_session_end", subject=f"ssh:{session}",
                  detail={"session": session, "duration_s": 1.0, "reason": "client disconnected",
                          **summary.detail()}, **stamp)  # fmt: skip
        tx.append("bob", "stage", subject="credential:t2", detail={"label": "after"}, **stamp)
    journal.close()


def record(db_path: Path, session: str, *chunks: bytes, cols: int = 60, rows: int = 8) -> Path:
    """A recording made by the service's Recorder, journalled as serve-ssh does."""
    rec = Recorder.create(db_path, session, cols=cols, rows=rows, term="xterm-256color")
    for chunk in chunks:
        rec.output(chunk)
    journal_session(db_path, session, rec.close())
    return rec.path


def select(app, action: str) -> None:
    table = app.screen.query_one(JournalTable)
    row = next(n for n, e in enumerate(table.entries) if e.action == action)
    table.move_cursor(row=row)


async def open_replay(app, pilot, action: str = "ssh_session_end") -> None:
    await app.workers.wait_for_complete()
    select(app, action)
    await pilot.pause()
    await pilot.press("w")
    await app.workers.wait_for_complete()
    await pilot.pause()


def shown(app) -> str:
    return str(app.screen.query_one(TerminalView).render())


def messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_p_replays_the_recording_inside_the_app(db_path):
    record(db_path, "c0ffee01", b"\x1b[2J\x1b[Hwelcome alice\r\n", b"chain verified: 42 entries")
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        assert isinstance(app.screen, ReplayScreen)
        for _ in range(200):  # the recorded timing: a few ms, each pause cut to 2 s at most
            if app.screen.playback.done:
                break
            await pilot.pause(0.05)
        assert app.screen.playback.done
        assert "welcome alice" in shown(app) and "chain verified: 42 entries" in shown(app)
        assert "end of recording" in str(app.screen.query_one("#replay-status", Static).render())
        await pilot.press("q")  # closes the replay, does not quit the app
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen) and app.is_running


async def test_the_start_entry_replays_too(db_path):
    record(db_path, "c0ffee02", b"first frame")
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot, "ssh_session_start")
        assert isinstance(app.screen, ReplayScreen) and app.screen.session == "c0ffee02"


async def test_keys_pause_change_speed_skip_to_the_end_and_close(db_path):
    hand_timed_recording(db_path, "c0ffee08", gap=3600.0)
    journal = Journal.open(db_path, read_only=True)
    recording = parse(verified_recording(journal, db_path, "c0ffee08"))
    app = AuditApp(journal)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        # No cap on the hour-long pause: the replay waits there for the keys below.
        screen = ReplayScreen(recording, session="c0ffee08", operator="alice", max_wait=None)
        await app.push_screen(screen)
        for _ in range(100):
            if "not markup" in shown(app):
                break
            await pilot.pause(0.05)
        assert "not markup" in shown(app) and "Quit" not in shown(app)
        await pilot.press("space")
        assert screen.playback.paused
        assert "paused" in str(screen.query_one("#replay-status", Static).render())
        await pilot.press("plus", "plus")
        assert screen.playback.speed == 4.0
        await pilot.press("minus", "minus", "minus")
        assert screen.playback.speed == 0.5
        await pilot.press("end")
        await pilot.pause()
        assert screen.playback.done and "Quit" in shown(app)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)


async def test_a_long_recording_is_skipped_through_in_steps(db_path):
    lines = [f"\x1b[{1 + n % 8};1Hline {n:05d} ".encode() + b"." * 500 for n in range(400)]
    record(db_path, "c0ffee09", *lines, b"\x1b[2J\x1b[Hthe very end")
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("space")  # paused at the start, wherever the clock was
        await pilot.press("end")
        for _ in range(400):
            if screen.playback.done and not screen.skipping:
                break
            await pilot.pause(0.05)
        assert screen.playback.done and not screen.skipping
        assert "the very end" in shown(app)
        assert "end of recording" in str(screen.query_one("#replay-status", Static).render())


async def test_end_jumps_to_the_end_even_when_the_pane_scrolls(db_path):
    record(db_path, "c0ffee0a", b"top line\r\n", b"\x1b[30;1Hbottom line", cols=100, rows=30)
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=(60, 16)) as pilot:  # smaller than the recorded 100x30
        await open_replay(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReplayScreen)
        await pilot.press("space", "end")
        await pilot.pause()
        assert screen.playback.done and "bottom line" in shown(app)


async def test_the_key_shows_only_where_it_applies_and_says_why_not_elsewhere(db_path):
    record(db_path, "c0ffee03", b"hello")
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        select(app, "stage")
        await pilot.pause()
        ids = {a.binding.id for a in app.screen.active_bindings.values()}
        assert "audit.replay" not in ids  # not in the footer, nor in the help
        await pilot.press("w")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        assert any("has no session recording" in m for m in messages(app))
        select(app, "ssh_session_end")
        await pilot.pause()
        ids = {a.binding.id for a in app.screen.active_bindings.values()}
        assert "audit.replay" in ids and "audit.replay_unavailable" not in ids


@pytest.mark.parametrize(
    "keys",
    [
        {"audit.replay": "b"},  # the hidden "not available" binding moves with it
        {"audit.replay": "b", "audit.replay_unavailable": "b"},
    ],
)
async def test_the_replay_key_is_remapped_by_its_id(db_path, keys):
    record(db_path, "c0ffee0b", b"remapped")
    app = AuditApp(Journal.open(db_path, read_only=True), keys=keys)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        select(app, "stage")
        await pilot.pause()
        await pilot.press("w")  # no longer the key: nothing happens
        await pilot.pause()
        assert messages(app) == [] and isinstance(app.screen, AuditScreen)
        await pilot.press("b")
        await pilot.pause()
        assert any("has no session recording" in m for m in messages(app))
        select(app, "ssh_session_end")
        await pilot.pause()
        await pilot.press("b")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, ReplayScreen)


async def test_an_altered_recording_is_refused_and_nothing_is_played(db_path):
    path = record(db_path, "c0ffee04", b"the real output")
    path.write_bytes(path.read_bytes().replace(b"real", b"fake"))  # same size, other hash
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        assert not app.screen.query(TerminalView)
        refused = [m for m in messages(app) if m.startswith("replay refused")]
        assert len(refused) == 1 and "does not match its hash in the journal" in refused[0]
        assert "\n" not in refused[0]


async def test_a_recording_replaced_by_a_symlink_is_refused(db_path, tmp_path):
    path = record(db_path, "c0ffee05", b"output")
    elsewhere = tmp_path / "elsewhere.cast"
    elsewhere.write_bytes(path.read_bytes())  # the very same bytes, through a link
    path.unlink()
    path.symlink_to(elsewhere)
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        assert isinstance(app.screen, AuditScreen)
        assert any("cannot read the recording" in m for m in messages(app))


async def test_hostile_output_is_shown_literally_and_interpreted_only_by_the_emulator(db_path):
    record(db_path, "c0ffee06", HOSTILE)
    app = AuditApp(Journal.open(db_path, read_only=True))
    title = app.title
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        await pilot.press("end")
        await pilot.pause()
        assert app.is_running  # [@click=app.quit] was text, not an action
        text = shown(app)
        assert "[bold red]x[/] [@click=app.quit]click[/]" in text
        assert "RED" in text and "evil" in text and "\u202e" not in text
        assert "pwned" not in text and "cGF5bG9hZA" not in text and app.title == title
        assert is_clean(text.replace("\n", ""))  # nothing a terminal would act on
        picture = screen_text(app.screen.query_one(TerminalView).terminal)
        red = picture.plain.index("RED")
        styles = [s for s in picture.spans if s.start <= red < s.end]
        assert any(str(s.style) == "red" for s in styles)  # the colour, from pyte's cell


def test_the_emulators_colours_become_rich_colours():
    assert [colour(c) for c in ("red", "brown", "brightbrown", "FF8700", "default", "mauve")] == [
        "red",
        "yellow",
        "bright_yellow",
        "#ff8700",
        None,
        None,
    ]
    terminal = VirtualTerminal(20, 2)
    terminal.apply([Event(0.0, "o", "\x1b[38;5;208;48;2;1;2;3;1;4mhot\x1b[0m \x1b[7mrev")])
    picture = screen_text(terminal)
    hot = next(s.style for s in picture.spans if picture.plain[s.start : s.end] == "hot")
    assert (hot.color.name, hot.bgcolor.name, hot.bold, hot.underline) == (
        "#ff8700",
        "#010203",
        True,
        True,
    )
    at = picture.plain.index("rev")
    assert any(s.start <= at < s.end and s.style.reverse for s in picture.spans)


async def test_auditors_over_ssh_replay_read_only_and_nothing_is_journalled(db_path):
    record(db_path, "c0ffee07", b"seen by the auditor")
    before = Journal.open(db_path, read_only=True)
    head = before.head()
    before.close()
    app = SshAuditApp(Journal.open(db_path, read_only=True), operator="carol")
    async with app.run_test(size=SIZE) as pilot:
        await open_replay(app, pilot)
        assert isinstance(app.screen, ReplayScreen)
        await pilot.press("end")
        await pilot.pause()
        assert "seen by the auditor" in shown(app)
    after = Journal.open(db_path, read_only=True)
    assert after.head() == head  # a replay, like 'sessions play', writes no entry
    after.close()


def hand_timed_recording(db_path: Path, session: str, *, gap: float = 1.75) -> None:
    """A fixed recording (its times are not the clock's), journalled as serve-ssh would."""
    header = {"version": 2, "width": 48, "height": 8, "timestamp": 1764547200}
    rows = [
        [0.0, "o", "\x1b[2J\x1b[H\x1b[1;37;44m pamtui audit (read-only) \x1b[0m\r\n"],
        [0.5, "o", "\x1b[32mchain verified:\x1b[0m 42 entries\r\n"],
        [1.25, "o", "\x1b[33m[bold]not markup[/bold]\x1b[0m\r\n"],
        [1.25 + gap, "o", "\x1b[7m q \x1b[0m Quit  \x1b[1m日本\x1b[0m wide"],
    ]
    data = ("\n".join(json.dumps(r) for r in [header, *rows]) + "\n").encode()
    directory = recordings_dir(db_path)
    directory.mkdir(mode=0o700, parents=True)
    (directory / file_name(session)).write_bytes(data)
    summary = Summary(file_name(session), hashlib.sha256(data).hexdigest(), len(data))
    journal_session(db_path, session, summary, ts="2026-12-01T09:00:00.000000Z")


def test_snapshot_replay_screen(snap_compare, db_path):
    hand_timed_recording(db_path, "5e55i0n0")

    async def replayed(pilot) -> None:
        await open_replay(pilot.app, pilot)
        await pilot.press("space", "end")  # paused, then the end: no clock in the picture
        await pilot.pause(0.1)

    assert snap_compare(
        AuditApp(Journal.open(db_path, read_only=True)), terminal_size=(80, 16), run_before=replayed
    )
