"""Operator sessions are recorded: a real serve-ssh session through the OpenSSH client."""

from __future__ import annotations

import hashlib
import json
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_serve_ssh import SSH, Server, _pamtui, wait_until

pytestmark = pytest.mark.skipif(not Path(SSH).exists(), reason="needs the OpenSSH client")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, object]]:
    server = Server(tmp_path_factory.mktemp("serve-ssh-rec"))
    try:
        session = subprocess.Popen(
            server.ssh_argv("-tt"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=server.env,
        )
        output = bytearray()

        def read() -> None:
            assert session.stdout is not None
            for chunk in iter(lambda: session.stdout.read1(4096), b""):
                output.extend(chunk)

        threading.Thread(target=read, daemon=True).start()
        try:
            wait_until(lambda: b"chain verified" in output, 20, "the first frame")
            assert session.stdin is not None
            session.stdin.write(b"q")
            session.stdin.flush()
            assert session.wait(timeout=15) == 0
        finally:
            if session.poll() is None:
                session.kill()
                session.wait(timeout=5)
        end = server.wait_entry("ssh_session_end", lambda e: "recording_sha256" in e.detail)
        yield server, end
    finally:
        server.stop()


def _cli(server: Server, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_pamtui(), *argv, "--db", str(server.db)],
        capture_output=True,
        text=True,
        timeout=60,
        env=server.env,
    )


def test_the_session_is_recorded_and_its_hash_is_in_the_journal(recorded) -> None:
    server, end = recorded
    path = server.db.parent / "recordings" / end.detail["recording_file"]
    assert end.detail["recording_file"] == f"{end.detail['session']}.cast"
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == end.detail["recording_sha256"]
    assert len(data) == end.detail["recording_bytes"]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    header, *lines = data.decode().splitlines()
    assert json.loads(header)["version"] == 2
    shown = "".join(text for _, kind, text in map(json.loads, lines) if kind == "o")
    assert "chain verified" in shown  # what alice saw
    start = server.wait_entry("ssh_session_start", lambda e: e.subject == end.subject)
    assert start.detail["recording_file"] == end.detail["recording_file"]
    verify = _cli(server, "audit", "verify")
    assert verify.returncode == 0, verify.stderr


def test_sessions_list_and_play(recorded) -> None:
    server, end = recorded
    listed = _cli(server, "sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    (row,) = [r for r in json.loads(listed.stdout) if r["session"] == end.detail["session"]]
    assert row["operator"] == "alice" and row["key_fingerprint"] == server.alice_fp
    assert row["recording"]["recording_sha256"] == end.detail["recording_sha256"]
    played = _cli(server, "sessions", "play", end.detail["session"], "--speed", "50")
    assert played.returncode == 0, played.stderr
    assert "chain verified" in played.stdout
    unknown = _cli(server, "sessions", "play", "nosuchsession")
    assert unknown.returncode == 2 and "no recorded session" in unknown.stderr


def test_a_modified_recording_is_refused(recorded, tmp_path: Path) -> None:
    server, end = recorded
    path = server.db.parent / "recordings" / end.detail["recording_file"]
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"chain verified", b"chain VERIFIED", 1))
        played = _cli(server, "sessions", "play", end.detail["session"], "--speed", "50")
        assert played.returncode == 1
        assert played.stdout == ""  # nothing of it reached the terminal
        assert "does not match its hash in the journal" in played.stderr
        assert len(played.stderr.strip().splitlines()) == 1
        path.write_bytes(original[:-10])  # truncated
        assert _cli(server, "sessions", "play", end.detail["session"]).returncode == 1
    finally:
        path.write_bytes(original)


def test_a_session_that_cannot_be_recorded_does_not_run(tmp_path: Path) -> None:
    server = Server(tmp_path)
    try:
        recordings = server.db.parent / "recordings"
        recordings.mkdir(mode=0o700)
        recordings.chmod(0o777)  # others could replace recordings: the service refuses it
        result = subprocess.run(
            server.ssh_argv("-tt"),
            stdin=subprocess.PIPE,
            capture_output=True,
            timeout=30,
            env=server.env,
        )
        assert result.returncode == 1
        assert b"the session cannot be recorded" in result.stdout + result.stderr
        assert not server.children()
        end = server.wait_entry("ssh_session_end", lambda e: True)
        assert end.detail["reason"] == "cannot record" and "recording_sha256" not in end.detail
    finally:
        server.stop()


async def test_the_audit_screen_replays_the_real_recording(recorded) -> None:
    """What the service recorded (Textual's own output, as alice saw it) replays in the app."""
    from pamtui.journal import Journal
    from pamtui.ssh.audit import SshAuditApp
    from pamtui.tui.screens.audit import JournalTable
    from pamtui.tui.screens.replay import ReplayScreen
    from pamtui.tui.widgets.terminal_view import TerminalView

    server, end = recorded
    app = SshAuditApp(Journal.open(server.db, read_only=True), operator="carol")
    async with app.run_test(size=(140, 45)) as pilot:
        await app.workers.wait_for_complete()
        table = app.screen.query_one(JournalTable)
        table.move_cursor(row=next(n for n, e in enumerate(table.entries) if e.seq == end.seq))
        await pilot.pause()
        await pilot.press("w")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReplayScreen), [str(n.message) for n in app._notifications]
        await pilot.press("end")
        for _ in range(200):  # a bound for a busy machine, not a speed check
            if screen.playback.done and not screen.skipping:
                break
            await pilot.pause(0.05)
        shown = str(screen.query_one(TerminalView).render())
        assert "chain verified" in shown and "Audit journal" in shown
        assert "\x1b" not in shown
