"""The triage screen: accounts, the selected account's credentials, the live
stream and the revocation queue, side by side."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Footer, Header, Input, ProgressBar, Static

from pamtui import heap
from pamtui.model import RiskFlag
from pamtui.sanitize import clean
from pamtui.services.account_rows import AccountRow
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.tui.keymap import role_allows
from pamtui.tui.screens.revoking import RevokeActions
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import AccountDetail, CredentialsTable
from pamtui.tui.widgets.filter_input import FilterInput
from pamtui.tui.widgets.queue import QueueTable
from pamtui.tui.widgets.sparkline import StreamRates
from pamtui.tui.widgets.stream import STATUS_FILTERS, StreamLog, describe

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp

COMPACT_WIDTH, COMPACT_HEIGHT = 100, 30
PANE_IDS = ("accounts-pane", "detail-pane", "stream-pane", "queue-pane")
MUTATING_ACTIONS = frozenset(
    {
        "revoke_credential",
        "revoke_account",
        "approve_item",
        "approve_and_run_item",
        "execute_item",
        "cancel_item",
        "edit_item",
        "start_review",
    }
)
FOCUS_MARK = "● focus"
PANE_NAMES = ("Accounts", "Credentials", "Stream", "Queue")


def pane_tabs(current: int) -> str:
    """``[1 Accounts] 2 Credentials 3 Stream 4 Queue · Tab``: the panes a small terminal hides."""
    tabs = [
        f"[{n + 1} {name}]" if n == current else f"{n + 1} {name}"
        for n, name in enumerate(PANE_NAMES)
    ]
    return " ".join(tabs) + " · Tab"


DETAIL_SETTLE = 0.12
"""Seconds of no filter keys before the credentials pane shows the new selection."""


class MainScreen(RevokeActions, Screen):
    BINDINGS = [
        # Footer labels are short so every key fits at 120 columns; the help screen
        # shows the tooltip, which says exactly what the key does.
        # priority: handled as the app reads it, before the next key of a burst is
        # routed, so "/lucia-castillo" reaches the box whole and in order (a key
        # still bubbling from the table could otherwise land after later ones).
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            priority=True,
            id="main.filter",
            tooltip="Filter accounts as you type: name, email, provider, status, flag; ~abc",
        ),
        Binding(
            "r",
            "revoke_credential",
            "Revoke",
            id="main.revoke_credential",
            tooltip="Revoke the credential selected in the credentials pane",
        ),
        Binding(
            "R",
            "revoke_account",
            "De-provision",
            key_display="R",
            id="main.revoke_account",
            tooltip="De-provision the account: every token, key and session, then the account",
        ),
        Binding(
            "p",
            "pause_stream",
            "Pause",
            id="main.pause",
            tooltip="Pause or resume the stream view (events keep arriving)",
        ),
        Binding(
            "f",
            "stream_account",
            "Follow",
            show=False,
            id="main.stream_account",
            tooltip="Stream: show only the selected account's events (again: everyone's)",
        ),
        Binding(
            "t",
            "stream_status",
            "Status",
            id="main.stream_status",
            # Not d: the shared key map keeps one meaning per letter (d defers in a review).
            tooltip="Stream: cycle the status filter: denied (401/403), errors, ok, all",
        ),
        Binding(
            "o",
            "stream_provider",
            "Origin",
            show=False,
            id="main.stream_provider",
            tooltip="Stream: cycle the provider filter through each provider, then all",
        ),
        Binding("a", "app.open_audit", "Audit", id="main.audit", tooltip="Open the audit journal"),
        Binding(
            "v",
            "open_review",
            "Review",
            show=False,
            id="main.review",
            tooltip="Access review: decide each account of a campaign (keep, revoke, defer)",
        ),
        Binding(
            "V",
            "start_review",
            "New review",
            key_display="V",
            show=False,
            priority=True,  # as "/": keys typed with it in one burst go to the dialog
            id="main.start_review",
            tooltip="Start an access review campaign (scope, due date), then open it",
        ),
        Binding(
            "ctrl+y",
            "copy",
            "Copy",
            id="main.copy",
            tooltip="Copy the selected value to the clipboard (OSC 52, works over SSH)",
        ),
        Binding(
            "D",
            "open_drift",
            "Drift",
            key_display="D",
            show=False,
            id="main.drift",
            tooltip="Inventory drift: new privileged accounts, grants, credentials, owners who left",
        ),
        Binding(
            "u",
            "open_people",
            "People",
            show=False,
            id="main.people",
            tooltip="People: everyone on the roster, their accounts everywhere; offboard one",
        ),
        Binding(
            "1", "focus_pane('accounts')", "Accounts pane", show=False, id="main.focus_accounts"
        ),
        Binding(
            "2",
            "focus_pane('credentials')",
            "Credentials pane",
            show=False,
            id="main.focus_credentials",
        ),
        Binding("3", "focus_pane('stream')", "Stream pane", show=False, id="main.focus_stream"),
        Binding("4", "focus_pane('queue')", "Queue pane", show=False, id="main.focus_queue"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="main.clear_filter"),
        Binding("tab", "next_pane(1)", "Next pane", show=False, id="main.next_pane"),
        Binding("shift+tab", "next_pane(-1)", "Previous pane", show=False, id="main.previous_pane"),
    ]
    _loading = ""
    """What the accounts pane title says is still loading (set by ``show_accounts``)."""
    _source = ""
    """Where the rows come from when it is not this session's own sync (bastion mode)."""

    def __init__(self, *, first_rows: Callable[[], object] | None = None) -> None:
        super().__init__()
        self._detail_timer: Timer | None = None
        self._first_rows = first_rows
        """Called as the screen mounts, so its first frame holds rows (the last snapshot)."""

    @property
    def accounts_loading(self) -> bool:
        """True while the accounts pane shows a sync still under way.

        Not ``loading``: that is Textual's reactive (it puts a loading indicator
        over the widget), which a read-only property here would hide.
        """
        return bool(self._loading)

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="accounts-pane", classes="pane"):
            yield FilterInput(
                placeholder="filter: name, email, provider, flag (orphaned, stale…)",
                id="accounts-filter",
                classes="hidden",
            )
            yield AccountsTable(id="accounts")
        with Vertical(id="detail-pane", classes="pane"):
            yield AccountDetail(id="detail")
        with Vertical(id="stream-pane", classes="pane"):
            yield StreamRates(id="stream-rates")
            yield StreamLog(id="stream")
        with Vertical(id="queue-pane", classes="pane"):
            yield ProgressBar(id="queue-progress", show_eta=False, classes="hidden")
            yield QueueTable(id="queue")
        yield Static(id="status-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#accounts-pane").border_title = "Accounts (loading…)"
        self.query_one("#detail-pane").border_title = "Credentials"
        self.query_one("#stream-pane").border_title = "Live access stream"
        self.query_one("#queue-pane").border_title = "Revocation queue"
        self.watch(self, "focused", self._mark_focus)
        self.query_one(AccountsTable).focus()
        flush_every = getattr(self.app, "STREAM_FLUSH_SECONDS", 0.1)
        self.set_interval(flush_every, self.query_one(StreamLog).flush)
        self.set_interval(0.5, self._refresh_stream_meta)
        self._refresh_stream_meta()
        if self._first_rows is not None:
            self._first_rows()

    _shown = False
    """Whether the screen has been shown (resumed) once."""

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        if not self._shown:
            # Its widgets were styled as they mounted, just before: Textual's restyle
            # of every one of them as the screen first shows is 6 ms of the first
            # frame (benchmarks/bench_tui_start.py). Later resumes (a dialog closed,
            # a theme changed meanwhile) restyle as Textual does.
            self._shown = True
            event.refresh_styles = False

    # -- focus: visible without colour too (NO_COLOR, monochrome terminals) ----

    def _mark_focus(self, focused: Widget | None) -> None:
        # Watching the reactive, not DescendantFocus: that event arrives before
        # Screen.focused changes, so the mark would lag one move behind.
        compact = self.has_class("compact")
        for n, pane in enumerate(self.query(".pane")):
            inside = focused is not None and (focused is pane or pane in focused.ancestors)
            if compact:
                # One pane on screen: say which, and that the others exist (1-4, Tab).
                pane.border_subtitle = Content(pane_tabs(n)) if inside else ""
            else:
                pane.border_subtitle = FOCUS_MARK if inside else ""
            pane.set_class(inside, "-shown")  # in compact mode, the one pane on screen

    # -- small terminals: one pane at a time --------------------------------------

    def on_resize(self, event) -> None:
        compact = event.size.width < COMPACT_WIDTH or event.size.height < COMPACT_HEIGHT
        if compact != self.has_class("compact"):
            self.set_class(compact, "compact")
            self._mark_focus(self.focused)
            # Every key in one line at 80 columns: less padding, no palette hint
            # (ctrl+p still opens it; the help screen lists it).
            footer = self.query_one(Footer)
            footer.compact = compact
            footer.show_command_palette = not compact

    def _pane_order(self) -> list[str]:
        return ["accounts", "credentials", "stream", "queue"]

    def _current_pane(self) -> str:
        focused = self.focused
        for name, pane_id in zip(self._pane_order(), PANE_IDS, strict=True):
            pane = self.query_one(f"#{pane_id}")
            if focused is not None and (focused is pane or pane in focused.ancestors):
                return name
        return "accounts"

    def action_next_pane(self, step: int = 1) -> None:
        order = self._pane_order()
        self.action_focus_pane(order[(order.index(self._current_pane()) + step) % len(order)])

    # -- read-only: one central check for every mutating binding -----------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False hides the binding from the footer and help, and it does not run.
        if action in ("filter", "start_review") and isinstance(self.focused, Input):
            return False  # a "/" or "V" typed into a box is text (priority bindings)
        if action in MUTATING_ACTIONS and not role_allows(self.app, action):
            return False  # a role sees only the keys it may use
        if action == "approve_and_run_item" and not role_allows(self.app, "execute_item"):
            return False  # Y runs too: an operator's act as well as an approver's
        return not (action in MUTATING_ACTIONS and getattr(self.app, "read_only", True))

    # -- data in -----------------------------------------------------------

    @property
    def session(self):
        return self.app.session

    def note_source(self, source: str) -> None:
        """Say in the pane title where the rows come from (the service's sync, and when)."""
        self._source = source
        self._update_accounts_title()

    def note_accounts(self, loading: str) -> None:
        """Change only what the pane title says is still coming (no reload of the rows)."""
        self._loading = loading
        self._update_accounts_title()

    def show_accounts(
        self,
        views: Sequence[AccountView | AccountRow],
        *,
        loading: str = "",
        announce: bool = True,
    ) -> None:
        """Show ``views``; ``loading``: what the pane title says is still coming.

        ``announce=False``: a refresh of rows already shown (no repeated notices).
        """
        table = self.query_one(AccountsTable)
        # 100,000 rows and their haystacks live until the next load: built without
        # collections and frozen, so no later full collection walks them (a late
        # keystroke otherwise; see pamtui/heap.py).
        with heap.long_lived():
            table.load(views)
        self._loading = loading
        self._update_accounts_title()
        selected = table.selected_key
        if selected is not None:  # say, its credentials have just been read
            self.query_one(AccountDetail).show(self.session.inventory.shown(selected))
        came_back = sum(RiskFlag.REGRESSED in view.flags for view in views)
        if came_back and announce and not loading:
            self.notify(
                f"{came_back} account(s) flagged CAME BACK: access pamtui revoked is there "
                "again (pamtui audit recheck). Filter with /regressed.",
                title="Recheck",
                severity="error",
                timeout=15,
            )

    def _update_accounts_title(self) -> None:
        table = self.query_one(AccountsTable)
        total = table.index.total  # while loading: provisional accounts too
        shown = table.shown
        suffix = f" {shown}/{total}" if shown != total else f" {total}"
        needle = self.query_one("#accounts-filter", Input).value.strip()
        if needle:
            # A Content object: the operator's filter text is never parsed as markup.
            suffix += f" · {needle}"
        if self._loading:
            suffix += f" · {self._loading}"
        if self._source:
            suffix += f" · {self._source}"
        self.query_one("#accounts-pane").border_title = Content(
            clean(f"Accounts{suffix}", max_length=160)
        )

    def update_accounts(self, views: Sequence[AccountView]) -> None:
        """Redraw many changed accounts at once (the roster's flags): one re-sort, no reload."""
        table = self.query_one(AccountsTable)
        table.update_views(views)
        selected = table.selected_key
        for view in views:
            if view.key == selected:
                self.query_one(AccountDetail).show(view)

    def update_account(self, view: AccountView) -> None:
        self.query_one(AccountsTable).update_view(view)
        if self.query_one(AccountsTable).selected_key == view.key:
            self.query_one(AccountDetail).show(view)

    def refresh_queue(self) -> None:
        self.query_one(QueueTable).load(self.session.queue.items(limit=200))

    @on(QueueTable.MarksChanged)
    def _marks_changed(self, message: QueueTable.MarksChanged) -> None:
        acts = "/".join(
            key
            for key, action in (
                ("y", "approve_item"),
                ("Y", "approve_and_run_item"),
                ("x", "execute_item"),
                ("c", "cancel_item"),
            )
            if self.check_action(action, ()) is not False  # read-only, roles: not offered
        )
        on_them = f" ({acts} act on them)" if acts else ""
        marked = f" · {message.count} marked{on_them}" if message.count else ""
        self.query_one("#queue-pane").border_title = f"Revocation queue{marked}"

    @on(AccountsTable.AccountSelected)
    def _account_selected(self, message: AccountsTable.AccountSelected) -> None:
        if isinstance(self.focused, Input):
            # Typing a filter moves the selection at each key: the credentials pane
            # follows once the keys pause, so a keystroke costs the table alone.
            if self._detail_timer is not None:
                self._detail_timer.stop()
            self._detail_timer = self.set_timer(DETAIL_SETTLE, self._show_selected)
            return
        self._show_selected()

    def _show_selected(self) -> None:
        self._detail_timer = None
        key = self.query_one(AccountsTable).selected_key
        # shown(): while a first sync runs, the account before its credentials.
        view = self.session.inventory.shown(key) if key else None
        self.query_one(AccountDetail).show(view)

    @on(AccountsTable.AccountOpened)
    def _account_opened(self, message: AccountsTable.AccountOpened) -> None:
        self.query_one(CredentialsTable).focus()

    # -- filter ------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#accounts-filter", Input)
        box.remove_class("hidden")
        # Focus now, not after a refresh (Widget.focus defers it): keys typed or
        # pasted in the same burst as "/" belong to the filter, never to a
        # shortcut ("/quinn" must not quit on its "q").
        self.set_focus(box)

    @on(Input.Changed, "#accounts-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        if event.value != event.input.value:
            # A burst (a paste, a fast typist): the box already holds later keys, and
            # their own Changed follows. Filter 100,000 rows once, for the last one.
            return
        self.query_one(AccountsTable).set_filter(event.value)
        self._update_accounts_title()

    @on(Input.Submitted, "#accounts-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        # The box hides; the pane title keeps showing the filter, / reopens it.
        event.input.add_class("hidden")
        self.query_one(AccountsTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#accounts-filter", Input)
        if not box.value and box.has_class("hidden"):
            return
        box.value = ""
        box.add_class("hidden")
        table = self.query_one(AccountsTable)
        table.set_filter("")
        if self.focused is box:  # a hidden box keeps no focus: keys are shortcuts again
            self.set_focus(table)
        self._update_accounts_title()
        self.query_one(AccountsTable).focus()

    def action_open_review(self) -> None:
        from pamtui.tui.screens.review import ReviewScreen

        self.app.push_screen(ReviewScreen())

    def action_start_review(self) -> None:
        from pamtui.tui.screens.review_start import start_review

        start_review(self, self.session, loading=self.accounts_loading)

    def action_copy(self) -> None:
        """The credential's id in the credentials pane, else the account's name."""
        credentials = self.query_one(CredentialsTable)
        credential = credentials.selected
        if self.focused is credentials and credential is not None:
            value = credential.id
        else:
            view = self._selected_view()
            if view is None:
                self.notify("Nothing selected to copy.", severity="warning")
                return
            value = view.account.name
        copy_value(self, value)

    def action_open_drift(self) -> None:
        from pamtui.tui.screens.drift import DriftScreen

        self.app.push_screen(DriftScreen(self.session.drift.store))

    def action_open_people(self) -> None:
        from pamtui.tui.screens.people import PeopleScreen

        self.app.push_screen(PeopleScreen())

    def action_focus_pane(self, pane: str) -> None:
        target = {
            "accounts": AccountsTable,
            "credentials": CredentialsTable,
            "stream": StreamLog,
            "queue": QueueTable,
        }[pane]
        self.query_one(target).focus()

    # -- stream ------------------------------------------------------------

    def action_pause_stream(self) -> None:
        log = self.query_one(StreamLog)
        log.paused = not log.paused
        self._update_stream_title()

    def action_denied_only(self) -> None:
        self.query_one(StreamLog).toggle(status="denied")
        self._update_stream_title()

    def action_stream_status(self) -> None:
        log = self.query_one(StreamLog)
        cycle = (*STATUS_FILTERS, None)
        current = log.filter.status
        following = cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else None
        log.update_filter(status=following)
        self._update_stream_title()

    def action_stream_provider(self) -> None:
        log = self.query_one(StreamLog)
        cycle = (*sorted(self.session.providers), None)
        current = log.filter.provider
        following = cycle[(cycle.index(current) + 1) % len(cycle)] if current in cycle else None
        log.update_filter(provider=following)
        self._update_stream_title()

    def action_stream_account(self, key: AccountKey | None = None) -> None:
        log = self.query_one(StreamLog)
        if key is None:
            if log.filter.account is not None:
                key = log.filter.account  # toggles off
            else:
                view = self._selected_view()
                if view is None:
                    self.notify("Select an account first.", severity="warning")
                    return
                key = view.key
        log.toggle(account=key)
        self._update_stream_title()

    def clear_stream_filter(self) -> None:
        self.query_one(StreamLog).update_filter(provider=None, account=None, status=None, text="")
        self._update_stream_title()

    def _refresh_stream_meta(self) -> None:
        log = self.query_one(StreamLog)
        self.query_one(StreamRates).show(log.rates, lambda key: log.account_name(*key))
        self._update_stream_title()

    def _update_stream_title(self) -> None:
        log = self.query_one(StreamLog)
        flt = log.filter
        label = clean(log.account_name(*flt.account), max_length=30) if flt.account else None
        # The status bar's rate (events received per second), not a second meaning.
        rate = cast("PamtuiApp", self.app).stream_watch.total.rate()
        parts = ["Live access stream", log.summary(rate)]
        if flt.active:
            parts.append(f"only {clean(describe(flt, label), max_length=80)}")
        # A Content object: account names and filter text are never parsed as markup.
        self.query_one("#stream-pane").border_title = Content(" · ".join(parts))

    # -- selection (the revocation keys are in screens/revoking.py) -------------

    def _selected_view(self) -> AccountView | None:
        """The selected account as shown (provisional while a first sync reads credentials)."""
        key = self.query_one(AccountsTable).selected_key
        return self.session.inventory.shown(key) if key else None


def copy_value(screen: Screen, value: str) -> None:
    """Copy provider text via OSC 52, with control characters made visible.

    A raw newline or escape in the clipboard would act when pasted into a shell.
    """
    text = clean(value, max_length=None)
    screen.app.copy_to_clipboard(text)
    note = " (control characters made visible)" if text != value else ""
    screen.notify(f"Copied {clean(text, max_length=80)}{note}", markup=False)
