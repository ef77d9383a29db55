"""``pamtui serve-ssh`` driven by the real OpenSSH client.

One real ``pamtui serve-ssh`` subprocess (127.0.0.1, an ephemeral port,
``--max-sessions 1``) serves the whole module; each test waits for the
sessions it opened to be gone. The audit screen is looked at in tmux.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from pamtui.journal import EntryFilter, Journal
from tests.support.servers import free_port

SSH = shutil.which("ssh") or "/usr/bin/ssh"
SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"

pytestmark = pytest.mark.skipif(
    not (os.path.exists(SSH) and os.path.exists(SSH_KEYGEN)), reason="needs the OpenSSH client"
)


def _pamtui() -> str:
    installed = Path(sys.executable).with_name("pamtui")
    return str(installed) if installed.exists() else shutil.which("pamtui") or "pamtui"


def wait_until(check: Callable[[], object], timeout: float = 10.0, what: str = "") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.05)


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=20,
    )
    out = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", f"{path}.pub"],
        capture_output=True,
        text=True,
        check=True,
        timeout=20,
    ).stdout
    return out.split()[1]  # SHA256:...


def _clean_env(home: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("COLUMNS", "LINES", "PAMTUI_DB", "PAMTUI_CONFIG", "SSH_AUTH_SOCK")
    }
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        LANG="C.UTF-8",
    )
    return env


class Server:
    def __init__(self, root: Path, *extra: str) -> None:
        self.root = root
        self.home = root / "home"
        self.db = root / "data" / "pamtui.db"
        self.keys = root / "authorized_keys"
        self.alice_fp = _keygen(root / "alice", "alice@laptop")
        self.mallory_fp = _keygen(root / "mallory", "mallory")
        self.keys.write_text(
            f'# reviewers\npamtui-operator="alice" {(root / "alice.pub").read_text()}',
            encoding="utf-8",
        )
        self.keys.chmod(0o600)
        seed = Journal.open(self.db)
        seed.append("seed-operator", "revoked", subject="credential:4242", detail={"label": "x"})
        seed.close()
        self.env = _clean_env(self.home)
        self.log = root / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [
                    _pamtui(),
                    "serve-ssh",
                    "--db",
                    str(self.db),
                    "--authorized-keys",
                    str(self.keys),
                    "--port",
                    "0",
                    *extra,
                ],
                stdout=log,
                stderr=log,
                env=self.env,
            )

        def listening() -> int | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve-ssh exited: {self.log.read_text()}")
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log.read_text())
            return int(match.group(1)) if match else None

        self.port = wait_until(listening, 20, "serve-ssh to listen")

    def ssh_argv(self, *args: str, key: str = "alice", user: str = "alice") -> list[str]:
        return [
            SSH,
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "ConnectTimeout=10",
            "-i",
            str(self.root / key),
            "-p",
            str(self.port),
            *args,
            f"{user}@127.0.0.1",
        ]

    def ssh(self, *args: str, key: str = "alice", user: str = "alice", command: str = ""):
        argv = self.ssh_argv(*args, key=key, user=user) + ([command] if command else [])
        return subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=20,
            env=self.env,
        )

    def children(self) -> list[int]:
        """The server's audit-screen child processes, from /proc."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if fields[0] == "Z" or int(fields[1]) != self.proc.pid:
                continue
            if b"pamtui.ssh.audit" in cmdline:
                found.append(int(entry.name))
        return found

    def cmdline(self, pid: int) -> list[str]:
        return [p.decode() for p in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if p]

    def entries(self, action: str) -> list:
        journal = Journal.open(self.db, read_only=True)
        try:
            return journal.entries(EntryFilter(action=action), limit=1000)
        finally:
            journal.close()

    def wait_entry(self, action: str, match: Callable[[object], bool], timeout: float = 10.0):
        return wait_until(
            lambda: next((e for e in self.entries(action) if match(e)), None),
            timeout,
            f"a journal entry {action}",
        )

    def no_children(self, timeout: float = 10.0) -> None:
        wait_until(lambda: not self.children(), timeout, "the audit screens to end")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    srv = Server(tmp_path_factory.mktemp("serve-ssh"), "--max-sessions", "1")
    yield srv
    srv.stop()
    assert not srv.children(), "audit screens outlived the server"


