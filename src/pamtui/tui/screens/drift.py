"""The drift screen: what changed in the inventory, grouped by kind.

Opens on the changes each provider's latest sync found; ``s`` widens the
window to the last seven days, ``n`` keeps only access that grew (new
privileged accounts, grants, admin scopes, credentials, re-activations,
owners who left). Everything shown from providers goes through ``safe``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from pamtui.services.drift import KIND_LABEL, Change, SnapshotStore, group_by_kind, timestamp
from pamtui.tui.safe import safe
from pamtui.tui.widgets.table import KeyedDataTable

WIDE_WINDOW = timedelta(days=7)
LIMIT = 5000


class DriftScreen(Screen):
    DEFAULT_CSS = """
    DriftScreen #drift-summary { height: auto; padding: 0 1; }
    DriftScreen #drift-table { height: 1fr; }
    """

    BINDINGS = [
        # One meaning per key (tui/keymap.py): h for history; t cycles a filter,
        # as in the stream pane; s sorts and n goes to the next, elsewhere.
        Binding(
            "h",
            "toggle_window",
            "History",
            id="drift.window",
            tooltip="Switch between the latest sync and the last seven days",
        ),
        Binding(
            "t",
            "toggle_notable",
            "Notable",
            id="drift.notable",
            tooltip="Show only access that grew, or every change",
        ),
        Binding("escape", "back", "Back", id="drift.back"),
    ]

    def __init__(self, store: SnapshotStore, *, now: datetime | None = None) -> None:
        super().__init__()
        self.store = store
        self.now = now
        self.wide = False
        self.notable_only = False
        self.changes: list[Change] = []

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Static(id="drift-summary")
        yield KeyedDataTable(id="drift-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Change", "When (UTC)", "Provider", "Account", "What")
        self.load()

    @property
    def since(self) -> str | None:
        if not self.wide:
            return None
        return timestamp((self.now or datetime.now(UTC)) - WIDE_WINDOW)

    @work(thread=True, exclusive=True, group="drift-load")
    def load(self) -> None:
        changes = self.store.changes(since=self.since, notable_only=self.notable_only, limit=LIMIT)
        syncs = self.store.last_syncs()
        self.app.call_from_thread(self.show, changes, syncs)

    def show(self, changes: list[Change], syncs: dict[str, tuple[str, int, bool]]) -> None:
        self.changes = changes
        table = self.query_one(DataTable)
        table.clear()
        groups = group_by_kind(changes)
        warning = getattr(self.app.current_theme, "warning", None) or "yellow"
        for kind, items in groups.items():
            style = f"bold {warning}" if items[0].notable else "bold"
            label = Text(f"{KIND_LABEL.get(kind, kind)} ({len(items)})", style=style)
            for n, change in enumerate(items):
                table.add_row(
                    label if n == 0 else Text(""),
                    Text(change.ts[:16].replace("T", " ")),
                    safe(change.provider, max_length=30),
                    safe(change.account_name, max_length=50),
                    safe(change.summary, max_length=80),
                )
        window = "the last 7 days" if self.wide else "each provider's latest sync"
        summary = Text(no_wrap=True, end="")
        summary.append("Drift", style="bold")
        summary.append(f" in {window}")
        if self.notable_only:
            summary.append(" · access that grew only")
        summary.append(f": {len(changes)} change(s)")
        if len(changes) >= LIMIT:
            summary.append(f" (first {LIMIT}; use pamtui drift --json for all)", style="dim")
        if not syncs:
            summary.append("  · no snapshot yet: the first sync is the baseline", style="dim")
        else:
            baseline = [p for p, (_, _, b) in syncs.items() if b]
            if baseline:
                summary.append("  · baseline just taken for ", style="dim")
                summary.append_text(safe(", ".join(baseline), "dim", max_length=80))
        summary.append("   s: window  n: notable only  esc: back", style="dim")
        self.query_one("#drift-summary", Static).update(summary)

    def action_toggle_window(self) -> None:
        self.wide = not self.wide
        self.load()

    def action_toggle_notable(self) -> None:
        self.notable_only = not self.notable_only
        self.load()

    def action_back(self) -> None:
        self.app.pop_screen()
