"""The one way pamtui writes a file for a user: exports, reports, evidence, configs.

A path typed by an operator (``--out``, ``--write-config``, the audit
screen's export box) is trusted to name *a* file, not to be harmless. Before
this module, ``audit export --out "$PAMTUI_DB"`` truncated the journal, a
review report replaced the database with Markdown, and ``--out`` followed a
symlink and wrote 0644. Every such file now goes through :func:`safe_open`
or :func:`safe_write_text`, which:

- refuse the database and its SQLite sidecars (``-wal``, ``-shm``,
  ``-journal``), and every file pamtui keeps beside it (``kept_files.py``:
  the TOTP store, the events store, the inventory and drift snapshots, the
  stream cursors, the SSH host key, the providers' state, and anything in
  the session recordings or the journal archives directory), with their
  sidecars, compared by the real path (relative paths, ``..`` and
  symlinked parent directories are resolved first), by the directory's
  inode (a second mount of it) and, for files that exist, by inode (a hard
  link is the same file); these are refused even with ``force``. The
  owner of a kept directory names it (``own=``) to write its own files;
- refuse any existing file that is a SQLite database (a rotated journal
  archive, another pamtui database) or a sidecar of one, also with ``force``;
- refuse a symlink as the final component (it is neither followed nor
  replaced: the operator meant the file, not the link);
- refuse an existing regular file unless ``force`` is given;
- write to a new temporary file in the same directory (``O_EXCL |
  O_NOFOLLOW``, mode 0600, fsynced) and rename it into place, so a reader
  sees the old file or the whole new one, never half of it, and a failed
  export leaves nothing behind. Without ``force`` the rename is a hard link
  (``link(2)`` never replaces), so a file created meanwhile is not lost.

Errors are :class:`SafeWriteError` with a one-line message naming the path;
the CLI prints it and exits 2.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TextIO

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.kept_files import BESIDE_DATABASE, Kept

SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")
"""Files SQLite keeps beside a database; writing any of them corrupts it."""

STORE_SUFFIXES = ("-totp",)
"""Files pamtui keeps beside its database (the TOTP store, ``services/totp_store.py``):
a user file written there would replace operators' enrolments."""

SQLITE_MAGIC = b"SQLite format 3\x00"

FILE_MODE = 0o600

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class SafeWriteError(PamtuiError):
    """The file cannot be written safely; the message is one line naming it."""

    exit_code = EXIT_USAGE


class TargetExists(SafeWriteError):
    """The target is an existing file and ``force`` was not given."""


def protected_files(db_path: Path | str | None, *extra: Path | str) -> tuple[Path, ...]:
    """The database file and anything else no user file may replace.

    Each one brings its sidecars and the files pamtui keeps beside it
    (``kept_files.BESIDE_DATABASE``): :func:`check_target` expands them.
    """
    paths = [Path(p).expanduser() for p in (db_path, *extra) if p is not None]
    return tuple(paths)


def _real(path: Path) -> Path:
    return Path(os.path.realpath(path))


def _sqlite_family(path: Path) -> set[Path]:
    return {path} | {path.with_name(path.name + suffix) for suffix in SIDECAR_SUFFIXES}


_FIXED_KEPT = tuple(k for k in BESIDE_DATABASE if not (k.directory or k.is_pattern))


def _with_sidecars(path: Path) -> set[Path]:
    """The database, its SQLite sidecars, pamtui's files beside it and theirs."""
    names = _sqlite_family(path)
    for suffix in STORE_SUFFIXES:
        names |= _sqlite_family(path.with_name(path.name + suffix))
    for kept in _FIXED_KEPT:
        names |= _sqlite_family(kept.at(path))
    return names


def _same_dir(directory: Path, other: Path) -> bool:
    try:
        return os.path.samestat(os.stat(directory), os.stat(other))
    except OSError:
        return False


def _kept_place(
    directory: Path, name: str, protect: Iterable[Path], own: Kept | None
) -> Kept | None:
    """The kept file ``directory/name`` is, or the kept directory it lies in.

    ``directory`` is already resolved; each protected file is taken as given
    and as its real path (owners build their paths from the name they were
    given, SQLite from the file it opened).
    """
    for path in protect:
        absolute = Path(os.path.abspath(path))
        for db in {absolute, _real(absolute.parent) / absolute.name, _real(absolute)}:
            for kept in BESIDE_DATABASE:
                if kept is own:
                    continue
                if kept.directory:
                    place = _real(kept.at(db))
                    if place == directory or place in directory.parents:
                        return kept
                    if _same_dir(directory, place):
                        return kept
                elif (kept.matches(db, name) if kept.is_pattern else kept.at(db).name == name) and (
                    _real(db.parent) == directory or _same_dir(directory, db.parent)
                ):
                    return kept
    return None


def _protected_names(protect: Iterable[Path]) -> set[Path]:
    """Every real path a protected file (and its sidecars) may have."""
    names: set[Path] = set()
    for path in protect:
        absolute = Path(os.path.abspath(path))
        # SQLite puts sidecars next to the file it really opened: beside the
        # link's target if the database path is a symlink, so guard both.
        names |= _with_sidecars(_real(absolute.parent) / absolute.name)
        names |= _with_sidecars(_real(absolute))
    return names


def _same_file(target: os.stat_result, protect: Iterable[Path]) -> bool:
    for path in protect:
        for candidate in _with_sidecars(Path(os.path.abspath(path))):
            try:
                if os.path.samestat(target, os.stat(candidate)):
                    return True
            except OSError:
                continue
    return False


