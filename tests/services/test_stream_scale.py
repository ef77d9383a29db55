"""The live stream under load, driven by Pilot through the real feed.

A gated provider releases batches of synthetic events on demand, so each test
decides exactly what arrives and when: the buffers stay bounded however many
events go by, pause freezes the view while counting continues, filters (keys
and palette) narrow the view, the sparklines and rates follow the counts,
anomalies are highlighted, and hostile provider text stays inert.
"""

from __future__ import annotations

import asyncio
import gc
from datetime import UTC, datetime, timedelta

from textual.content import Content

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import AccessEvent
from pamtui.sanitize import is_clean
from pamtui.services.session import Session
from pamtui.services.stream import RECENT_PER_ACCOUNT
from pamtui.tui.app import PamtuiApp
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.sparkline import StreamRates, sparkline
from pamtui.tui.widgets.stream import MAX_LINES, MAX_LINES_PER_FLUSH, RECENT_EVENTS, StreamLog
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS
from tests.tui.test_tui import account_names, settle
from tests.tui.test_tui_commands import run_command

SIZE = (120, 40)
T0 = datetime(2026, 3, 2, 10, 0, 0, tzinfo=UTC)


class GatedProvider(StaticProvider):
    """A StaticProvider whose stream yields whatever batches the test releases."""

    def __init__(self, name: str = "alpha", **kwargs) -> None:
        super().__init__(name, **kwargs)
        self._batches: asyncio.Queue[list[AccessEvent]] = asyncio.Queue()
        self.sent = 0

    def release(self, events: list[AccessEvent]) -> int:
        self._batches.put_nowait(events)
        return len(events)

    async def stream_events(self, since: str | None = None):
        while True:
            batch = await self._batches.get()
            for n, event in enumerate(batch, 1):
                yield event
                self.sent += 1
                if n % 500 == 0:
                    await asyncio.sleep(0)


def events(
    provider: str,
    account: str,
    count: int,
    *,
    start: float = 0,
    per_second: float = 10,
    status: int = 200,
    ip: str = "198.51.100.7",
    path: str = "/v1/things",
    agent: str = "acme-sync/1.0",
) -> list[AccessEvent]:
    return [
        AccessEvent(
            provider,
            T0 + timedelta(seconds=start + i / per_second),
            account,
            f"t-{account}",
            "GET",
            f"{path}/{i}" if "{" not in path else path,
            status,
            ip,
            agent,
        )
        for i in range(count)
    ]


def make_app(db_path, *providers: StaticProvider) -> PamtuiApp:
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {p.name: p for p in providers},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    return PamtuiApp(session)


async def ingest(pilot, log: StreamLog, total: int, *, flush: bool = True) -> None:
    """Let the feed run until ``total`` events have reached the pane (bounded polling)."""
    for _ in range(600):
        if log.ingested >= total:
            break
        await pilot.pause(0.02)
    assert log.ingested == total
    if flush:
        log.flush()
        await pilot.pause()


def shown_text(log: StreamLog) -> list[str]:
    """The event lines on the pane (not the "⋯ N earlier events not drawn" notes)."""
    return [strip.text for strip in log.lines if not strip.text.startswith("⋯")]


async def test_a_large_stream_keeps_every_buffer_bounded(db_path):
    thresholds = gc.get_threshold()
    alpha, beta = GatedProvider("alpha"), GatedProvider("beta")
    app = make_app(db_path, alpha, beta)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        total = 0
        for round_ in range(5):  # 60,000 events, a minute of event time per round
            start = round_ * 60
            total += alpha.release(events("alpha", "u1", 6_000, start=start, per_second=100))
            total += beta.release(events("beta", "u2", 6_000, start=start, per_second=100))
            await ingest(pilot, log, total)
            assert len(log.lines) <= MAX_LINES
            assert len(log._recent) <= RECENT_EVENTS
        assert alpha.sent + beta.sent == total == 60_000
        assert log.shown + log.skipped <= total
        assert log.shown >= MAX_LINES_PER_FLUSH  # something was drawn every round
        assert len(log.rates) == 2
        assert len(log.flags) == 2
        # The stream's own counter in the app saw every event too.
        assert sum(app.stream_watch.per_account.values()) == total
        # The session's recent activity kept each account's newest events, and only those.
        activity = app.session.activity
        assert len(activity) == 2 * RECENT_PER_ACCOUNT
        assert activity.recent(("beta", "u2"), 1)[0].path == "/v1/things/5999"
        assert gc.get_freeze_count() > 0  # the sync froze what it built (pamtui.heap)
        assert gc.get_threshold()[0] >= 5_000  # the app raised it for the stream
    assert gc.get_freeze_count() == 0  # the session thawed it when it closed
    assert gc.get_threshold() == thresholds


