"""The ``pamtui`` command line: the contract users script against.

Exit codes: 0 success, 1 the thing checked is not true or something partly
failed, 2 usage or configuration error. Errors are one line on stderr, never
a traceback. Untrusted text is cleaned before it is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pamtui import __version__
from pamtui.config import ConfigError
from pamtui.journal import EntryFilter, Head, Journal, JournalError
from pamtui.journal.export import entry_record
from pamtui.model import Account, Credential, CredentialStatus, QueueItem, QueueState
from pamtui.providers.base import ProviderConfigError, ProviderError
from pamtui.sanitize import clean
from pamtui.services.mfa import MfaError
from pamtui.services.queue import QueueError, plan_for_account, plan_for_credential
from pamtui.services.session import Session

EXIT_OK, EXIT_FALSE, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A usage mistake: exit 2 with this message."""


class CheckFailed(Exception):
    """The thing checked is not true: exit 1 with this message."""


# -- output helpers ---------------------------------------------------------


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[clean(v, max_length=80) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = "  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line.rstrip())
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _print_json(value: Any) -> None:
    # json.dumps escapes every control character, so this output is safe too.
    print(json.dumps(value, indent=2, default=str, ensure_ascii=True))


def _iso(value: Any) -> str:
    return value.isoformat() if value is not None else ""


# -- sessions ---------------------------------------------------------------


def _open_session(args: argparse.Namespace, *, read_only: bool = False) -> Session:
    return Session.open(
        config_path=args.config,
        db_path=args.db,
        read_only=read_only or getattr(args, "read_only", False),
    )


def _operator(args: argparse.Namespace) -> str:
    from pamtui import config as config_mod

    return config_mod.load(getattr(args, "config", None)).operator.login


def _open_journal(args: argparse.Namespace, *, read_only: bool = True) -> Journal:
    from pamtui.config import resolve_db_path

    path = resolve_db_path(args.db)
    if read_only and not path.exists():
        raise CheckFailed(f"no journal at {path} yet (nothing has been recorded)")
    return Journal.open(path, read_only=read_only)


def _run_session(
    args: argparse.Namespace, body: Callable[[Session], Any], *, read_only: bool = False
) -> int:
    async def runner() -> int:
        session = _open_session(args, read_only=read_only)
        try:
            return await body(session)
        finally:
            await session.aclose()

    return asyncio.run(runner())


# -- commands ---------------------------------------------------------------


def cmd_tui(args: argparse.Namespace) -> int:
    from pamtui.tui.app import run_app

    session = _open_session(args)
    return run_app(session, theme=args.theme)


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
        "created": _iso(c.created),
        "expires": _iso(c.expires),
        "last_used": _iso(c.last_used),
    }


