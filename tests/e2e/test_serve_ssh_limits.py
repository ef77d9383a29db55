"""``pamtui serve-ssh``'s limits, with real sockets and the real OpenSSH client.

Before them, 40 silent TCP connections filled every connection slot and a
real operator's login was refused for the 30 s of the login timeout.
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pamtui.ssh.limits import Admission, Limits, session_refusal
from tests.e2e.test_serve_ssh import SSH, Server, wait_until

pytestmark = pytest.mark.skipif(not Path(SSH).exists(), reason="needs the OpenSSH client")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(
        tmp_path_factory.mktemp("serve-ssh-limits"),
        "--login-grace",
        "3",
        "--max-sessions",
        "3",
        "--max-sessions-per-operator",
        "1",
    )
    yield srv
    srv.stop()


def _silent(port: int, source: str, n: int) -> list[socket.socket]:
    """``n`` TCP connections that never say a word (not even the SSH banner)."""
    conns = []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        conns.append(s)
    return conns


def _login(server: Server) -> int:
    """A real login with the OpenSSH client; returns its exit status after 'q'."""
    session = subprocess.Popen(
        server.ssh_argv("-tt"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
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
        return session.wait(timeout=15)
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(timeout=5)


@pytest.mark.parametrize("source", ["127.0.0.1", "127.0.0.2"], ids=["same-address", "other"])
def test_forty_silent_connections_do_not_keep_an_operator_out(server: Server, source: str) -> None:
    server.no_children()
    before = len(server.entries("ssh_session_start"))
    silent = _silent(server.port, source, 40)
    try:
        assert _login(server) == 0
    finally:
        for s in silent:
            s.close()
    starts = server.entries("ssh_session_start")
    assert len(starts) == before + 1 and starts[0].actor == "alice"
    server.no_children()


def _closed(sock: socket.socket) -> bool:
    """Read until the server closes the connection (b''), or the socket's timeout."""
    while True:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True


def test_a_connection_that_does_not_log_in_is_closed_after_the_grace_time(
    server: Server,
) -> None:
    (sock,) = _silent(server.port, "127.0.0.3", 1)
    try:
        assert _closed(sock)  # the socket's timeout (10 s) is over three times the grace
    finally:
        sock.close()


def test_past_the_cap_per_address_the_oldest_silent_connection_is_closed(
    server: Server,
) -> None:
    oldest, *rest = _silent(server.port, "127.0.0.4", 9)  # the default cap is 8
    try:
        oldest.settimeout(2)  # well under the grace time: closed for the cap, not the timer
        assert _closed(oldest)
    finally:
        for s in (oldest, *rest):
            s.close()


def test_one_operator_may_not_take_every_session(server: Server) -> None:
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
        second = server.ssh("-tt")
        assert second.returncode != 0
        assert "alice already has 1 session open" in second.stdout + second.stderr
        assert len(server.children()) == 1
        entry = server.wait_entry(
            "ssh_refused", lambda e: e.detail.get("max_sessions_per_operator") == 1
        )
        assert entry.actor == "alice" and entry.detail["reason"] == "session limit"
    finally:
        first.terminate()
        first.wait(timeout=5)
    server.no_children()


# -- the decisions alone ------------------------------------------------------------------


def test_admission_closes_the_oldest_of_the_busiest_source() -> None:
    admission: Admission[str] = Admission(
        Limits(max_unauthenticated=4, max_unauthenticated_per_source=3)
    )
    assert admission.admit("a1", "A") == []
    assert admission.admit("a2", "A") == []
    assert admission.admit("a3", "A") == []
    assert admission.admit("a4", "A") == ["a1"]  # the cap per source
    assert admission.admit("b1", "B") == []
    assert admission.admit("c1", "C") == ["a2"]  # the total cap: A is the busiest
    assert admission.authenticate("b1", "bob") is None
    assert admission.admit("b2", "B") == []  # an authenticated connection is not counted
    assert admission.unauthenticated_from("A") == 2


def test_one_operator_may_not_take_every_connection() -> None:
    admission: Admission[str] = Admission(Limits(max_connections=3, max_connections_per_operator=2))
    for conn in ("a1", "a2", "a3", "b1"):
        admission.admit(conn, "A")
    assert admission.authenticate("a1", "alice") is None
    assert admission.authenticate("a2", "alice") is None
    assert admission.authenticate("a3", "alice") == "connection limit per operator"
    assert admission.authenticate("b1", "bob") is None
    admission.gone("a1")
    assert admission.authenticate("a3", "alice") is None


def test_session_limits_in_total_and_per_operator() -> None:
    limits = Limits(max_sessions=3, max_sessions_per_operator=2)
    assert session_refusal(limits, "alice", Counter(alice=1, bob=1), 2) is None
    assert "alice already has 2" in (session_refusal(limits, "alice", Counter(alice=2), 2) or "")
    assert "all 3 audit sessions" in (session_refusal(limits, "bob", Counter(alice=3), 3) or "")
