"""The ``pamtui`` command line: the contract users script against.

One module per command group; each has ``register(sub, common)``. The
output helpers and sessions shared by all are in ``common``. A group's
module is imported only when its command runs (``COMMANDS``): the TUI and
``pamtui accounts`` do not pay for the SSH server's or the reports' imports.
``--help``, a mistyped command or anything the quick scan of the arguments
cannot place imports every group, so help lists every command. Errors are mapped
to exit codes here, in one place: every error meant for the operator is a
``pamtui.errors.PamtuiError`` and carries its exit code (2 usage or config,
1 refused or not true); anything else is a bug, reported in one line as an
internal error (exit 70) unless ``PAMTUI_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from pamtui import __version__, heap
from pamtui.errors import EXIT_FALSE, EXIT_INTERNAL, EXIT_OK, PamtuiError
from pamtui.sanitize import clean

COMMAND_GROUPS: tuple[str, ...] = (
    "triage",
    "queue",
    "security",
    "sweep",
    "audit",
    "providers",
    "ssh",
    "review",
    "drift",
    "people",
    "doctor",
    "offboard",
    "policy_cmd",
    "sessions",
    "operators",
)
"""Every module of ``pamtui.cli`` with a ``register``, in the order help lists them."""

COMMANDS: dict[str, str] = {
    "accounts": "triage",
    "revoke": "triage",
    "queue": "queue",
    "secrets": "security",
    "mfa": "security",
    "sweep": "sweep",
    "audit": "audit",
    "providers": "providers",
    "demo": "providers",
    "serve-ssh": "ssh",
    "review": "review",
    "drift": "drift",
    "people": "people",
    "config": "doctor",
    "doctor": "doctor",
    "offboard": "offboard",
    "policy": "policy_cmd",
    "sessions": "sessions",
    "operators": "operators",
}
"""Top-level command -> the group module that registers it (tests check it is complete)."""

_TOP_LEVEL_VALUES = frozenset({"--config", "--db", "--theme"})
"""The top-level options that take a value (the next argument is not a command)."""


def _group(name: str) -> ModuleType:
    return importlib.import_module(f"pamtui.cli.{name}")


def command_in(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, or None for the TUI; "" when unsure (import every group)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
            continue
        if token in ("-h", "--help", "--"):
            return ""
        if token.startswith("-"):
            option = token.split("=", 1)[0]
            if option in _TOP_LEVEL_VALUES:
                skip = "=" not in token
            elif option not in ("--read-only", "--version"):
                return ""  # an abbreviation or an unknown option: let argparse judge
            continue
        return token
    return None


def groups_for(argv: Sequence[str] | None) -> tuple[str, ...]:
    """The group modules a parser for ``argv`` needs: one, none (the TUI) or all."""
    command = command_in(sys.argv[1:] if argv is None else argv)
    if command is None:
        return ()
    group = COMMANDS.get(command)
    return (group,) if group else COMMAND_GROUPS


def build_parser(groups: Sequence[str] = COMMAND_GROUPS) -> argparse.ArgumentParser:
    """The whole command line; ``groups``: only these modules' commands (a quicker start)."""
    from pamtui.cli.common import common_options  # the sessions' imports: after main's pause

    parser = argparse.ArgumentParser(
        prog="pamtui",
        description="Privileged-access triage and API de-provisioning in the terminal. "
        "With no command, opens the TUI (on the bundled demo organisation when there is no config).",
    )
    parser.add_argument("--version", action="version", version=f"pamtui {__version__}")
    common_options(parser, suppress=False)
    parser.add_argument("--read-only", action="store_true", help="remove every mutating action")
    parser.add_argument(
        "--theme", metavar="NAME", help="colour theme for the TUI (an unknown name lists them)"
    )
    parser.set_defaults(func=_run_tui, json=False)

    common = argparse.ArgumentParser(add_help=False)
    common_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for name in groups:
        _group(name).register(sub, common)
    return parser


def _run_tui(args: argparse.Namespace) -> int:
    return int(_group("triage").cmd_tui(args))


def _tolerant_streams() -> None:
    """On a terminal that is not UTF-8, print "?" for what it cannot show, not crash.

    Labels hold "…" and provider text anything; an ASCII or Latin-1 terminal made
    every such line "internal error: UnicodeEncodeError". JSON is ASCII already.
    """
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and encoding not in ("utf8", "utf8sig"):
            reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    if sys.stdout is None:  # started with stdout closed (>&-): every print would vanish
        if sys.stderr is not None:
            print(
                "pamtui: standard output is closed: nothing could be shown "
                "(redirect it to /dev/null to discard the output)",
                file=sys.stderr,
            )
        return EXIT_FALSE
    _tolerant_streams()
    groups = groups_for(argv)
    if not groups:  # the TUI: no collections until its first frame (see pamtui/heap.py)
        heap.pause_for_start()
    try:
        parser = build_parser(groups)
        return finish_output(run_parsed(parser.parse_args(argv)))
    finally:
        heap.start_done()  # a start that failed, or ended, before its first frame


def _drop_stdout() -> None:
    """Point standard output at /dev/null, so Python's flush at exit finds no reader gone."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # no real stdout (a test's capture)
        pass


def finish_output(code: int) -> int:
    """Flush standard output now, while a failure can still be one line and an exit code.

    Left to the interpreter's exit, a reader that left early (``| grep -q``) or a
    full disk under ``> file`` printed "Exception ignored ..." and exited 120.
    """
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:  # the reader has what it wanted, as in run_parsed
        _drop_stdout()
    except OSError as exc:
        _drop_stdout()
        print(f"pamtui: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return code if code != EXIT_OK else EXIT_FALSE
    return code


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed command; every error becomes one line and its exit code."""
    try:
        return args.func(args)
    except PamtuiError as exc:  # every error meant for the operator: one line, its exit code
        label = f"{exc.label}: " if exc.label else ""
        print(f"pamtui: {label}{clean(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pamtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        _drop_stdout()  # what is still buffered has no reader either
        return EXIT_OK
    except OSError as exc:
        if exc.errno not in _NO_ROOM:
            return _internal_error(exc)
        what = clean(exc.filename) if exc.filename else "the output"
        if not exc.filename:
            _drop_stdout()
        print(f"pamtui: cannot write {what}: {exc.strerror}", file=sys.stderr)
        return EXIT_FALSE
    except Exception as exc:  # a bug, not a user mistake: see pamtui.errors
        return _internal_error(exc)


_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT})
"""A full disk or quota: the machine's state, not a bug (exit 1, one line)."""


def _internal_error(exc: Exception) -> int:
    if os.environ.get("PAMTUI_DEBUG", "0") not in ("", "0"):
        raise exc
    print(
        f"pamtui: internal error: {type(exc).__name__}: {clean(exc)} "
        "(run again with PAMTUI_DEBUG=1 for the traceback)",
        file=sys.stderr,
    )
    return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
