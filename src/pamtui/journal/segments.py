"""Verify a journal together with the archives its history was rotated into.

``audit rotate`` moves a journal's entries to an archive file and leaves one
``segment_start`` entry in the live file whose ``prev_hash`` is the archived
head. That entry is written by whoever can write the file, so it proves
nothing about the entries before it: an attacker who deletes every entry and
inserts a ``segment_start`` chained onto a witnessed head (naming an archive
that does not exist) would otherwise get "ok" from ``verify --expect-head``.
Hence the rule: **the live file never vouches for entries it no longer
holds**. A segment that continues an earlier one verifies only when that
earlier segment's archive is found, verifies itself (recursively, to the
genesis entry), and ends exactly at the head the live file links to.

Archives are looked for among the files the caller supplies (matched by
their head, so a renamed archive still counts) and in the default archive
directory beside the database (:func:`default_archive_dir`), where ``audit
rotate`` puts them unless told otherwise.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from json.encoder import encode_basestring
from pathlib import Path

from pamtui import kept_files
from pamtui.journal.chain import GENESIS_HASH, body_text
from pamtui.journal.database import connect
from pamtui.journal.errors import JournalError
from pamtui.journal.heads import Head, VerifyReport

SEGMENT_START = "segment_start"
_COLUMNS = "seq, ts, actor, action, provider, subject, detail, prev_hash, hash"


def default_archive_dir(db_path: Path | str) -> Path:
    """Where ``rotate`` keeps archives and ``verify`` looks for them: ``<db>-archives/``."""
    return kept_files.ARCHIVES.at(db_path)


def default_archive_path(db_path: Path | str, first_seq: int, last_seq: int) -> Path:
    """``<db>-archives/<stem>-<first>-<last>.db``: sorts in history order."""
    db_path = Path(db_path).expanduser()
    return default_archive_dir(db_path) / f"{db_path.stem}-{first_seq:010d}-{last_seq:010d}.db"


def segment_link(conn: sqlite3.Connection, path: Path) -> tuple[Head, str] | None:
    """``(archived head, archive name)`` if this file continues an archived segment.

    The archive name is whatever the ``segment_start`` entry says: untrusted,
    used only as a file name inside the archive directory.
    """
    try:
        first = conn.execute(
            "SELECT seq, action, prev_hash, detail FROM entries ORDER BY seq LIMIT 1"
        ).fetchone()
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    if first and first[0] > 1 and first[1] == SEGMENT_START:
        try:
            name = str(json.loads(first[3]).get("archive") or "")
        except (ValueError, AttributeError):
            name = ""
        return Head(first[0] - 1, first[2]), name
    return None


def _head_after(count: int, next_seq: int, last_hash: str) -> Head | None:
    return Head(next_seq - 1, last_hash) if count else None


def walk_chain(
    conn: sqlite3.Connection,
    path: Path,
    start: Head | None,
    expect_head: Head | None,
) -> VerifyReport:
    """Recompute this file's chain from ``start`` (the archived head, or genesis).

    ``expect_head`` is checked only if it falls inside this file.
    """
    try:
        cursor = conn.execute(f"SELECT {_COLUMNS} FROM entries ORDER BY seq")
    except sqlite3.Error as exc:
        raise JournalError(f"cannot read the journal {path}: {exc}") from exc
    # The hot loop: a million entries should verify in seconds, so the
    # body is chain.body_text's spelled out as one f-string (the same
    # bytes for text columns; anything else goes through body_text), and
    # the head is only built when it is reported.
    quote = encode_basestring
    sha256 = hashlib.sha256
    if start is None:
        expected_seq, expected_prev = 1, GENESIS_HASH
    else:
        expected_seq, expected_prev = start.seq + 1, start.hash
    count = 0
    expect_seq = expect_head.seq if expect_head is not None else None
    expect_seen = False
    while rows := cursor.fetchmany(4096):
        for seq, ts, actor, action, provider, subject, detail, prev_hash, hash_ in rows:
            if seq != expected_seq:
                problem = (
                    f"entry {expected_seq} is missing (deleted?)"
                    if seq > expected_seq
                    else f"entry {seq} is out of order"
                )
                return VerifyReport(
                    False,
                    count,
                    _head_after(count, expected_seq, expected_prev),
                    expected_seq,
                    problem,
                )
            if prev_hash != expected_prev:
                return VerifyReport(
                    False,
                    count,
                    _head_after(count, expected_seq, expected_prev),
                    seq,
                    f"entry {seq} does not follow entry {seq - 1} "
                    "(an entry was inserted, deleted or reordered, or its prev_hash edited)",
                )
            try:
                if type(detail) is not str:
                    raise TypeError(detail)
                hashed = (
                    f'{prev_hash}{{"action":{quote(action)},"actor":{quote(actor)},'
                    f'"detail":{detail},"prev_hash":{quote(prev_hash)},'
                    f'"provider":{quote(provider)},"seq":{seq},'
                    f'"subject":{quote(subject)},"ts":{quote(ts)}}}'
                )
            except TypeError:
                hashed = prev_hash + body_text(
                    seq=seq,
                    ts=ts,
                    actor=actor,
                    action=action,
                    provider=provider,
                    subject=subject,
                    detail_json=detail,
                    prev_hash=prev_hash,
                )
            if sha256(hashed.encode()).hexdigest() != hash_:
                return VerifyReport(
                    False,
                    count,
                    _head_after(count, expected_seq, expected_prev),
                    seq,
                    f"entry {seq} was edited",
                )
            if seq == expect_seq:
                expect_seen = True
                if hash_ != expect_head.hash:  # type: ignore[union-attr]
                    return VerifyReport(
                        False,
                        count,
                        _head_after(count, expected_seq, expected_prev),
                        seq,
                        f"entry {seq} differs from the expected head "
                        "(the history up to it was rewritten)",
                    )
            expected_prev = hash_
            expected_seq = seq + 1
            count += 1
    if expect_head is not None and not expect_seen:
        return VerifyReport(
            False,
            count,
            _head_after(count, expected_seq, expected_prev),
            expect_head.seq,
            f"entry {expect_head.seq} of the expected head is gone "
            f"(the journal ends at {expected_seq - 1}: truncated)",
        )
    return VerifyReport(True, count, _head_after(count, expected_seq, expected_prev))


def _file_head(path: Path) -> Head | str:
    """The last entry of an archive file, or why there is none (empty, unreadable)."""
    try:
        conn = connect(path, read_only=True)
    except JournalError as exc:
        return str(exc)  # e.g. a -wal it cannot read: saying "empty" would mislead
    try:
        row = conn.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        return f"{path} cannot be read: {exc}"
    finally:
        conn.close()
    return Head(row[0], row[1]) if row else f"{path} is empty"


def find_archive(
    link: Head, name: str, archives: Sequence[Path], archive_dir: Path | None, beside: Path
) -> tuple[Path | None, str]:
    """The archive that ends at ``link``: ``(path, "")`` or ``(None, why not)``.

    Looked for among ``archives``, then by its name in ``archive_dir`` and in
    ``beside`` (the directory of the file that links to it: archives of one
    journal sit together, so verifying an archive finds the one before it).
    """
    candidates = [Path(a).expanduser() for a in archives]
    default = None
    if name:
        base = Path(name).name  # only a file name: never a path elsewhere
        if archive_dir is not None:
            default = archive_dir / base
            candidates.append(default)
        candidates.append(beside / base)
    mismatched: list[str] = []
    for candidate in candidates:
        if not candidate.is_file():
            continue
        head = _file_head(candidate)
        if head == link:
            return candidate, ""
        if candidate == default or (name and candidate.name == Path(name).name):
            mismatched.append(f"{candidate} ends at {head}" if isinstance(head, Head) else head)
    if mismatched:
        return None, f" ({'; '.join(mismatched)}, not at {link})"
    where = f"; it is not in {archive_dir}" if archive_dir is not None else ""
    return None, f" (give it with --archive FILE{where})"


def archived_segments(conn: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """The archives holding the entries before this file's, newest first, opened read-only.

    Found the way :func:`verify_segments` finds them by default: by the head
    and name each ``segment_start`` entry links to, in :func:`default_archive_dir`
    or beside the file that links to it. Nothing is yielded for a file that
    continues no segment. Each connection is closed when the iteration moves
    on (or stops); raises :class:`JournalError` when an archive is missing or
    unreadable: a caller checking something against the history must then
    refuse, as the live file never vouches for entries it no longer holds.
    """
    archive_dir = default_archive_dir(path)
    beside = path.parent
    link = segment_link(conn, path)
    # Each archive ends (find_archive matched its head) just before the file
    # linking to it, so the links go strictly back in seq: this ends.
    while link is not None:
        head, name = link
        found, why = find_archive(head, name, (), archive_dir, beside)
        if found is None:
            raise JournalError(
                f"entries 1..{head.seq} are in archive {name or '(unnamed)'}, "
                f"which cannot be read{why}"
            )
        archived = connect(found, read_only=True)
        try:
            yield archived
            link = segment_link(archived, found)
        finally:
            archived.close()
        beside = found.parent


def verify_segments(
    conn: sqlite3.Connection,
    path: Path,
    expect_head: Head | None = None,
    *,
    archives: Sequence[Path] = (),
    archive_dir: Path | None = None,
    live_only: bool = False,
    _depth: int = 0,
) -> VerifyReport:
    """Verify this file and, through the archives, every entry before it.

    ``live_only`` checks this file's own chain from its link and nothing
    before it: what ``rotate`` needs before archiving, never an answer to
    "is the history intact?".
    """
    linked = segment_link(conn, path)
    if linked is None:
        return walk_chain(conn, path, None, expect_head)
    link, name = linked
    if live_only:
        inner = expect_head if expect_head is not None and expect_head.seq > link.seq else None
        return walk_chain(conn, path, link, inner)
    found, why = find_archive(link, name, archives, archive_dir, path.parent)
    if found is None:
        return VerifyReport(
            False,
            0,
            None,
            1,
            f"entries 1..{link.seq} are in archive {name or '(unnamed)'}, not verified here{why}",
            missing_archive=name or "(unnamed)",
        )
    if _depth > 10_000:  # every archive ends before the file that links to it: cannot loop
        raise JournalError("too many archived segments")
    older_expect = expect_head if expect_head is not None and expect_head.seq <= link.seq else None
    archive_conn = connect(found, read_only=True)
    try:
        older = verify_segments(
            archive_conn,
            found,
            older_expect,
            archives=archives,
            archive_dir=archive_dir,
            _depth=_depth + 1,
        )
    finally:
        archive_conn.close()
    if not older.ok:
        return VerifyReport(
            False,
            older.entries,
            older.head,
            older.bad_seq,
            f"in archive {found}: {older.problem}",
            older.archives,
            older.missing_archive,
        )
    if older.head != link:  # find_archive matched the head; checked again after the walk
        return VerifyReport(
            False, older.entries, older.head, link.seq + 1, f"{found} does not end at {link}"
        )
    newer_expect = expect_head if expect_head is not None and expect_head.seq > link.seq else None
    live = walk_chain(conn, path, link, newer_expect)
    return VerifyReport(
        live.ok,
        older.entries + live.entries,
        live.head or older.head,
        live.bad_seq,
        live.problem,
        (*older.archives, str(found)),
    )
