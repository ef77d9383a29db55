"""Bad inputs from the world: a prompt interrupted, a data dir that cannot be written,
a journal path that is a directory. Each gets one line, the contract's exit code, and
nothing staged. Real processes, real terminals (a pty), real files.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from tests.support.privileges import without_root_powers

SRC = Path(__file__).resolve().parents[2] / "src"
ACCOUNT = "amara-quinn"  # a demo-git account with several live credentials


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    return {
        **os.environ,
        "PYTHONPATH": str(SRC),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PAMTUI_DEBUG": "0",
    }


def _read_until(fd: int, needle: bytes, seen: bytearray, timeout: float = 60) -> bool:
    """Read the pty into ``seen`` until ``needle`` shows (or the child closes it)."""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                return needle in seen
            if not chunk:
                return needle in seen
            seen.extend(chunk)
    return needle in seen


def _wait(pid: int, timeout: float = 30) -> int | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return None


def _in_a_terminal(
    tmp_path: Path,
    argv: list[str],
    answers: list[tuple[bytes, bytes]],
    until: bytes,
    timeout: float = 20,
) -> tuple[int | None, str]:
    """Run ``python -m pamtui *argv`` in a pty, as an operator at a terminal.

    For each ``(prompt, keys)`` it waits for the prompt (failing when it never
    shows) and types the keys; then it reads until ``until`` shows (or the
    command ends). Returns the exit code and everything the terminal showed.
    """
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execve(sys.executable, [sys.executable, "-m", "pamtui", *argv], _env(tmp_path))
    seen = bytearray()
    try:
        for prompt, keys in answers:
            assert _read_until(fd, prompt, seen), seen.decode(errors="replace")
            os.write(fd, keys)
        _read_until(fd, until, seen, timeout=timeout)
        code = _wait(pid)
    finally:
        os.close(fd)
    return code, seen.decode(errors="replace")


@pytest.mark.parametrize(
    ("argv", "prompt"),
    [
        (
            ["revoke", "--provider", "demo-git", "--account", ACCOUNT, "--reason", "r"],
            b"Execute this plan? [y/N]",
        ),
        (["offboard", "amara quinn", "--reason", "r"], b"steps above? [y/N]"),
    ],
    ids=["revoke", "offboard"],
)
def test_ctrl_c_at_a_confirmation_prompt_ends_the_command(
    tmp_path: Path, db_path: Path, argv: list[str], prompt: bytes
) -> None:
    """The first Ctrl-C at "[y/N]" was swallowed (asyncio.run's SIGINT handler only
    cancels its task, which a blocking input() never notices): the command hung."""
    code, text = _in_a_terminal(
        tmp_path,
        [*argv, "--db", str(db_path)],
        [(prompt, b"\x03")],  # Ctrl-C, as the terminal sends it
        until=b"interrupted",
    )
    assert code == 130, text[-600:]
    assert "pamtui: interrupted" in text and "Traceback" not in text
    listed = subprocess.run(
        [sys.executable, "-m", "pamtui", "queue", "--json", "--db", str(db_path)],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=60,
    )
    assert listed.returncode == 0 and listed.stdout.strip() == "[]"  # nothing staged


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("under-a-file", "cannot create the journal at"),  # NotADirectoryError: exit 70
        ("db-is-a-dir", "is a directory"),  # "disk I/O error"
        ("wal-is-a-dir", "pamtui.db-wal is a directory"),  # "disk I/O error"
    ],
)
@pytest.mark.parametrize("argv", [["accounts"], ["queue"], ["audit", "verify"]])
def test_a_journal_path_that_cannot_be_a_journal_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, expected: str, argv: list[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    db = data / "pamtui.db"
    if where == "under-a-file":
        (data / "file").write_text("not a directory\n")
        db = data / "file" / "pamtui.db"
    elif where == "db-is-a-dir":
        db.mkdir()
    else:
        assert main(["queue", "--db", str(db)]) == 0  # a journal, closed cleanly: no -wal
        Path(f"{db}-wal").mkdir()
    capsys.readouterr()
    if argv == ["audit", "verify"] and where == "under-a-file":
        expected = "no journal at"  # reading never creates one
    code = main([*argv, "--db", str(db)])
    _, err = capsys.readouterr()
    assert code == 1, err
    assert err.startswith("pamtui: ") and err.count("\n") == 1
    assert expected in err and "internal error" not in err


def _in_a_read_only_data_dir(
    tmp_path: Path, argv: list[str], timeout: float
) -> subprocess.CompletedProcess:
    """``pamtui ARGV --db DATA/pamtui.db``, DATA a directory this user cannot write."""
    data = tmp_path / "data"
    data.mkdir(mode=0o500)
    try:
        return subprocess.run(
            [
                *without_root_powers(),
                sys.executable,
                "-m",
                "pamtui",
                *argv,
                "--db",
                str(data / "pamtui.db"),
            ],
            capture_output=True,
            text=True,
            env=_env(tmp_path),
            timeout=timeout,
        )
    finally:
        data.chmod(0o700)


def test_a_read_only_data_dir_is_one_clear_line(tmp_path: Path) -> None:
    """A new journal in a directory this user cannot write: exit 70, "internal error"."""
    result = _in_a_read_only_data_dir(tmp_path, ["queue"], timeout=60)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("pamtui: cannot create the journal at ")
    assert "Permission denied" in result.stderr and result.stderr.count("\n") == 1


def test_revoke_on_an_unreachable_provider_does_not_say_the_account_is_missing(
    tmp_path: Path,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """It said "no account 'alice' in provider 'corp'" (exit 2, "you typed it wrong")
    when the provider could not be asked at all: the operator's typing was fine."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[[providers]]\nname = "corp"\ntype = "scim"\n'
        f'base_url = "http://127.0.0.1:{port}/scim/v2"\n'
        'token = { env = "CORP_TOKEN" }\nmax_retries = 0\n'
    )
    monkeypatch.setenv("CORP_TOKEN", "t")
    argv = ["revoke", "--provider", "corp", "--account", "alice", "--reason", "r", "--yes"]
    code = main([*argv, "--config", str(cfg), "--db", str(db_path)])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert err.startswith("pamtui: provider 'corp' could not be read") and err.count("\n") == 1
    assert "could not connect" in err and "no account" not in err and out == ""


