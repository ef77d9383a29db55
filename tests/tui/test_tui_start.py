"""The TUI's start: the cyclic collector is paused only until the first frame
(pamtui/heap.py), and the triage screen is whole when the app is ready."""

from __future__ import annotations

import gc

import pytest

from pamtui.tui.screens.main import MainScreen
from pamtui.tui.widgets.accounts import AccountsTable
from tests.fakes import StaticProvider
from tests.tui.test_tui import SIZE, make_app, settle


@pytest.fixture(autouse=True)
def _restore_collector():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


async def test_collection_is_paused_while_the_app_starts_and_back_after_the_first_frame(db_path):
    gc.enable()
    app = make_app(db_path, StaticProvider())
    seen: list[bool] = []
    assert gc.isenabled()
    original = app._after_first_frame

    def after_first_frame() -> None:
        seen.append(gc.isenabled())  # still paused as the first frame is done
        original()
        seen.append(gc.isenabled())

    app._after_first_frame = after_first_frame  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert seen == [False, True]
        assert gc.isenabled()
        assert isinstance(app.screen, MainScreen)
        assert app.screen.query_one(AccountsTable).row_count > 0
    assert gc.isenabled()


async def test_an_app_closed_before_its_first_frame_collects_again(db_path):
    gc.enable()
    app = make_app(db_path, StaticProvider())
    app._after_first_frame = lambda: None  # type: ignore[method-assign]  # never reached
    async with app.run_test(size=SIZE):
        assert not gc.isenabled()
    assert gc.isenabled()  # on_unmount ended the pause
