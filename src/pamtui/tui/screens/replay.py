"""The replay screen: a recorded SSH session played back inside the app.

The audit screen opens it only with a recording that passed its hash check
(``services.recordings.verified_recording``). The output goes to a VT100
emulator (``services.playback``), never to the real terminal, and the
emulator's cells are drawn as ``Text`` (``tui.widgets.terminal_view``): this
works where the app cannot hand the terminal over, as in the auditors'
read-only audit screen over SSH. Like ``pamtui sessions play``, a replay
writes nothing to the journal.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import ScrollableContainer
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Static

from pamtui.services.playback import Event, Playback, Recording, VirtualTerminal
from pamtui.tui.safe import join, safe
from pamtui.tui.widgets.terminal_view import TerminalView

SKIP_STEP = 32_768
"""Characters of output the jump to the end feeds the emulator between two looks at the keys."""


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:04.1f}"


class ReplayScreen(Screen[None]):
    DEFAULT_CSS = """
    ReplayScreen #replay-title {
        height: 1;
        padding: 0 1;
    }

    ReplayScreen #replay-terminal {
        background: $background;
    }

    ReplayScreen #replay-status {
        height: 1;
        background: $panel;
    }
    """

    BINDINGS = [
        Binding("space", "toggle_pause", "Pause/resume", id="replay.pause"),
        Binding("plus", "faster", "Faster", key_display="+", id="replay.faster"),
        Binding("minus", "slower", "Slower", key_display="-", id="replay.slower"),
        # priority: else End scrolls the pane when the recorded screen is larger than it.
        Binding(
            "G,end",
            "to_end",
            "To the end",
            id="replay.end",
            key_display="G",
            priority=True,
            tooltip="Show the end of the recording at once",
        ),
        Binding("escape", "close", "Close", id="replay.close"),
        Binding("q", "close", "Close", show=False, id="replay.close2"),
    ]

    def __init__(
        self,
        recording: Recording,
        *,
        session: str,
        operator: str,
        speed: float = 1.0,
        max_wait: float | None = 2.0,
    ) -> None:
        super().__init__()
        self.session = session
        self.operator = operator
        self.playback = Playback(recording, speed=speed, max_wait=max_wait)
        self.terminal = VirtualTerminal(recording.columns, recording.rows)
        self._timer: Timer | None = None
        self.skipping = False

    def compose(self) -> ComposeResult:
        yield Static(id="replay-title")
        with ScrollableContainer(id="replay-pane", classes="pane"):
            yield TerminalView(self.terminal, id="replay-terminal")
        yield Static(id="replay-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#replay-title", Static).update(
            join(
                Text("Replay of SSH session ", style="bold"),
                safe(self.session, "bold"),
                Text(" by "),
                safe(self.operator, "bold"),
                Text(" · its hash matches the journal", style="dim"),
                sep="",
            )
        )
        self.query_one("#replay-pane").border_title = "Recorded terminal"
        self.query_one("#replay-pane").focus()
        self._schedule()
        self._show_status()

    # -- the clock -------------------------------------------------------------

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        delay = self.playback.delay()
        if delay is not None and not self.playback.paused:
            # Never 0: a Textual timer of 0 s divides by its interval when stopped.
            self._timer = self.set_timer(max(delay, 0.001), self._tick)

    def _tick(self) -> None:
        self._timer = None
        self._show(self.playback.frame())
        self._schedule()

    def _show(self, batch: list[Event]) -> None:
        self.terminal.apply(batch)
        self.query_one(TerminalView).redraw()
        self._show_status()

    def _show_status(self) -> None:
        playback = self.playback
        if self.skipping:
            state = Text("⏩ skipping to the end", style="bold")
        elif playback.done:
            state = Text("■ end of recording", style="bold")
        elif playback.paused:
            state = Text("⏸ paused", style="bold yellow")
        else:
            state = Text("▶ playing", style="bold green")
        events = len(playback.recording.events)
        line = join(
            state,
            Text(f"speed {playback.speed:g}×"),
            Text(
                f"{_clock(playback.elapsed)} / {_clock(playback.recording.duration)}"
                f"  (event {playback.position}/{events})",
                style="dim",
            ),
            sep="  ·  ",
        )
        self.query_one("#replay-status", Static).update(line)

    # -- keys ------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        if self.playback.done or self.skipping:
            return
        self.playback.toggle_pause()
        self._schedule()
        self._show_status()

    def action_faster(self) -> None:
        self.playback.faster()
        if not self.skipping:
            self._schedule()
        self._show_status()

    def action_slower(self) -> None:
        self.playback.slower()
        if not self.skipping:
            self._schedule()
        self._show_status()

    def action_to_end(self) -> None:
        if self.skipping or self.playback.done:
            return
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.skipping = True
        self._skip_step()

    def _skip_step(self) -> None:
        if not self.is_attached:
            return  # closed meanwhile
        self.terminal.apply(self.playback.rest(SKIP_STEP))
        if self.playback.done:
            self.skipping = False
            self._show([])
        else:
            self._show_status()
            self.call_later(self._skip_step)  # after the keys and redraws waiting now

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self.app.pop_screen()
