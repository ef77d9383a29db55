"""What the benchmarks share: the machine line they print first, so figures carry
their context, the environment a measured program gets, and their work directory."""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import tempfile
from collections.abc import Iterator
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


@contextlib.contextmanager
def scratch_dir(keep: Path | None) -> Iterator[Path]:
    """``--keep DIR`` (created if missing, left in place), else a temporary directory."""
    if keep:
        keep.mkdir(parents=True, exist_ok=True)
        yield keep
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def until_snapshot_saved(db: Path, timeout: float = 60) -> None:
    """Wait until the inventory snapshot beside ``db`` exists: the next start uses it.

    A TUI that quits at its first frame would never leave one; an operator's
    session always does, once the providers have answered.
    """
    import time

    from pamtui.services.inventory_snapshot import snapshot_file

    deadline = time.perf_counter() + timeout
    while not snapshot_file(db).exists():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no inventory snapshot beside {db} after {timeout:.0f} s")
        time.sleep(0.05)
