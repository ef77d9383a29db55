"""pamtui sessions list | play ID: recorded operator sessions (see services/recordings.py)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pamtui.cli.common import EXIT_OK, open_journal, print_json, print_table


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def cmd_list(args: argparse.Namespace) -> int:
    from pamtui.services.recordings import list_sessions

    journal = open_journal(args)
    try:
        found = list_sessions(journal)
    finally:
        journal.close()
    if args.json:
        print_json(
            [
                {
                    "session": s.session,
                    "operator": s.operator,
                    "key_fingerprint": s.key_fingerprint,
                    "client": s.client,
                    "started": s.started,
                    "duration_s": s.duration_s,
                    "reason": s.reason,
                    "recording": s.recording.detail() if s.recording else None,
                }
                for s in found
            ]
        )
        return EXIT_OK
    rows = [
        (
            s.session,
            s.operator,
            s.started,
            f"{s.duration_s:g} s" if s.duration_s is not None else "running or cut off",
            s.recording.size if s.recording else "",
            s.reason,
        )
        for s in found
    ]
    print_table(("session", "operator", "started", "duration", "bytes", "end"), rows)
    return EXIT_OK


def cmd_play(args: argparse.Namespace) -> int:
    from pamtui.config import resolve_db_path
    from pamtui.services.recordings import play, verified_recording

    journal = open_journal(args)
    try:
        data = verified_recording(journal, resolve_db_path(args.db), args.id)
    finally:
        journal.close()
    out = sys.stdout

    def write(text: str) -> None:
        out.write(text)
        out.flush()

    try:
        play(data, write, speed=args.speed, max_wait=args.max_wait)
    except KeyboardInterrupt:
        if out.isatty():  # the recording may have left the terminal in the TUI's modes
            from pamtui.ssh.channel import TERMINAL_RESET

            write(TERMINAL_RESET.decode())
        raise
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sessions",
        help="recorded operator sessions (serve-ssh)",
        description="Every pamtui serve-ssh session is recorded (asciicast v2) and its hash "
        "journalled; a recording that does not match the journal is not replayed.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    ls = verbs.add_parser("list", parents=[common], help="recorded sessions, newest first")
    ls.add_argument("--json", action="store_true", help="machine-readable output")
    ls.set_defaults(func=cmd_list)
    pl = verbs.add_parser(
        "play", parents=[common], help="replay a session in this terminal, after its hash check"
    )
    pl.add_argument("id", metavar="ID", help="the session id (from 'sessions list')")
    pl.add_argument(
        "--speed", type=_positive_float, default=1.0, help="replay this many times faster"
    )
    pl.add_argument(
        "--max-wait",
        metavar="SECONDS",
        type=_positive_float,
        default=2.0,
        help="cut longer pauses to this (default 2)",
    )
    pl.set_defaults(func=cmd_play, json=False)
