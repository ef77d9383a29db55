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
from pamtui.services.journal import Journal


def cmd_secrets(args: argparse.Namespace) -> int:
    """Store a provider's secret in the OS keyring; config refers to it by name."""
    import getpass

    import keyring
    from keyring.errors import KeyringError

    from pamtui.services import mfa
    from pamtui.services.session import KEYRING_SERVICE

    warning = mfa.KeyringStore().backend_warning(what="this provider secret")
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
    from pamtui import config as config_mod
    from pamtui.services import identity, mfa

    operator = identity.current_actor(config_mod.load(args.config)).name
    store = mfa.KeyringStore()
    journal = Journal.open(config_mod.resolve_db_path(args.db))
    try:
        if args.verb == "status":
            state = mfa.status(operator, store, journal)
            if args.json:
                print_json(dataclasses.asdict(state))
            else:
                print(state.describe())
            return EXIT_OK if state.enrolled else EXIT_FALSE
        if not sys.stdin.isatty():
            raise UsageError(
                "pamtui mfa enroll needs a terminal to show the QR code and read the first code"
            )
        enrolment = mfa.enroll(operator, store)
        if enrolment.warning:
            print(enrolment.warning, file=sys.stderr)
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
        help="enroll this device (needs a terminal), or status (exit 1 if not enrolled)",
    )
    add_json_option(p)
    p.set_defaults(func=cmd_mfa)
