"""The demo's clock: wall-clock time, which tests replace with one that fast-forwards."""

from __future__ import annotations

import asyncio
import time


class Clock:
    """Wall-clock time; tests substitute one that fast-forwards through sleeps."""

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
