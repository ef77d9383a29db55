"""The access review screen: pick a campaign, then decide item by item.

Left, the evidence for the current item (the snapshot taken when the
campaign started: account, owner and HR status, flags, credentials with
scopes and last use; then the journal's recent entries about it and any
revocation the decision caused). Right, every item with its decision.
shift+k keeps (asks a justification), shift+r revokes (stages the plan,
approved by the reviewer, nothing executes), d defers; j/k move, n goes to the
next undecided item (the shared key map: tui/keymap.py). All rules live in
``services.review``; this screen only asks and shows.
"""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from pamtui.model import AccessEvent
from pamtui.services.journal import JournalError
from pamtui.services.review import (
    Campaign,
    Decision,
    Evidence,
    ReviewError,
    ReviewItem,
    ReviewService,
)
from pamtui.tui.keymap import role_allows
from pamtui.tui.safe import join, safe
from pamtui.tui.screens.stepup import with_step_up
from pamtui.tui.widgets.credentials import ago
from pamtui.tui.widgets.table import KeyedDataTable
from pamtui.wording import plural

REVIEW_MUTATING = frozenset({"keep", "revoke", "defer"})
DECISION_STYLE = {
    "keep": "green",
    "revoke": "bold red",
    "defer": "yellow",
    "": "dim",
}


def _parse(ts: str) -> datetime | None:
    if not ts:
        return None
    try:
        return datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None


def _when(ts: str, now: datetime) -> str:
    return ago(_parse(ts), now) if ts else "never"


def live_events(app: object, provider: str, account_id: str, limit: int = 6) -> list[AccessEvent]:
    """This session's stream events for one account, newest first (none if no stream ran).

    Asked of the session's ``services.stream.RecentActivity``, which the event
    feed fills; the stream widget's draw buffer is its own business.
    """
    activity = getattr(getattr(app, "session", None), "activity", None)
    if activity is None:
        return []
    return activity.recent((provider, account_id), limit)


def evidence_renderable(
    evidence: Evidence,
    now: datetime | None = None,
    live: list[AccessEvent] | None = None,
    *,
    can_decide: bool = True,
) -> Group:
    """Everything about one item, built from cleaned Text only (no markup parsed).

    ``can_decide`` False (read-only, a role without them): no K/R/d hint for keys
    that are not there.
    """
    now = now or datetime.now(UTC)
    item = evidence.item
    account = item.account
    lines: list[RenderableType] = []
    title = join(
        Text(f"Item {item.position}", style="bold"),
        safe(item.account_name, "bold", max_length=60),
        Text("·", style="dim"),
        safe(item.provider, max_length=30),
    )
    lines.append(title)
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim", no_wrap=True)
    facts.add_column()
    owner = account.get("owner", "") or "none"
    facts.add_row(
        "Owner / HR",
        join(
            safe(owner, max_length=40),
            safe(
                account.get("owner_status", "unknown"),
                "bold red" if account.get("owner_status") == "terminated" else "",
            ),
        ),
    )
    facts.add_row(
        "Kind / status",
        join(safe(account.get("kind", "")), safe(account.get("status", ""))),
    )
    if account.get("display_name") or account.get("email"):
        facts.add_row(
            "Identity",
            join(
                *(
                    part
                    for part in (
                        safe(account.get("display_name", ""), max_length=40),
                        safe(account.get("email", ""), "dim", max_length=60),
                    )
                    if part.plain
                )
            ),
        )
    flags = item.flags
    facts.add_row("Flags", safe(", ".join(flags) or "none", "bold" if flags else "dim"))
    if account.get("groups"):
        facts.add_row("Groups", safe(", ".join(account["groups"]), max_length=100))
    facts.add_row("Last used", safe(_when(item.last_used, now)))
    lines.append(facts)

    creds = Table(
        "Credential", "Kind", "Status", "Scopes", "Last used", box=None, header_style="bold"
    )
    for c in item.credentials:
        creds.add_row(
            safe(c.get("label") or c.get("id", ""), max_length=32),
            safe(c.get("kind", "")),
            safe(c.get("status", "")),
            safe(", ".join(c.get("scopes", [])) or "-", max_length=40),
            safe(_when(c.get("last_used", ""), now)),
        )
    lines.append(Text(""))
    if item.credentials:
        lines.append(creds)
    else:
        lines.append(Text("No credentials.", style="dim"))

    lines.append(Text(""))
    lines.append(Text("Recent journal entries", style="bold"))
    if evidence.events:
        for entry in evidence.events:
            lines.append(
                join(
                    Text(f"#{entry.seq}", style="dim"),
                    safe(entry.ts[:16].replace("T", " "), "dim"),
                    safe(entry.actor, max_length=20),
                    safe(entry.action, "bold"),
                    safe(entry.subject, max_length=40),
                )
            )
    else:
        lines.append(Text("none", style="dim"))

    lines.append(Text(""))
    lines.append(Text("Live stream (this session)", style="bold"))
    if live:
        for event in live:
            lines.append(
                join(
                    safe(event.ts.strftime("%H:%M:%S"), "dim"),
                    safe(event.method, max_length=8),
                    safe(event.path, max_length=50),
                    safe(event.status, "bold red" if event.denied else ""),
                    safe(event.source_ip, "dim", max_length=40),
                )
            )
    else:
        lines.append(Text("none seen", style="dim"))

    lines.append(Text(""))
    if item.decision:
        lines.append(
            join(
                Text("Decision:", style="bold"),
                safe(item.decision, DECISION_STYLE.get(item.decision, "")),
                Text("by"),
                safe(item.reviewer, max_length=30),
                Text(f"(journal entry {item.decision_seq})", style="dim"),
            )
        )
        if item.justification:
            lines.append(join(Text("Justification:", style="dim"), safe(item.justification)))
        for rev in evidence.revocations:
            lines.append(
                join(
                    Text(f"  #{rev.item.id}"),
                    safe(rev.item.action.label, max_length=60),
                    safe(rev.result, max_length=60),
                )
            )
    else:
        hint = " K keep · R revoke · d defer (K, R: shift)" if can_decide else ""
        lines.append(Text(f"Undecided:{hint}" if hint else "Undecided", style="bold"))
    for line in lines:
        if isinstance(line, Text):
            line.end = "\n"  # safe() and join() end without one: one line each here
    return Group(*lines)