@pytest.fixture
def tmux(server: Server):
    if shutil.which("tmux") is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is required in CI")
        pytest.skip("tmux is not installed")
    sock = f"pamtui-ssh-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", sock, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=server.env,
        )

    yield run
    run("kill-server")


# -- (1) the audit screen, in tmux -----------------------------------------------


@pytest.mark.tmux
def test_the_authorised_key_gets_the_read_only_audit_screen(server: Server, tmux) -> None:
    server.no_children()
    argv = " ".join(server.ssh_argv("-tt"))
    started = time.monotonic()
    result = tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", argv)
    assert result.returncode == 0, result.stderr

    def screen() -> str:
        return tmux("capture-pane", "-p", "-t", "t").stdout

    def shown(text: str, timeout: float = 15.0) -> str:
        return wait_until(
            lambda: (s := screen()) and text in s and s, timeout, f"{text!r} on:\n{screen()}"
        )

    first = shown("chain verified")
    first_frame = time.monotonic() - started
    # The footer fills in once the table has the focus.
    first = wait_until(
        lambda: (s := screen()) and "Quit" in s.rstrip().splitlines()[-1] and s, 5, "the footer"
    )
    assert "alice via ssh" in first
    assert "seed-operator" in first and "ssh_session_start" in first
    assert first_frame < 10, first_frame

    # The process is the read-only audit screen, nothing else.
    (pid,) = wait_until(server.children, 5, "the child process")
    argv_child = server.cmdline(pid)
    assert "pamtui.ssh.audit" in argv_child and "--read-only" in argv_child
    environ = dict(
        item.split("=", 1)
        for item in Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        if "=" in item
    )
    assert environ["COLORTERM"] == "truecolor"
    assert "COLUMNS" not in environ and "LINES" not in environ

    # No revoke and no export anywhere: not in the footer, not in the help.
    footer = first.rstrip().splitlines()[-1]
    assert "Quit" in footer and "Export" not in footer and "Revoke" not in footer
    tmux("send-keys", "-t", "t", "e")  # export: nothing happens
    tmux("send-keys", "-t", "t", "r")  # revoke on the triage screen: nothing here
    tmux("send-keys", "-t", "t", "?")
    help_screen = shown("pamtui keys")
    # (the search box's placeholder mentions action:revoked: look at the keys)
    assert "Revoke" not in help_screen and "Export" not in help_screen
    assert "File (created 0600)" not in help_screen
    tmux("send-keys", "-t", "t", "Escape")
    wait_until(lambda: "pamtui keys" not in screen(), 5, "the help to close")

    # Esc never closes the connection (issue 15): with a search typed, it clears
    # the search; at the top level it does nothing. Only q quits.
    tmux("send-keys", "-t", "t", "-l", "/zz-no-such-text")
    wait_until(lambda: "zz-no-such-text" in screen(), 5, "the search to be typed")
    tmux("send-keys", "-t", "t", "Escape")
    wait_until(lambda: "zz-no-such-text" not in screen(), 5, f"Esc to clear:\n{screen()}")
    tmux("send-keys", "-t", "t", "Escape", "Escape")
    time.sleep(1)
    assert Path(f"/proc/{pid}").exists(), "Esc ended the SSH audit session"
    assert "Audit journal" in screen() and "esc" not in screen().rstrip().splitlines()[-1]

    # A resize reaches the app: the panes reflow to 80 columns, footer on row 24.
    tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")

    def reflowed() -> bool:
        lines = screen().rstrip("\n").split("\n")
        boxes = [line.rstrip() for line in lines if line.startswith("╭─ Audit journal")]
        return (
            len(lines) == 24
            and bool(boxes)
            and boxes[0].endswith("╮")
            and len(boxes[0]) == 80
            and "Quit" in lines[-1]
        )

    wait_until(reflowed, 10, f"the screen to reflow to 80x24:\n{screen()}")

    # Disconnecting (the terminal goes away) ends the app process.
    tmux("kill-server")
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), 5, f"pid {pid} to end")
    server.no_children()
    end = server.wait_entry(
        "ssh_session_end", lambda e: e.detail.get("reason") == "client disconnected"
    )
    assert end.actor == "alice" and end.detail["key_fingerprint"] == server.alice_fp


