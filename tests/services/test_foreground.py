"""Background threads give way while the operator types (pamtui/foreground.py).

Real threads and the real interpreter: a thread working through ``paced``
rows makes no progress while keys keep arriving, and finishes once they stop;
the event loop's own thread never waits. The TUI marks every key it receives
(tests/tui/test_burst_keys.py covers keys a widget stops).
"""

from __future__ import annotations

import threading
import time

import pytest

from pamtui import foreground


@pytest.fixture(autouse=True)
def nobody_typing():
    foreground.mark_typing(float("-inf"))
    yield
    foreground.mark_typing(float("-inf"))


def test_nobody_typing_means_no_wait():
    assert not foreground.typing_recently()
    done: list[float] = []
    thread = threading.Thread(target=lambda: done.append(foreground.give_way()))
    thread.start()
    thread.join(5)
    assert done == [0.0]


def test_the_main_thread_never_waits():
    foreground.mark_typing()
    assert foreground.typing_recently()
    assert foreground.give_way() == 0.0  # the event loop's thread: its work is the key's
    assert list(foreground.paced(range(5), 1)) == [0, 1, 2, 3, 4]


def test_a_background_loop_waits_while_keys_arrive_and_then_finishes():
    seen: list[int] = []
    thread = threading.Thread(
        target=lambda: seen.extend(foreground.paced(range(20), 5)), daemon=True
    )
    foreground.mark_typing()
    thread.start()
    # Keys keep arriving: the thread stops at its first chunk boundary.
    for _ in range(30):
        foreground.mark_typing()
        time.sleep(0.01)
        assert len(seen) <= 4  # the first chunk at most: the fifth row waits
    assert thread.is_alive()
    # The operator pauses: the work finishes, all of it, in order.
    foreground.mark_typing(float("-inf"))
    thread.join(10)
    assert not thread.is_alive()
    assert seen == list(range(20))


def test_one_wait_is_bounded_so_work_always_progresses():
    waited: list[float] = []
    stop = threading.Event()

    def typist() -> None:
        while not stop.is_set():
            foreground.mark_typing()
            time.sleep(0.005)

    keys = threading.Thread(target=typist, daemon=True)
    keys.start()
    try:
        worker = threading.Thread(target=lambda: waited.append(foreground.give_way(0.05)))
        worker.start()
        worker.join(10)
        assert not worker.is_alive()  # returned although the typing never stopped
        assert waited and waited[0] > 0
    finally:
        stop.set()
        keys.join(5)


def test_stop_abandons_the_loop_between_chunks_never_inside_one():
    answers = iter([False, True])
    asked_after: list[int] = []
    got: list[int] = []

    def stop() -> bool:
        asked_after.append(len(got))
        return next(answers)

    with pytest.raises(foreground.Abandoned):
        for item in foreground.paced(range(20), 5, stop=stop):
            got.append(item)
    # Asked once a chunk (before the 5th item, before the 10th), and stopped
    # there when the answer was yes: the 10th item never came.
    assert asked_after == [4, 9]
    assert got == list(range(9))
    assert list(foreground.paced(range(7), 2, stop=lambda: False)) == list(range(7))


def test_a_loop_paused_for_the_operator_stops_as_soon_as_the_pause_ends():
    stopped = threading.Event()
    got: list[int] = []
    outcome: list[str] = []

    def work() -> None:
        try:
            got.extend(foreground.paced(range(100), 5, stop=stopped.is_set))
            outcome.append("finished")
        except foreground.Abandoned:
            outcome.append("abandoned")

    foreground.mark_typing()
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    for _ in range(20):  # the operator types: the thread waits at its first boundary
        foreground.mark_typing()
        time.sleep(0.01)
    stopped.set()  # the app quits meanwhile
    foreground.mark_typing(float("-inf"))
    thread.join(10)
    assert outcome == ["abandoned"]  # not one more chunk after the wait
