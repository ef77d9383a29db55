"""The ``?`` screen: every key of the screen below it, generated from its bindings."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _where(node: object) -> str:
    """Where a key works, in the operator's words (never a class name)."""
    if isinstance(node, App):
        return "everywhere"
    if isinstance(node, Screen):
        return "this screen"
    return getattr(node, "HELP_WHERE", "focused pane")


def bindings_table(screen: Screen) -> Table:
    """pamtui's keys active on ``screen`` (app, screen, focused widget), deduplicated.

    Only bindings with an id: they are pamtui's own, the ones ``[keys]`` can
    remap. Textual's built-ins (ctrl+c "Copy selected text", focus moves)
    have none and are left out.
    """
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("Key", style="bold", no_wrap=True)
    table.add_column("Action")
    table.add_column("Where", style="dim", no_wrap=True)
    table.add_column(Text("Id (for [keys])"), style="dim", no_wrap=True)  # not markup
    seen: set[str] = set()
    # pamtui's own keys (screen and app) first, then the focused pane's.
    ranked = sorted(
        screen.active_bindings.items(),
        key=lambda item: not isinstance(item[1].node, Screen | App),
    )
    for _key, active in ranked:
        binding = active.binding
        if not binding.id or not binding.description or binding.id in seen:
            continue
        seen.add(binding.id)
        keys = [b.key_display or b.key for _, a in ranked if (b := a.binding).id == binding.id]
        keys.sort(key=lambda k: len(k) > 1)  # the letter first: j/down, g/home
        what = binding.tooltip or binding.description
        table.add_row(
            Text("/".join(dict.fromkeys(keys))),
            Text(what),
            Text(_where(active.node)),
            Text(binding.id),
        )
    return table


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }

    HelpScreen #help-dialog {
        width: 120;
        max-width: 95%;
        height: 80%;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss", "Close", show=False, id="help.close3"),
        # The shared movement keys (same ids, so a [keys] remap moves them too):
        # the help's own summary says j/k/g/G work everywhere, and at 80x24 the
        # list does not fit. The arrows, Home and End the scroll view handles.
        Binding("j", "scroll('down')", "Down", show=False, id="table.down"),
        Binding("k", "scroll('up')", "Up", show=False, id="table.up"),
        Binding("g", "scroll('home')", "First row", show=False, id="table.first"),
        Binding("G", "scroll('end')", "Last row", show=False, id="table.last"),
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

    def action_scroll(self, where: str) -> None:
        scroll = self.query_one("#help-dialog", VerticalScroll)
        if where == "down":
            scroll.scroll_down(animate=False)
        elif where == "up":
            scroll.scroll_up(animate=False)
        elif where == "home":
            scroll.scroll_home(animate=False)
        else:
            scroll.scroll_end(animate=False)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(None)
