"""The shared corpus of hostile provider text.

Used by the sanitiser's unit tests, the TUI tests and the CLI tests: every
string here must be shown literally (no markup parsed, no action run) and with
no control character reaching the terminal.
"""

HOSTILE_STRINGS: tuple[str, ...] = (
    "[@click=app.quit]click-me[/]",  # a Textual action hidden in markup
    "[/x]closing-tag-crash",  # crashes a DataTable if parsed as markup
    "[bold red]fake-alert[/bold red]",
    "\x1b]0;pwned-title\x07title-change",  # OSC 0: set the terminal title
    "\x1b]52;c;ZXZpbA==\x07clipboard",  # OSC 52: write the clipboard
    "\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07",  # OSC 8 hyperlink
    "\x1b[2J\x1b[Hclear-screen",  # CSI: clear the screen
    "\x9b31mC1-CSI",  # a C1 control (8-bit CSI)
    "admin\u202egnp.exe",  # right-to-left override
    "zero\u200bwidth",  # hidden zero-width space
    "bell\x07and\x00nul",
    "new\nline\rreturn\ttab",
)
