"""What ``pamtui serve-ssh`` runs for an operator: the triage TUI or one allow-listed command.

``python -m pamtui.cli.remote --identity-fd N --db DB [--config CFG] tui``
``python -m pamtui.cli.remote --identity-fd N --db DB [--config CFG] exec -- WORD...``

The service tells this process who it acts for through an inherited pipe
(``--identity-fd``: the fd number, never the identity), written and closed by
the service before the process starts; nothing in argv or the environment
(which the service builds, so a client's ``SendEnv``/``SetEnv USER=...`` never
arrives) names the operator. Whoever can run this module with a pipe of their
own can claim any name, but only against a database they can already write:
on a bastion only the service account can (docs/bastion.md).

``exec`` runs one of ``pamtui.ssh.commands.ALLOWED`` as that operator, within its roles (the
services refuse the rest: services/roles.py); the database and config are
the service's, and a command that names its own (``--db``, ``--config``) or
writes a file (``--out``) is refused in one line, as is anything else.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import os
import stat
import sys
import termios
import tty
from collections.abc import Sequence

from pamtui.cli import build_parser, run_parsed
from pamtui.cli.common import open_session
from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.model import Actor
from pamtui.services import identity
from pamtui.services.journal import Journal
from pamtui.services.roles import REFUSED_ACTION
from pamtui.ssh.commands import CommandRefused, allowed_command

_OWN_FILES = ("config", "db", "out")


def parse_remote(words: Sequence[str], *, db: str, config: str | None) -> argparse.Namespace:
    """Parse an allow-listed command and point it at the service's database and config."""
    allowed_command(words)  # the service checked it too, and journalled a refusal
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            args = build_parser().parse_args(list(words))
    except SystemExit as exc:
        if exc.code == 0:  # --help: printed already
            raise
        lines = [ln for ln in captured.getvalue().splitlines() if ln.strip()]
        raise CommandRefused(lines[-1] if lines else "cannot parse the command") from None
    for name in _OWN_FILES:
        if getattr(args, name, None) is not None:
            raise CommandRefused(f"--{name} is not available over SSH (the service's own is used)")
    args.db, args.config = db, config
    return args


def _take_terminal() -> None:
    """A session leader (start_new_session) takes its pty as controlling terminal."""
    with contextlib.suppress(OSError):
        fcntl.ioctl(sys.stdin.fileno(), termios.TIOCSCTTY, 0)


def _tui(args: argparse.Namespace) -> int:
    """The triage TUI without file writes (ssh/operator_app.py), as the assumed operator."""
    session = open_session(args)  # --follow-hub: the service's stream and inventory
    from pamtui.cli.quick_exit import exit_without_teardown
    from pamtui.ssh.operator_app import run_operator_app

    exit_without_teardown(run_operator_app(session))


def _journal_refusal(db: str, actor: Actor, words: Sequence[str], reason: str) -> None:
    """A command the child refused (an option naming a file) is journalled like any refusal."""
    with contextlib.suppress(PamtuiError, OSError):
        journal = Journal.open(db)
        try:
            if actor.key_fingerprint:
                journal.actor_keys[actor.name] = actor.key_fingerprint
            journal.append(
                actor.name,
                REFUSED_ACTION,
                subject="ssh:command",
                detail={"command": " ".join(words)[:200], "reason": reason, "via": actor.via},
            )
        finally:
            journal.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pamtui-remote")
    parser.add_argument("--identity-fd", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    parser.add_argument("--follow-hub", action="store_true", help="read the service's stream")
    parser.add_argument("mode", choices=("tui", "exec"))
    parser.add_argument("words", nargs="*")
    args = parser.parse_args(argv)
    try:
        if not stat.S_ISFIFO(os.fstat(args.identity_fd).st_mode):
            raise identity.IdentityError("the identity must come on a pipe from the service")
        actor = identity.read_assumed(args.identity_fd)
    except (OSError, identity.IdentityError) as exc:
        print(f"pamtui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    _take_terminal()
    if args.mode == "tui":
        return run_parsed(
            argparse.Namespace(
                func=_tui, db=args.db, config=args.config, follow_hub=args.follow_hub
            )
        )
    if sys.stdout.isatty():  # plain output: no \r\n for a script that reads it
        with contextlib.suppress(termios.error):
            tty.setraw(sys.stdout.fileno())
    try:
        command = parse_remote(args.words, db=args.db, config=args.config)
    except CommandRefused as exc:
        print(f"pamtui: refused: {exc}", file=sys.stderr)
        _journal_refusal(args.db, actor, args.words, str(exc))
        return EXIT_USAGE
    command.follow_hub = args.follow_hub  # read the service's inventory (open_session)
    return run_parsed(command)


if __name__ == "__main__":
    sys.exit(main())
