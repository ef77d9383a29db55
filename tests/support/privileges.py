"""Run a child process on which file modes bind, even when the tests run as root."""

from __future__ import annotations

import os
import shutil

import pytest


def without_root_powers() -> list[str]:
    """A command prefix that makes file modes bind the child process.

    Root passes every mode check through three capabilities (DAC override,
    DAC read search, file owner); ``setpriv`` drops them from the child, which
    keeps uid 0 (so it still reads the tests' root-owned files and the
    interpreter under a private home) but can no longer write a 0444 file or
    create one in a 0555 directory. Not root: no prefix. Root without
    ``setpriv``: the test is skipped, as modes would not bind.
    """
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: modes would not bind")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
