"""The stream pane's line log draws what Textual's RichLog drew, without its imports."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import RichLog

from pamtui.tui.widgets.line_log import LineLog

LINES = [
    Text.assemble(("DENIED", "bold red"), " 203.0.113.9 GET /v1/keys"),
    Text("short"),
    Text("x" * 150, style="green"),
    Text("tab\tstop"),
]


class Both(App[None]):
    """A line log above a RichLog, each 6 rows high, written to alike."""

    CSS = "LineLog, RichLog { height: 6; }"

    def __init__(self, early: list[Text] | None = None) -> None:
        super().__init__()
        self.early = early or []

    def compose(self) -> ComposeResult:
        yield LineLog(max_lines=8, id="ours")
        yield RichLog(max_lines=8, id="textual")

    def on_mount(self) -> None:
        assert not self.query_one(LineLog)._size_known  # before the first layout
        if self.early:
            _write_both(self, self.early)


def _write_both(app: Both, texts: list[Text]) -> None:
    joined = Text("\n", end="", no_wrap=True).join(texts)
    app.query_one(LineLog).write(joined.copy())
    app.query_one(RichLog).write(joined.copy())


def _screen_of(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_lines_written_before_the_size_is_known_match_richlog():
    app = Both(early=LINES)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        ours, theirs = app.query_one(LineLog), app.query_one(RichLog)
        assert not ours._deferred and len(ours.lines) == len(LINES)
        assert [s.text for s in ours.lines] == [s.text for s in theirs.lines]
        assert [list(s) for s in ours.lines] == [list(s) for s in theirs.lines]  # same styles
        assert ours.virtual_size == theirs.virtual_size
        assert ours.virtual_size.width == 150  # the widest line, beyond the pane: scrolls
        assert _screen_of(ours) == _screen_of(theirs)


async def test_the_oldest_lines_go_past_max_lines_and_the_view_follows_the_end():
    app = Both()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        for i in range(12):
            _write_both(app, [Text(f"line {i}")])
        await pilot.pause()
        ours, theirs = app.query_one(LineLog), app.query_one(RichLog)
        assert [s.text.rstrip() for s in ours.lines] == [f"line {i}" for i in range(4, 12)]
        assert ours.scroll_offset.y > 0  # 8 lines in a pane shorter than that: at the end
        assert ours.scroll_offset == theirs.scroll_offset
        assert _screen_of(ours) == _screen_of(theirs)
        assert _screen_of(ours)[-1].rstrip() == "line 11"
        ours.clear()
        await pilot.pause()
        assert ours.lines == [] and ours.virtual_size.height == 0
        assert set(_screen_of(ours)) == {" " * ours.scrollable_content_region.width}
