"""Forwarding to a real rsyslogd: nothing lost while it is down, nothing sent twice.

The daemon is Debian's rsyslog, started by these tests on 127.0.0.1 (see
tests/support/rsyslog.py); the journal is a real SQLite file; ``pamtui audit forward``
runs as a real subprocess where a restart matters.
"""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pamtui.forward_config import ForwardConfig
from pamtui.journal import Head, Journal
from pamtui.model import ROLES, Actor
from pamtui.services.forward import follow, forward_once, forwarding_lag
from tests.journal.test_export import parse_rfc5424
from tests.support.rsyslog import HAS_GTLS, RSYSLOGD, SKIP_REASON, Rsyslogd, self_signed_cert

FORWARDER = Actor("forwarder", None, frozenset(ROLES), "local")
"""Forwarding needs a role (services/roles.py): the service account cron runs it as."""

pytestmark = pytest.mark.skipif(RSYSLOGD is None, reason=SKIP_REASON)

SEQ = re.compile(r' seq="(\d+)"')


def _msgid(line: str) -> str:
    return line.split(" ", 6)[5]


def _entry_seqs(lines: list[str]) -> list[int]:
    return [int(SEQ.search(line)[1]) for line in lines if _msgid(line) != "audit_head"]


def _checkpoints(lines: list[str]) -> list[Head]:
    return [Head.parse(line.rsplit(" ", 1)[1]) for line in lines if _msgid(line) == "audit_head"]


def _fill(journal: Journal, n: int, actor: str = "alice") -> None:
    for i in range(n):
        journal.append(
            actor,
            "revoked",
            provider="corp-okta",
            subject=f"credential:{actor}-{i}",
            detail={"action": "revoke_token", "item": i, "reason": "leak"},
        )