def cmd_accounts(args: argparse.Namespace) -> int:
    async def body(session: Session) -> int:
        if args.provider and args.provider not in session.providers:
            raise UsageError(f"no provider named {args.provider!r} (see: pamtui providers)")
        views = await session.inventory.sync()
        degraded = [h for h in session.inventory.health.values() if not h.ok]
        views = [v for v in views if not args.provider or v.account.provider == args.provider]
        if args.risky:
            views = [v for v in views if v.flags]
        views.sort(key=lambda v: (v.account.provider, v.account.name))
        if args.json:
            _print_json([_account_json(v) for v in views])
        else:
            _print_table(
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

    return _run_session(args, body, read_only=True)


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
    async def body(session: Session) -> int:
        if args.provider not in session.providers:
            raise UsageError(f"no provider named {args.provider!r} (see: pamtui providers)")
        provider = session.providers[args.provider]
        views = await session.inventory.sync()
        view = _find_account(views, args.provider, args.account)
        if args.credential:
            creds = [c for c in view.credentials if args.credential in (c.id, c.label)]
            if not creds:
                raise UsageError(f"account {args.account!r} has no credential {args.credential!r}")
            credential = creds[0]
            if credential.status is not CredentialStatus.ACTIVE:
                print(
                    f"credential {clean(credential.id)} is {credential.status} already: "
                    "nothing to revoke"
                )
                return EXIT_OK  # idempotent: the access is already gone
            candidates = provider.revoke_actions(credential)
            actions = plan_for_credential(provider, credential)
        else:
            candidates = provider.revoke_actions(view.account)
            actions = plan_for_account(provider, view.account, view.credentials)
        if args.action:
            pool = candidates if args.credential else actions
            actions = [a for a in pool if a.name == args.action]
            if not actions:
                names = ", ".join(sorted({a.name for a in pool})) or "none"
                raise UsageError(
                    f"action {args.action!r} does not apply here (choose from: {names})"
                )
        if not actions:
            raise CheckFailed("nothing left to revoke: no applicable action")
        print(
            f"Plan for {clean(view.account.name)} ({args.provider}), reason: {clean(args.reason)}"
        )
        for n, action in enumerate(actions, 1):
            print(f"  {n}. {clean(action.label)} [{action.name}]")
        if args.dry_run:
            print("dry run: nothing staged, nothing executed")
            return EXIT_OK
        if not args.yes:
            if not sys.stdin.isatty():
                raise UsageError("refusing to revoke without confirmation: pass --yes")
            answer = input("Execute this plan? [y/N] ").strip().lower()
            if answer not in ("y", "yes"):
                print("cancelled: nothing staged")
                return EXIT_FALSE
        session.step_up(_totp(args, session), subject=f"{args.provider}:{view.account.id}")
        four_eyes = session.needs_four_eyes(view)
        items = session.queue.stage(actions, args.reason, approve=True, four_eyes=four_eyes)
        waiting = [i for i in items if i.state is QueueState.AWAITING_APPROVAL]
        if waiting:
            ids = " ".join(str(i.id) for i in waiting)
            print(
                f"{clean(view.account.name)} is privileged: four eyes required. Staged as "
                f"item(s) {ids}, awaiting another operator's approval "
                f"(pamtui queue approve ID)."
            )
            return EXIT_OK
        outcomes = await session.queue.run([i.id for i in items])
        failed = 0
        for outcome in outcomes:
            mark = "ok " if outcome.ok else ("-- " if outcome.skipped else "ERR")
            failed += outcome.failed
            print(
                f"  [{mark}] #{outcome.item.id} {clean(outcome.item.action.label)}: "
                f"{outcome.item.state} {'' if outcome.ok else clean(outcome.message)}".rstrip()
            )
        return EXIT_FALSE if failed else EXIT_OK

    return _run_session(args, body)


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
        "created": _iso(item.created),
        "updated": _iso(item.updated),
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
                _print_json([_queue_json(i) for i in items])
            else:
                _print_table(
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
            session.step_up(_totp(args, session), subject=f"queue:{verb}")
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

    return _run_session(args, body, read_only=verb == "list")


def cmd_audit(args: argparse.Namespace) -> int:
    verb = args.verb
    journal = _open_journal(args, read_only=verb != "rotate")
    if verb is None:  # the audit review screen, read-only: fit for an SSH ForceCommand
        from pamtui.tui.app import run_audit_app

        return run_audit_app(journal, theme=getattr(args, "theme", None))
    try:
        if verb == "rotate":
            previous, start = journal.rotate(args.archive, actor=_operator(args))
            print(f"archived {previous.seq} entries to {args.archive} (head {previous})")
            print(f"this journal continues at entry {start.seq}, linked to that head")
            return EXIT_OK
        if verb == "head":
            head = journal.head()
            if head is None:
                raise CheckFailed("the journal is empty")
            print(head)
            return EXIT_OK
        if verb == "verify":
            expect = None
            if args.expect_head:
                try:
                    expect = Head.parse(args.expect_head)
                except ValueError as exc:
                    raise UsageError(f"--expect-head: {exc}") from exc
            report = journal.verify(expect_head=expect)
            if args.json:
                _print_json(
                    {
                        "ok": report.ok,
                        "entries": report.entries,
                        "head": str(report.head) if report.head else None,
                        "bad_seq": report.bad_seq,
                        "problem": report.problem,
                    }
                )
            elif report.ok:
                print(f"ok: {report.entries} entries, head {report.head}")
            else:
                print(f"FAILED at entry {report.bad_seq}: {report.problem}")
            return EXIT_OK if report.ok else EXIT_FALSE
        filt = EntryFilter(
            since=args.since,
            until=args.until,
            actor=args.actor,
            provider=args.provider,
            subject=args.subject,
            action=args.action,
            text=args.text,
        )
        if verb == "export":
            return _export(journal, args, filt)
        entries = journal.entries(filt, limit=args.limit)
        if args.json:
            _print_json([entry_record(e) for e in entries])
        else:
            _print_table(
                ["seq", "ts", "actor", "action", "provider", "subject", "detail"],
                [
                    (
                        e.seq,
                        e.ts,
                        e.actor,
                        e.action,
                        e.provider,
                        e.subject,
                        e.detail.get("label")
                        or e.detail.get("reason")
                        or e.detail.get("error", ""),
                    )
                    for e in entries
                ],
            )
        return EXIT_OK
    finally:
        journal.close()


def _export(journal: Journal, args: argparse.Namespace, filt: EntryFilter) -> int:
    from pamtui.journal.export import export
    from pamtui.services.audit import export_to_file

    if not args.out or args.out == "-":
        count = export(journal, args.format, sys.stdout, filt)
        print(f"pamtui: exported {count} entries ({args.format})", file=sys.stderr)
        return EXIT_OK
    try:
        count = export_to_file(journal, args.format, Path(args.out), filt)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: {exc.strerror}") from exc
    print(f"exported {count} entries ({args.format}) to {args.out}")
    return EXIT_OK


def cmd_sweep(args: argparse.Namespace) -> int:
    from pamtui.model import utcnow
    from pamtui.services.policy import evaluate, sweep

    async def body(session: Session) -> int:
        if not session.policies:
            print("no [[policies]] configured: nothing to sweep")
            return EXIT_OK
        views = await session.inventory.sync()
        degraded = [h for h in session.inventory.health.values() if not h.ok]
        proposals = evaluate(session.policies, views, session.providers, utcnow())
        report = sweep(session.queue, proposals, dry_run=args.dry_run)
        if args.json:
            _print_json(report.as_dict())
        else:
            for line in report.summary_lines():
                print(line)
        for health in degraded:
            print(
                f"pamtui: provider {health.name} is degraded: {clean(health.reason)}",
                file=sys.stderr,
            )
        return EXIT_OK if report.ok and not degraded else EXIT_FALSE

    return _run_session(args, body)


def _totp(args: argparse.Namespace, session: Session) -> str | None:
    """The step-up code: --totp, else asked for on a terminal."""
    if not session.config.operator.require_totp or getattr(args, "totp", None):
        return getattr(args, "totp", None)
    if sys.stdin.isatty():
        return input("TOTP code: ").strip()
    raise UsageError("policy requires a TOTP code: pass --totp CODE")


def cmd_secrets(args: argparse.Namespace) -> int:
    """Store a provider's secret in the OS keyring; config refers to it by name."""
    import getpass

    import keyring
    from keyring.errors import KeyringError

    from pamtui.services import mfa
    from pamtui.services.session import KEYRING_SERVICE

    warning = mfa.KeyringStore().backend_warning()
    if warning:
        print(f"WARNING: {warning}", file=sys.stderr)
    if sys.stdin.isatty():
        secret = getpass.getpass(f"Secret for {args.name} (not echoed): ")
    else:
        secret = sys.stdin.readline().rstrip("\r\n")  # piped from a secrets manager
    if not secret:
        raise UsageError("an empty secret was not stored")
    try:
        keyring.set_password(KEYRING_SERVICE, args.name, secret)
    except KeyringError as exc:
        raise CheckFailed(f"the OS keyring refused it: {exc}") from exc
    print(f'stored; refer to it in the config as: token = {{ keyring = "{args.name}" }}')
    return EXIT_OK


def cmd_mfa(args: argparse.Namespace) -> int:
    from pamtui import config as config_mod
    from pamtui.services import mfa

    operator = config_mod.load(args.config).operator.login
    store = mfa.KeyringStore()
    journal = Journal.open(config_mod.resolve_db_path(args.db))
    try:
        if args.verb == "status":
            state = mfa.status(operator, store, journal)
            print(state.describe())
            return EXIT_OK if state.enrolled else EXIT_FALSE
        if not sys.stdin.isatty():
            raise UsageError(
                "pamtui mfa enroll needs a terminal to show the QR code and read the first code"
            )
        enrolment = mfa.enroll(operator, store)
        if enrolment.warning:
            print(f"WARNING: {enrolment.warning}", file=sys.stderr)
        if enrolment.replacing and input("Replace your TOTP enrolment? [y/N] ").lower() != "y":
            print("kept the existing enrolment")
            return EXIT_OK
        with contextlib.suppress(mfa.MfaError):  # no QR renderer: the URI below suffices
            print(mfa.qr_text(enrolment.uri))
        print(enrolment.uri)
        code = input("Code from your authenticator app: ").strip()
        mfa.confirm_enrollment(operator, enrolment.secret, code, store, journal)
        print(f"enrolled {operator}: step-up codes are now checked against this device")
        return EXIT_OK
    finally:
        journal.close()


def cmd_providers(args: argparse.Namespace) -> int:
    from pamtui import config as config_mod
    from pamtui.providers import registry

    cfg = config_mod.load(args.config)
    types = registry.available_types()
    configured = [{"name": p.name, "type": p.type} for p in cfg.providers]
    if args.json:
        _print_json(
            {
                "types": [
                    {"type": t.name, "module": t.module, "distribution": t.distribution}
                    for t in types
                ],
                "configured": configured,
                "config": str(cfg.source) if cfg.source else "bundled demo",
            }
        )
        return EXIT_OK
    print("Installed provider types:")
    _print_table(["type", "module", "from"], [(t.name, t.module, t.distribution) for t in types])
    print()
    print(f"Configured instances ({cfg.source or 'bundled demo configuration'}):")
    known = {t.name for t in types}
    _print_table(
        ["name", "type", "status"],
        [
            (p["name"], p["type"], "ok" if p["type"] in known else "TYPE NOT INSTALLED")
            for p in configured
        ],
    )
    return EXIT_OK if all(p["type"] in known for p in configured) else EXIT_FALSE


def cmd_demo(args: argparse.Namespace) -> int:
    from pamtui.config import resolve_db_path
    from pamtui.providers.demo import reset

    if not args.reset:
        raise UsageError("pamtui demo needs --reset")
    path = reset(resolve_db_path(args.db).parent)
    print(f"demo organisation restored ({path})")
    return EXIT_OK


# -- parser -----------------------------------------------------------------


def _common_options(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=default,
        help="config file (default: $PAMTUI_CONFIG, else the user config file)",
    )
    parser.add_argument(
        "--db",
        metavar="FILE",
        default=default,
        help="database file (default: $PAMTUI_DB, else the user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pamtui",
        description="Privileged-access triage and API de-provisioning in the terminal. "
        "With no command, opens the TUI (on the bundled demo organisation when there is no config).",
    )
    parser.add_argument("--version", action="version", version=f"pamtui {__version__}")
    _common_options(parser, suppress=False)
    parser.add_argument("--read-only", action="store_true", help="remove every mutating action")
    parser.add_argument("--theme", help="colour theme for the TUI")
    parser.set_defaults(func=cmd_tui, json=False)

    common = argparse.ArgumentParser(add_help=False)
    _common_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("accounts", parents=[common], help="accounts and their risk flags")
    p.add_argument("--provider", metavar="P")
    p.add_argument("--risky", action="store_true", help="only flagged accounts")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_accounts)

    p = sub.add_parser(
        "revoke", parents=[common], help="revoke a credential or an account's access"
    )
    p.add_argument("--provider", metavar="P", required=True)
    p.add_argument("--account", metavar="A", required=True, help="account id, name or email")
    p.add_argument("--credential", metavar="C", help="one credential (default: the whole account)")
    p.add_argument("--action", metavar="NAME", help="one action by name")
    p.add_argument("--reason", metavar="TEXT", required=True)
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--totp", metavar="CODE", help="TOTP code when policy requires step-up")
    p.add_argument("--dry-run", action="store_true", help="show the plan only")
    p.set_defaults(func=cmd_revoke)

    p = sub.add_parser("queue", parents=[common], help="the revocation queue")
    p.add_argument("verb", nargs="?", choices=["list", "run", "retry", "cancel", "approve", "edit"])
    p.add_argument("--reason", metavar="TEXT", help="with edit: the staged item's new reason")
    p.add_argument("--totp", metavar="CODE", help="TOTP code when policy requires step-up")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("secrets", parents=[common], help="store a provider secret in the keyring")
    p.add_argument("action", choices=["set"])
    p.add_argument("name", metavar="NAME", help='the name config uses: { keyring = "NAME" }')
    p.set_defaults(func=cmd_secrets)

    p = sub.add_parser("mfa", parents=[common], help="TOTP step-up: enroll, status")
    p.add_argument("verb", choices=["enroll", "status"])
    p.set_defaults(func=cmd_mfa)

    p = sub.add_parser(
        "sweep", parents=[common], help="apply the configured policies (cron-friendly)"
    )
    p.add_argument("--dry-run", action="store_true", help="show what would be staged")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser(
        "audit", parents=[common], help="the audit journal (no subcommand: the review screen)"
    )
    p.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="accepted for symmetry: the review screen never changes anything",
    )
    audit = p.add_subparsers(dest="verb", metavar="VERB")
    filters = argparse.ArgumentParser(add_help=False)
    for name, what in (
        ("since", "from this UTC time (ISO 8601, e.g. 2026-11-01)"),
        ("until", "before this UTC time"),
        ("actor", "operator or policy:NAME"),
        ("provider", "provider name"),
        ("subject", "e.g. credential:ID"),
        ("action", "e.g. revoked, verified, stage"),
        ("text", "free text"),
    ):
        filters.add_argument(f"--{name}", help=what)
    a = audit.add_parser("list", parents=[common, filters], help="journal entries, newest first")
    a.add_argument("--limit", type=int, default=100)
    a.add_argument("--json", action="store_true")
    a = audit.add_parser(
        "export", parents=[common, filters], help="export for a SIEM, oldest first"
    )
    a.add_argument("--format", required=True, choices=["jsonl", "csv", "ocsf", "cef"])
    a.add_argument("--out", metavar="FILE", help="write here (created 0600) instead of stdout")
    a = audit.add_parser("verify", parents=[common], help="recompute the hash chain")
    a.add_argument("--expect-head", metavar="SEQ:HASH")
    a.add_argument("--json", action="store_true")
    audit.add_parser("head", parents=[common], help="print SEQ:HASH of the last entry")
    a = audit.add_parser(
        "rotate", parents=[common], help="archive the entries to FILE and continue the chain here"
    )
    a.add_argument("--archive", metavar="FILE", required=True)
    p.set_defaults(func=cmd_audit, verb=None)

    p = sub.add_parser("providers", parents=[common], help="installed and configured providers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("demo", parents=[common], help="the bundled demo organisation")
    p.add_argument("--reset", action="store_true", help="restore it to its initial state")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except UsageError as exc:
        print(f"pamtui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (ConfigError, ProviderConfigError) as exc:
        print(f"pamtui: config: {clean(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except CheckFailed as exc:
        print(f"pamtui: {exc}", file=sys.stderr)
        return EXIT_FALSE
    except (QueueError, JournalError, ProviderError, MfaError) as exc:
        print(f"pamtui: {clean(exc)}", file=sys.stderr)
        return EXIT_FALSE
    except KeyboardInterrupt:
        print("pamtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
