"""Run a blocking SQLite scan in a thread that a cancelled caller can stop and join.

``asyncio.to_thread`` leaves the thread running when the awaiting task is
cancelled (the operator quits mid-scan): the caller's ``finally`` then closes
the connection under the scan, which is a crash (a segfault) with a
connection shared across threads, and the interpreter's exit waits for the
scan to end. Here the caller's cancellation interrupts the scan
(``Connection.interrupt``, thread-safe) and waits for its thread before
returning, so the connection may be closed right after.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

JOIN_TIMEOUT_S = 10.0
"""How long a cancelled caller waits for the interrupted scan to stop."""


async def scan_in_thread(
    fn: Callable[[sqlite3.Connection], T], conn: sqlite3.Connection, *, name: str = "scan"
) -> T:
    """``fn(conn)`` in its own thread; if the caller is cancelled, stop and join it first."""
    done: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        # A cancelled caller cancels ``done`` (wrap_future): the outcome is then dropped.
        try:
            result = fn(conn)
        except BaseException as exc:  # handed to the awaiting caller
            with contextlib.suppress(concurrent.futures.InvalidStateError):
                done.set_exception(exc)
            return
        with contextlib.suppress(concurrent.futures.InvalidStateError):
            done.set_result(result)

    thread = threading.Thread(target=run, name=f"pamtui-{name}", daemon=True)
    thread.start()
    try:
        return await asyncio.wrap_future(done)
    except asyncio.CancelledError:
        stop(conn, thread)
        raise


def stop(conn: sqlite3.Connection, thread: threading.Thread) -> bool:
    """Interrupt ``conn``'s running statement and join ``thread``; False if it did not stop."""
    if thread.is_alive():
        conn.interrupt()
        thread.join(JOIN_TIMEOUT_S)
    return not thread.is_alive()