# -- (2)-(4) authentication -----------------------------------------------------------


def test_an_unknown_key_is_refused(server: Server) -> None:
    result = server.ssh("-tt", key="mallory")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
    entry = server.wait_entry(
        "ssh_refused", lambda e: server.mallory_fp in e.detail.get("key_fingerprints", [])
    )
    assert entry.actor == "ssh:unauthenticated"
    assert entry.detail["reason"] == "unknown key" and entry.detail["username"] == "alice"
    assert not server.children()


def test_a_known_key_with_another_user_name_is_refused(server: Server) -> None:
    result = server.ssh("-tt", user="bob")
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
    entry = server.wait_entry("ssh_refused", lambda e: e.detail.get("username") == "bob")
    assert entry.actor == "ssh:unauthenticated"
    assert "alice" in entry.detail["reason"]
    assert entry.detail["key_fingerprints"] == [server.alice_fp]


def test_a_password_is_never_asked_for(server: Server) -> None:
    result = server.ssh(
        "-o",
        "PreferredAuthentications=password,keyboard-interactive",
        "-o",
        "PubkeyAuthentication=no",
    )
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr  # the only method offered
    server.wait_entry("ssh_refused", lambda e: e.detail.get("reason") == "no public key offered")


# -- (5)-(7) what a logged-in operator may not do ------------------------------------------


