"""pamtui audit forward: send the journal to the [[forward]] receivers (cron, or --follow)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    add_json_option,
    operator_actor,
    plural,
    print_json,
    print_table,
)
from pamtui.config import resolve_db_path
from pamtui.services.forward import (
    ForwardLag,
    ForwardResult,
    follow,
    forward_once,
    forwarding_lag,
    open_forwarding_journal,
)


def _destinations(args: argparse.Namespace) -> list[Any]:
    from pamtui import config as config_mod

    config = config_mod.load(args.config)
    destinations = list(config.forward)
    if not destinations:
        where = config.source or "the configuration (the bundled demo)"
        raise UsageError(f"{where}: no [[forward]] table: nothing to forward to")
    if args.destination:
        destinations = [d for d in destinations if d.name == args.destination]
        if not destinations:
            names = ", ".join(d.name for d in config.forward)
            raise UsageError(f"--destination {args.destination}: not configured (have: {names})")
    return destinations


def _lag_record(lag: ForwardLag) -> dict[str, Any]:
    return {
        "destination": lag.destination,
        "url": lag.url,
        "payload": lag.payload,
        "head_seq": lag.head_seq,
        "forwarded_seq": lag.last_seq,
        "lag": lag.lag,
        "last_sent_at": lag.last_sent_at,
        "checkpoint_seq": lag.checkpoint_seq,
        "checkpoint_at": lag.checkpoint_at,
        "last_error": lag.last_error,
        "skipped": lag.skipped,
    }


def _print_results(results: list[ForwardResult], lags: list[ForwardLag], as_json: bool) -> None:
    by_name = {lag.destination: lag for lag in lags}
    if as_json:
        print_json(
            [
                {
                    "destination": r.destination,
                    "sent": r.sent,
                    "not_sent": r.not_sent,
                    "checkpoints": r.checkpoints,
                    "error": r.error,
                    "lag": by_name[r.destination].lag if r.destination in by_name else None,
                }
                for r in results
            ]
        )
        return
    for r in results:
        lag = by_name.get(r.destination)
        line = f"{r.destination}: sent {plural(r.sent, 'entry', 'entries')}"
        if r.not_sent:
            line += f" ({r.not_sent} with no message in this payload)"
        line += f", {plural(r.checkpoints, 'head checkpoint')}, lag {lag.lag if lag else '?'}"
        if r.error:
            line += f"; FAILED: {r.error}"
        print(line)


def cmd_forward(args: argparse.Namespace) -> int:
    if args.poll <= 0:
        raise UsageError(f"--poll: expected a positive number of seconds, got {args.poll}")
    destinations = _destinations(args)
    db_path = resolve_db_path(args.db)
    if args.status:
        from pamtui.cli.common import open_journal

        journal = open_journal(args, read_only=True)
        try:
            lags = forwarding_lag(journal, destinations)
        finally:
            journal.close()
        if args.json:
            print_json([_lag_record(lag) for lag in lags])
        else:
            print_table(
                ["destination", "url", "forwarded", "head", "lag", "checkpoint", "last error"],
                [
                    (
                        lag.destination,
                        lag.url,
                        lag.last_seq,
                        lag.head_seq,
                        lag.lag,
                        f"{lag.checkpoint_seq} at {lag.checkpoint_at}" if lag.checkpoint_at else "",
                        lag.last_error
                        or (f"entries {lag.skipped} rotated away unsent" if lag.skipped else ""),
                    )
                    for lag in lags
                ],
            )
        return EXIT_FALSE if any(lag.last_error for lag in lags) else EXIT_OK
    if args.follow:
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())

        def report(results: list[ForwardResult], lags: list[ForwardLag]) -> None:
            moved = [r for r in results if r.sent or r.checkpoints or r.error]
            if moved:
                _print_results(moved, lags, args.json)
                sys.stdout.flush()

        follow(
            db_path,
            destinations,
            stop,
            actor=operator_actor(args),
            poll_seconds=args.poll,
            on_pass=report,
        )
        return EXIT_OK
    actor = operator_actor(args)
    journal = open_forwarding_journal(db_path)
    try:
        results = forward_once(journal, destinations, actor=actor)
        lags = forwarding_lag(journal, destinations)
    finally:
        journal.close()
    _print_results(results, lags, args.json)
    return EXIT_FALSE if any(r.error for r in results) else EXIT_OK


def register_forward(audit: Any, common: argparse.ArgumentParser) -> None:
    a = audit.add_parser(
        "forward",
        parents=[common],
        help="send new journal entries to the [[forward]] syslog receivers",
        description="Send every journal entry not yet taken by each [[forward]] receiver, "
        "oldest first, and checkpoint the head there. One pass (for cron; exit 1 if a "
        "receiver could not be reached: nothing is lost, the next pass resumes), or "
        "--follow to keep forwarding. The TUI forwards in the background while it runs.",
    )
    a.add_argument("--follow", action="store_true", help="keep forwarding until stopped")
    a.add_argument(
        "--poll", type=float, default=1.0, metavar="SECONDS", help="with --follow: pause"
    )
    a.add_argument(
        "--status",
        action="store_true",
        help="show each receiver's lag (entries not yet forwarded), last checkpoint and "
        "last error; exit 1 if the last attempt failed",
    )
    a.add_argument("--destination", metavar="NAME", help="only this [[forward]] name")
    add_json_option(a)
