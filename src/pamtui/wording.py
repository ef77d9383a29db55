"""How counts read in messages: ``1 step``, ``2 steps``, never ``2 step(s)``."""

from __future__ import annotations


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 item``, ``2 items``; ``nouns`` for an irregular plural."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"
