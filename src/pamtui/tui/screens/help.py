"""The ``?`` screen: every key of the screen below it, generated from its bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _key_label(binding: Binding) -> str:
    return binding.key_display or binding.key


def bindings_table(screen: Screen) -> Table:
    """Keys active on ``screen`` (app, screen and focused widget), deduplicated."""
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Action")
    table.add_column("Where", style="dim")
    seen: set[tuple[str, str]] = set()
    # pamtui's own keys (screen and app) first, then the focused pane's.
    ranked = sorted(
        screen.active_bindings.items(),
        key=lambda item: not isinstance(item[1].node, Screen | App),
    )
    for key, active in ranked:
        binding = active.binding
        if not binding.description or (key, binding.description) in seen:
            continue
        seen.add((key, binding.description))
        node = active.node
        where = (
            "everywhere"
            if isinstance(node, App)
            else ("this screen" if isinstance(node, Screen) else f"focused {type(node).__name__}")
        )
        what = binding.tooltip or binding.description
        table.add_row(Text(_key_label(binding)), Text(what), Text(where))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss", "Close", show=False, id="help.close3"),
    ]

    def __init__(self, table: Table, intro: str) -> None:
        super().__init__()
        self._table = table
        self._intro = intro

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-dialog"):
            yield Static(Text("pamtui keys", style="bold"))
            yield Static(Text(self._intro, style="dim"))
            yield Static(self._table)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
