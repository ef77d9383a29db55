"""Start an access review campaign from the TUI (``V`` or the command palette).

The dialog asks what ``pamtui review start`` asks (scope, due date, at most
N accounts) and answers a :class:`StartRequest`; :func:`start_review` then
makes the same service call as the CLI (``services/review_start.py``) on the
accounts the triage screen has already read, and opens the new campaign. A
degraded provider refuses the start with the CLI's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Select, Static

from pamtui.sanitize import clean
from pamtui.services.journal import JournalError
from pamtui.services.review_model import ReviewError, Scope, parse_due
from pamtui.services.review_start import start_campaign
from pamtui.services.roles import RoleRefused
from pamtui.wording import plural

if TYPE_CHECKING:
    from pamtui.services.session import Session


@dataclass(frozen=True)
class StartRequest:
    scope: Scope
    due: str
    limit: int | None


class StartReviewDialog(ModalScreen[StartRequest | None]):
    """Scope, due date, limit; Enter starts, Esc cancels. Mistakes are said in the dialog."""

    DEFAULT_CSS = """
    StartReviewDialog { align: center middle; }
    #review-start-dialog {
        width: 72;
        max-width: 95%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    #review-start-dialog Static.label { margin-top: 1; }
    #review-start-error { color: $error; }
    """

    # Priority bindings run as the app reads the key, so a burst ("V2027-01-31",
    # Enter) keeps its order: Enter asks the focused field to submit *after* the
    # characters queued before it (see _Submit), Tab moves before the next ones.
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="review_start.cancel"),
        Binding("enter", "submit", "Start", priority=True, id="review_start.submit"),
        Binding(
            "tab", "focus_next", "Next field", show=False, priority=True, id="review_start.next"
        ),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            show=False,
            priority=True,
            id="review_start.previous",
        ),
    ]

    class _Submit(Message):
        """Posted to the focused field: handled once the keys queued before it are in."""

    def __init__(self, providers: list[str]) -> None:
        super().__init__()
        self._providers = providers

    def compose(self) -> ComposeResult:
        options: list[tuple[Content, str]] = [
            (Content("privileged accounts"), "privileged"),
            (Content("all accounts"), "all"),
        ]
        options += [
            (Content(f"provider {clean(name, max_length=40)}"), f"provider:{name}")
            for name in self._providers
        ]
        with Vertical(id="review-start-dialog"):
            yield Static(Text("Start an access review campaign", style="bold"))
            yield Static("Scope", classes="label")
            yield Select(options, value="privileged", allow_blank=False, id="review-scope")
            yield Static("Due date (YYYY-MM-DD, optional)", classes="label")
            yield Input(placeholder="none", id="review-due")
            yield Static("At most N accounts, first by name (optional)", classes="label")
            yield Input(placeholder="all in scope", id="review-limit", type="integer")
            yield Static(Text("Enter starts · Tab next field · Esc cancels", style="dim"))
            yield Static(id="review-start-error")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#review-due", Input))

    def on_key(self, event: events.Key) -> None:
        """A character that reached the dialog itself was typed before a field had focus.

        (Typed in the same burst as ``V``, while the dialog was being built.)
        It belongs to the focused field, else the first: inserted now, in order.
        """
        if not event.is_printable or event.character is None:
            return
        event.stop()
        event.prevent_default()
        box = self.focused if isinstance(self.focused, Input) else self.query_one("#review-due")
        if isinstance(box, Input):
            box.insert_text_at_cursor(event.character)

    def action_submit(self) -> None:
        (self.focused or self).post_message(self._Submit())

    def action_focus_next(self) -> None:
        self.focus_next()

    def action_focus_previous(self) -> None:
        self.focus_previous()

    def on_start_review_dialog__submit(self, event: _Submit) -> None:
        event.stop()
        try:
            request = self._request()
        except ReviewError as exc:
            # Cleaned text, never markup: the message may quote what was typed.
            self.query_one("#review-start-error", Static).update(Text(clean(str(exc))))
            return
        self.dismiss(request)

    def _request(self) -> StartRequest:
        scope_text = str(self.query_one("#review-scope", Select).value)
        scope = Scope.parse(scope_text, self._providers)
        due = parse_due(self.query_one("#review-due", Input).value.strip() or None)
        limit_text = self.query_one("#review-limit", Input).value.strip()
        limit = int(limit_text) if limit_text.lstrip("-").isdigit() else None
        if limit_text and (limit is None or limit < 1):
            raise ReviewError("at most N accounts: N must be a whole number, at least 1")
        return StartRequest(scope, due, limit)

    def action_cancel(self) -> None:
        self.dismiss(None)


def start_review(screen: Screen, session: Session, *, loading: bool) -> None:
    """Ask for the campaign, start it through the service, then open it."""
    from pamtui.tui.screens.review import ReviewScreen

    if loading:
        screen.notify(
            "The accounts are still loading, and a campaign snapshots every one in scope: "
            "try again when the accounts pane has loaded.",
            severity="warning",
        )
        return

    def answered(request: StartRequest | None) -> None:
        if request is None:
            screen.notify("No review started.")
            return
        try:
            campaign = start_campaign(
                session,
                request.scope,
                session.inventory.rows(),
                due=request.due or None,
                limit=request.limit,
                refuse_degraded=True,
            )
        except (ReviewError, RoleRefused, JournalError) as exc:
            screen.notify(str(exc), title="Review not started", severity="error", markup=False)
            return
        screen.notify(
            f"Review {campaign.id} started: {plural(campaign.item_count, 'account')} in scope "
            f"{campaign.scope}.",
            markup=False,
        )
        screen.app.push_screen(ReviewScreen(campaign.id))

    screen.app.push_screen(StartReviewDialog(sorted(session.providers)), callback=answered)
