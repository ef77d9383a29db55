"""pamtui queue: list, run, retry, cancel, approve, edit."""

from __future__ import annotations

import argparse
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    add_json_option,
    add_totp_option,
    ask_totp,
    iso,
    outcome_json,
    print_json,
    print_outcomes,
    print_table,
    run_session,
)
from pamtui.model import QueueItem
from pamtui.sanitize import clean
from pamtui.services.session import Session


def _queue_json(item: QueueItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "state": str(item.state),
        "provider": item.action.provider,
        "action": item.action.name,
        "label": item.action.label,
        "target": item.action.subject,
        "account_id": item.action.account_id,
        "reason": item.reason,
        "requested_by": item.requested_by,
        "approved_by": item.approved_by,
        "attempts": item.attempts,
        "last_error": item.last_error,
        "plan": item.plan_id,
        "created": iso(item.created),
        "updated": iso(item.updated),
    }


def cmd_queue(args: argparse.Namespace) -> int:
    verb = args.verb or "list"
    if verb in ("retry", "cancel", "approve", "edit") and args.id is None:
        raise UsageError(f"pamtui queue {verb} needs an item ID")

    async def body(session: Session) -> int:
        queue = session.queue
        if verb == "list":
            items = queue.items()
            if args.json:
                print_json([_queue_json(i) for i in items])
            else:
                print_table(
                    ["id", "state", "by", "provider", "action", "target", "attempts", "error"],
                    [
                        (
                            i.id,
                            i.state,
                            i.requested_by,
                            i.action.provider,
                            i.action.label,
                            i.action.target_id,
                            i.attempts,
                            i.last_error,
                        )
                        for i in items
                    ],
                )
            return EXIT_OK
        revocations = session.revocations
        if verb == "edit":
            if not args.reason:
                raise UsageError("pamtui queue edit ID needs --reason TEXT")
            item = revocations.edit(args.id, reason=args.reason)
            if args.json:
                print_json(_queue_json(item))
            else:
                print(f"#{item.id} reason: {clean(item.reason)}")
            return EXIT_OK
        code = ask_totp(args, session)
        if verb == "cancel":
            item = revocations.cancel(args.id, code=code)
            if args.json:
                print_json(_queue_json(item))
            else:
                print(f"#{item.id} {item.state}")
            return EXIT_OK
        if verb == "approve":
            item, outcomes = await revocations.approve_and_run(args.id, code=code)
            if args.json:
                print_json({**_queue_json(item), "outcomes": [outcome_json(o) for o in outcomes]})
            else:
                print(f"#{item.id} {item.state} (approved by {clean(item.approved_by)})")
                print_outcomes(outcomes)
            return EXIT_FALSE if any(o.failed for o in outcomes) else EXIT_OK
        expired: list[QueueItem] = []
        held: list[Any] = []
        if verb == "retry":
            outcomes = await revocations.retry(args.id, code=code)
        else:
            report = await revocations.run_pending(code=code)
            outcomes, expired, held = list(report.outcomes), list(report.expired), list(report.held)
        if args.json:
            print_json(
                {
                    "outcomes": [outcome_json(o) for o in outcomes],
                    "expired": [_queue_json(i) for i in expired],
                    "held": [
                        {**_queue_json(h.item), "holder": h.holder, "until": str(h.until)}
                        for h in held
                    ],
                }
            )
        else:
            for item in expired:
                print(
                    f"#{item.id} cancelled: approval expired (requested by "
                    f"{clean(item.requested_by)})"
                )
            for h in held:
                print(
                    f"#{h.item.id} {h.item.state}: held by {clean(h.holder)}, "
                    f"which is alive; its lease ends {h.until}"
                )
            if verb == "run" and not outcomes and not expired and not held:
                print("nothing to run: no approved item, nothing left behind by a crash")
            print_outcomes(outcomes)
        # An item another runner took is not a failure of this run (cron-friendly).
        return EXIT_FALSE if any(o.failed for o in outcomes) else EXIT_OK

    return run_session(args, body, read_only=verb == "list")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("queue", parents=[common], help="the revocation queue")
    p.add_argument(
        "verb",
        nargs="?",
        choices=["list", "run", "retry", "cancel", "approve", "edit"],
        help="list (default), run the approved items, or retry/cancel/approve/edit item ID",
    )
    p.add_argument("--reason", metavar="TEXT", help="with edit: the staged item's new reason")
    add_totp_option(p)
    p.add_argument("id", nargs="?", type=int, help="the item ID (see: pamtui queue list)")
    add_json_option(p)
    p.set_defaults(func=cmd_queue)
