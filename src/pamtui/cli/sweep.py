"""pamtui sweep: apply the configured policies headless."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_json_option,
    print_json,
    run_session,
)
from pamtui.sanitize import clean
from pamtui.services.session import Session


def cmd_sweep(args: argparse.Namespace) -> int:
    from pamtui.model import utcnow
    from pamtui.services import policy_history
    from pamtui.services.policy import (
        SweepReport,
        access_sweep,
        evaluate,
        evaluate_drift,
        offboard_sweep,
        preview_drift,
        review_drift,
        sweep,
    )
    from pamtui.services.review import ReviewService

    async def body(session: Session) -> int:
        if not session.policies:
            if args.json:
                print_json({**SweepReport(dry_run=args.dry_run).as_dict(), "policies": 0})
            else:
                print("no [[policies]] configured: nothing to sweep")
            return EXIT_OK
        reviewing = any(p.enabled and p.is_review for p in session.policies)
        recorder = session.drift
        before = dict(recorder.last)
        if args.dry_run:
            # A dry run must not consume the drift: the snapshot is left as it
            # was, so the next real sweep still sees (and reviews) the changes.
            recorder.read_only = True
        views = await session.inventory.sync()
        degraded = [h for h in session.inventory.health.values() if not h.ok]
        proposals = evaluate(session.policies, views, session.providers, utcnow())
        records = []
        if reviewing:
            if args.dry_run:
                answered = {h.name for h in session.inventory.health.values() if h.ok}
                by_provider: dict[str, list] = {}
                for view in views:
                    if view.account.provider in answered:
                        by_provider.setdefault(view.account.provider, []).append(view)
                for name in answered:
                    by_provider.setdefault(name, [])
                records = preview_drift(recorder.store, by_provider)
            else:
                # Only this sync's records: a provider that did not answer keeps its old one.
                records = [r for p, r in recorder.last.items() if before.get(p) is not r]
        reviews = evaluate_drift(session.policies, records, views)
        offboarding = any(p.enabled and (p.is_offboard or p.is_access) for p in session.policies)
        if (proposals or reviews or offboarding) and not args.dry_run:
            policy_history.record(
                session.journal,
                session.config.policies,
                source=session.config.source,
                when_empty=True,
            )
        report = sweep(session.revocations, proposals, dry_run=args.dry_run)
        roster_problems = await offboard_sweep(
            session.policies,
            session.revocations,
            session.people,
            views,
            report,
            now=utcnow(),
            dry_run=args.dry_run,
        )
        roster_problems += await access_sweep(
            session.policies,
            session.revocations,
            session.people,
            session.movers,
            views,
            report,
            dry_run=args.dry_run,
        )
        roster_problems = list(dict.fromkeys(roster_problems))
        if reviews:
            review_drift(ReviewService.for_session(session), reviews, report)
        if args.json:
            print_json(report.as_dict())
        else:
            for line in report.summary_lines():
                print(line)
        for health in degraded:
            print(
                f"pamtui: provider {health.name} is degraded: {clean(health.reason)}",
                file=sys.stderr,
            )
        for problem in roster_problems:
            print(f"pamtui: {clean(problem)}", file=sys.stderr)
        return EXIT_OK if report.ok and not degraded and not roster_problems else EXIT_FALSE

    return run_session(args, body)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "sweep", parents=[common], help="apply the configured policies (cron-friendly)"
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be staged")
    add_json_option(p)
    p.set_defaults(func=cmd_sweep)
