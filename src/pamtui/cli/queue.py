"""pamtui queue: list, run, retry, cancel, approve, edit.

``approve``, ``cancel`` and ``run`` take several IDs or ``--plan PLAN_ID``
(services/revoke_bulk.py: one step-up, four eyes per item, one summary);
``approve`` only approves unless ``--run`` is given.
"""

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
from pamtui.services.revoke_bulk import BulkAct, BulkReport
from pamtui.services.session import Session

CANCELLED_WHY = "cancelled with pamtui queue cancel"


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


def _check_usage(verb: str, args: argparse.Namespace) -> None:
    """Which verbs take several IDs or --plan, which take exactly one ID (exit 2)."""
    ids, plan = args.ids, args.plan
    if verb in ("retry", "edit"):
        if len(ids) != 1 or plan is not None:
            raise UsageError(f"pamtui queue {verb} needs an item ID (exactly one, no --plan)")
    elif verb in ("approve", "cancel") and not ids and plan is None:
        raise UsageError(f"pamtui queue {verb} needs an item ID (one or more), or --plan PLAN_ID")
    elif verb == "list" and (ids or plan is not None):
        raise UsageError("pamtui queue list takes no item ID or --plan")
    if args.run and verb != "approve":
        raise UsageError("--run goes with pamtui queue approve (approve, then run)")


def _print_bulk(report: BulkReport, as_json: bool) -> None:
    """One summary of a bulk act: each item done, skipped (why), left alone, and what ran."""
    if as_json:
        print_json(
            {
                "act": str(report.act),
                "summary": report.summary(),
                "done": [_queue_json(i) for i in report.done],
                "skipped": [{**_queue_json(s.item), "why": s.why} for s in report.skipped],
                "left_alone": [{**_queue_json(s.item), "why": s.why} for s in report.left_alone],
                "outcomes": [outcome_json(o) for o in report.outcomes],
            }
        )
        return
    print(report.summary())
    for item in report.done:
        by = f" (approved by {clean(item.approved_by)})" if item.approved_by else ""
        print(f"  #{item.id} {item.state}{by}")
    for skip in report.skipped:
        print(f"  #{skip.item.id} skipped: {clean(skip.why)}")
    for skip in report.left_alone:
        print(f"  #{skip.item.id} left alone: {clean(skip.why)}")
    print_outcomes(report.outcomes)


def _bulk_act(verb: str, args: argparse.Namespace) -> BulkAct | None:
    """The bulk act a verb names (run with no ID or plan is ``queue run``: all approved)."""
    if verb == "approve":
        return BulkAct.APPROVE_AND_RUN if args.run else BulkAct.APPROVE
    if verb == "cancel":
        return BulkAct.CANCEL
    if verb == "run" and (args.ids or args.plan is not None):
        return BulkAct.RUN
    return None


async def _bulk(session: Session, act: BulkAct, args: argparse.Namespace) -> int:
    """approve, cancel, run: several IDs or a plan, one step-up, one summary."""
    bulk = session.revocations.bulk
    # Read-only, an ID or plan naming nothing, a selection nothing applies to:
    # refused before a code is asked for.
    preview = bulk.preview(act, args.ids, plan=args.plan)
    if not preview.done:
        preview.raise_if_nothing_done()
    code = ask_totp(args, session)
    ids, plan = args.ids, args.plan
    if act is BulkAct.CANCEL:
        report = bulk.cancel(ids, plan=plan, code=code, why=CANCELLED_WHY)
    elif act is BulkAct.APPROVE:  # approving is not executing: --run says so
        report = bulk.approve(ids, plan=plan, code=code)
    elif act is BulkAct.APPROVE_AND_RUN:
        report = await bulk.approve_and_run(ids, plan=plan, code=code)
    else:
        report = await bulk.run(ids, plan=plan, code=code)
    report.raise_if_nothing_done()
    _print_bulk(report, args.json)
    return report.exit_code


def cmd_queue(args: argparse.Namespace) -> int:
    verb = args.verb or "list"
    _check_usage(verb, args)

    async def body(session: Session) -> int:
        queue = session.queue
        if verb == "list":
            items = queue.items()
            if args.json:
                print_json([_queue_json(i) for i in items])
            else:
                print_table(
                    ["id", "state", "by", "provider", "action", "target", "plan", "try", "error"],
                    [
                        (
                            i.id,
                            i.state,
                            i.requested_by,
                            i.action.provider,
                            i.action.label,
                            i.action.target_id,
                            i.plan_id,  # for --plan PLAN_ID
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
            item = revocations.edit(args.ids[0], reason=args.reason)
            if args.json:
                print_json(_queue_json(item))
            else:
                print(f"#{item.id} reason: {clean(item.reason)}")
            return EXIT_OK
        act = _bulk_act(verb, args)
        if act is not None:
            return await _bulk(session, act, args)
        code = ask_totp(args, session)
        expired: list[QueueItem] = []
        held: list[Any] = []
        if verb == "retry":
            outcomes = await revocations.retry(args.ids[0], code=code)
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


class _IdsAnywhere(argparse.ArgumentParser):
    """``queue approve --run 3 4``: item IDs after the options too.

    argparse fills the positionals at their first run (``approve``, IDs none)
    and calls what follows the options unrecognised; here those numbers are
    the IDs they look like.
    """

    def parse_known_args(self, args=None, namespace=None):  # type: ignore[no-untyped-def]
        namespace, extras = super().parse_known_args(args, namespace)
        late = [int(e) for e in extras if e.isdigit()]
        if late:
            namespace.ids = [*(getattr(namespace, "ids", None) or []), *late]
        return namespace, [e for e in extras if not e.isdigit()]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("queue", parents=[common], help="the revocation queue")
    p.__class__ = _IdsAnywhere  # adds no state: only where late IDs go
    p.add_argument(
        "verb",
        nargs="?",
        choices=["list", "run", "retry", "cancel", "approve", "edit"],
        help="list (default); run the approved items (all, or those named); approve or "
        "cancel items (several IDs, or --plan); retry or edit one item",
    )
    p.add_argument("--reason", metavar="TEXT", help="with edit: the staged item's new reason")
    p.add_argument(
        "--plan",
        metavar="PLAN_ID",
        help="with approve, run, cancel: every step of this plan (the PLAN column of queue list)",
    )
    p.add_argument(
        "--run",
        action="store_true",
        help="with approve: run what was approved, in plan order (approving alone runs nothing)",
    )
    add_totp_option(p)
    p.add_argument(
        "ids", nargs="*", type=int, metavar="ID", help="item IDs (see: pamtui queue list)"
    )
    add_json_option(p)
    p.set_defaults(func=cmd_queue)