class ReviewScreen(Screen):
    DEFAULT_CSS = """
    ReviewScreen #review-head {
        height: 1;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    ReviewScreen #review-body {
        height: 1fr;
    }
    ReviewScreen #review-evidence-pane {
        width: 3fr;
    }
    ReviewScreen #review-list-pane {
        width: 2fr;
    }
    ReviewScreen #review-evidence {
        padding: 0 1;
    }
    """

    # The shared key map (tui/keymap.py): j/k move (so keep is shift+k), shift+r
    # revokes a whole account as on the triage screen, x only ever runs queue items.
    BINDINGS = [
        Binding(
            "K",
            "keep",
            "Keep",
            key_display="K",
            id="review.keep",
            tooltip="Keep this access (asks why)",
        ),
        Binding(
            "R",
            "revoke",
            "Revoke",
            key_display="R",
            id="review.revoke",
            tooltip="Revoke: stage the account's revocation plan in the queue (not executed)",
        ),
        Binding("d", "defer", "Defer", id="review.defer", tooltip="Decide this item later"),
        Binding(
            "n",
            "next_open",
            "Next open",
            id="review.next_open",
            tooltip="The next undecided item (j/k move one item)",
        ),
        Binding("escape", "back", "Back", id="review.back"),
    ]

    def __init__(self, campaign_id: int | None = None) -> None:
        super().__init__()
        self.campaign_id = campaign_id
        self.items: list[ReviewItem] = []
        self.campaigns: list[Campaign] = []

    @property
    def session(self):
        return self.app.session

    @property
    def service(self) -> ReviewService:
        return ReviewService.for_session(self.session)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(id="review-head")
        with Horizontal(id="review-body"):
            with VerticalScroll(id="review-evidence-pane", classes="pane"):
                yield Static(id="review-evidence")
            with Vertical(id="review-list-pane", classes="pane"):
                yield KeyedDataTable(id="review-campaigns", cursor_type="row")
                yield KeyedDataTable(id="review-items", cursor_type="row", classes="hidden")
        yield Footer()

    def on_mount(self) -> None:
        campaigns = self.query_one("#review-campaigns", DataTable)
        campaigns.add_columns("ID", "Scope", "Progress", "Due")
        items = self.query_one("#review-items", DataTable)
        # The decision right after the number: a narrow pane cuts the right end.
        items.add_column("#", key="pos")
        items.add_column("Decision", key="decision")
        items.add_column("Account", key="account")
        items.add_column("Provider", key="provider")
        self.query_one("#review-evidence-pane").border_title = "Evidence"
        try:
            self.campaigns = self.service.campaigns()
        except JournalError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self.campaigns = []
        if self.campaign_id is None and len(self.campaigns) == 1:
            self.campaign_id = self.campaigns[0].id
        if self.campaign_id is None:
            self._show_picker()
        else:
            self.open_campaign(self.campaign_id)

    # -- read-only: no decision keys at all ---------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in REVIEW_MUTATING:
            if getattr(self.app, "read_only", True):  # fail closed in an app without it
                return False
            if not role_allows(self.app, action):
                return False
            if self.campaign_id is None:
                return None  # shown greyed out until a campaign is open
        if action == "next_open" and self.campaign_id is None:
            return None
        return True

    # -- picker --------------------------------------------------------------------

    def _show_picker(self) -> None:
        self.campaign_id = None
        table = self.query_one("#review-campaigns", DataTable)
        table.clear()
        for c in self.campaigns:
            table.add_row(
                safe(c.id), safe(c.scope), safe(str(c.progress)), safe(c.due or "-"), key=str(c.id)
            )
        table.remove_class("hidden")
        self.query_one("#review-items", DataTable).add_class("hidden")
        self.query_one("#review-list-pane").border_title = "Review campaigns"
        if self.campaigns:
            head = Text(" Choose a campaign (Enter opens it)")
            body = Text("Several campaigns: choose one on the right.", style="dim")
        else:
            head = Text(" No access review campaign yet")
            can_start = not getattr(self.app, "read_only", True) and role_allows(
                self.app, "start_review"
            )
            body = Text(
                # V is the triage screen's key (not bound here): say where it works.
                "Start one with V (shift+v) on the triage screen, or from the command "
                "line, e.g.\n\n"
                if can_start
                else "Start one from the command line, e.g.\n\n"
            )
            body.append(
                "  pamtui review start --scope privileged --due 2026-12-31\n\nthen press v again."
            )
        self.query_one("#review-head", Static).update(head)
        self.query_one("#review-evidence", Static).update(body)
        table.focus()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#review-campaigns")
    def _campaign_chosen(self, event: DataTable.RowSelected) -> None:
        self.open_campaign(int(str(event.row_key.value)))

    # -- items ---------------------------------------------------------------------

    def open_campaign(self, campaign_id: int) -> None:
        try:
            self.service.get(campaign_id)
        except ReviewError as exc:
            self.notify(str(exc), severity="error", markup=False)
            self._show_picker()
            return
        self.campaign_id = campaign_id
        self.query_one("#review-campaigns", DataTable).add_class("hidden")
        table = self.query_one("#review-items", DataTable)
        table.remove_class("hidden")
        self.reload()
        first_open = next((n for n, i in enumerate(self.items) if not i.decision), 0)
        table.move_cursor(row=first_open)
        table.focus()
        self.refresh_bindings()
        self._show_current()

    def reload(self) -> None:
        """Re-read the campaign: other reviewers may have decided items meanwhile."""
        if self.campaign_id is None:
            return
        self.items = self.service.items(self.campaign_id)
        table = self.query_one("#review-items", DataTable)
        row = table.cursor_row
        table.clear()
        for item in self.items:
            table.add_row(
                safe(item.position),
                safe(item.decision or "-", DECISION_STYLE.get(item.decision, "")),
                safe(item.account_name, max_length=36),
                safe(item.provider, max_length=16),
                key=str(item.position),
            )
        if self.items:
            table.move_cursor(row=min(max(row, 0), len(self.items) - 1))
        self._update_head()

    def _update_head(self) -> None:
        if self.campaign_id is None:
            return
        campaign = self.service.get(self.campaign_id)
        p = campaign.progress
        # The due date before the breakdown (the items' pane repeats the progress):
        # at 80 columns the one-row head ends in … and keeps the date.
        due = [Text(f"· due {campaign.due}")] if campaign.due else []
        line = join(
            Text(f" Review {campaign.id}", style="bold"),
            Text("·"),
            safe(campaign.scope),
            Text("·"),
            Text(str(p), style="bold green" if p.complete else "bold"),
            *due,
            Text(f"(kept {p.kept}, revoked {p.revoked}, deferred {p.deferred})", style="dim"),
        )
        self.query_one("#review-head", Static).update(line)
        self.query_one("#review-list-pane").border_title = f"Items · {p}"

    @property
    def current(self) -> ReviewItem | None:
        table = self.query_one("#review-items", DataTable)
        if self.campaign_id is None or not (0 <= table.cursor_row < len(self.items)):
            return None
        return self.items[table.cursor_row]

    @on(DataTable.RowHighlighted, "#review-items")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_current()

    def _show_current(self) -> None:
        item = self.current
        target = self.query_one("#review-evidence", Static)
        if item is None:
            target.update(Text("No items.", style="dim"))
            return
        live = live_events(self.app, item.provider, item.account_id)
        can_decide = self.check_action("keep", ()) is not False
        target.update(
            evidence_renderable(self.service.evidence(item), live=live, can_decide=can_decide)
        )
        self.query_one(
            "#review-evidence-pane"
        ).border_title = f"Evidence · item {item.position} of {len(self.items)}"

    def action_next_open(self) -> None:
        if self.items:
            self._advance()

    def _advance(self) -> None:
        """After a decision: the next undecided item, else stay."""
        table = self.query_one("#review-items", DataTable)
        n = len(self.items)
        for step in range(1, n + 1):
            row = (table.cursor_row + step) % n
            if not self.items[row].decision:
                table.move_cursor(row=row)
                return
        # "All decided: 1 item." reads right for one and for many ("All 1 items" did not).
        self.notify(f"All decided: {plural(n, 'item')}.", title="Review complete")

    def action_back(self) -> None:
        if self.campaign_id is not None and len(self.campaigns) > 1:
            self.campaigns = self.service.campaigns()
            self._show_picker()
            return
        self.app.pop_screen()

    # -- decisions -------------------------------------------------------------------

    def _decide(self, item: ReviewItem, decision: Decision, justification: str, **kw) -> None:
        try:
            self.service.decide(
                item.campaign_id,
                item.position,
                decision,
                justification,
                reviewer=self.session.operator,
                expected_version=item.version,
                **kw,
            )
        except (ReviewError, JournalError) as exc:
            self.notify(str(exc), title="Not recorded", severity="error", markup=False, timeout=10)
            self.reload()
            self._show_current()
            return
        except Exception as exc:  # queue refused (unknown provider, read-only…): fail closed
            # A catch-all on purpose: a revoke decision asks the provider plugin for its
            # revoke actions, and a plugin bug must not kill the UI.
            self.notify(f"Not recorded: {exc}", severity="error", markup=False, timeout=10)
            return
        self.reload()
        self._advance()
        self._show_current()

    def action_defer(self) -> None:
        item = self.current
        if item is not None:
            self._decide(item, Decision.DEFER, "")

    def action_keep(self) -> None:
        from pamtui.tui.screens.prompt import PromptScreen

        item = self.current
        if item is None:
            return

        def answered(text: str | None) -> None:
            if text is None:
                self.notify("Cancelled: nothing recorded.")
                return
            if not text.strip():
                self.notify("Keeping access needs a justification.", severity="warning")
                return
            self._decide(item, Decision.KEEP, text)

        title = join(
            Text("Keep the access of", style="bold"),
            safe(item.account_name, "bold", max_length=50),
            Text("— justification (journalled):"),
        )
        self.app.push_screen(PromptScreen(title), callback=answered)

    def action_revoke(self) -> None:
        from pamtui.tui.screens.prompt import PromptScreen

        item = self.current
        if item is None:
            return
        if self.session.inventory.synced_at is None:
            self.notify("Accounts are still loading; try again in a moment.", severity="warning")
            return
        view = self.session.inventory.get((item.provider, item.account_id))
        if view is None:
            self.notify(
                "That account is no longer reported by its provider: nothing to revoke.",
                severity="warning",
            )
            return

        def answered(text: str | None) -> None:
            if text is None:
                self.notify("Cancelled: nothing staged.")
                return
            # Staging asks for step-up when policy does (four eyes or not): the service checks.
            with_step_up(
                self,
                f"revoke {item.account_name}",
                lambda code: self._decide(item, Decision.REVOKE, text, view=view, code=code),
                cancelled="nothing staged",
            )

        title = join(
            Text("Revoke", style="bold"),
            safe(item.account_name, "bold", max_length=50),
            Text("— stages its whole revocation plan in the queue (run with pamtui queue run)."),
            Text("Justification (journalled; Enter stages, Esc cancels):"),
        )
        self.app.push_screen(PromptScreen(title), callback=answered)
