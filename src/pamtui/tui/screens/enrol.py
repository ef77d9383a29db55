"""First-login TOTP enrolment: the QR code once, then a code to confirm it.

Shown at start when policy requires TOTP, an admin has allowed this
operator's enrolment and there is none yet (``services/enrolment.py`` decides
that, and stores the secret only once a first code verifies). The screen
only shows and asks: the QR code is drawn by ``mfa.qr_text``, as
``pamtui mfa enroll`` draws it. Esc skips it for now (step-up then refuses,
and the screen comes back at the next start while the allowance lasts).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from pamtui.errors import PamtuiError
from pamtui.services import enrolment, mfa
from pamtui.tui.safe import join, safe

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp


class EnrolScreen(ModalScreen[bool]):
    """Returns True once the enrolment is confirmed and stored, False if skipped."""

    DEFAULT_CSS = """
    EnrolScreen { align: center middle; }
    #enrol-dialog {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 2;
        overflow-y: auto;
    }
    #enrol-qr { width: auto; }
    #enrol-error { color: $error; height: auto; }
    #enrol-input { width: 40; }
    """

    BINDINGS = [Binding("escape", "skip", "Skip for now", id="enrol.skip")]

    def __init__(self, enrollment: enrolment.Enrollment, confirm: Callable[[str], None]) -> None:
        super().__init__()
        self.enrollment = enrollment
        self._confirm = confirm

    def compose(self) -> ComposeResult:
        with Vertical(id="enrol-dialog"):
            yield Static(
                join(
                    Text("TOTP enrolment for", style="bold"),
                    safe(self.enrollment.operator, "bold", max_length=64),
                    Text("(allowed by an admin; policy requires step-up)", style="bold"),
                )
            )
            yield Static(Text("Scan this code with your authenticator app:"))
            try:
                drawn = Text(mfa.qr_text(self.enrollment.uri), no_wrap=True)
            except mfa.MfaError as exc:  # no QR renderer: the key below suffices
                drawn = Text(str(exc))
            yield Static(drawn, id="enrol-qr")
            yield Static(join("or type this key:", safe(self.enrollment.secret, "bold")))
            yield Static(Text("Then enter the code it shows (Esc: skip for now):"))
            yield Input(id="enrol-input", password=True, placeholder="6-digit code")
            yield Static(id="enrol-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            self._confirm(event.value.strip())
        except PamtuiError as exc:
            self.query_one("#enrol-error", Static).update(safe(exc, max_length=300))
            event.input.value = ""
            return
        self.dismiss(True)

    def action_skip(self) -> None:
        self.dismiss(False)


def offer_enrolment(app: PamtuiApp) -> None:
    """Push the enrolment screen when the service says this is the operator's first login."""
    session = app.session
    offered = enrolment.first_login_enrolment(
        session.journal,
        session.operator,
        require_totp=session.config.operator.require_totp,
        read_only=app.read_only,
    )
    if offered is None:
        return

    def confirm(code: str) -> None:
        enrolment.confirm_enrollment(session.journal, offered, code, store=session.totp)

    def done(enrolled: bool | None) -> None:
        if enrolled:
            app.notify(
                f"Enrolled {session.operator}: step-up codes come from this device now.",
                markup=False,
            )
        else:
            app.notify("TOTP enrolment skipped: step-up will be refused until you enrol.")

    app.push_screen(EnrolScreen(offered, confirm), callback=done)
