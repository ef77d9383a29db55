"""The TUI's process ends without CPython's heap tear-down, and loses nothing.

A real interpreter in a subprocess: the exit handlers run and the standard
streams are flushed (what shutdown would have kept), the exit code is the
TUI's, and no object is finalised one by one (what costs a second at 100,000
accounts). The tmux test (tests/e2e/test_e2e_tmux.py) checks the real
program's journal after `q`: the session's end is in it and the chain verifies.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROGRAM = """
import atexit, sys
from pamtui.cli.quick_exit import exit_without_teardown

log = sys.argv[1]

class Witness:
    def __del__(self):
        with open(log, "a") as f:
            f.write("torn down\\n")

witness = Witness()
atexit.register(lambda: open(log, "a").write("exit handler\\n"))
sys.stdout.write("no newline, still buffered")
sys.stderr.write("and stderr")
exit_without_teardown(3)
"""


def test_handlers_run_streams_flush_and_nothing_is_torn_down(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(log)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 3
    assert done.stdout == "no newline, still buffered"
    assert done.stderr == "and stderr"
    assert log.read_text() == "exit handler\n"  # the witness was never finalised
