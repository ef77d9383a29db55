"""End a TUI's process without CPython tearing down its heap.

After a 100,000-account session, CPython spends about a second at exit
freeing, one by one, objects the kernel takes back at once: `q` to the shell
prompt took 1.4 s, 0.5 s without the tear-down (tmux, 100k demo). By the time
the TUI has returned, everything that writes has finished: the app journalled
the session's end, flushed the stream cursors and closed the session
(providers, TOTP store, journal) as it unmounted, and ``asyncio.run`` joined
every worker thread. What is left of Python's own clean-up is done here:
the ``atexit`` handlers (logging's flush among them) and the standard streams.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from typing import NoReturn


def exit_without_teardown(code: int) -> NoReturn:
    """Run the exit handlers, flush stdout and stderr, and end the process with ``code``."""
    atexit._run_exitfuncs()  # what interpreter shutdown would run first
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):  # a closed or broken stream: nothing to keep
            stream.flush()
    os._exit(code)
