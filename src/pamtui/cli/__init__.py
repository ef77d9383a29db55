"""The ``pamtui`` command line: the contract users script against.

One module per command group; each has ``register(sub, common)``. The
exit codes and error handling shared by all are in ``common``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pamtui import __version__
from pamtui.cli import (
    audit,
    drift,
    people,
    providers,
    queue,
    review,
    security,
    ssh,
    sweep,
    triage,
)
from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    EXIT_USAGE,
    CheckFailed,
    UsageError,
    common_options,
)
from pamtui.config import ConfigError
from pamtui.journal import JournalError
from pamtui.providers.base import ProviderConfigError, ProviderError
from pamtui.sanitize import clean
from pamtui.services.mfa import MfaError
from pamtui.services.queue import QueueError

COMMAND_GROUPS = (triage, queue, security, sweep, audit, providers, ssh, review, drift, people)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pamtui",
        description="Privileged-access triage and API de-provisioning in the terminal. "
        "With no command, opens the TUI (on the bundled demo organisation when there is no config).",
    )
    parser.add_argument("--version", action="version", version=f"pamtui {__version__}")
    common_options(parser, suppress=False)
    parser.add_argument("--read-only", action="store_true", help="remove every mutating action")
    parser.add_argument("--theme", help="colour theme for the TUI")
    parser.set_defaults(func=triage.cmd_tui, json=False)

    common = argparse.ArgumentParser(add_help=False)
    common_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for group in COMMAND_GROUPS:
        group.register(sub, common)
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
