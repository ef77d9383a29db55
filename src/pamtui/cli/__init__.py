"""The ``pamtui`` command line: the contract users script against.

One module per command group; each has ``register(sub, common)``. The
output helpers and sessions shared by all are in ``common``. Errors are mapped
to exit codes here, in one place: every error meant for the operator is a
``pamtui.errors.PamtuiError`` and carries its exit code (2 usage or config,
1 refused or not true); anything else is a bug, reported in one line as an
internal error (exit 70) unless ``PAMTUI_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from pamtui import __version__
from pamtui.cli import (
    audit,
    doctor,
    drift,
    offboard,
    operators,
    people,
    policy_cmd,
    providers,
    queue,
    review,
    security,
    sessions,
    ssh,
    sweep,
    triage,
)
from pamtui.cli.common import common_options
from pamtui.errors import EXIT_INTERNAL, EXIT_OK, PamtuiError
from pamtui.sanitize import clean

COMMAND_GROUPS = (
    triage,
    queue,
    security,
    sweep,
    audit,
    providers,
    ssh,
    review,
    drift,
    people,
    doctor,
    offboard,
    policy_cmd,
    sessions,
    operators,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pamtui",
        description="Privileged-access triage and API de-provisioning in the terminal. "
        "With no command, opens the TUI (on the bundled demo organisation when there is no config).",
    )
    parser.add_argument("--version", action="version", version=f"pamtui {__version__}")
    common_options(parser, suppress=False)
    parser.add_argument("--read-only", action="store_true", help="remove every mutating action")
    parser.add_argument(
        "--theme", metavar="NAME", help="colour theme for the TUI (an unknown name lists them)"
    )
    parser.set_defaults(func=triage.cmd_tui, json=False)

    common = argparse.ArgumentParser(add_help=False)
    common_options(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    for group in COMMAND_GROUPS:
        group.register(sub, common)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    return run_parsed(parser.parse_args(argv))


def run_parsed(args: argparse.Namespace) -> int:
    """Run a parsed command; every error becomes one line and its exit code."""
    try:
        return args.func(args)
    except PamtuiError as exc:  # every error meant for the operator: one line, its exit code
        label = f"{exc.label}: " if exc.label else ""
        print(f"pamtui: {label}{clean(exc)}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("pamtui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug, not a user mistake: see pamtui.errors
        if os.environ.get("PAMTUI_DEBUG", "0") not in ("", "0"):
            raise
        print(
            f"pamtui: internal error: {type(exc).__name__}: {clean(exc)} "
            "(run again with PAMTUI_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