def _same_place(directory: Path, name: str, protect: Iterable[Path]) -> bool:
    """True if ``directory/name`` is a protected name in the protected file's directory.

    Compared by the directory's inode, so a second route to the same
    directory (a bind mount) cannot create a sidecar that does not exist yet.
    """
    try:
        here = os.stat(directory)
    except OSError:
        return False
    for path in protect:
        absolute = Path(os.path.abspath(path))
        for candidate in {absolute, _real(absolute)}:
            if name not in {p.name for p in _with_sidecars(candidate)}:
                continue
            try:
                if os.path.samestat(here, os.stat(candidate.parent)):
                    return True
            except OSError:
                continue
    return False


def _is_sqlite(path: Path) -> bool:
    """True if ``path`` is an existing regular file that starts like a SQLite database."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except OSError:
        return False
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        return os.read(fd, len(SQLITE_MAGIC)) == SQLITE_MAGIC
    except OSError:
        return False
    finally:
        os.close(fd)


def check_target(
    path: Path | str,
    *,
    protect: Iterable[Path | str] = (),
    force: bool = False,
    own: Kept | None = None,
) -> Path:
    """Where ``path`` really is, or :class:`SafeWriteError` saying why it may not be written.

    The result has its parent directory resolved (symlinks, ``..``) and its
    final component kept as given, which is the name the file gets.
    ``own``: the kept directory the caller owns and writes into (the recorder).
    """
    shown = str(path)
    given = Path(path).expanduser()
    if not str(path).strip() or given.name in ("", ".", ".."):
        raise SafeWriteError(f"{shown!r} does not name a file")
    parent = _real(given.parent if str(given.parent) else Path("."))
    if not parent.is_dir():
        raise SafeWriteError(f"{shown}: directory {given.parent} does not exist")
    target = parent / given.name
    guarded = [Path(p).expanduser() for p in protect]
    names = _protected_names(guarded)
    kept = _kept_place(parent, given.name, guarded, own)
    if kept is not None:
        raise SafeWriteError(
            f"{shown} is pamtui's database or one of its files ({kept.what}): "
            "refusing to overwrite it"
        )
    if target in names or _same_place(parent, given.name, guarded):
        raise SafeWriteError(
            f"{shown} is pamtui's database or one of its files: refusing to overwrite it"
        )
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return target
    except OSError as exc:
        raise SafeWriteError(f"{shown}: {exc.strerror}") from None
    if stat.S_ISLNK(info.st_mode):
        raise SafeWriteError(
            f"{shown} is a symbolic link: pamtui does not write through links; name the file itself"
        )
    if stat.S_ISDIR(info.st_mode):
        raise SafeWriteError(f"{shown} is a directory: name a file")
    if not stat.S_ISREG(info.st_mode):
        raise SafeWriteError(f"{shown} is not a regular file")
    if _same_file(info, guarded):
        raise SafeWriteError(
            f"{shown} is pamtui's database or one of its files (another name for it): "
            "refusing to overwrite it"
        )
    if _is_sqlite(target):
        raise SafeWriteError(
            f"{shown} is a SQLite database (a journal or its archive?): refusing to overwrite it"
        )
    for suffix in (*SIDECAR_SUFFIXES, *STORE_SUFFIXES):
        if target.name.endswith(suffix) and _is_sqlite(
            target.with_name(target.name[: -len(suffix)])
        ):
            raise SafeWriteError(
                f"{shown} belongs to the SQLite database beside it: refusing to overwrite it"
            )
    if not force:
        raise TargetExists(f"{shown} exists: pass --force to replace it")
    return target


def _fsync_dir(directory: Path) -> None:
    with suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_temp(directory: Path, name: str) -> tuple[Path, int]:
    for _ in range(100):
        temp = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(
                temp,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC,
                FILE_MODE,
            )
        except FileExistsError:
            continue
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        return temp, fd
    raise SafeWriteError(f"cannot create a temporary file in {directory}")  # pragma: no cover


def _publish(temp: Path, target: Path, shown: str, *, force: bool) -> None:
    """Move the finished temporary file to ``target``; never replace without ``force``."""
    if force:
        os.replace(temp, target)
        return
    try:
        os.link(temp, target, follow_symlinks=False)
    except FileExistsError:
        raise TargetExists(f"{shown} exists: pass --force to replace it") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        # A file system without hard links: check, then rename (small race).
        if os.path.lexists(target):
            raise TargetExists(f"{shown} exists: pass --force to replace it") from None
        os.replace(temp, target)
        return
    os.unlink(temp)


@contextmanager
def safe_open(
    path: Path | str,
    *,
    protect: Iterable[Path | str] = (),
    force: bool = False,
    encoding: str = "utf-8",
    newline: str = "",
) -> Iterator[TextIO]:
    """A text stream whose content becomes ``path`` when the block ends without error.

    Nothing exists at ``path`` until then; an exception in the block
    removes the temporary file and leaves any old file untouched.
    """
    shown = str(path)
    guarded = list(protect)
    target = check_target(path, protect=guarded, force=force)
    try:
        temp, fd = _new_temp(target.parent, target.name)
    except OSError as exc:
        raise SafeWriteError(f"{shown}: {exc.strerror}") from None
    try:
        with open(fd, "w", encoding=encoding, newline=newline) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # Checked again: the target may have changed while the block ran.
        check_target(path, protect=guarded, force=force)
        _publish(temp, target, shown, force=force)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temp)
        raise SafeWriteError(f"{shown}: {exc.strerror or exc}") from None
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def safe_write_text(
    path: Path | str,
    text: str,
    *,
    protect: Iterable[Path | str] = (),
    force: bool = False,
    encoding: str = "utf-8",
) -> Path:
    """Write ``text`` to ``path`` under the rules above; return the path written."""
    with safe_open(path, protect=protect, force=force, encoding=encoding) as out:
        out.write(text)
    given = Path(path).expanduser()
    return _real(given.parent) / given.name
