"""Ask before quitting while work is under way (a revocation, a queue recovery).

Quitting then is safe (the queue re-drives an interrupted item on the next
start) but surprising: the operator sees it stop half way. So ``q`` asks.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuit(ModalScreen[bool]):
    """Dismisses with True (quit) or False (stay)."""

    DEFAULT_CSS = """
    ConfirmQuit {
        align: center middle;
    }

    ConfirmQuit #quit-dialog {
        width: 64;
        max-width: 95%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Quit", id="quit.yes"),
        Binding("n,escape", "answer(False)", "Stay", id="quit.no"),
    ]

    def __init__(self, what: str) -> None:
        super().__init__()
        self._what = what

    def compose(self) -> ComposeResult:
        with Vertical(id="quit-dialog"):
            yield Static(Text(f"{self._what} is still running.", style="bold"))
            yield Static(
                Text(
                    "Quit anyway? An interrupted revocation is verified and re-driven "
                    "the next time pamtui starts.\n\ny quits · n or esc stays"
                )
            )

    def action_answer(self, quit_: bool) -> None:
        self.dismiss(quit_)
