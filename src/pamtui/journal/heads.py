"""The small values a verification speaks in: a head (``SEQ:HASH``) and a report."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Head:
    """A point in the chain: an entry's sequence number and hash (``SEQ:HASH``)."""

    seq: int
    hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> Head:
        seq, sep, hash_ = text.strip().partition(":")
        if not sep or not seq.isdigit() or len(hash_) != 64:
            raise ValueError(f"expected SEQ:HASH (a number, a colon, 64 hex digits), got {text!r}")
        return cls(int(seq), hash_.lower())


@dataclass(frozen=True)
class VerifyReport:
    """What ``verify`` found. ``entries`` counts every entry checked, archives included.

    ``archives`` lists the archive files whose entries were verified with the
    live file (oldest first): a live file never vouches for entries it no
    longer holds, so a rotated journal verifies only with them.
    """

    ok: bool
    entries: int
    head: Head | None
    bad_seq: int | None = None
    problem: str = ""
    archives: tuple[str, ...] = ()
    missing_archive: str = ""
    """Set when the chain could not be followed into this archive (not found, or
    not ending at the link): the history before it is unverified, not known broken."""
