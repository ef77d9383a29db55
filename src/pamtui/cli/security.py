"""pamtui secrets and pamtui mfa: the operator's own credentials."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    CheckFailed,
    UsageError,
    add_json_option,
    print_json,
)
from pamtui.services.journal import Journal, refuse_to_create


def cmd_secrets(args: argparse.Namespace) -> int:
    """Store a provider's secret in the OS keyring; config refers to it by name."""
    import getpass

    import keyring
    from keyring.errors import KeyringError

    from pamtui.services.keyring_store import KeyringStore
    from pamtui.services.session import KEYRING_SERVICE

    warning = KeyringStore().backend_warning(what="this provider secret")
    if warning:
        print(warning, file=sys.stderr)
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
    if args.json:
        print_json({"stored": args.name, "config": {"keyring": args.name}, "warning": warning})
    else:
        print(f'stored; refer to it in the config as: token = {{ keyring = "{args.name}" }}')
    return EXIT_OK


def cmd_mfa(args: argparse.Namespace) -> int:
    import getpass

    from pamtui import config as config_mod
    from pamtui.services import enrolment as enrol
    from pamtui.services import identity, mfa
    from pamtui.services.totp_store import TotpStore

    actor = identity.current_actor(config_mod.load(args.config))
    operator = actor.name
    path = config_mod.resolve_db_path(args.db)
    # An auditor creates no journal; its status is a read (no -totp either: mfa.status).
    refuse_to_create(actor, path)
    journal = Journal.open(path, read_only=args.verb == "status" and not actor.roles)
    store = TotpStore.beside(journal.path)
    try:
        if args.verb == "status":
            state = mfa.status(operator, journal, store=store)
            if args.json:
                print_json(dataclasses.asdict(state))
            else:
                print(state.describe())
            return EXIT_OK if state.enrolled else EXIT_FALSE
        if not sys.stdin.isatty():
            raise UsageError(
                "pamtui mfa enroll needs a terminal to show the QR code and read the first code"
            )
        current = None
        if mfa.status(operator, journal, store=store).enrolled:
            print(f"{operator} is enrolled already: re-enrolment needs a code from that device")
            current = getpass.getpass("Code from your CURRENT authenticator (not echoed): ")
        enrolment = enrol.begin_enrolment(
            journal, operator, current_code=(current or "").strip() or None, store=store
        )
        with contextlib.suppress(mfa.MfaError):  # no QR renderer: the URI below suffices
            print(mfa.qr_text(enrolment.uri))
        print(enrolment.uri)
        code = input("Code from your authenticator app: ").strip()
        enrol.confirm_enrollment(journal, enrolment, code, store=store)
        print(f"enrolled {operator}: step-up codes are now checked against this device")
        return EXIT_OK
    finally:
        store.close()
        journal.close()


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("secrets", parents=[common], help="store a provider secret in the keyring")
    p.add_argument("action", choices=["set"], help="set: read the secret and store it")
    p.add_argument("name", metavar="NAME", help='the name config uses: { keyring = "NAME" }')
    add_json_option(p)
    p.set_defaults(func=cmd_secrets)

    p = sub.add_parser("mfa", parents=[common], help="TOTP step-up: enroll, status")
    p.add_argument(
        "verb",
        choices=["enroll", "status"],
        help="enroll this device (needs a terminal; an admin's allowance, or the current "
        "code to re-enrol), or status (exit 1 if not enrolled)",
    )
    add_json_option(p)
    p.set_defaults(func=cmd_mfa)
