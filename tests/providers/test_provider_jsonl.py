"""JsonlProvider: a gateway's JSON-lines access log (or a command's output) as events.

Real files in tmp_path, a fast poll interval and bounded waits: every test is
well under two seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pamtui.model import AccessEvent, Account, AccountKind, AccountStatus, Capability
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError
from pamtui.providers.jsonl import JsonlProvider
from tests.support.hostile import HOSTILE_STRINGS

pytestmark = pytest.mark.timeout(10)

WAIT = 1.5
POLL = 0.01
SIMPLE_FIELDS = {"ts": "ts", "account": "user", "path": "path", "status": "status"}


def make(
    tmp_path: Path, name: str = "gw", fields: dict[str, str] | None = None, **settings: Any
) -> JsonlProvider:
    settings.setdefault("poll_interval_s", POLL)
    if "command" not in settings:
        settings.setdefault("path", str(tmp_path / "access.jsonl"))
    settings["fields"] = fields or SIMPLE_FIELDS
    return JsonlProvider.from_config(name, settings, ProviderContext(state_dir=tmp_path / "state"))


def rec(n: int, **extra: Any) -> str:
    record = {"ts": f"2024-05-01T12:00:{n:02d}Z", "user": f"u{n}", "path": f"/p/{n}", "status": 200}
    record.update(extra)
    return json.dumps(record) + "\n"


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


class Collector:
    """Consume a stream in a task; wait (bounded) for a number of events."""

    def __init__(self, stream: AsyncIterator[AccessEvent]) -> None:
        self.events: list[AccessEvent] = []
        self.error: BaseException | None = None
        self._task = asyncio.create_task(self._run(stream))

    async def _run(self, stream: AsyncIterator[AccessEvent]) -> None:
        try:
            async for event in stream:
                self.events.append(event)
        except Exception as exc:
            self.error = exc

    async def wait_for(self, count: int, timeout: float = WAIT) -> list[AccessEvent]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.events) < count and self.error is None and loop.time() < deadline:
            await asyncio.sleep(0.005)
        assert len(self.events) >= count, (self.events, self.error)
        return self.events

    async def settle(self, seconds: float = 0.1) -> list[AccessEvent]:
        await asyncio.sleep(seconds)
        return self.events

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    @property
    def accounts(self) -> list[str]:
        return [e.account_id for e in self.events]


async def test_nested_fields_kong_like_epoch_ms(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    record = {
        "started_at": 1700000000123,
        "consumer": {"username": "svc-x"},
        "authenticated_entity": {"id": "key-42"},
        "request": {"method": "GET", "uri": "/v1/things", "headers": {"user-agent": "curl/8"}},
        "response": {"status": 403},
        "client_ip": "203.0.113.9",
    }
    log.write_text(json.dumps(record) + "\n")
    fields = {
        "ts": "started_at",
        "account": "consumer.username",
        "credential": "authenticated_entity.id",
        "method": "request.method",
        "path": "request.uri",
        "status": "response.status",
        "source_ip": "client_ip",
        "user_agent": "request.headers.user-agent",
    }
    provider = make(tmp_path, fields=fields, ts_format="epoch_ms", start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        [event] = await c.wait_for(1)
    finally:
        await c.close()
    assert event.provider == "gw"
    assert event.ts == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
    assert event.account_id == "svc-x"
    assert event.credential_id == "key-42"
    assert (event.method, event.path, event.status) == ("GET", "/v1/things", 403)
    assert event.denied
    assert (event.source_ip, event.user_agent) == ("203.0.113.9", "curl/8")
    assert event.cursor == f"{log.stat().st_ino}:{log.stat().st_size}"


async def test_timestamp_formats_and_dotted_keys(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(
        json.dumps({"t": 1700000000, "who": {"a.b": "dotted"}, "items": [{"c": "x"}]}) + "\n"
    )
    fields = {"ts": "t", "account": "who.a.b", "credential": "items.0.c"}
    provider = make(tmp_path, fields=fields, ts_format="epoch", start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        [event] = await c.wait_for(1)
    finally:
        await c.close()
    assert event.ts == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert (event.account_id, event.credential_id, event.status) == ("dotted", "x", 0)

    # ISO 8601: an offset is converted to UTC, a naive time is taken as UTC.
    log.write_text(
        rec(1, ts="2024-05-01T14:00:00+02:00") + rec(2, ts="2024-05-01T12:00:00.5") + rec(3)
    )
    provider = make(tmp_path, name="iso", start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        events = await c.wait_for(3)
    finally:
        await c.close()
    assert [e.ts for e in events] == [
        datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 0, 500000, tzinfo=UTC),
        datetime(2024, 5, 1, 12, 0, 3, tzinfo=UTC),
    ]
    assert all(e.ts.tzinfo is UTC for e in events)


async def test_start_at_end_shows_only_appended_lines_live(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1) + rec(2))
    c = Collector(make(tmp_path).stream_events())
    try:
        assert await c.settle() == []
        append(log, rec(3))
        await c.wait_for(1)
        append(log, rec(4) + rec(5))
        await c.wait_for(3)
        assert c.accounts == ["u3", "u4", "u5"]
    finally:
        await c.close()


async def test_file_that_does_not_exist_yet_is_waited_for(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    c = Collector(make(tmp_path).stream_events())
    try:
        assert await c.settle() == []
        log.write_text(rec(1) + rec(2))  # created after the start: all of it is new
        await c.wait_for(2)
        assert c.accounts == ["u1", "u2"]
    finally:
        await c.close()


async def test_partial_line_is_held_until_its_newline(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text("")
    provider = make(tmp_path)
    c = Collector(provider.stream_events())
    try:
        await c.settle(0.05)
        line = rec(1)
        append(log, line[:10])
        assert await c.settle() == []
        append(log, line[10:-1])
        assert await c.settle() == []
        append(log, "\n" + rec(2))
        await c.wait_for(2)
        assert c.accounts == ["u1", "u2"]
        assert provider.skipped == 0
        assert c.events[0].cursor == f"{log.stat().st_ino}:{len(line)}"
    finally:
        await c.close()


async def test_rotation_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1))
    c = Collector(make(tmp_path, start_at="beginning").stream_events())
    try:
        await c.wait_for(1)
        old_ino = log.stat().st_ino
        log.rename(tmp_path / "access.jsonl.1")
        append(tmp_path / "access.jsonl.1", rec(2))  # the writer still has the old file open
        log.write_text(rec(3))
        append(tmp_path / "access.jsonl.1", rec(4))  # a straggler, before the switch is seen
        await c.wait_for(4)
        append(log, rec(5))
        await c.wait_for(5)
        await c.settle()
        # The old file is finished (straggler included) before the new one is read.
        assert c.accounts == ["u1", "u2", "u4", "u3", "u5"]
        assert c.events[0].cursor.startswith(f"{old_ino}:")
        assert c.events[-1].cursor.startswith(f"{log.stat().st_ino}:")
    finally:
        await c.close()


async def test_moved_away_without_replacement_keeps_reading_the_old_file(
    tmp_path: Path,
) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1))
    c = Collector(make(tmp_path, start_at="beginning").stream_events())
    try:
        await c.wait_for(1)
        log.rename(tmp_path / "access.jsonl.1")
        await c.settle(0.05)
        append(tmp_path / "access.jsonl.1", rec(2))
        await c.wait_for(2)
        log.write_text(rec(3))
        await c.wait_for(3)
        assert c.accounts == ["u1", "u2", "u3"]
    finally:
        await c.close()


async def test_truncation_starts_again_at_zero(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1) + rec(2) + rec(3))
    c = Collector(make(tmp_path, start_at="beginning").stream_events())
    try:
        await c.wait_for(3)
        with open(log, "w", encoding="utf-8") as fh:  # truncate in place (copytruncate)
            fh.write(rec(4))
        await c.wait_for(4)
        assert c.accounts == ["u1", "u2", "u3", "u4"]
        assert c.events[-1].cursor == f"{log.stat().st_ino}:{len(rec(4))}"
    finally:
        await c.close()


async def test_resume_from_cursor_after_restart(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1) + rec(2))
    c = Collector(make(tmp_path, start_at="beginning").stream_events())
    try:
        await c.wait_for(2)
    finally:
        await c.close()
    cursor = c.events[-1].cursor
    append(log, rec(3) + rec(4))

    # A new instance (a restart); start_at does not matter once there is a cursor.
    for start_at in ("beginning", "end"):
        again = Collector(
            make(tmp_path, name=f"r-{start_at}", start_at=start_at).stream_events(cursor)
        )
        try:
            await again.wait_for(2)
            assert (await again.settle()) and again.accounts == ["u3", "u4"]
        finally:
            await again.close()


async def test_resume_after_rotation_finishes_the_rotated_file(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1))
    c = Collector(make(tmp_path, start_at="beginning").stream_events())
    try:
        await c.wait_for(1)
    finally:
        await c.close()
    cursor = c.events[-1].cursor
    # While pamtui was down: one more line, then rotation and new traffic.
    append(log, rec(2))
    log.rename(tmp_path / "access.jsonl.1")
    log.write_text(rec(3))
    again = Collector(make(tmp_path).stream_events(cursor))
    try:
        await again.wait_for(2)
        assert await again.settle() and again.accounts == ["u2", "u3"]
    finally:
        await again.close()

    # The rotated file is gone altogether: the current file from its start.
    (tmp_path / "access.jsonl.1").unlink()
    third = Collector(make(tmp_path).stream_events(cursor))
    try:
        await third.wait_for(1)
        assert await third.settle() and third.accounts == ["u3"]
    finally:
        await third.close()


async def test_foreign_cursor_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="cursor"):
        make(tmp_path).stream_events("not-a-cursor")


async def test_persisted_cursor_is_0600_and_used(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1))
    provider = make(tmp_path, name="edge/1")
    c = Collector(provider.stream_events())
    try:
        await c.settle(0.05)
        append(log, rec(2))
        await c.wait_for(1)
    finally:
        await c.close()
    target = tmp_path / "state" / "jsonl-edge_1.cursor"
    assert provider.cursor_file == target
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text())["cursor"] == c.events[-1].cursor

    append(log, rec(3) + rec(4))  # written while pamtui was not running
    again = Collector(make(tmp_path, name="edge/1").stream_events())
    try:
        await again.wait_for(2)
        assert await again.settle() and again.accounts == ["u3", "u4"]
    finally:
        await again.close()

    # start_at = "beginning" ignores the saved cursor.
    full = Collector(make(tmp_path, name="edge/1", start_at="beginning").stream_events())
    try:
        await full.wait_for(4)
        assert full.accounts == ["u1", "u2", "u3", "u4"]
    finally:
        await full.close()


async def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    lines = [
        rec(1),
        "this is not json\n",
        "[1, 2, 3]\n",
        json.dumps({"ts": "2024-05-01T12:00:00Z", "path": "/no-user"}) + "\n",
        rec(2, ts="yesterday"),
        rec(3, ts=None),
        rec(4, status="teapot"),
        rec(5, user={"nested": True}),
        "\n",  # blank: ignored, not counted
        '{"ts": "2024-05-01T12:00:00Z", "user": "u6"' + "\n",  # cut short
        rec(7, status="404"),
    ]
    log.write_text("".join(lines))
    provider = make(tmp_path, start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        await c.wait_for(2)
        await c.settle()
    finally:
        await c.close()
    assert c.accounts == ["u1", "u7"]
    assert c.events[-1].status == 404
    assert provider.skipped == 8
    assert "not JSON" in provider.last_error
    assert "access.jsonl" in provider.last_error


async def test_over_long_line_is_dropped_without_buffering_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pamtui.providers.jsonl.records.MAX_LINE", 1000)
    monkeypatch.setattr("pamtui.providers.jsonl.records.CHUNK", 256)
    log = tmp_path / "access.jsonl"
    log.write_text(rec(1) + rec(2, pad="x" * 5000) + rec(3))
    provider = make(tmp_path, start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        await c.wait_for(2)
    finally:
        await c.close()
    assert c.accounts == ["u1", "u3"]
    assert provider.skipped == 1
    assert c.events[-1].cursor.endswith(f":{log.stat().st_size}")


async def test_hostile_strings_come_through_unchanged(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    fields = {**SIMPLE_FIELDS, "user_agent": "ua", "method": "m", "credential": "k"}
    log.write_text(
        "".join(rec(i, user=s, ua=s, path=s, m=s, k=s) for i, s in enumerate(HOSTILE_STRINGS))
    )
    provider = make(tmp_path, fields=fields, start_at="beginning")
    c = Collector(provider.stream_events())
    try:
        events = await c.wait_for(len(HOSTILE_STRINGS))
    finally:
        await c.close()
    assert provider.skipped == 0
    for event, text in zip(events, HOSTILE_STRINGS, strict=True):
        assert event.account_id == event.path == event.user_agent == text
        assert event.method == event.credential_id == text


async def test_command_mode_reads_stdout_and_reports_exit(tmp_path: Path) -> None:
    script = (
        "import json\n"
        "for i in range(3):\n"
        "    print(json.dumps({'ts': '2024-05-01T12:00:00Z', 'user': f'c{i}', 'status': 200}))\n"
        "print('garbage')\n"
        "print(json.dumps({'ts': '2024-05-01T12:00:00Z', 'user': 'last'}), end='')\n"
        "import sys; sys.stderr.write('bye now')\n"
    )
    provider = make(tmp_path, command=[sys.executable, "-c", script])
    c = Collector(provider.stream_events("cmd:99"))  # a command cannot resume: ignored
    try:
        await c.wait_for(4)
        for _ in range(200):
            if c.error is not None:
                break
            await asyncio.sleep(0.01)
    finally:
        await c.close()
    assert c.accounts == ["c0", "c1", "c2", "last"]
    assert [e.cursor for e in c.events] == ["cmd:1", "cmd:2", "cmd:3", "cmd:5"]
    assert provider.skipped == 1
    assert isinstance(c.error, ProviderError) and c.error.retryable
    assert "exited with status 0" in str(c.error) and "bye now" in str(c.error)
    assert provider.cursor_file is None  # nothing is persisted for commands


@pytest.mark.parametrize("close", ["cancel", "aclose"])
async def test_command_is_terminated_on_close(tmp_path: Path, close: str) -> None:
    script = (
        "import json, os, sys, time\n"
        "print(json.dumps({'ts': '2024-05-01T12:00:00Z', 'user': str(os.getpid())}), flush=True)\n"
        "time.sleep(30)\n"
    )
    provider = make(tmp_path, command=[sys.executable, "-c", script])
    c = Collector(provider.stream_events())
    try:
        [event] = await c.wait_for(1, timeout=5)
        pid = int(event.account_id)
        os.kill(pid, 0)  # running
        if close == "aclose":
            await provider.aclose()
            await c.wait_for(1)
            for _ in range(100):
                if c.error is not None:
                    break
                await asyncio.sleep(0.01)
            assert isinstance(c.error, ProviderError)  # the stream ends: the command exited
    finally:
        await c.close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_command_that_cannot_run(tmp_path: Path) -> None:
    provider = make(tmp_path, command=[str(tmp_path / "no-such-binary")])
    with pytest.raises(ProviderError, match="cannot run"):
        async for _ in provider.stream_events():
            pass


async def test_events_only(tmp_path: Path) -> None:
    provider = make(tmp_path)
    assert provider.capabilities == frozenset({Capability.EVENTS})
    assert [a async for a in provider.list_accounts()] == []
    assert [c async for c in provider.list_credentials()] == []
    account = Account("gw", "u1", "u1", AccountKind.HUMAN, AccountStatus.ACTIVE)
    assert provider.revoke_actions(account) == []
    with pytest.raises(ProviderError, match="only reads events"):
        await provider.revoke(None, "k")  # type: ignore[arg-type]
    with pytest.raises(ProviderError, match="only reads events"):
        await provider.verify(None)  # type: ignore[arg-type]
    await provider.aclose()


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"fields": SIMPLE_FIELDS}, "path"),  # neither path nor command
        ({"path": "/x", "command": ["cat"], "fields": SIMPLE_FIELDS}, "command"),
        ({"path": 3, "fields": SIMPLE_FIELDS}, "'path'"),
        ({"command": "tail -f x", "fields": SIMPLE_FIELDS}, "'command'"),
        ({"command": [], "fields": SIMPLE_FIELDS}, "'command'"),
        ({"command": ["tail", 3], "fields": SIMPLE_FIELDS}, "'command'"),
        ({"path": "/x"}, "'fields'"),
        ({"path": "/x", "fields": "ts"}, "'fields'"),
        ({"path": "/x", "fields": {"account": "u"}}, "'fields.ts'"),
        ({"path": "/x", "fields": {"ts": "t"}}, "'fields.account'"),
        ({"path": "/x", "fields": {**SIMPLE_FIELDS, "colour": "c"}}, "'fields.colour'"),
        ({"path": "/x", "fields": {**SIMPLE_FIELDS, "method": 1}}, "'fields.method'"),
        ({"path": "/x", "fields": {**SIMPLE_FIELDS, "method": "a..b"}}, "'fields.method'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "ts_format": "rfc822"}, "'ts_format'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "poll_interval_s": 0}, "'poll_interval_s'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "poll_interval_s": "1"}, "'poll_interval_s'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "poll_interval_s": True}, "'poll_interval_s'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "start_at": "middle"}, "'start_at'"),
        ({"path": "/x", "fields": SIMPLE_FIELDS, "follow": True}, "'follow'"),
    ],
)
def test_settings_errors_name_the_key(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError, match=key) as info:
        JsonlProvider.from_config("gw", settings, ProviderContext(state_dir=tmp_path))
    assert "provider 'gw' (type jsonl)" in str(info.value)


def test_settings_defaults(tmp_path: Path) -> None:
    provider = JsonlProvider.from_config(
        "gw", {"path": "~/access.jsonl", "fields": SIMPLE_FIELDS}, ProviderContext(tmp_path)
    )
    assert provider.path is not None and provider.path.is_absolute()
    assert "~" not in str(provider.path)
    assert (provider.ts_format, provider.poll_interval_s, provider.start_at) == (
        "iso8601",
        0.25,
        "end",
    )
