"""TOTP step-up before a mutating action, shared by every screen that has one."""

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
    then: Callable[[], object],
    *,
    cancelled: str = "nothing executed",
) -> None:
    """Run ``then`` now, or after a valid TOTP code when policy requires step-up.

    ``what`` names the action in the prompt and in the journal's step-up entry;
    it may hold an account name, so it is shown through ``safe``.
    """
    from pamtui.services.mfa import MfaError

    session = cast("PamtuiApp", screen.app).session
    if not session.config.operator.require_totp:
        then()
        return

    def answered(code: str | None) -> None:
        if code is None:
            screen.notify(f"Step-up cancelled: {cancelled}.")
            return
        try:
            session.step_up(code.strip(), subject=f"tui:{what}")
        except MfaError as exc:
            screen.notify(
                str(exc), title="Step-up refused", severity="error", markup=False, timeout=10
            )
            return
        then()

    title = join(
        Text("TOTP code to", style="bold"),
        safe(what, "bold", max_length=60),
        Text("(policy requires step-up):", style="bold"),
    )
    screen.app.push_screen(PromptScreen(title, password=True), callback=answered)