async def test_pause_freezes_the_view_while_ingestion_continues(db_path):
    alpha = GatedProvider("alpha")
    app = make_app(db_path, alpha)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        total = alpha.release(events("alpha", "u1", 50, path="/before"))
        await ingest(pilot, log, total)
        await pilot.press("p")
        assert log.paused
        frozen = shown_text(log)
        shown = log.shown
        assert "PAUSED" in str(app.screen.query_one("#stream-pane").border_title)

        total += alpha.release(events("alpha", "u1", 20_000, start=10, path="/during"))
        await ingest(pilot, log, total)
        await pilot.pause(0.25)  # several flush ticks go by
        assert log.ingested == 20_050  # counting never stopped
        assert shown_text(log) == frozen  # the view did not move
        assert log.shown == shown
        app.screen._refresh_stream_meta()
        assert "20,000 new" in str(app.screen.query_one("#stream-pane").border_title)

        await pilot.press("p")
        assert not log.paused
        log.flush()
        await pilot.pause()
        assert "/during/19999" in shown_text(log)[-1]  # the newest, at once
        assert log.skipped > 0  # the rest is summarised, not drawn line by line


async def test_filters_by_status_provider_and_account(db_path):
    alpha, beta = GatedProvider("alpha"), GatedProvider("beta")
    app = make_app(db_path, alpha, beta)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        total = alpha.release(events("alpha", "u1", 30, path="/alpha-ok"))
        total += alpha.release(events("alpha", "u3", 5, start=5, status=403, path="/alpha-no"))
        total += alpha.release(events("alpha", "u3", 5, start=6, status=500, path="/alpha-err"))
        total += beta.release(events("beta", "u2", 30, path="/beta-ok"))
        await ingest(pilot, log, total)

        def paths() -> set[str]:
            # The path is the first word starting with "/" (the source IP comes before it).
            return {
                next(w for w in line.split() if w.startswith("/")).rsplit("/", 1)[0]
                for line in shown_text(log)
            }

        assert paths() == {"/alpha-ok", "/alpha-no", "/alpha-err", "/beta-ok"}
        await pilot.press("t")  # status: denied
        assert paths() == {"/alpha-no"}
        await pilot.press("t")  # errors
        assert paths() == {"/alpha-no", "/alpha-err"}
        await pilot.press("t")  # ok
        assert paths() == {"/alpha-ok", "/beta-ok"}
        await pilot.press("t")  # all again
        assert not log.filter.active

        await pilot.press("o")  # provider alpha
        assert paths() == {"/alpha-ok", "/alpha-no", "/alpha-err"}
        await pilot.press("o")  # beta
        assert paths() == {"/beta-ok"}
        await pilot.press("o")  # all
        assert len(paths()) == 4

        # Follow the selected account (carol is u3 on alpha).
        table = app.screen.query_one(AccountsTable)
        table.focus()
        table.move_cursor(row=account_names(app).index("carol"))
        await pilot.pause()
        await pilot.press("f")
        assert log.filter.account == ("alpha", "u3")
        assert paths() == {"/alpha-no", "/alpha-err"}
        assert "account carol" in str(app.screen.query_one("#stream-pane").border_title)
        # New events are filtered as they arrive, too.
        total += alpha.release(events("alpha", "u1", 3, start=20, path="/late-other"))
        total += alpha.release(events("alpha", "u3", 3, start=20, path="/late-carol"))
        await ingest(pilot, log, total)
        assert paths() == {"/alpha-no", "/alpha-err", "/late-carol"}
        await pilot.press("f")
        assert log.filter.account is None

        # The palette offers the same filters.
        await run_command(app, pilot, "Stream: only the selected account")
        assert log.filter.account == ("alpha", "u3")
        await run_command(app, pilot, "Stream: show everything")
        assert log.filter.account is None
        await run_command(app, pilot, "Stream: only provider beta")
        assert log.filter.provider == "beta"
        await run_command(app, pilot, "Stream: only errors")
        assert log.filter.status == "errors"
        assert paths() == set()
        await run_command(app, pilot, "Stream: show everything")
        assert not log.filter.active
        assert "/late-other" in paths()


