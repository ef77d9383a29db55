"""A one-line question: returns the answer, or None on Esc."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class PromptScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    PromptScreen {
        align: center middle;
    }

    PromptScreen #prompt-dialog {
        width: 80;
        max-width: 95%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prompt.cancel")]

    def __init__(self, title: Text, value: str = "", *, password: bool = False) -> None:
        super().__init__()
        self._title = title
        self._value = value
        self._password = password

    def compose(self) -> ComposeResult:
        with Vertical(id="prompt-dialog"):
            yield Static(self._title)
            yield Input(self._value, id="prompt-input", password=self._password)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
