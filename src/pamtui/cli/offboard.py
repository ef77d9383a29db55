"""``pamtui offboard``: end a person's access in every provider, and prove it.

``pamtui offboard PERSON --reason TEXT [--dry-run] [--yes] [--totp CODE]``
syncs the inventory, reads the rosters, correlates, and shows the person plan
(``RevocationService.plan_person``) grouped by provider; confirmed, it is
submitted through the one revocation path (read-only, step-up, four eyes,
plan order across providers) and run. Exit 0 when every step is verified,
1 when something failed or is still open (awaiting approval, waiting for an
earlier step, a provider that is down), 2 for a usage mistake.

``pamtui offboard report PERSON [--format md|html|csv] [--out FILE [--force]]``
is the certificate (``services/offboarding_report.py``); it asks every
provider again and exits 1 if anything is still live or could not be checked.
``pamtui audit recheck --person PERSON`` (:func:`cmd_recheck_person`) is the
same check, printed as a summary.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    add_totp_option,
    ask,
    ask_totp,
    plural,
    print_json,
    run_session,
)
from pamtui.config import resolve_db_path
from pamtui.model import QueueItem, QueueState
from pamtui.safe_write import SafeWriteError
from pamtui.sanitize import clean
from pamtui.services import offboarding_report
from pamtui.services.offboarding import Certificate, certify
from pamtui.services.offboarding_plan import PHASES, phase_of
from pamtui.services.people import PeopleError
from pamtui.services.revoke import Plan, RevokeError
from pamtui.services.session import Session

SETTLED = (QueueState.VERIFIED, QueueState.CANCELLED)


def _problems(session: Session) -> list[str]:
    out = [
        f"provider {h.name} could not be read: {h.reason}"
        for h in session.inventory.health.values()
        if not h.ok
    ]
    return out + [f"roster {p}" for p in session.people.roster.problems]


def _warn(problems: list[str]) -> None:
    for problem in problems:
        print(f"pamtui: {clean(problem)}", file=sys.stderr)


def print_plan(plan: Plan) -> None:
    """The plan grouped by provider, each step with its phase."""
    n = 0
    for provider, steps in plan.by_provider().items():
        print(f"  {clean(provider)}")
        for step in steps:
            n += 1
            gate = "  (first: the others wait for it)" if step in plan.gates else ""
            print(f"    {n:>2}. {PHASES[phase_of(step)]}: {clean(step.label)} [{step.name}]{gate}")
    for link in plan.needs_owner:
        print(
            f"  needs a new owner (not deprovisioned): {clean(link.account[0])}/"
            f"{clean(link.account[1])}"
        )
    for key in plan.already_ended:
        print(f"  already ended: {clean(key[0])}/{clean(key[1])}")
    for key in plan.unreadable:
        print(f"  not planned (its provider could not be read): {clean(key[0])}/{clean(key[1])}")
    if plan.four_eyes:
        print("  four eyes: a second operator approves before anything runs")


def _plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "steps": [
            {
                "provider": step.provider,
                "action": step.name,
                "label": step.label,
                "target": step.subject,
                "phase": PHASES[phase_of(step)],
                "gate": step in plan.gates,
            }
            for steps in plan.by_provider().values()
            for step in steps
        ],
        "needs_new_owner": [f"{p}/{a}" for p, a in (link.account for link in plan.needs_owner)],
        "already_ended": [f"{p}/{a}" for p, a in plan.already_ended],
        "unreadable": [f"{p}/{a}" for p, a in plan.unreadable],
        "four_eyes": plan.four_eyes,
    }


def print_status(items: list[QueueItem]) -> list[QueueItem]:
    """Each item's state grouped by provider; returns the ones still open."""
    by_provider: dict[str, list[QueueItem]] = {}
    for item in items:
        by_provider.setdefault(item.action.provider, []).append(item)
    still_open = []
    for provider, group in by_provider.items():
        group.sort(key=lambda it: (it.action.order, it.id))
        done = sum(1 for it in group if it.state is QueueState.VERIFIED)
        print(f"  {clean(provider)}: {done}/{len(group)} verified")
        for it in group:
            mark = "ok " if it.state is QueueState.VERIFIED else "-- "
            if it.state is QueueState.FAILED:
                mark = "ERR"
            why = f": {clean(it.last_error)}" if it.state is QueueState.FAILED else ""
            print(f"    [{mark}] #{it.id} {clean(it.action.label)}: {it.state}{why}")
            if it.state not in SETTLED:
                still_open.append(it)
    return still_open


