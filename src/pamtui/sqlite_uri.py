"""The ``file:`` URI that names one SQLite file, whatever its path holds.

SQLite takes open options (``mode=ro``, ``immutable=1``) only in a URI, and a
URI gives ``?``, ``#`` and ``%`` a meaning: a data directory named ``ops#1``
or ``a?b`` (legal on every file system) would otherwise name another file,
and lose ``mode=ro`` on the way, so a read-only open creates an empty
database elsewhere. Every read-only open goes through :func:`sqlite_uri`.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote_from_bytes

__all__ = ["sqlite_uri"]


def sqlite_uri(path: Path | str, **options: str) -> str:
    """``file:///abs/path?k=v&...`` for ``path``, percent-encoded per RFC 3986.

    The path is made absolute (a relative one against the working directory,
    as ``sqlite3.connect(path)`` reads it) without resolving symlinks, then
    encoded from its bytes (a name that is not UTF-8 stays that name);
    only ``/`` and unreserved characters are left as they are. The options
    are trusted constants of the caller, kept in their order.
    """
    raw = os.fsencode(Path(path).absolute())
    uri = "file://" + quote_from_bytes(raw, safe="/")
    if options:
        uri += "?" + "&".join(f"{key}={value}" for key, value in options.items())
    return uri
