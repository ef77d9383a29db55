"""The canonical JSON encoding that journal hashes are computed over.

Canonical form: UTF-8, object keys sorted by code point, no insignificant
whitespace (``,`` and ``:`` separators), non-ASCII characters written as
themselves (not ``\\u`` escapes), integers as integers, no NaN or Infinity.
It is Python's ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=False, allow_nan=False)``, which any language can reproduce for
the value types the journal uses (strings, integers, booleans, null, lists
and objects).
"""

from __future__ import annotations

import json
from typing import Any

# Built once: json.dumps would construct a new encoder on every call.
encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def canonical_json(value: Any) -> str:
    return encode(value)
