"""The providers screen (``P``): each provider's health, and why it is degraded."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from pamtui.services.health import ProviderStatus
from pamtui.tui.safe import safe


def _wrapping(text: Text) -> Text:
    # A provider's reason is the one long cell: wrap it rather than cut it off.
    text.no_wrap = False
    text.overflow = "fold"
    return text


def status_table(rows: Sequence[ProviderStatus]) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=True)
    table.add_column("Provider", no_wrap=True)
    table.add_column("Type", no_wrap=True)
    table.add_column("State", no_wrap=True)
    table.add_column("Accounts", justify="right")
    table.add_column("Creds", justify="right")
    table.add_column("Stream", no_wrap=True)
    table.add_column("Why", ratio=1)
    for row in rows:
        state = Text("ok", style="green") if row.ok else Text("DEGRADED", style="bold red")
        table.add_row(
            safe(row.name, max_length=40),
            safe(row.type, max_length=20),
            state,
            f"{row.accounts:,}",
            f"{row.credentials:,}",
            Text("problem" if row.stream not in ("live", "none") else row.stream, style="dim"),
            _wrapping(safe(row.reason, max_length=400)),
        )
    return table


class ProvidersScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ProvidersScreen {
        align: center middle;
    }

    ProvidersScreen #providers-dialog {
        width: 110;
        max-width: 95%;
        height: auto;
        max-height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="providers.close"),
        Binding("q", "dismiss", "Close", show=False, id="providers.close2"),
        Binding("P", "dismiss", "Close", show=False, id="providers.close3"),
    ]

    def __init__(self, rows: Sequence[ProviderStatus]) -> None:
        super().__init__()
        self._rows = list(rows)

    def compose(self) -> ComposeResult:
        degraded = sum(not r.ok for r in self._rows)
        summary = (
            f"{len(self._rows)} provider(s), {degraded} degraded"
            if degraded
            else (f"{len(self._rows)} provider(s), all ok")
        )
        with Vertical(id="providers-dialog"):
            yield Static(Text("Providers", style="bold"))
            yield Static(Text(summary, style="dim"))
            yield Static(status_table(self._rows), id="providers-table")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
