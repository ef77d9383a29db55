"""Stream cursors survive a restart: the file, its throttling and its failures."""

from __future__ import annotations

import asyncio
import json
import stat
from collections.abc import AsyncIterator

import pytest

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import AccessEvent, utcnow
from pamtui.services.cursors import FILE_NAME, CursorStore
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from tests.fakes import StaticProvider


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_round_trip_beside_the_database(tmp_path) -> None:
    store = CursorStore.beside(tmp_path / "pamtui.db")
    store.advance("okta-prod", "okta", "c-41")
    store.flush()
    path = tmp_path / FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = CursorStore.beside(tmp_path / "pamtui.db")
    assert again.since({"okta-prod": "okta", "gh": "github"}) == {"okta-prod": "c-41", "gh": None}


def test_a_cursor_is_not_handed_to_a_provider_of_another_type(tmp_path) -> None:
    store = CursorStore(tmp_path / FILE_NAME)
    store.advance("corp", "okta", "okta-cursor")
    store.flush()
    assert CursorStore(tmp_path / FILE_NAME).since({"corp": "scim"}) == {"corp": None}


def test_writes_are_throttled_but_flush_writes_the_latest(tmp_path) -> None:
    clock = Clock()
    store = CursorStore(tmp_path / FILE_NAME, flush_every=2.0, clock=clock)
    store.advance("p", "demo", "1")
    assert not (tmp_path / FILE_NAME).exists()  # not yet due
    clock.now += 2.5
    store.advance("p", "demo", "2")
    assert json.loads((tmp_path / FILE_NAME).read_text())["streams"]["p"]["cursor"] == "2"
    store.advance("p", "demo", "3")  # within the window: memory only
    assert json.loads((tmp_path / FILE_NAME).read_text())["streams"]["p"]["cursor"] == "2"
    store.flush()
    assert json.loads((tmp_path / FILE_NAME).read_text())["streams"]["p"]["cursor"] == "3"


def test_empty_cursors_are_ignored(tmp_path) -> None:
    store = CursorStore(tmp_path / FILE_NAME)
    store.advance("p", "demo", "")
    store.flush()
    assert not (tmp_path / FILE_NAME).exists()


@pytest.mark.parametrize(
    "content", ["{not json", '{"format": 99, "streams": {}}', "[]", '{"format": 1, "streams": 3}']
)
def test_a_damaged_file_costs_a_backfill_and_says_why(tmp_path, content) -> None:
    (tmp_path / FILE_NAME).write_text(content)
    store = CursorStore(tmp_path / FILE_NAME)
    assert store.since({"p": "demo"}) == {"p": None}
    assert "stream cursors ignored" in store.problem


def test_a_file_that_cannot_be_written_is_reported_not_raised(tmp_path) -> None:
    store = CursorStore(tmp_path / FILE_NAME)
    (tmp_path / FILE_NAME).mkdir()  # the rename fails, even for root
    store.advance("p", "demo", "1")
    store.flush()
    assert "not saved" in store.problem
    assert store.since({"p": "demo"}) == {"p": "1"}  # still known in memory
    assert [p.name for p in tmp_path.iterdir()] == [FILE_NAME]  # no temporary file left


# -- the TUI resumes each stream where the last session stopped ------------------


class CursoredProvider(StaticProvider):
    """A stream whose events carry cursors and which resumes strictly after one."""

    def __init__(self, log: list[AccessEvent]) -> None:
        super().__init__("static")
        self.log = log
        self.asked_since: list[str | None] = []

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        self.asked_since.append(since)
        after = int(since) if since else 0
        for event in self.log:
            if int(event.cursor) > after:
                yield event
        while True:
            await asyncio.sleep(3600)


def _event(n: int) -> AccessEvent:
    return AccessEvent(
        provider="static",
        ts=utcnow(),
        account_id="u1",
        credential_id="c1",
        method="GET",
        path=f"/call/{n}",
        status=200,
        cursor=str(n),
    )


async def _run_once(db_path, log: list[AccessEvent], expected: int) -> tuple[list[str], list]:
    provider = CursoredProvider(log)
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {provider.name: provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    app = PamtuiApp(session)
    shown: list[str] = []
    async with app.run_test(size=(120, 40)) as pilot:
        original = app.stream_watch.observe
        app.stream_watch.observe = lambda event: (shown.append(event.path), original(event))[1]
        for _ in range(200):  # bounded: at most ~10 s
            if len(shown) >= expected and provider.asked_since:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.1)
    return shown, provider.asked_since


async def test_a_restart_resumes_with_no_gap_and_no_duplicate(db_path) -> None:
    log = [_event(n) for n in range(1, 6)]
    shown, asked = await _run_once(db_path, log, expected=5)
    assert shown == [f"/call/{n}" for n in range(1, 6)] and asked == [None]
    saved = json.loads((db_path.parent / FILE_NAME).read_text())
    assert saved["streams"]["static"] == {"type": "static", "cursor": "5"}

    log += [_event(6), _event(7)]  # what happened while pamtui was closed
    shown, asked = await _run_once(db_path, log, expected=2)
    assert asked == ["5"]
    assert shown == ["/call/6", "/call/7"]
