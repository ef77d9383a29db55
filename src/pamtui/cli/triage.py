"""accounts, revoke and the TUI itself."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    add_json_option,
    add_totp_option,
    ask,
    ask_totp,
    check_theme,
    iso,
    open_session,
    outcome_json,
    plural,
    print_json,
    print_outcomes,
    print_table,
    require_terminal,
    run_session,
)
from pamtui.model import Account, Credential, CredentialStatus
from pamtui.sanitize import clean
from pamtui.services.session import Session


def cmd_tui(args: argparse.Namespace) -> int:
    check_theme(args.theme)
    # The session first: a config laxer than the recorded policy is refused as
    # such (services/policy_store.py), whatever the terminal.
    session = open_session(args)
    try:
        require_terminal("the TUI")
    except BaseException:
        asyncio.run(session.aclose())
        raise
    from pamtui.cli.quick_exit import exit_without_teardown
    from pamtui.tui.app import run_app

    exit_without_teardown(run_app(session, theme=args.theme))


def _account_json(view: Any) -> dict[str, Any]:
    a: Account = view.account
    return {
        "provider": a.provider,
        "id": a.id,
        "name": a.name,
        "display_name": a.display_name,
        "email": a.email,
        "kind": str(a.kind),
        "status": str(a.status),
        "system": a.system,
        "privileged": a.privileged,
        "owner": a.owner,
        "owner_status": str(a.owner_status),
        "flags": sorted(str(f) for f in view.flags),
        "credentials": [_credential_json(c) for c in view.credentials],
    }


def _credential_json(c: Credential) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": str(c.kind),
        "status": str(c.status),
        "label": c.label,
        "scopes": list(c.scopes),
        "fingerprint": c.fingerprint,
        "created": iso(c.created),
        "expires": iso(c.expires),
        "last_used": iso(c.last_used),
    }


def cmd_accounts(args: argparse.Namespace) -> int:
    async def body(session: Session) -> int:
        if args.provider and args.provider not in session.providers:
            raise UsageError(f"no provider named {args.provider!r} (see: pamtui providers)")
        views = await session.inventory.current()
        degraded = [h for h in session.inventory.health.values() if not h.ok]
        views = [v for v in views if not args.provider or v.account.provider == args.provider]
        if args.risky:
            views = [v for v in views if v.flags]
        views.sort(key=lambda v: (v.account.provider, v.account.name))
        if args.json:
            print_json([_account_json(v) for v in views])
        else:
            print_table(
                ["provider", "account", "kind", "status", "creds", "flags"],
                [
                    (
                        v.account.provider,
                        v.account.name,
                        v.account.kind,
                        v.account.status,
                        sum(1 for c in v.credentials if c.status == "active"),
                        ",".join(sorted(v.flags)),
                    )
                    for v in views
                ],
            )
        for health in degraded:
            print(
                f"pamtui: provider {health.name} is degraded: {clean(health.reason)}",
                file=sys.stderr,
            )
        return EXIT_FALSE if degraded else EXIT_OK

    return run_session(args, body, read_only=True)


def _find_account(views: Sequence[Any], provider: str, ref: str) -> Any:
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


def cmd_revoke(args: argparse.Namespace) -> int:
    from pamtui.services.revoke import RevokeError  # not for the TUI's start

    async def body(session: Session) -> int:
        if args.provider not in session.providers:
            raise UsageError(f"no provider named {args.provider!r} (see: pamtui providers)")
        revocations = session.revocations
        views = await session.inventory.current()
        health = session.inventory.health.get(args.provider)
        if (
            health is not None
            and not health.ok
            and not any(
                v.account.provider == args.provider
                and args.account in (v.account.id, v.account.name, v.account.email)
                for v in views
            )
        ):  # not "no account": nobody could look
            raise CheckFailed(
                f"provider {args.provider!r} could not be read, so account "
                f"{args.account!r} cannot be planned: {health.reason}"
            )
        view = _find_account(views, args.provider, args.account)
        if session.inventory.shared is not None:  # plan from the provider's answer now
            view = await session.inventory.refresh_account(view.key, account_too=False) or view
        try:
            if args.credential:
                creds = [c for c in view.credentials if args.credential in (c.id, c.label)]
                if not creds:
                    raise UsageError(
                        f"account {args.account!r} has no credential {args.credential!r}"
                    )
                credential = creds[0]
                if credential.status is not CredentialStatus.ACTIVE:
                    print(
                        f"credential {clean(credential.id)} is {credential.status} already: "
                        "nothing to revoke"
                    )
                    return EXIT_OK  # idempotent: the access is already gone
                plan = revocations.plan_credential(view, credential, action=args.action)
            else:
                plan = revocations.plan_account(view, action=args.action)
        except RevokeError as exc:
            if "does not apply" in str(exc):
                raise UsageError(str(exc)) from None
            raise CheckFailed(str(exc)) from None
        record: dict[str, Any] = {
            "provider": args.provider,
            "account": view.account.name,
            "reason": args.reason,
            "four_eyes": plan.four_eyes,
            "steps": [{"action": a.name, "label": a.label} for a in plan.steps],
            "dry_run": args.dry_run,
            "staged": [],
            "awaiting_approval": False,
            "outcomes": [],
        }
        if args.json:
            if not (args.yes or args.dry_run):
                raise UsageError("--json asks no question: pass --yes (or --dry-run)")
        else:
            print(
                f"Plan for {clean(view.account.name)} ({args.provider}), "
                f"reason: {clean(args.reason)}"
            )
            for n, action in enumerate(plan.steps, 1):
                print(f"  {n}. {clean(action.label)} [{action.name}]")
            if plan.four_eyes:
                print("  four eyes: a second operator approves before anything runs")
        if args.dry_run:
            if args.json:
                print_json(record)
            else:
                print("dry run: nothing staged, nothing executed")
            return EXIT_OK
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to revoke without confirmation: pass --yes")
            answer = ask("Execute this plan? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("cancelled: nothing staged")
                return EXIT_FALSE
        submission = revocations.submit(plan, args.reason, code=ask_totp(args, session))
        record["staged"] = [i.id for i in submission.items]
        if submission.awaiting_approval:
            record["awaiting_approval"] = True
            ids = " ".join(str(i.id) for i in submission.items)
            if args.json:
                print_json(record)
            else:
                print(
                    f"{clean(view.account.name)} is privileged: four eyes required. Staged as "
                    f"{plural(len(submission.items), 'item')} {ids}, awaiting another "
                    "operator's approval (pamtui queue approve ID)."
                )
            return EXIT_OK
        outcomes = await revocations.execute(submission)
        if args.json:
            print_json({**record, "outcomes": [outcome_json(o) for o in outcomes]})
        else:
            print_outcomes(outcomes)
        return EXIT_FALSE if any(o.failed for o in outcomes) else EXIT_OK

    return run_session(args, body)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("accounts", parents=[common], help="accounts and their risk flags")
    p.add_argument("--provider", metavar="P", help="only this provider's accounts")
    p.add_argument("--risky", action="store_true", help="only flagged accounts")
    add_json_option(p)
    p.set_defaults(func=cmd_accounts)

    p = sub.add_parser(
        "revoke", parents=[common], help="revoke a credential or an account's access"
    )
    p.add_argument(
        "--provider", metavar="P", required=True, help="the provider name (see: pamtui providers)"
    )
    p.add_argument("--account", metavar="A", required=True, help="account id, name or email")
    p.add_argument("--credential", metavar="C", help="one credential (default: the whole account)")
    p.add_argument("--action", metavar="NAME", help="one action by name")
    p.add_argument(
        "--reason", metavar="TEXT", required=True, help="why: journalled with every step"
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_totp_option(p)
    p.add_argument("--dry-run", action="store_true", help="show the plan only")
    add_json_option(p)
    p.set_defaults(func=cmd_revoke)
