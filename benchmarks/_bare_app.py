"""A bare Textual app: the baseline every start-up figure is compared with.

It draws one line holding the word the start-up benchmarks wait for
(``ORPHAN``), in a header and a footer, and nothing else: what Textual itself
costs to import and paint its first frame on this machine. Run as a script
(``python benchmarks/_bare_app.py``) for tmux, or use ``BareApp`` headless.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class BareApp(App[None]):
    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("ORPHAN bare Textual app", id="marker")
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
