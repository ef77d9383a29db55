"""Keep secrets out of the journal: recognise them by key, keep a fingerprint.

Provider responses are untrusted and may echo a token back (``access_token``,
``client_secret``, a ``Set-Cookie``...). Before anything from a provider is
journalled it passes through :func:`redact`, which replaces each
secret-looking value with a fingerprint under ``<key>_fingerprint``. The
journal itself refuses any secret-looking key (:func:`looks_secret`), so a
forgotten redaction fails loudly instead of leaking.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

_SECRET_LAST_WORDS = frozenset(
    {
        "token",
        "secret",
        "password",
        "passwd",
        "passphrase",
        "authorization",
        "cookie",
        "totp",
        "otp",
        "pin",
        "credentials",
    }
)
# "key" and "code" are secret only after these words: idempotency_key and
# status_code are not.
_SECRET_KEY_QUALIFIERS = frozenset({"api", "private", "secret", "signing", "session", "master"})
_SECRET_CODE_QUALIFIERS = frozenset({"totp", "otp", "mfa", "auth", "authorization", "recovery"})


@lru_cache(maxsize=4096)
def looks_secret(key: str) -> bool:
    """True for keys such as ``token``, ``access_token``, ``api_key``, ``totp_code``."""
    words = _split_camel(key)
    if not words:
        return False
    last, before = words[-1], (words[-2] if len(words) > 1 else "")
    if last in _SECRET_LAST_WORDS:
        return True
    if last == "key":
        return before in _SECRET_KEY_QUALIFIERS or (before == "access" and "secret" in words)
    if last == "code":
        return before in _SECRET_CODE_QUALIFIERS
    return False


def _split_camel(key: str) -> list[str]:
    """Words of a key: ``access_token``, ``accessToken``, ``X-Api-Key`` alike."""
    return [w.lower() for w in re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", key)]


def fingerprint(secret: str) -> str:
    """Last four characters and a short SHA-256 prefix: enough to match, not to use."""
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]
    tail = secret[-4:] if len(secret) >= 12 else ""
    return f"…{tail} sha256:{digest}" if tail else f"sha256:{digest}"


def redact(value: Any) -> Any:
    """A copy of ``value`` with every secret-looking entry replaced by a fingerprint."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, inner in value.items():
            key = str(key)
            if looks_secret(key):
                out[f"{key}_fingerprint"] = fingerprint(str(inner)) if inner else ""
            else:
                out[key] = redact(inner)
        return out
    if isinstance(value, list | tuple):
        return [redact(inner) for inner in value]
    return value
