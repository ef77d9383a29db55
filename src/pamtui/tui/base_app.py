"""What every pamtui app shares (the triage app, ``pamtui audit``, their SSH
variants): the stylesheet, themes, key map, quit and help."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from textual import events
from textual.app import App
from textual.binding import Binding
from textual.notifications import SeverityLevel

from pamtui import foreground
from pamtui.sanitize import clean
from pamtui.tui.keymap import KEY_MAP_SUMMARY, keymap_for
from pamtui.tui.keys import redirect_stray_key
from pamtui.tui.themes import discover_themes

DEFAULT_THEME = "pamtui-dark"


class BaseApp(App[int]):
    """What every pamtui app shares: CSS, themes, quit and help."""

    CSS_PATH = "pamtui.tcss"
    TITLE = "pamtui"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
    ]

    def __init__(
        self,
        *,
        theme: str | None = None,
        keys: Mapping[str, str] | None = None,
        keys_source: Path | None = None,
    ) -> None:
        super().__init__()
        self._requested_theme = theme or DEFAULT_THEME
        # The config's [keys] table over the shared key map (tui/keymap.py).
        keymap, self._keymap_problems = keymap_for(keys or {}, keys_source)
        if keymap:
            self.set_keymap(keymap)
        self._theme_problems = self._choose_theme()

    def busy(self) -> str:
        """What is running that quitting would interrupt ("" when nothing is)."""
        return ""

    async def action_quit(self) -> None:
        """``q`` (and ctrl+q): quits at once, or asks first while work is running."""
        what = self.busy()
        if not what:
            self.exit()
            return

        def answered(quit_: bool | None) -> None:
            if quit_:
                self.exit()

        from pamtui.tui.screens.quit import ConfirmQuit

        self.push_screen(ConfirmQuit(what), callback=answered)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):  # every key, before any widget stops it
            foreground.mark_typing()  # background threads give way (pamtui/foreground.py)
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        # Runs before App._on_key (the bindings): a burst typed after "/" is text.
        redirect_stray_key(self, event)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast goes through here: text that is not markup may be a provider's.

        Provider errors and stream problems arrive as ``markup=False`` messages;
        their control characters (an OSC 52 clipboard write, a title change) are
        made visible line by line, so a toast can never reach the terminal.
        """
        if not markup:
            message = "\n".join(clean(line, max_length=500) for line in message.split("\n"))
        super().notify(
            message,
            title=clean(title, max_length=80),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )

    def _choose_theme(self) -> list[str]:
        """Register pamtui's themes and set the one asked for; the problems, for toasts.

        Here, before any CSS is parsed: a theme set once the app runs (on mount)
        makes Textual parse and apply every stylesheet a second time, a sixth of
        the first frame (benchmarks/bench_tui_start.py).
        """
        themes, problems = discover_themes()
        for theme in themes:
            self.register_theme(theme)
        name: str | None = self._requested_theme
        if name not in self.available_themes:
            ours = ", ".join(sorted(theme.name for theme in themes))
            problems.append(
                f"unknown theme {self._requested_theme!r}, using {DEFAULT_THEME!r}"
                f" (themes besides Textual's own: {ours})"
            )
            name = DEFAULT_THEME if DEFAULT_THEME in self.available_themes else None
        if name is not None:
            self._set_start_theme(name)
        return problems

    def _set_start_theme(self, name: str) -> None:
        """What ``App.theme = name`` does, minus the stylesheet's re-parse (none is parsed yet)."""
        self.set_reactive(App.theme, name)
        self.stylesheet.set_variables(self.get_css_variables())
        dark = self.current_theme.dark
        self.set_class(dark, "-dark-mode", update=False)
        self.set_class(not dark, "-light-mode", update=False)
        self.set_class(True, f"-theme-{name}", update=False)
        self._refresh_truecolor_filter(self.ansi_theme)

    def apply_themes(self) -> None:
        """Once mounted: say what was wrong with the themes or the ``[keys]`` table."""
        for problem in [*self._theme_problems, *self._keymap_problems]:
            self.notify(problem, severity="warning", markup=False)

    HELP_INTRO = (
        "Tab moves between panes; Enter opens the selected row. "
        "Esc closes dialogs and clears filters. " + KEY_MAP_SUMMARY
    )

    def action_help(self) -> None:
        from pamtui.tui.screens.help import HelpScreen, bindings_table

        self.push_screen(HelpScreen(bindings_table(self.screen), self.HELP_INTRO))
