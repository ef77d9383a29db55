"""SQLite URIs for real paths: a data directory may be named ``ops#1``, ``a?b`` or ``50%``.

``file:{path}?mode=ro`` reads ``#`` as the start of a fragment, ``?`` as the
start of the query (``mode=ro`` is then lost: SQLite opens read-write and
creates an empty file outside the data directory) and ``%41`` as ``A``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from pamtui.sqlite_uri import sqlite_uri

# Every character that means something in a URI, and one that is an escape already.
ODD_NAMES = ["ops#1", "a?b", "50%", "50%41", "sp ace", "é", "x&mode=rw", "semi;colon"]


def _listing(root: Path) -> set[Path]:
    return {Path(r, n) for r, dirs, files in os.walk(root) for n in (*dirs, *files)}


@pytest.mark.parametrize("name", ODD_NAMES)
def test_a_read_only_open_reads_that_file_and_creates_nothing(tmp_path: Path, name: str) -> None:
    folder = tmp_path / name
    folder.mkdir()
    db = folder / "pamtui.db"
    with sqlite3.connect(db) as writer:
        writer.execute("CREATE TABLE t (v TEXT)")
        writer.execute("INSERT INTO t VALUES ('here')")
    writer.close()
    before = _listing(tmp_path)
    conn = sqlite3.connect(sqlite_uri(db, mode="ro"), uri=True)
    try:
        assert conn.execute("SELECT v FROM t").fetchall() == [("here",)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("INSERT INTO t VALUES ('no')")
    finally:
        conn.close()
    assert _listing(tmp_path) == before


@pytest.mark.parametrize("name", ODD_NAMES)
def test_a_missing_file_is_not_created(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    with pytest.raises(sqlite3.OperationalError):
        sqlite3.connect(sqlite_uri(tmp_path / name / "pamtui.db", mode="ro"), uri=True).execute(
            "SELECT 1 FROM sqlite_master"
        )
    assert _listing(tmp_path) == {tmp_path / name}


def test_a_relative_path_is_the_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "a?b").mkdir()
    sqlite3.connect(tmp_path / "a?b" / "x.db").close()
    monkeypatch.chdir(tmp_path)
    uri = sqlite_uri(Path("a?b/x.db"), mode="ro", immutable="1")
    assert uri.startswith("file:///") and uri.endswith("/a%3Fb/x.db?mode=ro&immutable=1")
    sqlite3.connect(uri, uri=True).execute("SELECT 1 FROM sqlite_master").close()


def test_options_keep_their_order_and_no_options_give_no_query(tmp_path: Path) -> None:
    assert sqlite_uri(Path("/d/x.db")) == "file:///d/x.db"
    assert sqlite_uri(Path("/d/x.db"), mode="ro", immutable="1") == (
        "file:///d/x.db?mode=ro&immutable=1"
    )
    assert sqlite_uri(Path("/ops#1/a?b/50%/x.db"), mode="ro") == (
        "file:///ops%231/a%3Fb/50%25/x.db?mode=ro"
    )
