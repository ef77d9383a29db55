"""The ``[[forward]]`` tables: where the journal is forwarded as it is written.

```toml
[[forward]]
name = "siem"                  # optional; default "TRANSPORT://HOST:PORT"
transport = "tls"              # udp | tcp | tls
host = "syslog.example.com"
port = 6514
payload = "rfc5424"            # rfc5424 | ocsf | cef
tls_ca_file = "/etc/ssl/siem-ca.pem"
checkpoint_every = 100         # entries between head checkpoints
checkpoint_minutes = 15        # and at least this often
```

Parsed here, not in :mod:`pamtui.config`, so the forwarding settings are
declared in one place; errors are plain ``ValueError`` messages naming the key
and the expected value, which :func:`pamtui.config.parse` prefixes with the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

TRANSPORTS = ("udp", "tcp", "tls")
PAYLOADS = ("rfc5424", "ocsf", "cef")
DEFAULT_PORTS = {"udp": 514, "tcp": 514, "tls": 6514}
# Kept in step with pamtui.journal.syslog (not imported: config stays below journal).
DEFAULT_MAX_BYTES = {"udp": 2048, "tcp": 8192, "tls": 8192}
MAX_MAX_BYTES = {"udp": 65507, "tcp": 1 << 20, "tls": 1 << 20}
MIN_MAX_BYTES = 1024


@dataclass(frozen=True)
class ForwardConfig:
    """One ``[[forward]]`` receiver: a syslog server the journal is sent to."""

    name: str
    transport: str
    host: str
    port: int
    payload: str = "rfc5424"
    app_name: str = "pamtui"
    facility: int = 10
    max_bytes: int = 0
    """0: the transport's default (2,048 for UDP, 8,192 for TCP and TLS)."""
    timeout_seconds: float = 5.0
    retry_seconds: float = 10.0
    checkpoint_every: int = 100
    checkpoint_minutes: float = 15.0
    tls_ca_file: str = ""
    tls_verify: bool = True
    tls_server_name: str = ""
    tls_cert_file: str = ""
    tls_key_file: str = ""

    @property
    def effective_max_bytes(self) -> int:
        return self.max_bytes or DEFAULT_MAX_BYTES[self.transport]


# key -> (type, (low, high) or choices, what to say)
_NUMBERS: dict[str, tuple[type, float, float, str]] = {
    "port": (int, 1, 65535, "an integer 1..65535"),
    "facility": (int, 0, 23, "a syslog facility number 0..23 (10 is authpriv)"),
    "timeout_seconds": (float, 0.1, 300, "a number of seconds 0.1..300"),
    "retry_seconds": (float, 0.1, 3600, "a number of seconds 0.1..3600"),
    "checkpoint_every": (int, 1, 1_000_000, "a number of entries 1..1000000"),
    "checkpoint_minutes": (float, 0.1, 10080, "a number of minutes 0.1..10080 (a week)"),
}
_STRINGS: tuple[str, ...] = ("name", "host", "app_name", "tls_ca_file", "tls_server_name")
_STRINGS += ("tls_cert_file", "tls_key_file")


def _number(key: str, value: Any, where: str) -> float | int:
    kind, low, high, what = _NUMBERS[key]
    ok_type = isinstance(value, int) if kind is int else isinstance(value, int | float)
    if isinstance(value, bool) or not ok_type or not low <= value <= high:
        raise ValueError(f"{where}.{key}: expected {what}, got {value!r}")
    return kind(value)


def parse_forward(raw: Any) -> tuple[ForwardConfig, ...]:
    """Validate the ``forward`` array of tables; raise ValueError naming the key."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError("forward: expected an array of tables ([[forward]])")
    known = {f.name for f in fields(ForwardConfig)}
    result: list[ForwardConfig] = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        where = f"forward[{index}]"
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}: expected a table")
        for key in item:
            if key not in known:
                raise ValueError(f"{where}.{key}: unknown key (known: {', '.join(sorted(known))})")
        result.append(_one(item, where))
        if result[-1].name in names:
            raise ValueError(f"{where}.name: {result[-1].name!r} is used twice")
        names.add(result[-1].name)
    return tuple(result)


def _one(item: Mapping[str, Any], where: str) -> ForwardConfig:
    values: dict[str, Any] = {}
    transport = item.get("transport", "udp")
    if transport not in TRANSPORTS:
        raise ValueError(f"{where}.transport: expected one of udp, tcp, tls, got {transport!r}")
    values["transport"] = transport
    payload = item.get("payload", "rfc5424")
    if payload not in PAYLOADS:
        raise ValueError(f"{where}.payload: expected one of rfc5424, ocsf, cef, got {payload!r}")
    values["payload"] = payload
    for key in _STRINGS:
        if key in item:
            if not isinstance(item[key], str) or (key in ("name", "host") and not item[key]):
                raise ValueError(f"{where}.{key}: expected a non-empty string")
            values[key] = item[key]
    if not values.get("host"):
        raise ValueError(f"{where}.host: expected the receiver's host name or address")
    for key in _NUMBERS:
        if key in item:
            values[key] = _number(key, item[key], where)
    values.setdefault("port", DEFAULT_PORTS[transport])
    if "max_bytes" in item:
        value, high = item["max_bytes"], MAX_MAX_BYTES[transport]
        if isinstance(value, bool) or not isinstance(value, int):
            value = None
        if value is None or not MIN_MAX_BYTES <= value <= high:
            raise ValueError(
                f"{where}.max_bytes: expected an integer {MIN_MAX_BYTES}..{high} for "
                f"{transport}, got {item['max_bytes']!r}"
            )
        values["max_bytes"] = value
    if "tls_verify" in item:
        if not isinstance(item["tls_verify"], bool):
            raise ValueError(f"{where}.tls_verify: expected true or false")
        values["tls_verify"] = item["tls_verify"]
    tls_keys = [k for k in item if k.startswith("tls_")]
    if tls_keys and transport != "tls":
        raise ValueError(f'{where}.{tls_keys[0]}: only for transport = "tls"')
    if values.get("tls_key_file") and not values.get("tls_cert_file"):
        raise ValueError(f"{where}.tls_cert_file: expected a file, since tls_key_file is set")
    values.setdefault("name", f"{transport}://{values['host']}:{values['port']}")
    return ForwardConfig(**values)
