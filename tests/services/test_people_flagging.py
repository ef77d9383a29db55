"""The accounts pane's people flags, computed with the correlation in a thread.

Real parts: the demo providers and their roster, a real journal (manual links,
roles history), the movers' baselines. What is computed must equal the inline
path (``PeopleService.refresh``, ``MoversService.assess``, ``people_flags``);
the correlation must run while the event loop keeps serving others.
"""

from __future__ import annotations

import asyncio
import threading

from pamtui.model import RiskFlag
from pamtui.services.movers import people_flags
from pamtui.services.people_flagging import compute_people_flags, flag_people
from tests.services.test_movers import MOVER, open_session


async def test_the_threaded_flags_equal_the_inline_ones(tmp_path, db_path):
    session = open_session(tmp_path, db_path)
    try:
        views = await session.inventory.sync()
        # A manual link (journal-backed) must be seen by the threaded correlation too.
        await session.people.load_roster()
        first = session.people.correlate(views)
        (unowned_key, *_) = sorted(first.unowned())
        account = next(v.account for v in views if v.key == unowned_key)
        person = first.find(MOVER)
        session.people.link("ops-alice", person, account, "shared laptop account")

        threaded = await compute_people_flags(session)
        corr = await session.people.refresh(views)
        inline = people_flags(corr, await session.movers.assess(corr, views))
        assert threaded == inline
        # The link was read: the account is no longer UNOWNED; the mover still shows.
        assert RiskFlag.UNOWNED not in threaded.get(unowned_key, frozenset())
        assert any(RiskFlag.MOVER in flags for flags in threaded.values())

        changed = await flag_people(session)  # merged into the inventory's views
        merged = {v.key: v.flags for v in session.inventory.rows()}
        for key, flags in inline.items():
            assert flags <= merged[key]
        # What changed is handed back (the pane redraws those rows only), as merged.
        assert {v.key for v in changed} == set(inline)
        assert all(v.flags == merged[v.key] for v in changed)
        assert await flag_people(session) == []  # the same roster again: nothing changed
    finally:
        await session.aclose()


async def test_the_correlation_leaves_the_event_loop_free(tmp_path, db_path):
    session = open_session(tmp_path, db_path)
    try:
        await session.inventory.sync()
        correlate = session.people.correlate
        started, release = threading.Event(), threading.Event()
        threads: list[int] = []

        def held_correlate(views, overrides=None):
            threads.append(threading.get_ident())
            started.set()
            # Released by a coroutine on the loop: were this on the loop, it
            # would wait out the timeout and the test would fail, not hang.
            assert release.wait(10), "the event loop was blocked by the correlation"
            return correlate(views, overrides)

        session.people.correlate = held_correlate  # type: ignore[method-assign]

        async def other_work_on_the_loop() -> None:
            while not started.is_set():
                await asyncio.sleep(0.01)
            release.set()

        flags, _ = await asyncio.gather(compute_people_flags(session), other_work_on_the_loop())
        assert threads and threads[0] != threading.get_ident()
        assert any(RiskFlag.MOVER in f for f in flags.values())
    finally:
        await session.aclose()


def test_the_switch_interval_is_shortened_once_and_restored():
    import sys

    from pamtui.services.thread_handover import HANDOVER_SECONDS, quick_gil_handover

    before = sys.getswitchinterval()
    outer = quick_gil_handover()
    inner = quick_gil_handover()
    outer.__enter__()
    assert sys.getswitchinterval() == min(before, HANDOVER_SECONDS)
    inner.__enter__()
    outer.__exit__(None, None, None)  # overlapping, not nested: still shortened
    assert sys.getswitchinterval() == min(before, HANDOVER_SECONDS)
    inner.__exit__(None, None, None)
    assert sys.getswitchinterval() == before