async def test_rates_and_sparklines_follow_the_counts(db_path):
    alpha = GatedProvider("alpha")
    app = make_app(db_path, alpha)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        # Ten seconds: alice 40/s, bob 4/s, then alice's last second jumps to 80.
        total = alpha.release(events("alpha", "u1", 400, per_second=40))
        total += alpha.release(events("alpha", "u2", 40, per_second=4))
        await ingest(pilot, log, total)
        assert log.rates.rate(("alpha", "u1"), seconds=10) == 40.0
        assert log.rates.rate(("alpha", "u2"), seconds=10) == 4.0
        assert log.rates.top(2) == [(("alpha", "u1"), 400), (("alpha", "u2"), 40)]
        app.screen._refresh_stream_meta()
        await pilot.pause()
        rates = app.screen.query_one(StreamRates)
        lines = rates.render().plain.splitlines()
        assert "alice" in lines[0] and "40.0/s" in lines[0]
        assert "bob" in lines[1] and "4.0/s" in lines[1]
        assert lines[0].startswith(sparkline(log.rates.series(("alpha", "u1"), 30)))
        assert "/s" in str(app.screen.query_one("#stream-pane").border_title)
    assert sparkline([0, 1, 2, 4, 8]) == " ▁▂▄█"
    assert sparkline([0, 0]) == "  "


async def test_spike_denied_burst_and_new_ip_are_highlighted(db_path):
    alpha = GatedProvider("alpha")
    app = make_app(db_path, alpha)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        # A minute of alice at 2/s, then 60 calls in one second.
        total = alpha.release(events("alpha", "u1", 120, per_second=2, path="/calm"))
        total += alpha.release(events("alpha", "u1", 60, start=60, per_second=100, path="/spike"))
        # bob: twelve denied calls within twelve seconds.
        total += alpha.release(
            events("alpha", "u2", 12, start=61, per_second=1, status=403, path="/denied")
        )
        # carol: her usual IP, then one never seen before.
        total += alpha.release(events("alpha", "u3", 5, start=61, path="/usual"))
        total += alpha.release(
            events("alpha", "u3", 1, start=75, ip="203.0.113.250", path="/strange")
        )
        await ingest(pilot, log, total)
        await pilot.press("3")  # the stream pane, for a look

        def marked(account: str, mark: str) -> list[str]:
            # One tick draws only the newest lines; following the account redraws its own.
            log.toggle(account=("alpha", account))
            lines = [line for line in shown_text(log) if mark in line]
            log.toggle(account=("alpha", account))
            return lines

        spikes = marked("u1", "▲SPIKE")
        assert len(spikes) == 1 and "alice" in spikes[0] and "/spike/19" in spikes[0]
        bursts = marked("u2", "✖BURST")
        assert len(bursts) == 3  # the 10th, 11th and 12th denied call
        assert all("bob" in line and "/denied" in line for line in bursts)
        new_ips = marked("u3", "★NEW-IP")
        assert len(new_ips) == 1 and "203.0.113.250" in new_ips[0] and "carol" in new_ips[0]
        assert not any(mark in line for line in marked("u1", "") for mark in ("✖", "★"))
        assert log.flagged == 5
        assert log.flags.counts == {"spike": 1, "burst": 3, "new-ip": 1}


async def test_hostile_user_agents_paths_and_names_stay_inert(db_path):
    alpha = GatedProvider("alpha", hostile=True)
    app = make_app(db_path, alpha)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        total = 0
        for n, text in enumerate(HOSTILE_STRINGS):
            total += alpha.release(
                events("alpha", f"h{n}", 3, start=n, path=text, agent=text, ip=text)
            )
        await ingest(pilot, log, total)
        lines = shown_text(log)
        assert len(lines) == total
        assert all(is_clean(line) for line in lines)
        assert any("[@click=app.quit]click-me[/]" in line for line in lines)
        assert any("[bold red]fake-alert[/bold red]" in line for line in lines)
        # Sparkline rows show hostile account names literally, clean.
        app.screen._refresh_stream_meta()
        await pilot.pause()
        rendered = app.screen.query_one(StreamRates).render().plain
        assert is_clean(rendered.replace("\n", ""))
        # Following a hostile account puts its name in the pane title, literally.
        log.toggle(account=("alpha", "h0"))
        app.screen._update_stream_title()
        # border_title gives the title back as escaped markup: what is drawn is literal.
        title = Content.from_markup(app.screen.query_one("#stream-pane").border_title).plain
        assert "[@click=app.quit]click-me[/]" in title
        await pilot.click(StreamLog, offset=(10, 2))
        await pilot.click("#stream-pane", offset=(20, 0))  # the title itself
        await pilot.pause()
        assert app.is_running
