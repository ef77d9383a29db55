"""The one door through which provider text enters the UI.

Textual parses ``[...]`` markup in plain strings handed to widgets (a name
like ``[@click=app.quit]x[/]`` would become a live action) and passes control
sequences to the terminal. Untrusted text is therefore cleaned of control
characters and wrapped in a ``rich.text.Text``, which widgets render
literally. Never build markup strings from provider data.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text

from pamtui.sanitize import clean

MAX_LENGTH = 200
"""Characters of a value kept by ``safe`` unless told otherwise."""


def safe(value: object, style: str | Style = "", *, max_length: int | None = MAX_LENGTH) -> Text:
    return Text(clean(value, max_length=max_length), style=style, no_wrap=True, end="")


def safe_width(value: object, *, max_length: int | None = MAX_LENGTH) -> int:
    """``safe(value, max_length=max_length).cell_len``, without building the Text."""
    return cell_len(clean(value, max_length=max_length))


def join(*parts: Text | str, sep: str = " ") -> Text:
    """Join Texts; bare strings are taken to be pamtui's own (trusted) words."""
    out = Text(end="", no_wrap=True)
    for n, part in enumerate(parts):
        if n:
            out.append(sep)
        out.append(part if isinstance(part, Text) else Text(part))
    return out
