"""The provider types found by the last entry-point scan, kept for the next start.

A scan (``importlib.metadata.entry_points``) imports ``importlib.metadata``
and reads every installed distribution's metadata: 20-30 ms of each start,
for an answer that changes only when packages are installed, upgraded or
removed. The answer is kept in the user's cache directory with a fingerprint
of everything the scan reads, and used only while the fingerprint is the
same:

- ``sys.path``, and the inode, mtime and size of each entry that is a file
  (a zip);
- the name of every ``*.dist-info`` / ``*.egg-info`` (or an ``.egg``'s
  ``EGG-INFO``) in each directory entry, and the inode, mtime and size of its
  ``entry_points.txt``: installing, upgrading or removing a distribution
  changes the names, and a file edited in place (a develop install's
  ``egg-info``) its stamp. Other files coming and going in those directories
  (the current directory, a script's) do not matter.

No answer is kept while an entry or ``entry_points.txt`` changed less than
``SETTLE_SECONDS`` ago (a second change in the same mtime tick could not be
told apart), nor used when an import hook other than the standard path finder
can report distributions (its metadata is not on ``sys.path``). Any doubt
(no file, another fingerprint, a damaged file) means a scan, as without the
cache.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import json
import os
import re
import stat
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import platformdirs

from pamtui.safe_write import SafeWriteError, safe_write_text

FILE_NAME = "provider-types.json"
SETTLE_SECONDS = 2.0
KEPT = 4
_FORMAT = 2
# importlib.metadata.EntryPoint.pattern: "module.path:attr.path [extras]".
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")

Stamp = tuple[int, int, int] | None


def cache_path() -> Path:
    return platformdirs.user_cache_path("pamtui") / FILE_NAME


def _stamp(path: str) -> Stamp:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _metadata_dirs(root: str) -> Iterable[str]:
    """Where ``importlib.metadata`` looks for distributions under one ``sys.path`` entry."""
    base = root or "."
    if os.path.basename(base.rstrip(os.sep)).endswith(".egg"):
        yield os.path.join(base, "EGG-INFO")
    try:
        names = os.listdir(base)
    except OSError:  # a file (a zip: its own stamp covers it) or missing
        return
    for name in sorted(names):
        if name.lower().endswith((".dist-info", ".egg-info")):
            yield os.path.join(base, name)


def _only_path_finder() -> bool:
    """True when ``sys.path`` is the only source of distributions (the usual case)."""
    return all(
        finder is importlib.machinery.PathFinder
        or getattr(finder, "find_distributions", None) is None
        for finder in sys.meta_path
    )


def fingerprint() -> tuple[str, float] | None:
    """A digest of what a scan reads and the newest mtime in it; None: do not cache."""
    if not _only_path_finder():
        return None
    parts: list[Any] = [_FORMAT, sys.version, list(sys.path)]
    newest = 0
    for root in sys.path:
        path = root or "."
        stamp = _stamp(path)
        if stamp is not None:
            newest = max(newest, stamp[1])
        # A directory's own stamp changes with any file in it (the current directory,
        # a script's): the metadata entries below are what a scan reads of it. A file
        # (a zip) is read whole.
        parts.append([root, "dir" if os.path.isdir(path) else stamp])
        for meta in _metadata_dirs(root):
            entry = _stamp(os.path.join(meta, "entry_points.txt"))
            parts.append([meta, entry])
            if entry is not None:
                newest = max(newest, entry[1])
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
    return digest, newest / 1e9


def _trusted(path: Path) -> bool:
    """Only a file this user owns and nobody else can write names modules to import.

    The answer says which module each provider type is imported from, on
    the service that holds the provider secrets too: a file another user
    could have written (or a link to one) is not used, as ssh treats its keys.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_mode & 0o022:
        return False
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


def _read(path: Path) -> dict[str, Any]:
    """``{fingerprint: {group: {type: "module:attr"}}}``; empty when missing, damaged or
    not this user's own (``_trusted``)."""
    if not _trusted(path):
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    kept = data.get("kept") if isinstance(data, dict) and data.get("format") == _FORMAT else None
    return kept if isinstance(kept, dict) else {}


def cached_types(group: str, path: Path | None = None) -> dict[str, str] | None:
    """``{type name: "module:attr"}`` from the last scan, or None (scan instead)."""
    print_ = fingerprint()
    if print_ is None:
        return None
    groups = _read(path or cache_path()).get(print_[0])
    found = groups.get(group) if isinstance(groups, dict) else None
    if not isinstance(found, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in found.items()
    ):
        return None
    return found


def remember(group: str, types: dict[str, str], path: Path | None = None) -> None:
    """Keep a scan's answer for the next start (silently not, when it cannot be).

    The last ``KEPT`` answers are kept, so that starts with another ``sys.path``
    (``pamtui``, ``python -m pamtui``, a test run) do not undo each other's.
    """
    print_ = fingerprint()
    if print_ is None or time.time() - print_[1] < SETTLE_SECONDS:
        return  # something was just installed: it may not be done yet
    target = path or cache_path()
    kept = _read(target)
    kept.pop(print_[0], None)
    kept[print_[0]] = {group: types}  # the newest last
    kept = dict(list(kept.items())[-KEPT:])
    text = json.dumps({"format": _FORMAT, "kept": kept}, indent=1)
    try:
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        safe_write_text(target, text + "\n", force=True)
    except (OSError, SafeWriteError):
        pass  # a read-only home: every start scans, as it did before


def load(value: str) -> Any:
    """What ``EntryPoint(value=value).load()`` returns, without importing importlib.metadata."""
    match = _VALUE.match(value)
    if match is None:
        raise ValueError(f"not an entry point: {value!r}")
    loaded: Any = importlib.import_module(match.group("module"))
    for attr in filter(None, (match.group("attr") or "").split(".")):
        loaded = getattr(loaded, attr)
    return loaded
