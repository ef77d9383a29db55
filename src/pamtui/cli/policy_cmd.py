"""pamtui policy show | policy set KEY VALUE: the policy recorded with the data.

See services/policy_store.py: the database holds four eyes, TOTP step-up and
read-only; a command's config may tighten them but never loosen them. Only
``policy set`` loosens, after a TOTP step-up when the recorded policy
requires TOTP, and it is journalled as ``operator_policy_change``.
"""

from __future__ import annotations

import argparse
from typing import Any

from pamtui.cli.common import (
    EXIT_OK,
    UsageError,
    add_totp_option,
    open_journal,
    operator_actor,
    print_json,
    read_totp,
)

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"expected true or false, got {text!r}")


def cmd_show(args: argparse.Namespace) -> int:
    from pamtui.config import resolve_db_path
    from pamtui.services import policy_store

    if not resolve_db_path(args.db).exists():
        policy = policy_store.RecordedPolicy()
    else:
        journal = open_journal(args)
        try:
            policy = policy_store.load(journal)
        finally:
            journal.close()
    if args.json:
        print_json({**policy.as_dict(), "recorded": policy.seq > 0, "seq": policy.seq})
        return EXIT_OK
    for key, value in policy.as_dict().items():
        print(f"{key} = {str(value).lower()}")
    if policy.seq:
        print(f"(recorded by journal entry #{policy.seq})")
    else:
        print("(nothing recorded: every guardrail is off until a config or 'policy set' sets one)")
    return EXIT_OK


def cmd_set(args: argparse.Namespace) -> int:
    from pamtui.services import policy_store
    from pamtui.services.mfa import StepUp

    key = args.key
    if key not in policy_store.KEYS:
        raise UsageError(f"unknown policy key {key!r} (known: {', '.join(policy_store.KEYS)})")
    value = _bool(args.value)
    who = operator_actor(args)
    actor = who.name
    journal = open_journal(args, read_only=False)
    if who.key_fingerprint:
        journal.actor_keys[actor] = who.key_fingerprint
    try:
        policy_store.require_policy(journal, who, key)  # before the step-up code is asked
        before = policy_store.load(journal)
        if before.as_dict()[key] == value:
            if args.json:
                print_json({"key": key, "value": value, "changed": False})
            else:
                print(f"{key} is already {str(value).lower()}: nothing changed")
            return EXIT_OK
        if before.require_totp:
            step_up = StepUp(journal, actor)
            try:
                step_up.check(
                    read_totp(args, "the recorded policy requires a TOTP code"),
                    subject=f"policy:{key}",
                )
            finally:
                step_up.store.close()
        after = policy_store.change(journal, key, value, actor=who, source="policy set")
    finally:
        journal.close()
    if args.json:
        print_json(
            {"key": key, "value": value, "changed": True, "journal_seq": after.seq, "by": actor}
        )
    else:
        print(f"{key} = {str(value).lower()} (journal entry #{after.seq}, by {actor})")
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "policy",
        help="the policy recorded with the data (four eyes, TOTP, read-only)",
        description="Four eyes, TOTP step-up and read-only are recorded in the database; "
        "a config may tighten them but never loosen them. See docs/bastion.md.",
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    show = verbs.add_parser("show", parents=[common], help="print the recorded policy")
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=cmd_show)
    set_ = verbs.add_parser(
        "set",
        parents=[common],
        help="change one key (TOTP step-up when the policy requires it; journalled)",
    )
    set_.add_argument(
        "key", metavar="KEY", help="require_totp, four_eyes_for_privileged or read_only"
    )
    set_.add_argument("value", metavar="VALUE", help="true or false")
    add_totp_option(set_)
    set_.add_argument("--json", action="store_true", help="machine-readable output")
    set_.set_defaults(func=cmd_set)
