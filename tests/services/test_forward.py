"""Forwarding: the [[forward]] config, the message size limit, checkpoints and rotation.

Receivers here are plain sockets on 127.0.0.1 (the rsyslog tests are in
test_forward_rsyslog.py); the journal is a real SQLite file.
"""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.config import ConfigError, load_file
from pamtui.forward_config import ForwardConfig
from pamtui.journal import Head
from pamtui.journal.syslog import SyslogForwarder, format_entry, rfc5424_message
from pamtui.services.forward import DestinationForwarder, forwarding_lag
from tests.journal.test_export import RAW_CONTROL, parse_rfc5424

PROVIDERS = '[[providers]]\nname = "demo-idp"\ntype = "demo"\nsystem = "idp"\n\n'


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(PROVIDERS + body, encoding="utf-8")
    path.chmod(0o600)
    return path


# -- config ------------------------------------------------------------------


def test_a_forward_table_is_parsed_with_defaults(tmp_path):
    config = load_file(
        _config(
            tmp_path,
            '[[forward]]\ntransport = "tls"\nhost = "siem.example"\ntls_ca_file = "/ca.pem"\n'
            '[[forward]]\nname = "cef"\nhost = "10.0.0.1"\npayload = "cef"\n',
        )
    )
    tls, udp = config.forward
    assert (tls.name, tls.port, tls.effective_max_bytes, tls.tls_verify) == (
        "tls://siem.example:6514",
        6514,
        8192,
        True,
    )
    assert (udp.name, udp.transport, udp.port, udp.payload, udp.effective_max_bytes) == (
        "cef",
        "udp",
        514,
        "cef",
        2048,
    )
    assert (udp.checkpoint_every, udp.checkpoint_minutes) == (100, 15.0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('transport = "sctp"\nhost = "h"', "forward[0].transport: expected one of udp, tcp, tls"),
        ('host = "h"\nport = 70000', "forward[0].port: expected an integer 1..65535, got 70000"),
        ('host = "h"\nport = true', "forward[0].port: expected an integer 1..65535"),
        ("port = 514", "forward[0].host: expected the receiver's host name or address"),
        ('host = "h"\npayload = "xml"', "forward[0].payload: expected one of rfc5424, ocsf, cef"),
        ('host = "h"\nmax_bytes = 70000', "forward[0].max_bytes: expected an integer 1024..65507"),
        ('host = "h"\ncheckpoint_every = 0', "forward[0].checkpoint_every: expected a number"),
        ('host = "h"\ncheckpoint_minutes = 1e9', "forward[0].checkpoint_minutes: expected"),
        ('host = "h"\ntls_ca_file = "/ca"', 'forward[0].tls_ca_file: only for transport = "tls"'),
        ('host = "h"\nbogus = 1', "forward[0].bogus: unknown key"),
        ('host = "h"\nfacility = 24', "forward[0].facility: expected a syslog facility number"),
    ],
)
def test_bad_forward_settings_are_one_line_errors(tmp_path, capsys, body, message):
    path = _config(tmp_path, "[[forward]]\n" + body + "\n")
    with pytest.raises(ConfigError) as caught:
        load_file(path)
    assert str(caught.value).startswith(f"{path}: ") and message in str(caught.value)
    code = main(["audit", "forward", "--config", str(path), "--db", str(tmp_path / "x.db")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_a_name_used_twice_is_refused(tmp_path):
    body = '[[forward]]\nhost = "a"\nname = "x"\n[[forward]]\nhost = "b"\nname = "x"\n'
    with pytest.raises(ConfigError, match=r"forward\[1\]\.name: 'x' is used twice"):
        load_file(_config(tmp_path, body))


def test_forward_without_a_forward_table_is_a_usage_error(tmp_path, capsys):
    code = main(["audit", "forward", "--config", str(_config(tmp_path, ""))])
    assert code == 2 and "no [[forward]] table" in capsys.readouterr().err


# -- the size limit holds for the whole message -----------------------------


def test_long_actor_subject_and_provider_stay_within_the_limit(journal):
    """The defect: only ``detail`` was trimmed, so these made a 35,397-byte datagram."""
    entry = journal.append(
        "a" * 12000,
        "revoked",
        provider="p\u00e9" * 6000,
        subject="credential:" + 's]\\"' * 3000,
        detail={"action": "revoke_token", "item": 7, "account_id": "u" * 5000},
    )
    for limit in (1024, 2048, 8192):
        forwarder = SyslogForwarder("127.0.0.1", 514, "udp", max_bytes=limit, hostname="h" * 300)
        data = forwarder.format(entry)
        assert len(data) <= limit, (limit, len(data))
        parsed = parse_rfc5424(data)  # still valid RFC 5424, escapes intact
        assert parsed["params"]["seq"] == "1" and parsed["params"]["hash"] == entry.hash
        assert parsed["params"]["truncated"] == "true"
        record = json.loads(parsed["msg"])
        assert record["hash"] == entry.hash and record["truncated"] is True
    assert SyslogForwarder("127.0.0.1", 514, "udp").max_bytes == 2048  # RFC 5426's advice
    for payload in ("ocsf", "cef"):
        message = rfc5424_message(entry, hostname="h", max_bytes=2048, payload=payload)
        assert len(message) <= 2048 and parse_rfc5424(message)["params"]["hash"] == entry.hash
    cef = parse_rfc5424(rfc5424_message(entry, hostname="h", max_bytes=1024, payload="cef"))
    assert cef["msg"].startswith("CEF:0|") and not cef["msg"].endswith("\\")


def test_the_smallest_limit_holds_for_the_widest_header_and_hostile_text(journal):
    entry = journal.append(
        "\u202e" * 5000, "\x1b]0;" * 400, provider="\x9b" * 3000, subject="\u2066" * 3000
    )
    forwarder = SyslogForwarder("127.0.0.1", 514, "udp", max_bytes=1024, hostname="h" * 400)
    forwarder.options = dataclasses.replace(forwarder.options, procid="p" * 200, app_name="a" * 60)
    for payload in ("rfc5424", "cef"):
        options = dataclasses.replace(forwarder.options, payload=payload)
        data = format_entry(entry, options)
        assert len(data) <= 1024
        assert parse_rfc5424(data)["params"]["hash"] == entry.hash
        assert not RAW_CONTROL.search(data.decode())


def test_a_limit_below_what_a_header_needs_is_refused():
    with pytest.raises(ValueError, match="1024"):
        SyslogForwarder("127.0.0.1", 514, "udp", max_bytes=512)


# -- checkpoints ---------------------------------------------------------------


class _Collector:
    """A TCP receiver that reads octet-counted frames into a list."""

    def __init__(self) -> None:
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.frames: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            while True:
                conn, _ = self.server.accept()
                with conn:
                    conn.settimeout(10)
                    buf = b""
                    while chunk := conn.recv(65536):
                        buf += chunk
                        while b" " in buf:
                            size, rest = buf.split(b" ", 1)
                            if len(rest) < int(size):
                                break
                            self.frames.append(rest[: int(size)])
                            buf = rest[int(size) :]
        except OSError:
            return

    def messages(self, count: int) -> list[str]:
        for _ in range(200):
            if len(self.frames) >= count:
                break
            threading.Event().wait(0.05)
        return [f.decode() for f in self.frames]

    def close(self) -> None:
        self.server.close()


def test_the_head_is_checkpointed_every_n_entries_and_every_m_minutes(journal):
    collector = _Collector()
    clock = [datetime(2026, 12, 1, tzinfo=UTC)]
    config = ForwardConfig(
        "siem", "tcp", "127.0.0.1", collector.port, checkpoint_every=3, checkpoint_minutes=10
    )
    forwarder = DestinationForwarder(journal, config, now=lambda: clock[0])
    try:
        for i in range(7):
            journal.append("alice", "revoked", subject=f"credential:{i}")
        result = forwarder.run_once()
        assert (result.sent, result.checkpoints) == (7, 2)  # at 3 and at 6
        clock[0] += timedelta(minutes=9)
        assert forwarder.run_once().checkpoints == 0  # nothing new, not yet due
        clock[0] += timedelta(minutes=1)
        assert forwarder.run_once().checkpoints == 1  # ten minutes: the head as it is
        forwarder.close()
        frames = collector.messages(7 + 3)
    finally:
        collector.close()
    heads = [Head.parse(f.rsplit(" ", 1)[1]) for f in frames if f.split(" ", 6)[5] == "audit_head"]
    assert [h.seq for h in heads] == [3, 6, 7]
    assert all(journal.verify(expect_head=h).ok for h in heads)
    (lag,) = forwarding_lag(journal, [config])
    assert (lag.lag, lag.checkpoint_seq, lag.checkpoint_at) == (0, 7, "2026-12-01T00:10:00.000000Z")


def test_entries_rotated_away_before_forwarding_are_reported(journal):
    collector = _Collector()
    config = ForwardConfig("siem", "tcp", "127.0.0.1", collector.port)
    try:
        for i in range(4):
            journal.append("alice", "revoked", subject=f"credential:{i}")
        journal.rotate()
        journal.append("bob", "revoked", subject="credential:after")
        forwarder = DestinationForwarder(journal, config)
        result = forwarder.run_once()
        forwarder.close()
    finally:
        collector.close()
    assert result.sent == 2  # the segment_start and bob's entry: all this file holds
    (lag,) = forwarding_lag(journal, [config])
    assert lag.skipped == "1..4" and lag.lag == 0
