"""The demo provider's call log: what bench_bastion and the hub tests count."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pamtui.providers.demo.calls import read_calls
from tests.providers.test_demo_provider import FastClock, make, take


async def test_calls_are_counted_in_the_file_by_every_instance(tmp_path: Path) -> None:
    log = tmp_path / "calls.sqlite"
    first = make(tmp_path, "idp", system="idp", call_log="calls.sqlite", backfill_minutes=0)
    second = make(tmp_path, "idp", system="idp", call_log=str(log))  # another process's view
    assert [a async for a in first.list_accounts()]
    assert [a async for a in second.list_accounts()]
    assert [c async for c in first.list_credentials()]
    assert [p async for p in first.list_people()]
    clock = FastClock()
    first.clock = clock
    await take(first.stream_events(), 400)
    await first.aclose()
    await second.aclose()
    calls = read_calls(log)
    assert calls[("idp", "list_accounts")] == 2  # one page each: the bundled org is small
    assert calls[("idp", "list_credentials")] == 1
    assert calls[("idp", "list_people")] == 1
    assert calls[("idp", "stream_open")] == 1
    assert calls[("idp", "stream_poll")] >= 1  # live seconds only, not the backfill
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


async def test_no_call_log_unless_asked(tmp_path: Path) -> None:
    provider = make(tmp_path)
    assert [a async for a in provider.list_accounts()]
    await provider.aclose()
    assert provider.calls is None
    assert read_calls(tmp_path / "calls.sqlite") == {}


@pytest.mark.parametrize("name", ["ops#1", "a?b", "50%41"])
async def test_calls_are_read_from_a_log_in_an_odd_directory(tmp_path: Path, name: str) -> None:
    """Was: {} (a?b, ops#1: "no such table", with an empty "a" or "ops" created beside
    the directory) or "unable to open database file" (50%41)."""
    (tmp_path / name).mkdir()
    log = tmp_path / name / "calls.sqlite"
    provider = make(tmp_path, "idp", system="idp", call_log=str(log))
    assert [a async for a in provider.list_accounts()]
    await provider.aclose()
    assert read_calls(log)[("idp", "list_accounts")] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "demo.sqlite") == [name]
