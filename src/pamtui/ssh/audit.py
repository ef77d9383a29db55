"""The child process ``pamtui serve-ssh`` runs for each session.

``python -m pamtui.ssh.audit --read-only --db DB [--config CFG] --operator NAME``

It is ``pamtui audit`` (the read-only review screen) with two more things
taken away, because over SSH it runs as the server's user, who owns the
journal: **export** (it writes a file at a path the remote reviewer types:
that could truncate the journal itself or overwrite a file such as
``~/.ssh/authorized_keys``) and the command palette's **screenshot** (it
writes files on the server). Copying a head with ctrl+y still works: OSC 52
goes to the reviewer's own terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import sys
import termios
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from textual import events
from textual.app import SystemCommand
from textual.screen import Screen

from pamtui import config as config_mod
from pamtui.services.journal import Journal, JournalError
from pamtui.tui import app as tui_app
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import AuditScreen

DISABLED_ACTIONS = frozenset({"export"})


class SshAuditScreen(AuditScreen):
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in DISABLED_ACTIONS:
            return False  # hidden from the footer and the help, and never run
        return super().check_action(action, parameters)

    def action_export(self) -> None:
        self.notify("Export is not available over SSH.", severity="warning")


class SshAuditApp(AuditApp):
    # Textual resolves a relative CSS_PATH next to the subclass's module.
    CSS_PATH = str(Path(tui_app.__file__).with_name(str(AuditApp.CSS_PATH)))

    def __init__(
        self,
        journal: Journal,
        *,
        operator: str,
        theme: str | None = None,
        keys: Mapping[str, str] | None = None,
        keys_source: Path | None = None,
    ) -> None:
        super().__init__(journal, theme=theme, keys=keys, keys_source=keys_source)
        self.operator = operator

    # Takes the event (Textual passes it by parameter count) to stop AuditApp's handler.
    async def on_mount(self, event: events.Mount) -> None:  # type: ignore[override]
        event.prevent_default()  # not AuditApp.on_mount too: it would push the plain screen
        self.apply_themes()
        self.sub_title = f"audit review (read-only) — {self.operator} via ssh"
        await self.push_screen(SshAuditScreen(self.journal, standalone=True))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            if "screenshot" not in command.title.lower():
                yield command

    def deliver_screenshot(self, *args, **kwargs) -> str | None:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    # A session leader (start_new_session) takes its terminal as controlling tty.
    with contextlib.suppress(OSError):
        fcntl.ioctl(sys.stdin.fileno(), termios.TIOCSCTTY, 0)
    parser = argparse.ArgumentParser(prog="pamtui-ssh-audit")
    parser.add_argument("--read-only", action="store_true", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--config")
    parser.add_argument("--operator", required=True)
    args = parser.parse_args(argv)
    try:
        theme, keys, source = None, None, None
        if args.config:
            loaded = config_mod.load(args.config)
            theme, keys, source = loaded.ui.theme or None, loaded.keys, loaded.source
        journal = Journal.open(args.db, read_only=True)
    except (JournalError, config_mod.ConfigError) as exc:
        print(f"pamtui: {exc}", file=sys.stderr)
        return 2
    try:
        app = SshAuditApp(
            journal, operator=args.operator, theme=theme, keys=keys, keys_source=source
        )
        app.run()
        return app.return_code or 0
    finally:
        journal.close()


if __name__ == "__main__":
    sys.exit(main())
