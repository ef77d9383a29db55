"""The machine line every benchmark prints first, so figures carry their context."""

from __future__ import annotations

import os
import platform
import sqlite3
from pathlib import Path


def machine_line() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or cpu
    return (
        f"machine: {cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}"
    )


UNMEASURED_ENV = ("COLUMNS", "LINES", "PYTHONDONTWRITEBYTECODE")
"""Left out of a measured program's environment. PYTHONDONTWRITEBYTECODE would
make every start compile pamtui's sources again (0.4 s on the reference
machine); an installed program has its bytecode cached, so the benchmarks
start once to cache it (the "cold" figure) and measure the starts after it."""


def measured_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNMEASURED_ENV}
    env.update(extra)
    return env
