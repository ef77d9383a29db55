"""The pamtui Textual application: wires services to the triage screen."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import App
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.theme import Theme
from textual.widgets import Static

from pamtui import heap
from pamtui.errors import PamtuiError
from pamtui.model import QueueState
from pamtui.sanitize import clean
from pamtui.services.cursors import CursorStore
from pamtui.services.inventory_snapshot import InventorySnapshots
from pamtui.services.journal import Journal, JournalError, VerifyReport
from pamtui.services.session import Session
from pamtui.services.stream import EventFeed, StreamProblem
from pamtui.services.ui_settings import save_theme, saved_theme
from pamtui.services.watch import StreamWatch
from pamtui.tui.base_app import BaseApp
from pamtui.tui.commands import PamtuiCommands
from pamtui.tui.screens.main import MainScreen
from pamtui.tui.session_marks import journal_session_end, journal_session_start
from pamtui.tui.shared_start import SharedStart, start_for
from pamtui.tui.throttle import Throttle
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.stream import StreamLog, format_rate

if TYPE_CHECKING:
    from pamtui.services.forward import ForwardLag
    from pamtui.services.health import ProviderStatus
    from pamtui.services.shared_stream import SharedFeed

    Feed = EventFeed | SharedFeed  # local providers, or the hub's shared store over SSH
# Screens other than the main one, the forwarder, provider health and the hub's
# stream are imported on first use: the first frame does not wait for them
# (benchmarks/bench_tui_start.py).

LOADING_REDRAW_INTERVAL = 1.0
"""Seconds between redraws of the accounts pane while providers are still answering."""
# What a worker meets when it finishes after the operator quit: drop the update.
_SCREEN_GONE = (NoMatches, LookupError)


class AuditApp(BaseApp):
    """``pamtui audit``: the journal review screen alone, read-only (fit for SSH)."""

    HELP_INTRO = (
        "j/k move, g/G newest/oldest entry, / searches (actor:, action:, since:, free text), "
        "w replays a recorded SSH session (on its start or end entry, after its hash check), "
        "Esc clears the search and never quits: q quits. Remap any key by its id in the "
        "config's [keys] table."
    )

    def __init__(
        self,
        journal: Journal,
        *,
        theme: str | None = None,
        keys: Mapping[str, str] | None = None,
        keys_source: Path | None = None,
    ) -> None:
        super().__init__(theme=theme, keys=keys, keys_source=keys_source)
        self.journal = journal

    async def on_mount(self) -> None:
        self.apply_themes()
        self.sub_title = "audit review (read-only)"
        from pamtui.tui.screens.audit import AuditScreen

        await self.push_screen(AuditScreen(self.journal, standalone=True))


class PamtuiApp(BaseApp):
    COMMANDS = App.COMMANDS | {PamtuiCommands}
    BINDINGS = [
        Binding(
            "P",
            "providers",
            "Providers",
            key_display="P",
            show=False,
            id="app.providers",
            tooltip="Each provider's health, and why a degraded one is degraded",
        ),
    ]

    def __init__(self, session: Session, *, theme: str | None = None, stream: bool = True) -> None:
        super().__init__(
            # --theme, else the one chosen last time (services/ui_settings.py), else [ui].
            theme=theme
            or (saved_theme() if self.REMEMBERS_THEME else None)
            or session.config.ui.theme
            or None,
            keys=session.config.keys,
            keys_source=session.config.source,
        )
        self.session = session
        self.read_only = session.read_only
        self._stream_enabled = stream
        self.stream_watch = StreamWatch(session.inventory)
        self.journal_check: VerifyReport | None = None
        self.cursors: CursorStore | None = (
            None if self.read_only or session.shared_stream else CursorStore.beside(session.db_path)
        )
        """Where each stream got to (a read-only session writes no file)."""
        self.stream_problems: dict[str, str] = {}
        """The last problem of each provider's stream, until it delivers again."""
        self.forward_lags: list[ForwardLag] = []
        """Each [[forward]] receiver's lag, from the background forwarder's last pass."""
        self._forward_stop = threading.Event()
        self._verifier: Journal | None = None
        self.snapshots = InventorySnapshots.for_session(session)
        self.start = start_for(self, self.snapshots)
        """The accounts pane from the last inventory snapshot until the providers answer,
        or (bastion mode) from the service's shared inventory."""

    # -- start-up ----------------------------------------------------------

    _theme_shown = ""
    """The theme on screen, so that only a change of it is saved."""
    REMEMBERS_THEME = True
    """False over SSH: the service account's files are no operator's to write."""
    STREAM_FLUSH_SECONDS = 0.1
    """How often the stream pane draws what arrived (slower over SSH: many sessions)."""

    def _remember_theme(self, theme: Theme) -> None:
        """A theme chosen in the palette (ours or Textual's picker) is used next time."""
        if theme.name == self._theme_shown or not self.REMEMBERS_THEME:
            return  # the start-up theme, announced after mount; or over SSH
        self._theme_shown = theme.name
        problem = save_theme(theme.name)
        if problem:
            self.notify(problem, severity="warning", markup=False)

    async def on_mount(self) -> None:
        self.apply_themes()
        self._theme_shown = self.theme
        self.theme_changed_signal.subscribe(self, self._remember_theme)
        mode = "read-only" if self.read_only else "operator"
        self.sub_title = f"{self.session.operator} ({mode})"
        self.set_interval(0.5, self._tick)

    def get_default_screen(self) -> MainScreen:
        """The triage screen is the app's first screen, not one pushed over Textual's.

        A pushed screen is composed, styled and drawn after an empty default
        screen has been: a quarter of the time to the first frame
        (benchmarks/bench_tui_start.py).
        """
        return MainScreen(first_rows=self._show_first_rows)

    def _show_first_rows(self) -> None:
        """As the main screen mounts: the last snapshot's accounts, so the first frame
        holds them before the providers answer; the rest waits for that frame (a start
        is judged by it), and panes exist before the workers use them."""
        self.start.show()
        self.call_after_refresh(self._after_first_frame)

    def on_load(self) -> None:
        heap.pause_for_start()  # `pamtui` paused it before its imports (pamtui/heap.py)

    def _after_first_frame(self) -> None:
        from pamtui.tui.screens.enrol import offer_enrolment  # rarely needed: not at import

        heap.start_done()
        # Built now, on the event loop, before any worker thread could race to build it.
        self.session.revocations  # noqa: B018 (a cached property: services/session.py)
        journal_session_start(self)
        offer_enrolment(self)  # first login with an admin's allowance: the QR code, once
        self.load_inventory()  # starts the stream once accounts are known
        self.verify_journal()
        self.forward_journal()

    @property
    def main(self) -> MainScreen:
        return self.get_screen_stack_main()

    def get_screen_stack_main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise LookupError("main screen is not mounted")

    @work(group="inventory", exclusive=True)
    async def load_inventory(self) -> None:
        if isinstance(self.start, SharedStart):  # bastion mode: the service syncs
            await self.start.follow(self._inventory_ready)
            return
        inventory = self.session.inventory
        answered: list[str] = []
        listed: list[str] = []

        def redraw() -> None:
            if self.start.showing:  # keep the complete snapshot; say who has answered
                with contextlib.suppress(*_SCREEN_GONE):
                    self.start.note(len(answered), len(self.session.providers))
                return
            # A big provider takes seconds: show what has come so far, and say what has not.
            reading = [name for name in listed if name not in answered]
            note = f"loading: {len(answered)}/{len(self.session.providers)} providers"
            if reading:
                note += f" · reading credentials: {', '.join(reading[-3:])}"
            with contextlib.suppress(*_SCREEN_GONE):
                self.main.show_accounts(inventory.shown_rows(), loading=note)

        # Re-indexing 100,000 rows costs a quarter of a second: not for every provider.
        throttle = Throttle(self, LOADING_REDRAW_INTERVAL, redraw)

        def changed(name: str, seen: list[str]) -> None:
            seen.append(name)
            if len(answered) < len(self.session.providers):  # else the final draw follows
                throttle.poke()

        try:
            views = await inventory.sync(
                lambda name: changed(name, answered),
                snapshot=False,
                on_accounts=lambda name: changed(name, listed),
            )
        finally:
            throttle.cancel()
        self.start.reconciled()
        try:
            self.main.show_accounts(views)
        except _SCREEN_GONE:
            return  # the operator quit while providers were still answering
        self.start.save(views)
        # Drift snapshots cost a second at 100k accounts: after the first frame.
        await inventory.snapshot()
        if self.session.people.sources:
            self.flag_people()
        self._inventory_ready()

    def _inventory_ready(self) -> None:
        """The accounts are known: recover the queue, follow the stream, say what is down."""
        self._tick()
        if not self.read_only:
            self.recover_queue()
        if self._stream_enabled:
            # After the sync: anomaly rules need to know whose owner has left.
            self.follow_stream()
        for health in self.session.inventory.health.values():
            if not health.ok:
                self.notify(
                    f"{health.name} is degraded: {health.reason}",
                    severity="error",
                    markup=False,
                    timeout=10,
                )

    @work(group="people-flags", exclusive=True)
    async def flag_people(self) -> None:
        """UNOWNED, MOVER and EXCESS in the accounts pane: correlate once the accounts are in."""
        from pamtui.services import people_flagging  # after the first frame: not at import

        with heap.long_lived():
            try:  # the correlation runs in a thread: keystrokes are not held up
                changed = await people_flagging.flag_people(self.session)
            except PamtuiError as exc:
                self.notify(f"People: {exc}", severity="warning", markup=False)
                return
        with contextlib.suppress(*_SCREEN_GONE):
            self.main.update_accounts(changed)  # not a reload of every row

    @work(group="recover", exclusive=True)
    async def recover_queue(self) -> None:
        """Re-drive what a crashed pamtui left executing; expire stale approvals."""
        queue = self.session.queue
        try:
            expired = queue.expire_approvals()
            outcomes = await queue.recover()
        except PamtuiError as exc:  # journal unavailable: say so, keep the UI up
            self.notify(f"Queue recovery failed: {exc}", severity="error", markup=False)
            return
        except Exception as exc:  # a catch-all on purpose: recovery runs unattended at
            # start-up and re-drives provider plugins; a bug there must not kill the UI
            self.notify(
                f"Queue recovery failed (internal error): {type(exc).__name__}: {exc}",
                severity="error",
                markup=False,
            )
            return
        if outcomes or expired:
            ok = sum(o.ok for o in outcomes)
            self.notify(
                f"Recovered {len(outcomes)} interrupted item(s), {ok} verified; "
                f"{len(expired)} approval(s) expired.",
                title="Queue",
            )
        with contextlib.suppress(*_SCREEN_GONE):
            self.main.refresh_queue()

    @work(group="stream", exclusive=True)
    async def follow_stream(self) -> None:
        from pamtui.services.shared_stream import session_feed

        providers = self.session.providers
        types = {name: str(getattr(p, "type", "")) for name, p in providers.items()}
        cursors = self.cursors
        if cursors is not None and cursors.problem:
            self.notify(cursors.problem, severity="warning", markup=False)
        since = cursors.since(types) if cursors else None
        feed = session_feed(self.session.shared_stream, providers, since, self.session.activity)
        try:
            log = self.main.query_one(StreamLog)
        except _SCREEN_GONE:
            return
        log.account_name = self._account_name
        try:
            # Thousands of short-lived events a second: see pamtui/heap.py.
            heap.settle()
            with heap.stream_thresholds():
                await self._follow(feed, log, types)
        finally:
            if cursors is not None:
                cursors.flush()

    async def _follow(self, feed: Feed, log: StreamLog, types: dict[str, str]) -> None:
        cursors = self.cursors
        async for item in feed.items():
            if isinstance(item, StreamProblem):
                self.stream_problems[item.provider] = item.message
                self.notify(
                    f"stream {item.provider}: {item.message}", severity="warning", markup=False
                )
                continue
            if self.stream_problems:
                self.stream_problems.pop(item.provider, None)
            log.push(item)
            if cursors is not None:
                # Shown, so not to be shown again after a restart.
                cursors.advance(item.provider, types.get(item.provider, ""), item.cursor)
            for view in self.stream_watch.observe(item):
                with contextlib.suppress(*_SCREEN_GONE):
                    self.main.update_account(view)

    @work(thread=True, exclusive=True, group="journal-forward")
    def forward_journal(self) -> None:
        """Send each new journal entry to the [[forward]] receivers until the app ends."""
        destinations = self.session.config.forward
        if self.read_only or not destinations:
            return
        from pamtui.services.forward import follow

        def passed(_results: object, lags: list[ForwardLag]) -> None:
            self.forward_lags = lags

        from pamtui.services.roles import RoleRefused

        actor = self.session.actor
        assert actor is not None  # a Session always has one after __post_init__
        # An actor without a role is refused by the service (and the refusal journalled).
        with contextlib.suppress(JournalError, RoleRefused):
            follow(
                self.session.db_path,
                destinations,
                self._forward_stop,
                actor=actor,
                on_pass=passed,
            )

    def busy(self) -> str:
        running = {w.group for w in self.workers if w.is_running}
        if "revoke" in running:
            return "A revocation"
        if "recover" in running:
            return "Queue recovery"
        return ""

    async def on_unmount(self) -> None:
        heap.start_done()  # closed before its first frame: collect again
        journal_session_end(self)
        self._forward_stop.set()
        verifier = self._verifier
        if verifier is not None:  # a chain check of a large journal: stop it, not wait
            verifier.conn.interrupt()
        heap.restore_thresholds()
        if self.cursors is not None:
            self.cursors.flush()
        # Providers may hold connections bound to this event loop: close them here.
        await self.session.aclose()

    def provider_statuses(self) -> list[ProviderStatus]:
        from pamtui.services.health import provider_statuses

        return provider_statuses(
            self.session.providers, self.session.inventory.health, self.stream_problems
        )

    def action_providers(self) -> None:
        from pamtui.tui.screens.providers import ProvidersScreen

        self.push_screen(ProvidersScreen(self.provider_statuses()))

    def _account_name(self, provider: str, account_id: str) -> str:
        # The pane's light row: no provider call, no file read (bastion mode), per line.
        with contextlib.suppress(*_SCREEN_GONE):
            row = self.main.query_one(AccountsTable).index.get((provider, account_id))
            return row.name if row else account_id
        return account_id

    # -- status bar ----------------------------------------------------------

    def _tick(self) -> None:
        # A timer may fire before the screen is mounted or while it is torn down.
        with contextlib.suppress(*_SCREEN_GONE):
            self._update_status()

    def _update_status(self) -> None:
        main = self.main
        main.refresh_queue()
        counts = self.session.queue.counts()
        degraded = [s.name for s in self.provider_statuses() if not s.ok]
        # Most important first: a narrow terminal cuts the right end (with "…"),
        # so the journal's state and degraded providers come before the rates.
        bar = Text(end="", no_wrap=True, overflow="ellipsis")
        bar.append(
            " RO " if self.read_only else " RW ", style="bold reverse" if self.read_only else "bold"
        )
        head = self.session.journal.head()
        bar.append(f"  journal #{head.seq if head else 0}")
        if self.journal_check is None:
            bar.append(" verifying…", style="dim")
        elif self.journal_check.ok:
            bar.append(" ✓ chain verified", style="green")
        elif self.journal_check.missing_archive:
            archive = clean(self.journal_check.missing_archive, max_length=40)
            bar.append(f" ✗ NOT VERIFIED: archive {archive} missing", style="bold red")
        else:
            bar.append(f" ✗ BROKEN at entry {self.journal_check.bad_seq}", style="bold red")
        if self.forward_lags:
            lag = max(item.lag for item in self.forward_lags)
            failing = any(item.last_error for item in self.forward_lags)
            bar.append(f"  fwd lag {lag}", style="bold red" if failing else "")
        bar.append("  providers ")
        if degraded:
            names = ", ".join(degraded[:2]) + ("…" if len(degraded) > 2 else "")
            bar.append(f"{len(degraded)} degraded: ", style="bold red")
            bar.append(clean(names, max_length=40), style="bold red")
            bar.append(" (shift+p)", style="dim")
        else:
            bar.append(f"{len(self.session.providers)} ok", style="green")
        bar.append("  queue ")
        bar.append(
            " ".join(f"{state}:{counts[state]}" for state in QueueState if counts.get(state))
            or "empty"
        )
        bar.append(f"  stream {format_rate(self.stream_watch.total.rate())}")
        main.query_one("#status-bar", Static).update(bar, layout=False)  # one line, always

    @work(thread=True, exclusive=True, group="journal-verify")
    def verify_journal(self) -> None:
        """Check the chain at start, on its own read-only connection (UI stays free)."""
        try:
            checker = Journal.open(self.session.journal.path, read_only=True)
            self._verifier = checker  # quitting interrupts it (on_unmount)
            try:
                report = checker.verify()
            finally:
                self._verifier = None
                checker.close()
        except (JournalError, sqlite3.OperationalError):  # interrupted: the app is quitting
            return
        self.journal_check = report
        self.call_from_thread(self._tick)  # show it now, not at the next tick
        if not report.ok:
            self.call_from_thread(
                self.notify,
                (
                    "The audit journal cannot be verified"
                    if report.missing_archive
                    else "The audit journal's chain is broken"
                )
                + f": {report.problem}",
                title="Journal",
                severity="error",
                markup=False,
                timeout=30,
            )

    def action_open_audit(self) -> None:
        from pamtui.tui.screens.audit import AuditScreen

        self.push_screen(AuditScreen(self.session.journal))


def run_app(session: Session, *, theme: str | None = None) -> int:
    app = PamtuiApp(session, theme=theme)
    app.run()
    return app.return_code or 0


def run_audit_app(
    journal: Journal,
    *,
    theme: str | None = None,
    keys: Mapping[str, str] | None = None,
    keys_source: Path | None = None,
) -> int:
    """``pamtui audit``; ``keys``: the config's [keys] table (the CLI passes it)."""
    app = AuditApp(journal, theme=theme, keys=keys, keys_source=keys_source)
    app.run()
    return app.return_code or 0
