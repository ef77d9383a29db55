"""The hash chain: ``hash = sha256(prev_hash || canonical_json(entry without hash))``.

``prev_hash`` is the hex digest of the previous entry (64 zeros for the
first entry of a journal). The hashed body has the keys ``action, actor,
detail, prev_hash, provider, seq, subject, ts``; ``detail`` is stored as its
own canonical JSON text, so the body can be assembled by splicing that text
in without parsing it again (the result is byte-identical to encoding the
whole body canonically).
"""

from __future__ import annotations

import hashlib
import json

GENESIS_HASH = "0" * 64

_dump = json.JSONEncoder(ensure_ascii=False).encode


def body_text(
    *,
    seq: int,
    ts: str,
    actor: str,
    action: str,
    provider: str,
    subject: str,
    detail_json: str,
    prev_hash: str,
) -> str:
    return (
        '{"action":'
        + _dump(action)
        + ',"actor":'
        + _dump(actor)
        + ',"detail":'
        + detail_json
        + ',"prev_hash":'
        + _dump(prev_hash)
        + ',"provider":'
        + _dump(provider)
        + ',"seq":'
        + str(int(seq))
        + ',"subject":'
        + _dump(subject)
        + ',"ts":'
        + _dump(ts)
        + "}"
    )


def entry_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()
