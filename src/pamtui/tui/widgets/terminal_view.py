"""An emulated terminal's cells drawn as rich ``Text`` (the replay screen's picture).

Recorded output is untrusted: it reaches this module only as pyte's cells,
after the emulator has interpreted every control sequence. Each cell's
character is checked again (``pamtui.sanitize``) so that nothing a terminal
would act on, nor a bidi override, is drawn; and the picture is a ``Text``,
never a markup string, so ``[bold]`` in a recording is shown as typed.
"""

from __future__ import annotations

from functools import lru_cache

from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from pamtui.sanitize import is_clean
from pamtui.services.playback import VirtualTerminal

_ANSI = frozenset({"black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"})
_HEX = frozenset("0123456789abcdefABCDEF")
REPLACEMENT = "\ufffd"

_Key = tuple[str, str, bool, bool, bool, bool, bool]


def colour(name: str) -> str | None:
    """pyte's colour name (``red``, ``brightbrown``, ``ff8700``) as rich's; None for default."""
    bright = name.startswith("bright")
    base = name[len("bright") :] if bright else name
    base = "yellow" if base == "brown" else base
    if base in _ANSI:
        return f"bright_{base}" if bright else base
    if len(name) == 6 and set(name) <= _HEX:
        return f"#{name.lower()}"
    return None  # "default", or anything pyte did not mean as a colour


@lru_cache(maxsize=512)
def _style(key: _Key) -> Style:
    fg, bg, bold, italic, underline, strike, reverse = key
    return Style(
        color=colour(fg),
        bgcolor=colour(bg),
        bold=bold or None,
        italic=italic or None,
        underline=underline or None,
        strike=strike or None,
        reverse=reverse or None,
    )


def screen_text(terminal: VirtualTerminal) -> Text:
    """The terminal's screen, row by row, with its colours and the cursor in reverse."""
    cursor = terminal.cursor
    out = Text(no_wrap=True, overflow="crop", end="")
    for y, row in enumerate(terminal.cells()):
        if y:
            out.append("\n")
        run: list[str] = []
        run_key: _Key | None = None
        for x, cell in enumerate(row):
            if not cell.data:
                continue  # the second half of a wide character
            reverse = cell.reverse != (cursor == (x, y))
            key = (
                cell.fg,
                cell.bg,
                cell.bold,
                cell.italics,
                cell.underscore,
                cell.strikethrough,
                reverse,
            )
            if key != run_key and run:
                out.append("".join(run), _style(run_key) if run_key else None)
                run = []
            run_key = key
            run.append(cell.data if is_clean(cell.data) else REPLACEMENT)
        if run:
            out.append("".join(run), _style(run_key) if run_key else None)
    return out


class TerminalView(Static):
    """The replayed screen, exactly its recorded size (the pane around it scrolls)."""

    DEFAULT_CSS = """
    TerminalView { width: auto; height: auto; }
    """

    def __init__(self, terminal: VirtualTerminal, **kwargs) -> None:
        super().__init__(**kwargs)
        self.terminal = terminal

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        self.styles.width = self.terminal.columns
        self.styles.height = self.terminal.rows
        self.update(screen_text(self.terminal))
