"""The filter box and the rate lines do not lay out the screen when nothing moves.

A layout of the whole screen costs 20-30 ms at 100,000 accounts; typing in
the accounts filter used to cause one per keystroke (``Input`` grows its
virtual size by a cell), and the stream's rate lines caused one twice a
second even with no events. These tests watch the widgets' own requests for a
layout (not the clock) in a real Textual app.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from pamtui.services.rates import RateTable
from pamtui.tui.widgets.filter_input import FilterInput
from pamtui.tui.widgets.sparkline import StreamRates


def record_layouts(widget) -> list[bool]:
    """The ``layout`` argument of every later ``widget.refresh`` call."""
    calls: list[bool] = []
    refresh = widget.refresh

    def spy(*regions, layout: bool = False, **kwargs):
        calls.append(layout)
        return refresh(*regions, layout=layout, **kwargs)

    widget.refresh = spy
    return calls


class BoxApp(App[None]):
    def compose(self) -> ComposeResult:
        yield FilterInput(id="box")
        yield StreamRates(id="rates")


async def test_typing_in_the_filter_asks_for_no_layout_and_still_scrolls():
    app = BoxApp()
    async with app.run_test(size=(40, 10)) as pilot:
        box = app.query_one(FilterInput)
        box.focus()
        await pilot.pause()
        layouts = record_layouts(box)
        text = "lucia-castillo-and-a-much-longer-tail-than-the-box"
        for ch in text:
            await pilot.press(ch)
        await pilot.pause()
        assert box.value == text
        assert len(layouts) >= len(text), "the box repainted at every key"
        # No layout while the text fits; at most one when it first overflows
        # the box (its horizontal scrollbar state changes, as in any Input).
        assert not any(layouts[:20])
        assert sum(layouts) <= 1
        # The virtual size follows the text, so the box scrolls to keep the cursor seen.
        assert box.virtual_size.width == len(text) + 1
        assert box.scroll_x > 0
        await pilot.press("home")
        await pilot.pause()
        assert box.scroll_x == 0


async def test_rate_lines_relayout_only_when_their_number_changes():
    app = BoxApp()
    async with app.run_test(size=(80, 12)) as pilot:
        rates_widget = app.query_one(StreamRates)
        rates = RateTable()
        rates_widget.show(rates, str)  # "no events yet": one line
        await pilot.pause()
        layouts = record_layouts(rates_widget)

        rates_widget.show(rates, str)
        assert layouts == []  # nothing new: not even a repaint

        rates.add(("corp", "alice"), 100, 5)
        rates_widget.show(rates, lambda key: key[1])
        assert layouts == [False]  # one line still: repaint, no layout
        assert "alice" in rates_widget.render().plain

        rates.add(("corp", "bob"), 100, 3)
        rates_widget.show(rates, lambda key: key[1])
        assert layouts == [False, True]  # a second line: the pane grows
        assert "bob" in rates_widget.render().plain
