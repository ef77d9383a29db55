"""Stream cursors survive a restart: the file, its throttling and its failures."""

from __future__ import annotations

import json
import stat

import pytest

from pamtui.services.cursors import FILE_NAME, CursorStore


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
