"""Collect a TOTP code before a mutating action, for every screen that has one.

The screen only asks: the revocation service (services/revoke.py) decides
whether a code is needed and checks it. A refused code surfaces as the
service's error, which :func:`refused` turns into a notification.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual.screen import Screen

from pamtui.tui.safe import join, safe
from pamtui.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp


def with_step_up(
    screen: Screen,
    what: str,
    then: Callable[[str | None], None],
    *,
    cancelled: str = "nothing executed",
) -> None:
    """Call ``then(code)``: at once with None, or with the code typed when policy asks.

    ``what`` names the action in the prompt (the service names it in the
    journal); it may hold an account name, so it is shown through ``safe``.
    """
    revocations = cast("PamtuiApp", screen.app).session.revocations
    if not revocations.step_up_required:
        then(None)
        return

    def answered(code: str | None) -> None:
        if code is None:
            screen.notify(f"Step-up cancelled: {cancelled}.")
            return
        then(code.strip())

    title = join(
        Text("TOTP code to", style="bold"),
        safe(what, "bold", max_length=60),
        Text("(policy requires step-up):", style="bold"),
    )
    screen.app.push_screen(PromptScreen(title, password=True), callback=answered)


def refused(screen: Screen, exc: Exception, *, title: str = "Refused") -> None:
    """Tell the operator why the service refused (step-up, four eyes, plan order...)."""
    from pamtui.services.mfa import StepUpError

    if isinstance(exc, StepUpError):
        title = "Step-up refused"
    screen.notify(str(exc), title=title, severity="error", markup=False, timeout=10)
