"""What every command shares: exit codes, errors, output and sessions.

Exit codes: 0 success, 1 the thing checked is not true or something partly
failed, 2 usage or configuration error. Errors are one line on stderr, never
a traceback. Untrusted text is cleaned before it is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import select
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from pamtui.errors import EXIT_FALSE as EXIT_FALSE  # re-exported: the commands import
from pamtui.errors import EXIT_OK as EXIT_OK  # the exit codes from here
from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.model import Actor
from pamtui.sanitize import clean
from pamtui.services.journal import Journal
from pamtui.services.session import Session
from pamtui.wording import plural as plural  # re-exported for the CLI modules

if TYPE_CHECKING:  # the queue's modules are imported when a command uses them
    from pamtui.services.queue import Outcome


class UsageError(PamtuiError):
    """A usage mistake: exit 2 with this message."""

    exit_code = EXIT_USAGE


class CheckFailed(PamtuiError):
    """The thing checked is not true: exit 1 with this message."""


# -- output helpers ---------------------------------------------------------


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[clean(v, max_length=80) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def print_json(value: Any) -> None:
    # json.dumps escapes every control character, so this output is safe too.
    print(json.dumps(value, indent=2, default=str, ensure_ascii=True))


def iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


def require_terminal(what: str) -> None:
    """Refuse to draw a full-screen UI into a file or a pipe (exit 2, one line).

    Textual would write its escape codes into ``pamtui > out.txt``; a script
    wants a command with ``--json`` instead.
    """
    if not sys.stdout.isatty():
        raise UsageError(
            f"standard output is not a terminal: {what} needs one; for scripts use a "
            "command, e.g. pamtui accounts --json (see: pamtui --help)"
        )


def check_theme(name: str | None) -> None:
    """``--theme NAME`` must name a theme: one line listing them, exit 2."""
    if not name:
        return
    from textual.theme import BUILTIN_THEMES  # the CLI starts the TUI: it may know Textual

    from pamtui.resources import theme_names

    ours = theme_names()
    if name in ours or name in BUILTIN_THEMES:
        return
    raise UsageError(
        f"--theme {name!r}: no such theme (pamtui's: {', '.join(ours)}; Textual's: "
        f"{', '.join(sorted(BUILTIN_THEMES))})"
    )


# -- sessions ---------------------------------------------------------------


def open_session(args: argparse.Namespace, *, read_only: bool = False) -> Session:
    session = Session.open(
        config_path=args.config,
        db_path=args.db,
        read_only=read_only or getattr(args, "read_only", False),
    )
    if getattr(args, "follow_hub", False):  # under serve-ssh: the service syncs (services/hub)
        from pamtui.services.shared_inventory import follow_service

        follow_service(session)
    return session


def operator_actor(args: argparse.Namespace) -> Actor:
    """Who runs this command: the OS account, or the SSH key's operator (services/identity)."""
    from pamtui import config as config_mod
    from pamtui.services import identity

    return identity.current_actor(config_mod.load(getattr(args, "config", None)))


def operator_login(args: argparse.Namespace) -> str:
    return operator_actor(args).name


def open_journal(args: argparse.Namespace, *, read_only: bool = True) -> Journal:
    from pamtui.config import resolve_db_path

    path = resolve_db_path(args.db)
    if read_only and not path.exists():
        raise CheckFailed(f"no journal at {path} yet (nothing has been recorded)")
    return Journal.open(path, read_only=read_only)


def run_session(
    args: argparse.Namespace, body: Callable[[Session], Any], *, read_only: bool = False
) -> int:
    async def runner() -> int:
        session = open_session(args, read_only=read_only)
        try:
            return await body(session)
        finally:
            await session.aclose()

    return asyncio.run(runner())


def ask_totp(args: argparse.Namespace, session: Session) -> str | None:
    """The step-up code when policy asks for one.

    ``--totp CODE`` works but is visible to other local users in ``ps``; the
    code is better typed at the terminal (not echoed) or piped on standard
    input (one line).
    """
    if not session.revocations.step_up_required:
        return None
    return read_totp(args, "policy requires a TOTP code")


