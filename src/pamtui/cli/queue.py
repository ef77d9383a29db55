"""pamtui queue: list, run, retry, cancel, approve, edit."""

from __future__ import annotations

import argparse
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    ask_totp,
    iso,
    print_json,
    print_table,
    run_session,
)
from pamtui.model import QueueItem, QueueState
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
        if verb == "cancel":
            item = queue.cancel(args.id)
            print(f"#{item.id} {item.state}")
            return EXIT_OK
        if verb == "edit":
            if not args.reason:
                raise UsageError("pamtui queue edit ID needs --reason TEXT")
            item = queue.edit(args.id, reason=args.reason)
            print(f"#{item.id} reason: {clean(item.reason)}")
            return EXIT_OK
        if verb in ("approve", "run", "retry"):
            session.step_up(ask_totp(args, session), subject=f"queue:{verb}")
        if verb == "approve":
            item = queue.approve(args.id)
            print(f"#{item.id} {item.state} (approved by {item.approved_by})")
            if item.state is QueueState.APPROVED:
                outcomes = await queue.run([item.id])
                for outcome in outcomes:
                    print(f"#{outcome.item.id} {outcome.item.state} {clean(outcome.message)}")
                return EXIT_FALSE if any(o.failed for o in outcomes) else EXIT_OK
            return EXIT_OK
        if verb == "retry":
            item = queue.get(args.id)
            if item.state is not QueueState.FAILED:
                raise UsageError(f"item {item.id} is {item.state}; only failed items are retried")
            outcomes = await queue.run([item.id])
        else:
            expired, outcomes = await queue.run_pending()
            for item in expired:
                print(
                    f"#{item.id} cancelled: approval expired (requested by "
                    f"{clean(item.requested_by)})"
                )
            if not outcomes and not expired:
                print("nothing to run: no approved item, nothing left behind by a crash")
        for outcome in outcomes:
            print(f"#{outcome.item.id} {outcome.item.state} {clean(outcome.message)}")
        # An item another runner took is not a failure of this run (cron-friendly).
        return EXIT_FALSE if any(o.failed for o in outcomes) else EXIT_OK

    return run_session(args, body, read_only=verb == "list")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("queue", parents=[common], help="the revocation queue")
    p.add_argument("verb", nargs="?", choices=["list", "run", "retry", "cancel", "approve", "edit"])
    p.add_argument("--reason", metavar="TEXT", help="with edit: the staged item's new reason")
    p.add_argument("--totp", metavar="CODE", help="TOTP code when policy requires step-up")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)
