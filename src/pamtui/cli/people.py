"""``pamtui people``: the roster, each person's accounts across providers, manual links.

``people`` and ``people show`` only read (a read-only session). ``people link``
and ``unlink`` record an operator's override, journalled (``services/people_links``).
Exit codes follow the CLI contract: 1 when a provider or a roster source could
not be read (what was printed may be incomplete), 2 for a usage mistake (an
unknown person, provider or account).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    iso,
    print_json,
    print_table,
    run_session,
)
from pamtui.model import CredentialStatus, PersonStatus
from pamtui.sanitize import clean
from pamtui.services.inventory import AccountView
from pamtui.services.movers import Movers, access_steps
from pamtui.services.people import Correlation, LinkError, PeopleError, summary
from pamtui.services.session import Session


async def _correlate(session: Session) -> tuple[list[AccountView], Correlation, list[str]]:
    """Sync the inventory, read the rosters, correlate; the problems met on the way."""
    if not session.people.sources:
        raise UsageError(
            "no roster source is configured: add a [[providers]] entry of type hr-csv "
            "(see docs/people.md)"
        )
    views = await session.inventory.sync()
    corr = await session.people.refresh(views)
    problems = [
        f"provider {h.name} is degraded: {h.reason}"
        for h in session.inventory.health.values()
        if not h.ok
    ]
    problems += [f"roster {p}" for p in session.people.roster.problems]
    return views, corr, problems


def _report(problems: Sequence[str]) -> int:
    for problem in problems:
        print(f"pamtui: {clean(problem)}", file=sys.stderr)
    return EXIT_FALSE if problems else EXIT_OK


def _find_person(corr: Correlation, ref: str) -> Any:
    try:
        return corr.find(ref)
    except PeopleError as exc:
        raise UsageError(clean(str(exc), max_length=300)) from None  # roster names are untrusted


def _find_account(session: Session, views: Sequence[AccountView], provider: str, ref: str) -> Any:
    if provider not in session.providers:
        raise UsageError(f"no provider named {provider!r} (see: pamtui providers)")
    matches = [
        v
        for v in views
        if v.account.provider == provider and ref in (v.account.id, v.account.name, v.account.email)
    ]
    if not matches:
        raise UsageError(f"no account {ref!r} in provider {provider!r}")
    if len(matches) > 1:
        raise UsageError(f"{ref!r} matches {len(matches)} accounts in {provider!r}; use the id")
    return matches[0]


def _live(view: AccountView | None) -> int:
    if view is None:
        return 0
    return sum(1 for c in view.credentials if c.status is CredentialStatus.ACTIVE)


# -- pamtui people --------------------------------------------------------------


async def _assess(
    session: Session, corr: Correlation, views: Sequence[AccountView], problems: list[str]
) -> Movers:
    """Movers and excess against the role baselines (services/movers.py)."""
    movers = await session.movers.assess(corr, views)
    problems += [f"roster {p}" for p in session.movers.problems]
    return movers


def _access(movers: Movers, person_id: str) -> list[str]:
    access = movers.of(person_id)
    return (
        [w for w, on in (("mover", access.mover), ("excess", access.excess)) if on]
        if access
        else []
    )


def cmd_people(args: argparse.Namespace) -> int:
    async def body(session: Session) -> int:
        views, corr, problems = await _correlate(session)
        if args.unowned:
            return _print_unowned(session, corr, problems, args.json)
        if (args.movers or args.excess) and not session.baselines:
            raise UsageError(
                "--movers and --excess need role baselines: add [[baselines]] (see docs/people.md)"
            )
        movers = await _assess(session, corr, views, problems)
        people = sorted(corr.people.values(), key=lambda p: (p.name.lower(), p.id))
        if args.status:
            people = [p for p in people if p.status == args.status]
        wanted = {w for w, on in (("mover", args.movers), ("excess", args.excess)) if on}
        if wanted:
            people = [p for p in people if wanted & set(_access(movers, p.id))]
        rows = summary(corr, people)
        for row in rows:
            row["access"] = _access(movers, row["id"])
        if args.json:
            print_json(rows)
        else:
            print_table(
                [
                    "id",
                    "name",
                    "status",
                    "left",
                    "systems",
                    "accounts",
                    "live creds",
                    "orphaned",
                    "access",
                ],
                [
                    (
                        r["id"],
                        r["name"],
                        r["status"],
                        r["terminated"],
                        r["systems"],
                        r["accounts"],
                        r["live_credentials"],
                        r["orphaned_accounts"] or "",
                        ",".join(r["access"]).upper(),
                    )
                    for r in rows
                ],
            )
        return _report(problems)

    return run_session(args, body, read_only=True)


def _print_unowned(session: Session, corr: Correlation, problems: list[str], as_json: bool) -> int:
    rows = []
    for key in sorted(corr.unowned(), key=lambda k: (k[0], corr.accounts[k].name)):
        account = corr.accounts[key]
        why = "no rule matched"
        if key in corr.ambiguous:
            rule, candidates = corr.ambiguous[key]
            why = f"{rule} matches {', '.join(candidates)}"
        elif key in corr.unresolved:
            why = corr.unresolved[key]
        view = session.inventory.get(key)
        rows.append(
            {
                "provider": account.provider,
                "id": account.id,
                "name": account.name,
                "email": account.email,
                "status": str(account.status),
                "live_credentials": _live(view),
                "why": why,
            }
        )
    if as_json:
        print_json(rows)
    else:
        print_table(
            ["provider", "account", "email", "status", "live creds", "why unowned"],
            [
                (r["provider"], r["name"], r["email"], r["status"], r["live_credentials"], r["why"])
                for r in rows
            ],
        )
    return _report(problems)


# -- pamtui people show ---------------------------------------------------------


def _access_json(session: Session, movers: Movers, person_id: str) -> dict[str, Any]:
    access = movers.of(person_id)
    if access is None:
        return {"baselines": [], "previous_role": None, "findings": []}
    by_key = {v.key: v for v in session.inventory.rows()}
    removable = {
        (s.provider, s.account_id, s.grant)
        for s in access_steps(access.findings, by_key, session.providers).steps
    }
    previous = access.previous
    return {
        "baselines": list(access.baselines),
        "previous_role": None
        if previous is None
        else {**previous.role, "since": previous.since, "until": previous.until},
        "previous_baselines": list(access.previous_baselines),
        "findings": [
            {
                "flag": str(f.flag),
                "provider": f.account[0],
                "account": f.account[1],
                "account_name": f.account_name,
                "grant": f.grant,
                "why": f.why,
                "removable": (f.account[0], f.account[1], f.grant) in removable,
            }
            for f in access.findings
        ],
    }


def _print_access(access: dict[str, Any]) -> None:
    if not access["findings"]:
        return
    print()
    if access["previous_role"] is not None and any(
        f["flag"] == "mover" for f in access["findings"]
    ):
        role = access["previous_role"]
        was = " / ".join(x for x in (role.get("department"), role.get("title")) if x)
        print(f"  moved from {clean(was)}: access of the old role is MOVER")
    for f in access["findings"]:
        manual = "" if f["removable"] else " (remove by hand)"
        print(f"  {f['flag'].upper():<6} {clean(f['why'], max_length=160)}{manual}")


def cmd_show(args: argparse.Namespace) -> int:
    async def body(session: Session) -> int:
        views, corr, problems = await _correlate(session)
        movers = await _assess(session, corr, views, problems)
        person = _find_person(corr, args.person)
        access = _access_json(session, movers, person.id)
        accounts: list[dict[str, Any]] = []
        for link in corr.accounts_of(person.id):
            view = session.inventory.get(link.account)
            account = corr.accounts[link.account]
            flags = (
                (view.flags if view else frozenset())
                | corr.flags(link.account)
                | movers.flags(link.account)
            )
            accounts.append(
                {
                    "provider": account.provider,
                    "id": account.id,
                    "name": account.name,
                    "kind": str(account.kind),
                    "status": str(account.status),
                    "relation": str(link.relation),
                    "rule": str(link.rule),
                    "evidence": link.evidence,
                    "credentials": len(view.credentials) if view else 0,
                    "live_credentials": _live(view),
                    "flags": sorted(str(f) for f in flags),
                }
            )
        if args.json:
            print_json(
                {
                    "person": {
                        "id": person.id,
                        "name": person.name,
                        "email": person.email,
                        "aliases": list(person.aliases),
                        "status": str(person.status),
                        "terminated": iso(person.terminated),
                        "manager": person.manager,
                        "department": person.department,
                        "title": person.title,
                        "worker_type": person.worker_type,
                        "source": person.source,
                    },
                    "accounts": accounts,
                    "access": access,
                }
            )
            return _report(problems)
        left = f", left {person.terminated.date()}" if person.terminated else ""
        print(f"{clean(person.name)} ({clean(person.id)}): {person.status}{left}")
        details = [
            ("email", person.email),
            ("aliases", ", ".join(person.aliases)),
            ("title", " · ".join(x for x in (person.title, person.department) if x)),
            ("manager", person.manager),
            ("worker", person.worker_type),
            ("roster", person.source),
        ]
        for label, value in details:
            if value:
                print(f"  {label:<8} {clean(value)}")
        systems = len({a["provider"] for a in accounts})
        live = sum(a["live_credentials"] for a in accounts)
        print(
            f"  {len(accounts)} account{'s' if len(accounts) != 1 else ''} in {systems} "
            f"provider{'s' if systems != 1 else ''}, {live} live credential{'s' if live != 1 else ''}"
        )
        if accounts:
            print()
            print_table(
                ["provider", "account", "kind", "status", "creds", "live", "flags", "rule"],
                [
                    (
                        a["provider"],
                        a["name"],
                        a["kind"] if a["relation"] == "holder" else f"{a['kind']} (owns)",
                        a["status"],
                        a["credentials"],
                        a["live_credentials"],
                        ",".join(a["flags"]),
                        a["rule"],
                    )
                    for a in accounts
                ],
            )
            print()
            for a in accounts:
                print(
                    f"  {clean(a['provider'])}/{clean(a['name'], max_length=60)}: "
                    f"{a['rule']}: {clean(a['evidence'], max_length=160)}"
                )
        _print_access(access)
        if person.status is PersonStatus.TERMINATED and live:
            print(f"\n  {clean(person.name)} has left and still has live access.")
        return _report(problems)

    return run_session(args, body, read_only=True)


# -- pamtui people link / unlink ------------------------------------------------


def _cmd_override(args: argparse.Namespace, *, unlink: bool) -> int:
    async def body(session: Session) -> int:
        if session.read_only:
            raise CheckFailed("the session is read-only: links cannot be changed")
        views, corr, problems = await _correlate(session)
        person = _find_person(corr, args.person)
        view = _find_account(session, views, args.provider, args.account)
        account = view.account
        current = corr.link_of(account.key)
        try:
            if unlink:
                entry = session.people.unlink(session.operator, person, account, args.reason)
                if args.json:
                    print_json(_override_json("unlinked", person, args.provider, account, entry))
                    return _report(problems)
                print(
                    f"unlinked {clean(args.provider)}/{clean(account.name)} from "
                    f"{clean(person.name)} ({clean(person.id)}): journal #{entry.seq}"
                )
            else:
                entry = session.people.link(session.operator, person, account, args.reason)
                if args.json:
                    print_json(_override_json("linked", person, args.provider, account, entry))
                    return _report(problems)
                was = ""
                if current is not None and current.person_id != person.id:
                    was = f" (was {clean(current.person_id)} by {current.rule})"
                print(
                    f"linked {clean(args.provider)}/{clean(account.name)} to "
                    f"{clean(person.name)} ({clean(person.id)}){was}: journal #{entry.seq}"
                )
        except LinkError as exc:
            raise UsageError(str(exc)) from None
        return _report(problems)

    return run_session(args, body)


def _override_json(done: str, person: Any, provider: str, account: Any, entry: Any) -> dict:
    return {
        "done": done,
        "person": person.id,
        "provider": provider,
        "account": account.id,
        "account_name": account.name,
        "journal_seq": entry.seq,
    }


def cmd_link(args: argparse.Namespace) -> int:
    return _cmd_override(args, unlink=False)


def cmd_unlink(args: argparse.Namespace) -> int:
    return _cmd_override(args, unlink=True)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "people", parents=[common], help="people on the HR roster and their accounts everywhere"
    )
    p.add_argument("--status", choices=[s.value for s in PersonStatus], help="only these people")
    p.add_argument(
        "--unowned", action="store_true", help="human accounts linked to nobody on the roster"
    )
    p.add_argument(
        "--movers",
        action="store_true",
        help="people holding access of their previous role that the new one does not allow",
    )
    p.add_argument(
        "--excess", action="store_true", help="people holding access beyond their role baselines"
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_people)
    people_sub = p.add_subparsers(dest="people_command", metavar="COMMAND")

    s = people_sub.add_parser(
        "show", parents=[common], help="every account of one person, with how each was linked"
    )
    s.add_argument("person", metavar="PERSON", help="HR id, work email, alias or name")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.set_defaults(func=cmd_show)

    for name, func, what in (
        ("link", cmd_link, "make an account a person's (overrides the automatic rules)"),
        ("unlink", cmd_unlink, "say an account is not a person's"),
    ):
        s = people_sub.add_parser(name, parents=[common], help=what)
        s.add_argument("person", metavar="PERSON", help="HR id, work email, alias or name")
        s.add_argument("provider", metavar="PROVIDER", help="the configured provider's name")
        s.add_argument("account", metavar="ACCOUNT", help="account id, name or email")
        s.add_argument("--reason", metavar="TEXT", required=True, help="why (journalled)")
        s.add_argument("--json", action="store_true", help="machine-readable output")
        s.set_defaults(func=func)