@pytest.mark.parametrize("argv", [["demo", "--reset"], ["demo", "--scale", "100"]])
def test_the_demo_state_in_a_read_only_data_dir_is_one_clear_line(
    tmp_path: Path, argv: list[str]
) -> None:
    """``demo --reset`` where the demo's state cannot be written: "internal error", exit 70."""
    result = _in_a_read_only_data_dir(tmp_path, argv, timeout=120)
    assert result.returncode == 1, result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("pamtui: cannot create the demo organisation's state at ")
    assert "Permission denied" in last and "internal error" not in result.stderr
    assert not list((tmp_path / "data").iterdir())  # no half-built leftovers


def _journal_with_a_head(db_path: Path) -> None:
    journal = Journal.open(db_path)
    journal.append("tester", "note", detail={"n": 1})
    journal.close()


def _run_into(tmp_path: Path, db_path: Path, argv: list[str], stdout: int) -> tuple[int, str]:
    """Run the installed command as a user would: buffered output (no PYTHONUNBUFFERED)."""
    env = {k: v for k, v in _env(tmp_path).items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-m", "pamtui", *argv, "--db", str(db_path)],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        timeout=60,
    )
    return result.returncode, result.stderr


@pytest.mark.parametrize("argv", [["audit", "head"], ["queue", "--json"], ["accounts"]])
def test_a_reader_that_left_early_is_not_an_error(
    tmp_path: Path, db_path: Path, argv: list[str]
) -> None:
    """``pamtui audit head | true``: "Exception ignored ... BrokenPipeError" and exit 120
    (Python's flush at exit), where ``| head -1`` of a long listing was a quiet exit 0."""
    _journal_with_a_head(db_path)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before a byte is written
    try:
        code, err = _run_into(tmp_path, db_path, argv, write_end)
    finally:
        os.close(write_end)
    assert (code, err) == (0, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("argv", [["audit", "head"], ["accounts", "--json"]])
def test_a_full_disk_under_stdout_is_one_line_and_exit_1(
    tmp_path: Path, db_path: Path, argv: list[str]
) -> None:
    """``pamtui accounts --json > /dev/full``: "internal error" (70), or Python's
    "Exception ignored" and 120 when the output fit in the buffer."""
    _journal_with_a_head(db_path)
    with open("/dev/full", "w") as full:
        code, err = _run_into(tmp_path, db_path, argv, full.fileno())
    assert code == 1, err
    assert err == "pamtui: cannot write the output: No space left on device\n"


def test_a_terminal_that_is_not_utf8_gets_the_text_not_a_crash(
    tmp_path: Path, db_path: Path
) -> None:
    """A Latin-1 or ASCII terminal: the demo's labels hold "…", and printing them was
    "internal error: UnicodeEncodeError" (exit 70)."""
    env = {**_env(tmp_path), "PYTHONIOENCODING": "ascii"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pamtui",
            *["revoke", "--provider", "demo-git", "--account", ACCOUNT, "--reason", "r"],
            *["--dry-run", "--db", str(db_path)],
        ],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert b"dry run: nothing staged" in result.stdout and result.stderr == b""
    result = subprocess.run(
        [sys.executable, "-m", "pamtui", "people", "show", "nobody\u2026", "--db", str(db_path)],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.startswith(b"pamtui: no person")


def test_a_totp_code_typed_at_the_terminal_is_read_and_not_echoed(
    tmp_path: Path, db_path: Path
) -> None:
    """The prompts read in short selects now (for Ctrl-C): the code must still be hidden."""
    cfg = tmp_path / "config.toml"
    cfg.write_text("[operator]\nrequire_totp = true\n")
    argv = ["revoke", "--provider", "demo-git", "--account", ACCOUNT, "--reason", "r"]
    code, text = _in_a_terminal(
        tmp_path,
        [*argv, "--config", str(cfg), "--db", str(db_path)],
        [(b"[y/N]", b"y\r"), (b"TOTP code: ", b"654321\r")],
        until=b"not enrolled",
        timeout=30,
    )
    assert code == 1, text[-600:]
    assert "not enrolled" in text and "654321" not in text


def test_processes_that_open_a_new_journal_at_once_all_get_it(
    tmp_path: Path, db_path: Path
) -> None:
    """Two cron jobs on a fresh (or just upgraded) journal: each read the schema version
    before taking the lock, so the second re-ran a migration: "cannot open the journal:
    duplicate column name: four_eyes" (exit 1)."""
    db_path.parent.mkdir(mode=0o700)
    db_path.touch(mode=0o600)
    env = _env(tmp_path)
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # hold them at the door, then let them in together
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "pamtui", "mfa", "status", "--json", "--db", str(db_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(6)
    ]
    time.sleep(2)  # not timed: a slow start only lets fewer of them race (within busy 5 s)
    holder.execute("ROLLBACK")
    holder.close()
    results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    # Exit 1: nobody is enrolled for TOTP; the journal itself opened for every one.
    assert [(code, err) for code, _, err in results] == [(1, "")] * len(procs)


@pytest.mark.parametrize("option", ["--db", "--config"])
def test_an_empty_file_name_is_a_usage_error_not_the_default(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys, option: str
) -> None:
    """``--db "$DB"`` with DB unset silently opened the default database."""
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    with pytest.raises(SystemExit) as exited:
        main(["audit", "list", option, ""])
    assert exited.value.code == 2
    assert "an empty file name" in capsys.readouterr().err
    assert not db_path.exists()  # nothing was opened, not even the default


def test_report_options_without_report_are_refused_not_ignored(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """``offboard PERSON --out cert.md`` ran the offboarding and wrote no certificate."""
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    out = tmp_path / "cert.md"
    code = main(["offboard", "amara quinn", "--reason", "r", "--dry-run", "--out", str(out)])
    assert code == 2
    assert "--out: for the certificate, pamtui offboard report PERSON" in capsys.readouterr().err
    assert not out.exists()
    assert main(["offboard", "amara quinn", "--reason", "r", "--dry-run"]) == 0


def test_a_closed_standard_output_is_refused_before_anything_runs(
    tmp_path: Path, db_path: Path
) -> None:
    """``pamtui queue >&-``: exit 0 with every line dropped (Python's stdout is None)."""
    done = subprocess.run(
        [sys.executable, "-m", "pamtui", "--db", str(db_path), "queue"],
        env=_env(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
        timeout=60,
        preexec_fn=lambda: os.close(1),  # the child starts with fd 1 closed
    )
    assert done.returncode == 1
    assert done.stderr.startswith("pamtui: standard output is closed")
    assert not db_path.exists()
