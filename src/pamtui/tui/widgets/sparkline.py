"""Per-account rate sparklines above the live stream: the busiest accounts now.

Redrawn on a timer from the stream's ``RateTable`` (never per event). Account
names are provider text and go through ``safe``; the rest is pamtui's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import Static

from pamtui.services.rates import RateTable
from pamtui.tui.safe import safe

BLOCKS = " ▁▂▃▄▅▆▇█"
SPARK_SECONDS = 30
ROWS = 3


def sparkline(values: Sequence[int], peak: int | None = None) -> str:
    """One block character per value, scaled to ``peak`` (default: the largest)."""
    top = max(values, default=0) if peak is None else peak
    if top <= 0:
        return BLOCKS[0] * len(values)
    last = len(BLOCKS) - 1
    out = []
    for v in values:
        if v <= 0:
            out.append(BLOCKS[0])
        else:
            out.append(BLOCKS[max(1, min(last, round(v / top * last)))])
    return "".join(out)


def rate_lines(
    rates: RateTable,
    name: Callable[[Any], str],  # the keys are the caller's (e.g. provider, account)
    *,
    rows: int = ROWS,
    seconds: int = SPARK_SECONDS,
) -> Text:
    """The ``rows`` busiest accounts over the last 10 s, each with its sparkline."""
    top = rates.top(rows, seconds=10)
    out = Text(end="", no_wrap=True, overflow="ellipsis")
    if not top:
        out.append("no events yet", style="dim")
        return out
    for n, (key, _) in enumerate(top):
        if n:
            out.append("\n")
        series = rates.series(key, seconds)
        out.append(sparkline(series), style="bold")
        out.append(f" {rates.rate(key, seconds=10):>7,.1f}/s ")
        out.append(safe(name(key), "bold", max_length=28))
        provider = key[0] if isinstance(key, tuple) else ""
        if provider:
            out.append(" ")
            out.append(safe(provider, "dim", max_length=14))
    return out


class StreamRates(Static):
    """The busiest accounts' rates over the last 30 seconds."""

    DEFAULT_CSS = """
    StreamRates {
        height: auto;
        max-height: 4;
        padding: 0 1;
        border-bottom: hkey $foreground 20%;
        /* One line per account: a long name is cut with "…", never wrapped
           (a wrapped label pushed the third sparkline out of the pane). */
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    _shown: Text | None = None

    def show(self, rates: RateTable, name: Callable[[Any], str]) -> None:
        """Redraw the lines; lay the screen out only when their number changes.

        Called twice a second: a layout each time (20-30 ms at 100,000
        accounts on a loaded machine) would land in the middle of the
        operator's typing in the accounts filter.
        """
        lines = rate_lines(rates, name)
        shown = self._shown
        if shown is not None and lines.plain == shown.plain and lines.spans == shown.spans:
            return  # nothing new (no events, or the same rates)
        relayout = shown is None or lines.plain.count("\n") != shown.plain.count("\n")
        self._shown = lines
        self.update(lines, layout=relayout)