def _write_config(path: Path, body: str) -> Path:
    path.write_text(
        '[[providers]]\nname = "demo-idp"\ntype = "demo"\nsystem = "idp"\n\n' + body,
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def _cli(*args: str, config: Path, db: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pamtui", *args, "--config", str(config), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def rsyslogd(tmp_path: Path):
    daemon = Rsyslogd(tmp_path / "rsyslog")
    daemon.start()
    yield daemon
    daemon.stop()


def test_every_entry_exactly_once_across_a_receiver_outage(rsyslogd, tmp_path, db_path):
    config = _write_config(
        tmp_path / "config.toml",
        f'[[forward]]\nname = "siem"\ntransport = "tcp"\nhost = "127.0.0.1"\n'
        f"port = {rsyslogd.tcp_port}\ncheckpoint_every = 4\n",
    )
    journal = Journal.open(db_path)
    _fill(journal, 5)
    first = _cli("audit", "forward", config=config, db=db_path)
    assert first.returncode == 0, first.stderr
    assert "siem: sent 5 entries" in first.stdout
    assert len(rsyslogd.wait_for(5, predicate=lambda m: "audit_head" not in m)) == 5

    rsyslogd.stop()  # the receiver is down while entries are written
    _fill(journal, 7, actor="bob")
    down = _cli("audit", "forward", config=config, db=db_path)
    assert down.returncode == 1 and "FAILED" in down.stdout and "siem" in down.stdout
    status = _cli("audit", "forward", "--status", "--json", config=config, db=db_path)
    (lag,) = json.loads(status.stdout)
    assert (lag["forwarded_seq"], lag["head_seq"], lag["lag"]) == (5, 12, 7)
    assert lag["last_error"] and status.returncode == 1

    rsyslogd.start()  # back: a fresh process resumes where the database says
    again = _cli("audit", "forward", config=config, db=db_path)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "siem: sent 7 entries" in again.stdout
    once_more = _cli("audit", "forward", config=config, db=db_path)
    assert "siem: sent 0 entries" in once_more.stdout  # a restart sends nothing twice

    lines = rsyslogd.wait_for(12, predicate=lambda m: "audit_head" not in m)
    rsyslogd.stop()
    lines = rsyslogd.messages()
    counts = collections.Counter(_entry_seqs(lines))
    assert sorted(counts) == list(range(1, 13)) and set(counts.values()) == {1}
    for line in lines:
        parse_rfc5424(line.encode())  # each one valid RFC 5424
    heads = _checkpoints(lines)
    assert [h.seq for h in heads if h.seq in (4, 8, 12)] == [4, 8, 12]
    for head in heads:  # every checkpoint is a head the journal still vouches for
        assert journal.verify(expect_head=head).ok
    status = _cli("audit", "forward", "--status", "--json", config=config, db=db_path)
    (lag,) = json.loads(status.stdout)
    assert lag["lag"] == 0 and lag["last_error"] == "" and status.returncode == 0
    journal.close()


def test_udp_delivers_every_entry_within_the_size_limit(rsyslogd, db_path):
    journal = Journal.open(db_path)
    journal.append("x" * 9000, "revoked", provider="p" * 9000, subject="s" * 9000)
    _fill(journal, 3)
    destination = ForwardConfig("udp", "udp", "127.0.0.1", rsyslogd.udp_port)
    (result,) = forward_once(journal, [destination], actor=FORWARDER)
    assert (result.sent, result.error) == (4, "")
    lines = rsyslogd.wait_for(4, predicate=lambda m: "audit_head" not in m)
    assert sorted(_entry_seqs(lines)) == [1, 2, 3, 4]
    big = next(line for line in lines if ' seq="1"' in line)
    assert len(big.encode()) <= 2048
    parsed = parse_rfc5424(big.encode())
    assert parsed["params"]["hash"] == journal.get(1).hash
    assert parsed["params"]["truncated"] == "true"
    journal.close()


def test_ocsf_and_cef_payloads_reach_the_receiver(rsyslogd, db_path):
    journal = Journal.open(db_path)
    journal.append("alice", "stage", subject="credential:t1", detail={"action": "revoke_token"})
    _fill(journal, 2)
    ocsf = ForwardConfig("ocsf", "tcp", "127.0.0.1", rsyslogd.tcp_port, payload="ocsf")
    cef = ForwardConfig("cef", "tcp", "127.0.0.1", rsyslogd.tcp_port, payload="cef")
    results = forward_once(journal, [ocsf, cef], actor=FORWARDER)
    assert [(r.sent, r.not_sent) for r in results] == [(2, 1), (3, 0)]
    lines = rsyslogd.wait_for(5, predicate=lambda m: "audit_head" not in m)
    events = [json.loads(parse_rfc5424(m.encode())["msg"]) for m in lines if "CEF:0|" not in m]
    assert sorted(e["class_uid"] for e in events) == [3005, 3005]
    cef_lines = [parse_rfc5424(m.encode())["msg"] for m in lines if "CEF:0|" in m]
    assert len(cef_lines) == 3 and all(c.startswith("CEF:0|pamtui|pamtui|") for c in cef_lines)
    assert [lag.lag for lag in forwarding_lag(journal, [ocsf, cef])] == [0, 0]
    journal.close()


def test_follow_forwards_entries_as_they_are_written(rsyslogd, db_path):
    journal = Journal.open(db_path)
    destination = ForwardConfig("siem", "tcp", "127.0.0.1", rsyslogd.tcp_port)
    stop = threading.Event()
    passes: list[int] = []
    worker = threading.Thread(
        target=follow,
        args=(db_path, [destination], stop),
        kwargs={
            "actor": FORWARDER,
            "poll_seconds": 0.05,
            "on_pass": lambda r, lags: passes.append(lags[0].lag),
        },
        daemon=True,
    )
    worker.start()
    try:
        _fill(journal, 3)
        assert len(rsyslogd.wait_for(3, predicate=lambda m: "audit_head" not in m)) == 3
        _fill(journal, 2, actor="bob")
        lines = rsyslogd.wait_for(5, predicate=lambda m: "audit_head" not in m)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert sorted(_entry_seqs(lines)) == [1, 2, 3, 4, 5]
    assert passes and passes[-1] == 0
    journal.close()


@pytest.mark.skipif(not HAS_GTLS, reason="rsyslog's gtls driver is missing (rsyslog-gnutls)")
def test_tls_to_rsyslog_survives_an_outage_and_checks_the_certificate(tmp_path, db_path):
    cert, key = self_signed_cert(tmp_path)
    daemon = Rsyslogd(tmp_path / "rsyslog-tls", tls=(cert, key))
    daemon.start()
    journal = Journal.open(db_path)
    try:
        untrusted = ForwardConfig("untrusted", "tls", "127.0.0.1", daemon.tcp_port)
        trusted = ForwardConfig("siem", "tls", "127.0.0.1", daemon.tcp_port, tls_ca_file=str(cert))
        _fill(journal, 3)
        (refused,) = forward_once(
            journal, [untrusted], actor=FORWARDER
        )  # the system CAs do not know it
        assert refused.sent == 0 and "CERTIFICATE_VERIFY_FAILED" in refused.error
        (result,) = forward_once(journal, [trusted], actor=FORWARDER)
        assert (result.sent, result.error) == (3, "")
        daemon.stop()
        _fill(journal, 4, actor="bob")
        (down,) = forward_once(journal, [trusted], actor=FORWARDER)
        assert down.sent == 0 and down.error
        daemon.start()
        (back,) = forward_once(journal, [trusted], actor=FORWARDER)
        assert (back.sent, back.error) == (4, "")
        daemon.wait_for(7, predicate=lambda m: "audit_head" not in m)
    finally:
        daemon.stop()
    counts = collections.Counter(_entry_seqs(daemon.messages()))
    assert sorted(counts) == list(range(1, 8)) and set(counts.values()) == {1}
    assert forwarding_lag(journal, [untrusted])[0].lag == 7  # never took anything
    journal.close()


async def test_the_tui_forwards_in_the_background_and_shows_the_lag(rsyslogd, db_path):
    import asyncio
    import dataclasses

    from pamtui.config import demo_config
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from tests.fakes import StaticProvider

    provider = StaticProvider()
    destination = ForwardConfig("siem", "tcp", "127.0.0.1", rsyslogd.tcp_port)
    session = Session(
        dataclasses.replace(demo_config(), forward=(destination,)),
        Journal.open(db_path),
        {provider.name: provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    app = PamtuiApp(session, stream=False)
    async with app.run_test(size=(160, 40)) as pilot:
        session.journal.append("tester", "note", detail={"n": 1})  # after the session_start
        for _ in range(200):  # bounded: until the forwarder's pass has reported both
            await pilot.pause(0.05)
            lags = app.forward_lags
            if lags and lags[0].last_seq >= 2:
                break
        assert app.forward_lags[0].lag == 0
        for _ in range(40):
            await pilot.pause(0.05)
            if "fwd lag 0" in str(app.screen.query_one("#status-bar").render()):
                break
        assert "fwd lag 0" in str(app.screen.query_one("#status-bar").render())
        await asyncio.to_thread(rsyslogd.wait_for, 2, predicate=lambda m: "audit_head" not in m)
    session.journal.close()
    lines = rsyslogd.messages()
    assert sorted(_entry_seqs(lines)) == [1, 2]
    assert any(" session_start " in line for line in lines)


async def test_serve_ssh_forwards_while_it_runs(rsyslogd, db_path, tmp_path):
    import asyncio

    from pamtui.ssh.keys import AuthorizedKeys, load_or_create_host_key
    from pamtui.ssh.server import AuditSshServer, ServeOptions

    destination = ForwardConfig("siem", "tcp", "127.0.0.1", rsyslogd.tcp_port)
    options = ServeOptions(
        db_path=db_path,
        authorized_keys=AuthorizedKeys(tmp_path / "authorized_keys", {}),
        host_key=load_or_create_host_key(tmp_path / "host_key"),
        port=0,
        forward=(destination,),
    )
    server = AuditSshServer(options)
    await server.start()
    try:
        journal = Journal.open(db_path)
        _fill(journal, 3)  # as the service's own sessions (or a CLI next to it) would
        journal.close()
        lines = await asyncio.to_thread(
            rsyslogd.wait_for, 3, predicate=lambda m: "audit_head" not in m
        )
    finally:
        await server.close()
    assert sorted(_entry_seqs(lines)) == [1, 2, 3]


def test_audit_forward_follow_runs_until_sigterm(rsyslogd, tmp_path, db_path):
    import signal

    config = _write_config(
        tmp_path / "config.toml",
        f'[[forward]]\nname = "siem"\ntransport = "tcp"\nhost = "127.0.0.1"\n'
        f"port = {rsyslogd.tcp_port}\n",
    )
    journal = Journal.open(db_path)
    _fill(journal, 2)
    follower = subprocess.Popen(
        [
            *(sys.executable, "-m", "pamtui", "audit", "forward", "--follow", "--poll", "0.1"),
            *("--config", str(config), "--db", str(db_path)),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert len(rsyslogd.wait_for(2, predicate=lambda m: "audit_head" not in m)) == 2
        _fill(journal, 3, actor="bob")
        lines = rsyslogd.wait_for(5, predicate=lambda m: "audit_head" not in m)
    finally:
        follower.send_signal(signal.SIGTERM)
        out, err = follower.communicate(timeout=30)
    assert follower.returncode == 0, err
    assert sorted(_entry_seqs(lines)) == [1, 2, 3, 4, 5]
    assert "siem: sent 2 entries" in out
    journal.close()
