"""The jsonl provider's declared settings."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pamtui.providers.jsonl.records import _short
from pamtui.providers.kit.settings import (
    REQUIRED,
    Setting,
    SettingError,
    Settings,
    choice,
    seconds,
    string,
    table,
)

FIELDS = ("ts", "account", "credential", "method", "path", "status", "source_ip", "user_agent")


REQUIRED_FIELDS = ("ts", "account")


TS_FORMATS = ("iso8601", "epoch", "epoch_ms")


START_AT = ("end", "beginning")


def _path(raw: str) -> Path:
    return Path(raw).expanduser().absolute()


def _command(raw: Any) -> list[str]:
    # Not a "strings" setting: arguments are kept exactly (spaces, empty ones).
    if (
        not isinstance(raw, list)
        or not raw
        or not all(isinstance(a, str) for a in raw)
        or not raw[0]
    ):
        raise SettingError(
            'must be a non-empty list of strings (an argv, e.g. ["journalctl", "-f"])'
            + f", not {type(raw).__name__} {_short(raw)}"
        )
    return list(raw)


def _fields(raw: Mapping[str, Any]) -> dict[str, str]:
    for key, value in raw.items():
        if key not in FIELDS:
            raise SettingError(
                f"is not a known field (known fields: {', '.join(FIELDS)})", key=f"fields.{key}"
            )
        if not isinstance(value, str) or not value or "" in value.split("."):
            raise SettingError(
                'must be a dotted JSON path such as "request.method"'
                + f", not {type(value).__name__} {_short(value)}",
                key=f"fields.{key}",
            )
    for key in REQUIRED_FIELDS:
        if key not in raw:
            raise SettingError("is required (a dotted JSON path)", key=f"fields.{key}")
    return dict(raw)


SETTINGS = Settings(
    string(
        "path",
        "the JSON-lines log file to tail (or: command)",
        non_empty=True,
        expected="the path of a JSON-lines file",
        check=_path,
    ),
    Setting(
        "command",
        "any",
        "an argv whose stdout is read, run without a shell (or: path)",
        expected='a non-empty list of strings (an argv, e.g. ["journalctl", "-f"])',
        check=_command,
    ),
    table(
        "fields",
        "pamtui field = dotted JSON path: ts and account required; credential, method, path, "
        "status, source_ip, user_agent",
        REQUIRED,
        expected="a table mapping pamtui fields to dotted JSON paths (ts and account required)",
        check=_fields,
    ),
    choice("ts_format", "how the ts field is written", TS_FORMATS, "iso8601"),
    seconds("poll_interval_s", "how often an idle file is checked", 0.25, low_open=True, high=60),
    choice("start_at", "end: only new lines; beginning: the whole file", START_AT, "end"),
)
"""Settings of ``type = "jsonl"``."""
