"""Waiting in Pilot tests for what the app does in workers (not for a fixed time)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


async def until(pilot: Any, condition: Callable[[], object], tries: int = 600) -> None:
    """Pause in short steps until ``condition()`` holds; fail after ``tries`` steps."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("condition never held")


def pane_title(app: Any) -> str:
    """The accounts pane's border title (its count, loading and snapshot marks)."""
    return str(app.screen.query_one("#accounts-pane").border_title)
