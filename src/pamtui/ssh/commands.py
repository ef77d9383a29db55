"""The commands an operator may run over SSH: ``ssh alice@bastion queue list --json``.

Checked twice: by the service before it starts anything (a refusal is
journalled as ``ssh_refused``), and by the child (``pamtui.cli.remote``),
which also refuses options that name a file of the client's choosing. The
services then apply the operator's roles to whatever the command does.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pamtui.errors import EXIT_USAGE, PamtuiError

ALLOWED: tuple[tuple[str, ...], ...] = (
    ("accounts",),
    ("queue", "list"),
    ("audit", "list"),
    ("audit", "export"),
    ("revoke",),
    ("queue", "approve"),
    ("queue", "run"),
    ("queue", "cancel"),
    ("policy", "show"),
    ("policy", "set"),  # an admin's (services/roles.py), with the step-up policy asks for
)


class CommandRefused(PamtuiError):
    """One line for the client: the command does not run over SSH."""

    exit_code = EXIT_USAGE
    label = "refused"


def allowed_command(words: Sequence[str]) -> tuple[str, ...]:
    """The allow-listed command ``words`` start with, or :class:`CommandRefused`."""
    for command in sorted(ALLOWED, key=len, reverse=True):
        if tuple(words[: len(command)]) == command:
            return command
    allowed = ", ".join(" ".join(c) for c in ALLOWED)
    shown = " ".join(words[:2])[:60]
    what = repr(shown) if shown else "an empty command"
    raise CommandRefused(f"{what} is not available over SSH (allowed: {allowed})")


def split(command: str) -> list[str]:
    """The words of an SSH exec request (no shell ever sees it)."""
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise CommandRefused(f"cannot split the command: {exc}") from None
    allowed_command(words)
    return words
