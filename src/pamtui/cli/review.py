"""pamtui review: start, list, show, decide and report access review campaigns."""

from __future__ import annotations

import argparse
import functools
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    add_json_option,
    add_totp_option,
    ask_totp,
    open_journal,
    operator_login,
    plural,
    print_json,
    print_table,
    run_session,
)
from pamtui.config import resolve_db_path
from pamtui.model import QueueState
from pamtui.safe_write import SafeWriteError
from pamtui.sanitize import clean
from pamtui.services import review_report
from pamtui.services.review import (
    AlreadyDecided,
    Campaign,
    Decision,
    ReviewError,
    ReviewItem,
    ReviewService,
    Scope,
    parse_due,
    parse_id,
)
from pamtui.services.review_start import degraded, degraded_line, start_campaign
from pamtui.services.session import Session


def _errors(func: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A database from before reviews is one clean line and exit 1, never a traceback.

    A ``ReviewError`` keeps its own exit code (``pamtui.cli.main`` maps it): 2
    for an unknown campaign or item or an item decided already, 1 otherwise.
    """

    @functools.wraps(func)
    def wrapper(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            raise CheckFailed(
                "no review campaign yet (this database predates reviews; "
                "pamtui review start creates one)"
            ) from None

    return wrapper


def _campaign_json(c: Campaign) -> dict[str, Any]:
    p = c.progress
    return {
        "id": c.id,
        "scope": c.scope,
        "created_by": c.created_by,
        "created": c.created,
        "due": c.due,
        "status": c.status,
        "items": c.item_count,
        "decided": p.decided,
        "kept": p.kept,
        "revoked": p.revoked,
        "deferred": p.deferred,
        "reviewers": list(c.reviewers),
        "start_seq": c.start_seq,
    }


def _item_json(item: ReviewItem) -> dict[str, Any]:
    return {
        "item": item.position,
        "provider": item.provider,
        "account_id": item.account_id,
        "account": item.account_name,
        "flags": item.flags,
        "owner": item.account.get("owner", ""),
        "owner_status": item.account.get("owner_status", ""),
        "last_used": item.last_used,
        "decision": item.decision,
        "justification": item.justification,
        "reviewer": item.reviewer,
        "decided_at": item.decided_at,
        "journal_seq": item.decision_seq,
        "queue_items": list(item.queue_item_ids),
        "version": item.version,
        "snapshot": item.snapshot,
    }


def _service(args: argparse.Namespace) -> ReviewService:
    """A read-only service on the journal alone (list, show, report)."""
    return ReviewService(open_journal(args, read_only=True), read_only=True)


def _id(text: str, what: str) -> int:
    try:
        return parse_id(text, what)
    except ReviewError as exc:
        raise UsageError(str(exc)) from None


@_errors
def cmd_start(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        raise UsageError("--limit must be at least 1")
    try:
        due = parse_due(args.due)
    except ReviewError as exc:
        raise UsageError(str(exc)) from None

    async def body(session: Session) -> int:
        try:
            scope = Scope.parse(args.scope, session.providers)
        except ReviewError as exc:
            raise UsageError(str(exc)) from None
        views = await session.inventory.sync()
        bad = degraded(session.inventory.health)
        for health in bad:
            print(f"pamtui: {degraded_line(health)}", file=sys.stderr)
        # The TUI starts campaigns through the same call (services/review_start.py).
        campaign = start_campaign(session, scope, views, due=due, limit=args.limit)
        if args.json:
            print_json(_campaign_json(campaign))
        else:
            print(
                f"review {campaign.id} started: {plural(campaign.item_count, 'account')} in scope "
                f"{clean(campaign.scope)}{' due ' + campaign.due if campaign.due else ''} "
                f"(journal entry {campaign.start_seq})"
            )
        return EXIT_FALSE if bad else EXIT_OK

    return run_session(args, body)


@_errors
def cmd_list(args: argparse.Namespace) -> int:
    service = _service(args)
    try:
        campaigns = service.campaigns()
    finally:
        service.journal.close()
    if args.json:
        print_json([_campaign_json(c) for c in campaigns])
        return EXIT_OK
    print_table(
        ["id", "scope", "status", "progress", "due", "started", "by"],
        [
            (c.id, c.scope, c.status, str(c.progress), c.due, c.created[:19], c.created_by)
            for c in campaigns
        ],
    )
    return EXIT_OK


@_errors
def cmd_show(args: argparse.Namespace) -> int:
    campaign_id = _id(args.id, "the campaign ID")
    service = _service(args)
    try:
        campaign = service.get(campaign_id)
        items = service.items(campaign_id)
    finally:
        service.journal.close()
    if args.json:
        print_json({**_campaign_json(campaign), "items_detail": [_item_json(i) for i in items]})
        return EXIT_OK
    print(
        f"review {campaign.id}: scope {clean(campaign.scope)}, {campaign.progress}, "
        f"due {campaign.due or 'none'}, started {campaign.created[:19]} by "
        f"{clean(campaign.created_by)}"
    )
    print_table(
        ["item", "provider", "account", "flags", "owner", "decision", "reviewer", "justification"],
        [
            (
                i.position,
                i.provider,
                i.account_name,
                ",".join(i.flags),
                f"{i.account.get('owner', '')} {i.account.get('owner_status', '')}".strip(),
                i.decision or "-",
                i.reviewer,
                i.justification,
            )
            for i in items
        ],
    )
    return EXIT_OK


@_errors
def cmd_decide(args: argparse.Namespace) -> int:
    campaign_id = _id(args.id, "the campaign ID")
    position = _id(args.item, "the item number")
    if args.decision == Decision.KEEP and not (args.justification or "").strip():
        raise UsageError("keeping access needs a justification: --justification TEXT")

    async def body(session: Session) -> int:
        service = ReviewService.for_session(session)
        item = service.item(campaign_id, position)
        view = None
        code = None
        if args.decision == Decision.REVOKE:
            await session.inventory.sync()
            view = session.inventory.get((item.provider, item.account_id))
            if view is not None:
                # Staging a revocation asks for step-up (four eyes or not): the service checks.
                code = ask_totp(args, session)
        expected = item.version if args.override else None
        try:
            decided = service.decide(
                campaign_id,
                position,
                args.decision,
                args.justification or "",
                reviewer=session.operator,
                expected_version=expected,
                view=view,
                code=code,
            )
        except AlreadyDecided as exc:
            hint = (
                "; pass --override to replace it"
                if item.decision == Decision.KEEP
                else " (--override replaces only a keep decision)"
            )
            raise UsageError(f"{exc}{hint}") from None
        progress = service.progress(campaign_id)
        if args.json:
            print_json({**_item_json(decided), "progress": str(progress)})
            return EXIT_OK
        print(
            f"review {campaign_id} item {position} ({clean(decided.account_name)}): "
            f"{decided.decision} by {clean(decided.reviewer)}, journal entry "
            f"{decided.decision_seq}; {progress}"
        )
        for rev in service.revocations(decided):
            waiting = rev.item.state is QueueState.AWAITING_APPROVAL
            note = " (four eyes: awaits another operator)" if waiting else ""
            print(f"  staged #{rev.item.id} {clean(rev.item.action.label)}: {rev.item.state}{note}")
        if decided.queue_item_ids:
            print("  nothing executed yet: run them with pamtui queue run")
        return EXIT_OK

    return run_session(args, body)


@_errors
def cmd_report(args: argparse.Namespace) -> int:
    campaign_id = _id(args.id, "the campaign ID")
    db_path = resolve_db_path(args.db)
    if args.out:
        try:
            review_report.check_report_target(args.out, db_path=db_path, force=args.force)
        except SafeWriteError as exc:
            raise UsageError(f"--out: {clean(exc)}") from None
    login = operator_login(args)
    journal = open_journal(args, read_only=True)
    try:
        from pamtui.services.queue import RevocationQueue

        queue = RevocationQueue(journal, {}, login, read_only=True)
        service = ReviewService(journal, queue=queue, read_only=True)
        data = review_report.collect(service, campaign_id, generated_by=login)
        text = review_report.render(data, args.format)
    finally:
        journal.close()
    if args.out:
        try:
            review_report.write_report(args.out, text, db_path=db_path, force=args.force)
        except SafeWriteError as exc:
            raise UsageError(f"--out: {clean(exc)}") from None
        print(f"wrote the {args.format} report of review {campaign_id} to {clean(args.out)}")
    else:
        sys.stdout.write(text)
    if not data.journal_ok:
        raise CheckFailed("the campaign disagrees with the journal: " + "; ".join(data.problems))
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("review", parents=[common], help="access review campaigns")
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)

    v = verbs.add_parser(
        "start", parents=[common], help="snapshot the accounts in scope into a campaign"
    )
    v.add_argument("--scope", required=True, help="privileged, all or provider:NAME")
    v.add_argument("--due", metavar="DATE", help="due date, YYYY-MM-DD")
    v.add_argument("--limit", type=int, metavar="N", help="at most N accounts (first by name)")
    add_json_option(v)
    v.set_defaults(func=cmd_start)

    v = verbs.add_parser("list", parents=[common], help="campaigns and their progress")
    add_json_option(v)
    v.set_defaults(func=cmd_list)

    v = verbs.add_parser("show", parents=[common], help="one campaign, item by item")
    v.add_argument("id", metavar="ID", help="the campaign ID (see: pamtui review list)")
    add_json_option(v)
    v.set_defaults(func=cmd_show)

    v = verbs.add_parser("decide", parents=[common], help="keep, revoke or defer one item")
    v.add_argument("id", metavar="ID", help="the campaign ID (see: pamtui review list)")
    v.add_argument("item", metavar="ITEM", help="the item number (see: pamtui review show ID)")
    v.add_argument(
        "decision", choices=[d.value for d in Decision], help="keep, revoke (stages it) or defer"
    )
    v.add_argument("--justification", metavar="TEXT", help="required to keep access")
    v.add_argument(
        "--override",
        action="store_true",
        help="replace a keep decision already recorded (journalled as a change)",
    )
    add_totp_option(v)
    add_json_option(v)
    v.set_defaults(func=cmd_decide)

    v = verbs.add_parser("report", parents=[common], help="the evidence report for auditors")
    v.add_argument("id", metavar="ID", help="the campaign ID (see: pamtui review list)")
    v.add_argument(
        "--format", choices=review_report.FORMATS, default="md", help="md (default), html or csv"
    )
    v.add_argument(
        "--out",
        metavar="FILE",
        help="write to FILE: created 0600 and renamed into place; never the database "
        "or its files, never through a symlink",
    )
    v.add_argument("--force", action="store_true", help="replace FILE if it exists")
    v.set_defaults(func=cmd_report)
