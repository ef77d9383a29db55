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


# -- one writer for every provider's own cursor file; files written before still load ----


def test_cursor_files_written_before_still_load(tmp_path) -> None:
    """The exact bytes the github, jsonl and aws-iam providers wrote before the kit."""
    from pamtui.providers.aws_iam import AwsIamProvider, StreamPosition
    from pamtui.providers.github import decode_cursor, encode_cursor
    from pamtui.providers.jsonl import JsonlProvider
    from pamtui.providers.kit.cursors import SavedCursor

    github_cursor = encode_cursor(1_700_000_000_123, {"doc-1", "doc-2"})
    scope = "https://api.github.com/orgs/acme"
    (tmp_path / "github-corp_gh.cursor").write_text(
        json.dumps({"scope": scope, "cursor": github_cursor})
    )
    saved = SavedCursor(tmp_path, "github", "corp/gh", scope={"scope": scope})
    assert saved.load(decode_cursor) == github_cursor
    other = SavedCursor(tmp_path, "github", "corp/gh", scope={"scope": scope + "x"})
    assert other.load(decode_cursor) is None  # another org: not its cursor

    log = tmp_path / "access.jsonl"
    (tmp_path / "jsonl-edge.cursor").write_text(json.dumps({"path": str(log), "cursor": "12:345"}))
    provider = JsonlProvider.from_config(
        "edge", {"path": str(log), "fields": {"ts": "t", "account": "a"}}, _context(tmp_path)
    )
    assert provider._load_cursor() == (12, 345)

    position = StreamPosition.decode("ct1|2026-01-02T03:04:05+00:00|ev-1,ev-2")
    (tmp_path / "aws-iam-corp-aws.cursor").write_text(position.encode())  # bare text, no JSON
    aws = AwsIamProvider("corp-aws", _aws_settings(), None, None, state_dir=tmp_path)
    loaded = aws._load_position()
    assert loaded is not None and loaded.encode() == position.encode()

    # Saving again writes the kit's JSON, which loads the same.
    later = StreamPosition.decode("ct1|2026-01-02T03:05:00+00:00|ev-3")
    aws._save_position(later)
    assert json.loads((tmp_path / "aws-iam-corp-aws.cursor").read_text())["cursor"] == (
        later.encode()
    )
    again = AwsIamProvider("corp-aws", _aws_settings(), None, None, state_dir=tmp_path)
    assert again._load_position().encode() == later.encode()


def test_damaged_cursor_files_cost_a_backfill_not_the_session(tmp_path) -> None:
    from pamtui.providers.github import decode_cursor
    from pamtui.providers.kit.cursors import SavedCursor

    path = tmp_path / "github-corp.cursor"
    for damaged in ('{"cursor": "not-a-github-cursor"}', "{", "two\nlines", '{"cursor": 3}'):
        path.write_text(damaged)
        saved = SavedCursor(tmp_path, "github", "corp", scope={})
        assert saved.load(decode_cursor) is None, damaged
        assert "ignoring unreadable cursor file" in saved.problem


def test_cursor_writer_is_atomic_owner_only_and_replaces_a_symlink(tmp_path) -> None:
    from pamtui.providers.kit.cursors import SavedCursor

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    state = tmp_path / "state"
    state.mkdir()
    (state / "jsonl-edge.cursor").symlink_to(victim)
    saved = SavedCursor(state, "jsonl", "edge", scope={"path": "/x"})
    assert saved.save("1:2")
    target = state / "jsonl-edge.cursor"
    assert not target.is_symlink() and victim.read_text() == "keep me"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert json.loads(target.read_text()) == {"path": "/x", "cursor": "1:2"}
    assert [p.name for p in state.iterdir()] == ["jsonl-edge.cursor"]  # no temporary left
    assert not saved.save("1:2")  # the same cursor again: nothing written


def test_services_cursor_store_is_the_kits() -> None:
    from pamtui.providers.kit import cursors as kit

    assert CursorStore is kit.CursorStore and FILE_NAME == kit.FILE_NAME


def _context(tmp_path):
    from pamtui.providers.base import ProviderContext

    return ProviderContext(state_dir=tmp_path)


def _aws_settings():
    from pamtui.providers.aws_iam import AwsSettings

    return AwsSettings()
