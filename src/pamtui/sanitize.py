"""Make untrusted text from providers safe to show in a terminal.

Account names, paths, user agents and provider error messages come from
outside. Before display (TUI or CLI) they pass through :func:`clean`, which
makes every control character visible instead of letting the terminal act on
it: C0 and C1 controls (so no ESC/CSI/OSC sequence, OSC 8 link, OSC 52
clipboard write or title change reaches the terminal), DEL, and the
bidirectional overrides and isolates that can make text read differently from
what it is ("Trojan Source"). The journal keeps the original text; only what
is displayed is cleaned.

This does not deal with markup: the TUI never parses provider text as markup
at all (it renders ``Text``/``Content`` objects), see ``pamtui.tui.safe``.
"""

from __future__ import annotations

import re

# Bidi embeddings/overrides/isolates and marks, plus invisible characters that
# hide content: zero-width space/joiners, word joiner, BOM, soft hyphen.
_INVISIBLE = (
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad"
)
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_INVISIBLE}]")

DEFAULT_MAX_LENGTH = 500


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode "control pictures": ␛ for ESC
    if code == 0x7F:
        return "\u2421"  # ␡
    return f"<U+{code:04X}>"


def clean(value: object, max_length: int | None = DEFAULT_MAX_LENGTH) -> str:
    """Return ``value`` as a single displayable line with controls made visible."""
    text = "" if value is None else str(value)
    if max_length is not None and len(text) > max_length:
        text = text[: max_length - 1] + "…"
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_visible, text)


def is_clean(text: str) -> bool:
    """True when ``text`` holds nothing a terminal would act on."""
    return _UNSAFE.search(text) is None
