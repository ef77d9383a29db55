"""pamtui audit: the journal from the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    add_json_option,
    check_theme,
    open_journal,
    operator_actor,
    plural,
    print_json,
    print_table,
    require_terminal,
)
from pamtui.sanitize import clean
from pamtui.services import journal as journal_service
from pamtui.services.journal import EntryFilter, Head, Journal, entry_record


def cmd_audit(args: argparse.Namespace) -> int:
    verb = args.verb
    if verb == "recheck":  # asks the providers: needs a session, not only the journal
        if getattr(args, "person", None):
            from pamtui.cli.offboard import cmd_recheck_person

            return cmd_recheck_person(args)
        from pamtui.cli.drift import cmd_recheck

        return cmd_recheck(args)
    if verb == "forward":  # needs the [[forward]] config, and writes its cursors
        from pamtui.cli.forward import cmd_forward

        return cmd_forward(args)
    if getattr(args, "limit", 1) < 1:
        raise UsageError(f"--limit: expected at least 1, got {args.limit}")
    if verb is None:
        check_theme(getattr(args, "theme", None))
        require_terminal("the audit review screen")
    journal = open_journal(args, read_only=verb != "rotate")
    if verb is None:  # the audit review screen, read-only: fit for an SSH ForceCommand
        from pamtui.tui.app import run_audit_app

        return run_audit_app(journal, theme=getattr(args, "theme", None))
    try:
        if verb == "rotate":
            previous, start, archive = journal_service.rotate(
                journal, operator_actor(args), args.archive
            )
            if args.json:
                print_json(
                    {"archived_head": str(previous), "archive": str(archive), "start": start.seq}
                )
                return EXIT_OK
            print(f"archived entries up to {previous.seq} to {archive} (head {previous})")
            print(f"this journal continues at entry {start.seq}, linked to that head")
            if archive.parent != journal.archive_dir():
                print(
                    f"pamtui: {archive} is outside {journal.archive_dir()}: "
                    "`audit verify` needs it with --archive",
                    file=sys.stderr,
                )
            return EXIT_OK
        if verb == "head":
            head = journal.head()
            if head is None:
                raise CheckFailed("the journal is empty")
            if args.json:
                print_json({"seq": head.seq, "head": str(head)})
                return EXIT_OK
            print(head)
            return EXIT_OK
        if verb == "verify":
            expect = None
            if args.expect_head:
                try:
                    expect = Head.parse(args.expect_head)
                except ValueError as exc:
                    raise UsageError(f"--expect-head: {exc}") from exc
            for archive in args.archive or ():
                if not Path(archive).expanduser().is_file():
                    raise UsageError(f"--archive {archive}: no such file")
            report = journal.verify(expect_head=expect, archives=args.archive or ())
            if args.json:
                print_json(
                    {
                        "ok": report.ok,
                        "entries": report.entries,
                        "head": str(report.head) if report.head else None,
                        "bad_seq": report.bad_seq,
                        "problem": report.problem,
                        "archives": list(report.archives),
                    }
                )
            elif report.ok:
                archived = (
                    f" ({plural(len(report.archives), 'archive')} included)"
                    if report.archives
                    else ""
                )
                last = f"head {report.head}" if report.head else "nothing recorded yet"
                print(f"ok: {plural(report.entries, 'entry', 'entries')}{archived}, {last}")
            else:
                print(f"FAILED at entry {report.bad_seq}: {report.problem}")
            return EXIT_OK if report.ok else EXIT_FALSE
        from pamtui.cli.drift import parse_since  # one reading of a time for every command

        filt = EntryFilter(
            since=parse_since(args.since),
            until=parse_since(args.until, option="--until"),
            actor=args.actor,
            provider=args.provider,
            subject=args.subject,
            action=args.action,
            text=args.text,
        )
        if verb == "export":
            return _export(journal, args, filt)
        entries = journal.entries(filt, limit=args.limit)
        if args.json:
            print_json([entry_record(e) for e in entries])
        else:
            print_table(
                ["seq", "ts", "actor", "action", "provider", "subject", "reason", "detail"],
                [
                    (
                        e.seq,
                        e.ts,
                        e.actor,
                        e.action,
                        e.provider,
                        e.subject,
                        e.detail.get("reason") or e.detail.get("justification") or "",
                        e.detail.get("label") or e.detail.get("error", ""),
                    )
                    for e in entries
                ],
            )
        return EXIT_OK
    finally:
        journal.close()


def _export(journal: Journal, args: argparse.Namespace, filt: EntryFilter) -> int:
    from pamtui.safe_write import SafeWriteError
    from pamtui.services.audit import export_stream, export_summary, export_to_file

    if not args.out or args.out == "-":
        result = export_stream(journal, args.format, sys.stdout, filt)
        print(f"pamtui: {clean(export_summary(result, args.format))}", file=sys.stderr)
        return EXIT_OK
    try:
        result = export_to_file(journal, args.format, args.out, filt, force=args.force)
    except SafeWriteError as exc:
        raise UsageError(f"--out: {clean(exc)}") from None
    print(clean(export_summary(result, args.format, args.out)))
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "audit", parents=[common], help="the audit journal (no subcommand: the review screen)"
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="accepted for symmetry: the review screen never changes anything",
    )
    audit = p.add_subparsers(dest="verb", metavar="VERB")
    filters = argparse.ArgumentParser(add_help=False)
    for name, what in (
        ("since", "from this UTC time (2026-11-01, 2026-11-01T10:00) or age (7d, 24h, 30m)"),
        ("until", "before this UTC time or age (as --since)"),
        ("actor", "operator or policy:NAME"),
        ("provider", "provider name"),
        ("subject", "e.g. credential:ID"),
        ("action", "e.g. revoked, verified, stage"),
        ("text", "free text"),
    ):
        filters.add_argument(f"--{name}", help=what)
    a = audit.add_parser("list", parents=[common, filters], help="journal entries, newest first")
    a.add_argument("--limit", type=int, default=100, help="at most N entries (default 100)")
    add_json_option(a)
    from pamtui.services.audit import EXPORT_FORMATS, export_help

    a = audit.add_parser(
        "export",
        parents=[common, filters],
        help="export for a SIEM, oldest first",
        description="Export the journal entries matching the filters, oldest first.",
        epilog=export_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    a.add_argument(
        "--format", required=True, choices=list(EXPORT_FORMATS), help="the format (see below)"
    )
    a.add_argument(
        "--out",
        metavar="FILE",
        help="write here instead of stdout: created 0600 and renamed into place; "
        "never the database or its files, never through a symlink",
    )
    a.add_argument("--force", action="store_true", help="replace FILE if it exists")
    a = audit.add_parser("verify", parents=[common], help="recompute the hash chain")
    a.add_argument(
        "--expect-head",
        metavar="SEQ:HASH",
        help="a head recorded earlier (pamtui audit head): the chain must still reach it",
    )
    a.add_argument(
        "--archive",
        metavar="FILE",
        action="append",
        help="an archive made by `audit rotate` (repeatable); those in DB-archives/ are "
        "found without it. A rotated journal verifies only with its archives",
    )
    add_json_option(a)
    a = audit.add_parser("head", parents=[common], help="print SEQ:HASH of the last entry")
    add_json_option(a)
    a = audit.add_parser(
        "rotate", parents=[common], help="archive the entries and continue the chain here"
    )
    a.add_argument(
        "--archive",
        metavar="FILE",
        help="the new archive file (default: a new file in DB-archives/, where verify looks)",
    )
    add_json_option(a)
    from pamtui.cli.drift import register_recheck

    register_recheck(audit, common)
    audit.choices["recheck"].add_argument(
        "--person",
        metavar="PERSON",
        help="only this person's offboarding: every step checked again, and every account "
        "they still have read now (exit 1 if anything is live or could not be checked)",
    )
    from pamtui.cli.forward import register_forward

    register_forward(audit, common)
    p.set_defaults(func=cmd_audit, verb=None)
