"""The triage TUI as serve-ssh shows it to an operator: nothing that writes a file.

Over SSH the app runs as the service account, which owns the database, the
config and the keys file: the audit screen's **export** (a path the remote
operator types) and the command palette's **screenshot** would write files
there, so both are taken away, as on the auditor's screen (ssh/audit.py).
The operator's roles decide the rest (services/roles.py, tui/keymap.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import SystemCommand
from textual.screen import Screen

from pamtui.services.session import Session
from pamtui.ssh.audit import SshAuditScreen
from pamtui.tui import app as tui_app
from pamtui.tui.app import PamtuiApp


class SshPamtuiApp(PamtuiApp):
    # Textual resolves a relative CSS_PATH next to the subclass's module.
    CSS_PATH = str(Path(tui_app.__file__).with_name(str(PamtuiApp.CSS_PATH)))
    REMEMBERS_THEME = False  # a theme chosen over SSH writes no ui-settings.json
    # Twenty sessions share the service's cores and each redraw crosses the network:
    # the stream pane draws 4 times a second, not 10 (the newest lines either way).
    STREAM_FLUSH_SECONDS = 0.25

    def on_ready(self) -> None:
        """The header says who is signed in over SSH and with which roles."""
        actor = self.session.actor
        if actor is not None:
            mode = "read-only" if self.read_only else ", ".join(sorted(actor.roles))
            self.sub_title = f"{actor.name} ({mode}) via ssh"

    def action_open_audit(self) -> None:
        self.push_screen(SshAuditScreen(self.session.journal))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if "screenshot" not in command.title.lower():
                yield command

    def deliver_screenshot(self, *args, **kwargs) -> str | None:
        return None


def run_operator_app(session: Session) -> int:
    app = SshPamtuiApp(session)
    app.run()
    return app.return_code or 0
