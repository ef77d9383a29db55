"""pamtui operators list | allow-enrol NAME | reset-totp NAME: operators' TOTP, as an admin."""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import Any

from pamtui.cli.common import (
    EXIT_OK,
    add_json_option,
    add_totp_option,
    open_journal,
    operator_actor,
    print_json,
    print_table,
    read_totp,
)


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M")


def cmd_list(args: argparse.Namespace) -> int:
    from pamtui.services.operators import list_operators
    from pamtui.services.totp_store import TotpStore

    journal = open_journal(args)  # read-only: there must be a database
    store = TotpStore.beside(journal.path)
    try:
        states = list_operators(store) if store.exists() else []
    finally:
        store.close()
        journal.close()
    if args.json:
        print_json([s.as_dict() for s in states])
        return EXIT_OK
    if not states:
        print("no operator is enrolled, allowed to enrol or locked out")
        return EXIT_OK
    rows = [
        (
            s.name,
            f"yes ({s.source}, {_when(s.enrolled_at)})" if s.enrolled else "no",
            f"until {_when(s.locked_until)}" if s.locked_until else "",
            str(s.failures),
            f"by {s.allowed_by}" if s.allowed else "",
        )
        for s in states
    ]
    print_table(("operator", "enrolled", "locked", "failures", "allowed to enrol"), rows)
    return EXIT_OK


def _admin_verb(args: argparse.Namespace, *, reset: bool) -> int:
    from pamtui.services import operators

    actor = operator_actor(args)
    admin = actor.name
    journal = open_journal(args, read_only=False)
    try:
        operators.check_name(args.name)
        # Refused (and journalled) before a code is asked for: a code proves nothing here.
        operators.require_admin(journal, actor, "reset-totp" if reset else "allow-enrol", args.name)
        code = None
        if reset or operators.admin_is_enrolled(journal, admin):
            code = read_totp(args, f"your TOTP code as admin ({admin}) is required")
        if reset:
            had = operators.reset_totp(journal, actor, args.name, code=code)
            message = (
                f"reset {args.name}'s TOTP enrolment" if had else f"{args.name} was not enrolled"
            ) + f"; {args.name} may enrol again: pamtui mfa enroll (journalled, by {admin})"
            result: dict[str, Any] = {"operator": args.name, "reset": True, "had_enrolment": had}
        else:
            operators.allow_enrol(journal, actor, args.name, code=code)
            message = f"{args.name} may enrol once: pamtui mfa enroll (journalled, by {admin})"
            result = {"operator": args.name, "allowed_to_enrol": True}
    finally:
        journal.close()
    if args.json:
        print_json({**result, "by": admin})
    else:
        print(message)
    return EXIT_OK


def cmd_allow_enrol(args: argparse.Namespace) -> int:
    return _admin_verb(args, reset=False)


def cmd_reset_totp(args: argparse.Namespace) -> int:
    return _admin_verb(args, reset=True)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "operators",
        help="operators' TOTP enrolment: list, allow-enrol, reset-totp (admin)",
        description="TOTP secrets are held in the store beside the database. An operator "
        "enrols once an admin allows it (or on the first run of a fresh database); a lost "
        "device is reset by an admin, with the admin's own step-up. See docs/bastion.md.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    ls = verbs.add_parser(
        "list", parents=[common], help="each operator's enrolment, lockout and allowance"
    )
    add_json_option(ls)
    ls.set_defaults(func=cmd_list)
    allow = verbs.add_parser(
        "allow-enrol",
        parents=[common],
        help="let NAME enrol once (admin; step-up when the admin is enrolled; journalled)",
    )
    allow.add_argument("name", metavar="NAME", help="the operator's name")
    add_totp_option(allow)
    add_json_option(allow)
    allow.set_defaults(func=cmd_allow_enrol)
    reset = verbs.add_parser(
        "reset-totp",
        aliases=["reset-mfa"],  # the name the shared design uses
        parents=[common],
        help="remove NAME's enrolment after a lost device and let NAME enrol again "
        "(admin, with the admin's step-up; journalled)",
    )
    reset.add_argument("name", metavar="NAME", help="the operator's name")
    add_totp_option(reset)
    add_json_option(reset)
    reset.set_defaults(func=cmd_reset_totp)