@contextmanager
def interruptible() -> Iterator[None]:
    """Let Ctrl-C raise KeyboardInterrupt while blocked reading the operator's answer.

    Inside ``asyncio.run`` the SIGINT handler only cancels the main task, which a
    blocking ``input()``/``getpass()`` never notices: the first Ctrl-C at a
    "[y/N]" prompt was swallowed and the command waited on. The default handler
    is put back for the read, then asyncio's.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ask(prompt: str, *, secret: bool = False) -> str:
    """One answer typed at the terminal (not echoed when ``secret``); Ctrl-C ends the command."""
    with interruptible():
        if not sys.stdin.isatty():
            return getpass.getpass(prompt) if secret else input(prompt)
        return read_line(prompt, secret=secret)


def read_line(prompt: str, *, secret: bool = False) -> str:
    """A line typed at the terminal on standard input, waiting in short selects so a Ctrl-C always ends it.

    The kernel hands SIGINT to any thread of the process; when it is not the main
    thread (sessions run worker threads), a main thread blocked in ``read()`` is
    never woken and the Ctrl-C waits for Enter. Returning from ``select`` every
    quarter second lets Python raise the pending KeyboardInterrupt.
    """
    fd = sys.stdin.fileno()
    saved = None
    if secret:
        import termios

        saved = termios.tcgetattr(fd)
        quiet = termios.tcgetattr(fd)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
    sys.stdout.write(prompt)  # after the echo is off: what is typed next stays hidden
    sys.stdout.flush()
    try:
        while not select.select([fd], [], [], 0.25)[0]:
            pass
        line = sys.stdin.readline()
    finally:
        if saved is not None:
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
            sys.stdout.write("\n")  # the Enter that was not echoed
    if not line:
        raise EOFError
    return line.rstrip("\r\n")


def read_totp(args: argparse.Namespace, needed: str) -> str:
    """The code from ``--totp``, else typed at the terminal (no echo), else one stdin line.

    ``needed`` starts the one-line error when none comes (it says why a code is asked).
    """
    given = getattr(args, "totp", None)
    if given:
        return str(given)
    if sys.stdin.isatty():
        return ask("TOTP code: ", secret=True).strip()
    with interruptible():
        line = sys.stdin.readline().strip()
    if line:
        return line
    raise UsageError(
        f"{needed}: type it at the terminal, pipe it on standard input, or pass --totp CODE"
    )


def add_totp_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--totp",
        metavar="CODE",
        help="TOTP code when policy requires step-up. Visible to other local users (ps): "
        "prefer typing it when asked, or piping it on standard input",
    )


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """One outcome of a run, for ``--json``."""
    return {
        "item": outcome.item.id,
        "label": outcome.item.action.label,
        "state": str(outcome.item.state),
        "ok": outcome.ok,
        "failed": outcome.failed,
        "message": outcome.message,
    }


def print_outcomes(outcomes: Sequence[Outcome]) -> None:
    """One line an item: ``[ok ]`` verified, ``[-- ]`` another runner's or waiting, ``[ERR]``."""
    for outcome in outcomes:
        mark = "ok " if outcome.ok else ("-- " if not outcome.failed else "ERR")
        message = "" if outcome.ok else clean(outcome.message)
        print(
            f"  [{mark}] #{outcome.item.id} {clean(outcome.item.action.label)}: "
            f"{outcome.item.state} {message}".rstrip()
        )


def named_file(value: str) -> str:
    """An option naming a file: an empty value is a mistake, not "the default".

    ``--db ""`` (an unset shell variable, ``--db "$DB"``) silently opened the
    default database; now it is a usage error (exit 2).
    """
    if not value.strip():
        raise argparse.ArgumentTypeError(
            "an empty file name (leave the option out for the default)"
        )
    return value


def common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="FILE",
        type=named_file,
        default=default,
        help="config file (default: $PAMTUI_CONFIG, else the user config file)",
    )
    parser.add_argument(
        "--db",
        metavar="FILE",
        type=named_file,
        default=default,
        help="database file (default: $PAMTUI_DB, else the user data dir)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    """``--json``, with the same help on every command that prints."""
    parser.add_argument(
        "--json", action="store_true", help="machine-readable output: JSON on standard output"
    )
