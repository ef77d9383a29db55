"""pamtui drift, and pamtui audit recheck (registered by ``cli/audit.py``).

Both look back at what happened after pamtui acted or last looked:
``audit recheck`` asks providers whether revoked access is still gone,
``drift`` shows what changed in the inventory between syncs.

Exit codes (cron-friendly, see docs/audits.md):

- ``audit recheck``: 0 every revoked access was checked and is still gone;
  1 some access came back (stderr: ``... CAME BACK``), or some could not be
  checked (stderr: ``could not check ...``; a provider down is never "still
  gone"); 2 usage or configuration error.
- ``drift``: 0 (a report); with ``--check``, 1 when access grew (a notable
  change); 1 also when a provider could not be synced.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    add_json_option,
    plural,
    print_json,
    print_table,
    run_session,
)
from pamtui.sanitize import clean
from pamtui.services.session import Session

_RELATIVE = re.compile(r"^(\d+)([dhm])$")


def parse_since(
    text: str | None, *, now: datetime | None = None, option: str = "--since"
) -> str | None:
    """``2026-11-01``, ``2026-11-01T10:00``, ``...Z`` (UTC) or ``7d``/``24h``/``30m`` ago.

    The answer is in the journal's own timestamp form, so it compares as text with
    ``ts``; ``option`` names the flag in the error (``--until`` reads the same way).
    """
    if not text:
        return None
    text = text.strip()
    now = now or datetime.now(UTC)
    match = _RELATIVE.match(text)
    if match:
        n, unit = int(match.group(1)), match.group(2)
        when = (
            now - {"d": timedelta(days=n), "h": timedelta(hours=n), "m": timedelta(minutes=n)}[unit]
        )
    else:
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise UsageError(
                f"{option} {text!r}: expected a UTC date or time (2026-11-01, "
                "2026-11-01T10:00) or an age (7d, 24h, 30m)"
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- audit recheck ------------------------------------------------------------------


def cmd_recheck(args: argparse.Namespace) -> int:
    from pamtui.services.recheck import recheck

    since = parse_since(args.since)
    if args.concurrency < 0:
        raise UsageError(f"--concurrency: expected 0 (the default) or more, got {args.concurrency}")
    if args.timeout <= 0:
        raise UsageError(f"--timeout: expected a positive number of seconds, got {args.timeout:g}")

    async def body(session: Session) -> int:
        report = await recheck(
            session.journal,
            session.providers,
            since=since,
            concurrency=args.concurrency or session.config.queue.concurrency_per_provider,
            timeout_s=args.timeout,
            actor=session.operator,
            record=not session.read_only,  # an auditor's session: a read, not a refusal
            guard=session.guard,
        )
        if args.json:
            print_json(report.as_dict())
        else:
            window = f"since {args.since}" if since else "ever"
            counts = report.counts()
            print(
                f"rechecked {plural(counts['checked'], 'revocation')} {window}: "
                f"{counts['came_back']} CAME BACK, {counts['still_gone']} still gone, "
                f"{counts['could_not_check']} could not check"
            )
            shown = report.came_back + report.could_not_check
            if shown:
                print_table(
                    ["result", "provider", "item", "action", "revoked", "provider says"],
                    [
                        (
                            "CAME BACK" if c.status == "came_back" else "could not check",
                            c.action.provider,
                            f"#{c.item.id}",
                            c.action.label,
                            c.item.updated.strftime("%Y-%m-%d %H:%M"),
                            c.detail,
                        )
                        for c in shown
                    ],
                )
            if not report.journalled:
                print("(read-only: nothing journalled)")
        if report.came_back:
            print(
                f"pamtui: {plural(len(report.came_back), 'revoked access', 'revoked accesses')} "
                "CAME BACK "
                "(journalled as recheck_came_back)",
                file=sys.stderr,
            )
        if report.could_not_check:
            providers = sorted({c.action.provider for c in report.could_not_check})
            print(
                f"pamtui: could not check {plural(len(report.could_not_check), 'revocation')} "
                f"({clean(', '.join(providers))}): not known to be gone",
                file=sys.stderr,
            )
        return EXIT_OK if report.ok else EXIT_FALSE

    return run_session(args, body)


def register_recheck(audit_sub: Any, common: argparse.ArgumentParser) -> None:
    a = audit_sub.add_parser(
        "recheck",
        parents=[common],
        help="is every access revoked since T still gone? (exit 1 if not)",
    )
    a.add_argument("--since", help="revocations from this UTC time (2026-11-01) or age (7d)")
    a.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="checks at a time per provider (default: queue.concurrency_per_provider)",
    )
    a.add_argument("--timeout", type=float, default=60.0, help="seconds per check (default 60)")
    add_json_option(a)


# -- drift ------------------------------------------------------------------------


def cmd_drift(args: argparse.Namespace) -> int:
    from pamtui.services.drift import KIND_LABEL, group_by_kind

    since = parse_since(args.since)

    async def body(session: Session) -> int:
        if args.provider and args.provider not in session.providers:
            raise UsageError(f"no provider named {args.provider!r} (see: pamtui providers)")
        degraded: list[str] = []
        if not args.no_sync:
            await session.inventory.sync()
            degraded = [
                f"{h.name}: {h.reason}" for h in session.inventory.health.values() if not h.ok
            ]
        store = session.drift.store
        changes = store.changes(since=since, provider=args.provider, notable_only=args.notable)
        syncs = store.last_syncs()
        if args.json:
            print_json(
                {
                    "since": since,
                    "last_syncs": {
                        p: {"ts": ts, "accounts": n, "baseline": b}
                        for p, (ts, n, b) in syncs.items()
                    },
                    "changes": [c.as_dict() for c in changes],
                    "degraded": degraded,
                }
            )
        else:
            window = f"since {args.since}" if since else "in each provider's latest sync"
            if not syncs:
                print("no snapshot yet: run pamtui drift (or open pamtui) to take the first")
            baselines = [p for p, (_, _, b) in syncs.items() if b]
            if baselines:
                print(f"first snapshot (baseline) of: {clean(', '.join(baselines))}")
            groups = group_by_kind(changes)
            print(f"{plural(len(changes), 'change')} {window}")
            for kind, items in groups.items():
                print()
                print(f"{KIND_LABEL.get(kind, kind)} ({len(items)})")
                print_table(
                    ["when", "provider", "account", "what"],
                    [
                        (c.ts[:16].replace("T", " "), c.provider, c.account_name, c.summary)
                        for c in items
                    ],
                )
        for line in degraded:
            print(f"pamtui: provider {clean(line)} (not synced)", file=sys.stderr)
        grew = any(c.notable for c in changes)
        if degraded or (args.check and grew):
            return EXIT_FALSE
        return EXIT_OK

    return run_session(args, body)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "drift",
        parents=[common],
        help="what changed between syncs: new privileged accounts, grants, credentials",
    )
    p.add_argument(
        "--since", help="changes from this UTC time (2026-11-01) or age (7d); default: last sync"
    )
    p.add_argument("--provider", help="only this provider")
    p.add_argument("--notable", action="store_true", help="only access that grew")
    p.add_argument(
        "--no-sync", action="store_true", help="read the stored snapshots, do not sync first"
    )
    p.add_argument("--check", action="store_true", help="exit 1 when access grew")
    add_json_option(p)
    p.set_defaults(func=cmd_drift)
