"""pamtui.heap: the collector paused while a sync builds, the result frozen, all undone."""

from __future__ import annotations

import gc
import weakref

import pytest

from pamtui import heap


@pytest.fixture(autouse=True)
def _restore_collector():
    enabled, thresholds = gc.isenabled(), gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)
    (gc.enable if enabled else gc.disable)()


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_long_lived_pauses_collection_then_freezes_what_was_built() -> None:
    gc.enable()
    gc.unfreeze()
    with heap.long_lived():
        assert not gc.isenabled()
        with heap.long_lived():  # nested: the outer block decides
            pass
        assert not gc.isenabled()
        built = [Node() for _ in range(1_000)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    heap.thaw()
    assert gc.get_freeze_count() == 0


def test_long_lived_restores_the_collector_when_the_build_fails() -> None:
    gc.enable()
    with pytest.raises(RuntimeError), heap.long_lived():
        raise RuntimeError("provider blew up")
    assert gc.isenabled()


def test_a_disabled_collector_stays_disabled() -> None:
    gc.disable()
    with heap.long_lived():
        pass
    assert not gc.isenabled()


def test_settle_collects_garbage_then_freezes_the_rest() -> None:
    gc.enable()
    gc.unfreeze()
    garbage = weakref.ref(Node())  # only the cyclic collector can free it
    kept = [Node() for _ in range(100)]
    heap.settle()
    assert garbage() is None  # collected, not frozen
    assert gc.get_freeze_count() >= len(kept)


def test_stream_thresholds_raise_and_restore() -> None:
    gc.set_threshold(700, 10, 10)
    with heap.stream_thresholds():
        assert gc.get_threshold() == heap.STREAM_THRESHOLD
    assert gc.get_threshold() == (700, 10, 10)
    gc.set_threshold(9_000, 50, 50)  # never lowered
    with heap.stream_thresholds():
        assert gc.get_threshold() == (9_000, 50, 50)


def test_thresholds_are_restored_by_whoever_ends_first() -> None:
    gc.set_threshold(700, 10, 10)
    stream = heap.stream_thresholds()
    stream.__enter__()
    heap.restore_thresholds()  # the app closing before its stream task ends
    assert gc.get_threshold() == (700, 10, 10)
    gc.set_threshold(800, 10, 10)
    stream.__exit__(None, None, None)  # late: must not put back a stale value
    assert gc.get_threshold() == (800, 10, 10)


def test_a_start_pauses_collection_until_its_first_frame_then_freezes_what_it_built() -> None:
    gc.enable()
    gc.unfreeze()
    heap.pause_for_start()
    assert not gc.isenabled()
    with heap.long_lived():  # the first frame's rows: collection stays paused after it
        pass
    assert not gc.isenabled()
    built = [Node() for _ in range(1_000)]
    heap.start_done()
    assert gc.isenabled()
    assert gc.get_freeze_count() >= len(built)
    heap.start_done()  # every way out of a start calls it: idempotent
    assert gc.isenabled()


def test_a_start_leaves_a_collector_its_caller_turned_off_alone() -> None:
    gc.unfreeze()  # what earlier tests in this process froze
    gc.disable()
    heap.pause_for_start()
    heap.start_done()
    assert not gc.isenabled()  # the caller's choice, not the start's to undo
    gc.enable()
    heap.start_done()  # no start paused it: nothing to do
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_the_cli_collects_again_when_the_tui_cannot_start(capsys) -> None:
    from pamtui.cli import main

    gc.enable()
    assert main([]) == 2  # no terminal here: one line, exit 2, before any frame
    assert "terminal" in capsys.readouterr().err
    assert gc.isenabled()