def test_an_exec_request_is_refused_and_runs_nothing(server: Server, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    for args in ((), ("-tt",)):
        result = server.ssh(*args, command=f"touch {marker}")
        assert result.returncode == 255, result
        assert "exec request failed" in result.stderr
    assert not marker.exists()
    entry = server.wait_entry("ssh_refused", lambda e: e.detail.get("reason") == "exec request")
    assert entry.actor == "alice" and entry.detail["command"] == f"touch {marker}"
    result = server.ssh("-s", command="sftp")
    assert result.returncode != 0 and "subsystem request failed" in result.stderr
    assert not server.children()


def test_port_forwarding_is_refused(server: Server) -> None:
    target = socket.socket()
    target.bind(("127.0.0.1", 0))
    target.listen()
    target.settimeout(0.5)
    local = free_port()
    forward = subprocess.Popen(
        server.ssh_argv("-N", "-L", f"127.0.0.1:{local}:127.0.0.1:{target.getsockname()[1]}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=server.env,
    )
    try:

        def connect() -> socket.socket | None:
            try:
                return socket.create_connection(("127.0.0.1", local), timeout=1)
            except OSError:
                assert forward.poll() is None, forward.stderr.read()
                return None

        client = wait_until(connect, 10, "ssh -L to listen")
        client.settimeout(5)
        assert client.recv(100) == b""  # the forward is closed at once
        client.close()
        with pytest.raises(TimeoutError):
            target.accept()  # nothing ever reached the destination
        server.wait_entry("ssh_refused", lambda e: e.detail.get("reason") == "port forwarding")
    finally:
        forward.terminate()
        forward.wait(timeout=5)
        target.close()
    result = server.ssh("-N", "-o", "ExitOnForwardFailure=yes", "-R", "127.0.0.1:0:127.0.0.1:22")
    assert result.returncode == 255 and "remote port forwarding failed" in result.stderr
    result = server.ssh("-W", "127.0.0.1:22")
    assert result.returncode == 255 and "stdio forwarding failed" in result.stderr


def test_the_session_limit_refuses_the_extra_session(server: Server) -> None:
    server.no_children()
    first = subprocess.Popen(
        server.ssh_argv("-tt"),
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=server.env,
    )
    try:
        wait_until(server.children, 15, "the first session")
        extra = server.ssh("-tt")
        assert extra.returncode != 0
        assert "the one audit session is in use" in extra.stdout + extra.stderr
        assert len(server.children()) == 1
        entry = server.wait_entry(
            "ssh_refused", lambda e: e.detail.get("reason") == "session limit"
        )
        assert entry.actor == "alice" and entry.detail["max_sessions"] == 1
    finally:
        first.terminate()
        first.wait(timeout=5)
    server.no_children()


# -- (8) the journal ---------------------------------------------------------------------


def test_sessions_are_journalled_with_operator_fingerprint_and_duration(server: Server) -> None:
    server.no_children()
    session = subprocess.Popen(
        server.ssh_argv("-tt"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=server.env,
    )
    try:
        assert session.stdout is not None
        output = bytearray()

        def read() -> None:
            for chunk in iter(lambda: session.stdout.read1(4096), b""):
                output.extend(chunk)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_until(server.children, 15, "the session")
        # Keys typed before the app takes the terminal are flushed: wait for a frame.
        wait_until(lambda: b"chain verified" in output, 15, "the first frame")
        start = server.entries("ssh_session_start")[0]  # newest first
        assert start.actor == "alice"
        assert start.detail["key_fingerprint"] == server.alice_fp
        assert start.detail["client"].startswith("127.0.0.1:")
        assert start.subject == f"ssh:{start.detail['session']}"
        assert session.stdin is not None
        session.stdin.write(b"q")  # quit the audit screen: the session ends cleanly
        session.stdin.flush()
        assert session.wait(timeout=15) == 0
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(timeout=5)
    end = server.wait_entry("ssh_session_end", lambda e: e.subject == start.subject)
    assert end.actor == "alice" and end.detail["key_fingerprint"] == server.alice_fp
    assert end.detail["reason"] == "audit screen exited" and end.detail["exit_status"] == 0
    assert isinstance(end.detail["duration_s"], float | int)
    server.no_children()
    verify = subprocess.run(
        [_pamtui(), "audit", "--db", str(server.db), "verify"],
        capture_output=True,
        text=True,
        timeout=30,
        env=server.env,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_an_idle_session_is_closed(tmp_path: Path) -> None:
    idle = Server(tmp_path, "--idle-timeout", "1.5")
    try:
        session = subprocess.run(
            idle.ssh_argv("-tt"),
            stdin=subprocess.PIPE,  # open, but nothing is ever typed
            capture_output=True,
            timeout=20,
            env=idle.env,
        )
        assert b"without input" in session.stdout
        assert b"\x1b[?1049l" in session.stdout  # the client's terminal is restored
        end = idle.wait_entry("ssh_session_end", lambda e: True)
        assert end.detail["reason"] == "idle timeout"
        idle.no_children()
    finally:
        idle.stop()


# -- the command line ---------------------------------------------------------------------


def _serve(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_pamtui(), "serve-ssh", "--db", str(tmp_path / "db" / "pamtui.db"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=_clean_env(tmp_path / "home"),
    )


def test_serve_ssh_refuses_bad_keys_files_and_a_busy_port(server: Server, tmp_path: Path) -> None:
    missing = _serve(tmp_path, "--authorized-keys", str(tmp_path / "nope"))
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"pamtui: {tmp_path / 'nope'}: no such authorized_keys file"

    keys = tmp_path / "keys"
    keys.write_text(server.keys.read_text(), encoding="utf-8")
    keys.chmod(0o666)
    loose = _serve(tmp_path, "--authorized-keys", str(keys))
    assert loose.returncode == 2 and "world-writable" in loose.stderr
    assert len(loose.stderr.strip().splitlines()) == 1

    keys.chmod(0o600)
    keys.write_text((server.root / "mallory.pub").read_text(), encoding="utf-8")
    anonymous = _serve(tmp_path, "--authorized-keys", str(keys))
    assert anonymous.returncode == 2 and 'pamtui-operator="NAME"' in anonymous.stderr

    busy = _serve(tmp_path, "--authorized-keys", str(server.keys), "--port", str(server.port))
    assert busy.returncode == 2 and "already in use" in busy.stderr
    assert "Traceback" not in missing.stderr + loose.stderr + anonymous.stderr + busy.stderr


def test_the_host_key_is_generated_once_and_private(server: Server) -> None:
    host_key = server.db.parent / "ssh_host_ed25519_key"
    assert host_key.stat().st_mode & 0o777 == 0o600
    fingerprint = subprocess.run(
        [SSH_KEYGEN, "-l", "-E", "sha256", "-f", str(host_key)],
        capture_output=True,
        text=True,
        timeout=20,
    ).stdout.split()[1]
    assert fingerprint in server.log.read_text()  # printed at start, for known_hosts