def cmd_offboard(args: argparse.Namespace) -> int:
    words = list(args.words)
    if words and words[0] == "report":
        if len(words) != 2:
            raise UsageError("usage: pamtui offboard report PERSON [--format md|html|csv]")
        return cmd_report(args, words[1])
    if len(words) != 1:
        raise UsageError("usage: pamtui offboard PERSON --reason TEXT (one person at a time)")
    report_only = [
        option
        for option, given in (
            ("--format", args.format),
            ("--out", args.out),
            ("--force", args.force),
        )
        if given
    ]
    if report_only:  # silently ignored, an operator would believe a certificate was written
        raise UsageError(
            f"{', '.join(report_only)}: for the certificate, pamtui offboard report PERSON"
        )
    if not (args.reason or "").strip():
        raise UsageError("--reason TEXT is required: say why this person's access ends")

    async def body(session: Session) -> int:
        if not args.json:
            return await run(session, {})
        result: dict[str, Any] = {}
        with contextlib.redirect_stdout(io.StringIO()):  # the text, replaced by the JSON
            code = await run(session, result)
        print_json({**result, "exit_code": code})
        return code

    async def run(session: Session, result: dict[str, Any]) -> int:
        if not session.people.sources:
            raise UsageError("no roster source is configured (see docs/people.md)")
        views = await session.inventory.sync()
        corr = await session.people.refresh(views)
        try:
            person = corr.find(words[0])
        except PeopleError as exc:
            raise UsageError(clean(str(exc), max_length=300)) from None
        problems = _problems(session)
        _warn(problems)
        try:
            plan = session.revocations.plan_person(person, corr, views)
        except RevokeError as exc:
            raise CheckFailed(str(exc)) from None
        result.update(
            person={"id": person.id, "name": person.name, "status": str(person.status)},
            plan=_plan_json(plan),
            problems=problems,
            dry_run=bool(args.dry_run),
        )
        print(
            f"Offboarding {clean(person.name)} ({clean(person.id)}, {person.status}), "
            f"reason: {clean(args.reason)}"
        )
        if not plan.steps:
            print_plan(plan)
            print("nothing live left to revoke")
            return EXIT_FALSE if problems else EXIT_OK
        print_plan(plan)
        if args.dry_run:
            print("dry run: nothing staged, nothing executed")
            return EXIT_FALSE if problems else EXIT_OK
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to offboard without confirmation: pass --yes")
            steps = plural(len(plan.steps), "step")  # "the 1 step above", not "these 1 steps"
            answer = ask(f"Execute the {steps} above? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("cancelled: nothing staged")
                return EXIT_FALSE
        try:
            submission = session.revocations.submit(plan, args.reason, code=ask_totp(args, session))
        except RevokeError as exc:
            raise CheckFailed(str(exc)) from None
        if submission.awaiting_approval:
            result["awaiting_approval"] = [i.id for i in submission.items]
            ids = " ".join(str(i.id) for i in submission.items)
            print(
                f"four eyes required: staged as {plural(len(submission.items), 'item')} {ids}, "
                "awaiting another operator's approval (pamtui queue approve ID). Still open."
            )
            return EXIT_FALSE
        await session.revocations.execute(submission)
        items = [session.queue.get(i.id) for i in submission.items]
        result["items"] = [
            {
                "id": it.id,
                "provider": it.action.provider,
                "action": it.action.name,
                "label": it.action.label,
                "state": str(it.state),
                "last_error": it.last_error,
            }
            for it in items
        ]
        print("Outcome:")
        still_open = print_status(items)
        if still_open:
            print(f"{plural(len(still_open), 'step')} still open: see pamtui queue")
        else:
            print(f"every step verified: {clean(person.name)}'s access has ended")
        return EXIT_FALSE if still_open or problems else EXIT_OK

    return run_session(args, body)


async def _certificate(session: Session, ref: str) -> Certificate:
    if not session.people.sources:
        raise UsageError("no roster source is configured (see docs/people.md)")
    try:
        return await certify(session, ref)
    except PeopleError as exc:
        raise UsageError(clean(str(exc), max_length=300)) from None


def cmd_report(args: argparse.Namespace, ref: str) -> int:
    if args.json:  # the certificate's form is --format's; silently Markdown broke `| jq`
        raise UsageError(
            "--json does not apply to offboard report: choose the form with --format "
            f"({', '.join(offboarding_report.FORMATS)})"
        )
    args.format = args.format or "md"
    if args.format not in offboarding_report.FORMATS:
        raise UsageError(f"--format must be one of {', '.join(offboarding_report.FORMATS)}")
    db_path = resolve_db_path(args.db)
    if args.out:
        try:
            offboarding_report.check_report_target(args.out, db_path=db_path, force=args.force)
        except SafeWriteError as exc:
            raise UsageError(f"--out: {clean(exc)}") from None

    async def body(session: Session) -> int:
        cert = await _certificate(session, ref)
        _warn(_problems(session))
        text = offboarding_report.render(cert, args.format)
        if args.out:
            try:
                offboarding_report.write_report(args.out, text, db_path=db_path, force=args.force)
            except SafeWriteError as exc:
                raise UsageError(f"--out: {clean(exc)}") from None
            print(
                f"wrote the {args.format} offboarding certificate of "
                f"{clean(cert.person.name)} to {clean(args.out)}"
            )
        else:
            sys.stdout.write(text)
        if not cert.ok:
            print(
                f"pamtui: {clean(cert.person.name)} is not proven offboarded: "
                + clean("; ".join(cert.findings[:5]), max_length=600)
                + (f" and {len(cert.findings) - 5} more" if len(cert.findings) > 5 else ""),
                file=sys.stderr,
            )
            return EXIT_FALSE
        return EXIT_OK

    return run_session(args, body)


def cmd_recheck_person(args: argparse.Namespace) -> int:
    """``pamtui audit recheck --person PERSON``: is everything of theirs still gone?"""

    async def body(session: Session) -> int:
        cert = await _certificate(session, args.person)
        _warn(_problems(session))
        if args.json:
            print_json(
                {
                    "person": cert.person.id,
                    "ok": cert.ok,
                    "findings": cert.findings,
                    "steps": [
                        {
                            "item": s.item.id,
                            "provider": s.item.action.provider,
                            "action": s.item.action.name,
                            "state": str(s.item.state),
                            "check": s.check,
                            "detail": s.check_detail,
                            "journal": s.entry_ref,
                        }
                        for s in cert.steps
                    ],
                }
            )
        else:
            counts = cert.recheck.counts() if cert.recheck else {}
            print(
                f"rechecked {clean(cert.person.name)} ({clean(cert.person.id)}): "
                f"{plural(counts.get('checked', 0), 'revocation')}, {counts.get('came_back', 0)} CAME "
                f"BACK, {counts.get('still_gone', 0)} still gone, "
                f"{counts.get('could_not_check', 0)} could not check; "
                f"{plural(len(cert.open_steps), 'step')} open"
            )
            for finding in cert.findings:
                print(f"  {clean(finding, max_length=300)}")
            if cert.ok:
                print("  everything of theirs is still gone")
        return EXIT_OK if cert.ok else EXIT_FALSE

    return run_session(args, body)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "offboard",
        parents=[common],
        help="end a person's access in every provider (offboard report PERSON: the certificate)",
        usage="pamtui offboard PERSON --reason TEXT [--dry-run] [--yes] [--totp CODE]\n"
        "       pamtui offboard report PERSON [--format md|html|csv] [--out FILE [--force]]",
        description="End a person's access in every provider, in order (block logins at the "
        "identity provider, sessions, tokens and keys, memberships, accounts); or print the "
        "offboarding certificate (exit 1 if anything is still live or could not be checked).",
    )
    p.add_argument(
        "words",
        nargs="+",
        metavar="PERSON",
        help="HR id, work email, alias or name; or: report PERSON",
    )
    p.add_argument("--reason", metavar="TEXT", help="why the access ends (journalled)")
    p.add_argument("--dry-run", action="store_true", help="show the plan only")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_totp_option(p)
    p.add_argument("--format", help="report: md (default), html or csv")
    p.add_argument("--out", metavar="FILE", help="report: write to FILE (0600) instead of stdout")
    p.add_argument("--force", action="store_true", help="report: overwrite FILE")
    p.add_argument("--json", action="store_true", help="the plan and each step's outcome as JSON")
    p.set_defaults(func=cmd_offboard)
