"""Issue 15, the TUI: what the screen shows must be true and legible.

Each test reads what the terminal would show (rendered lines, not the
cells' data) at the sizes the issue tried: 120x40 and 80x24.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

from textual.widgets import Footer

from pamtui.journal import Journal
from pamtui.model import AccessEvent, RiskFlag, utcnow
from pamtui.services.rates import RateTable
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import JournalTable, entry_json
from pamtui.tui.screens.review import ReviewScreen
from pamtui.tui.widgets.accounts import RESORT_DELAY, AccountsTable
from pamtui.tui.widgets.credentials import CredentialsTable
from pamtui.tui.widgets.sparkline import StreamRates
from pamtui.tui.widgets.stream import StreamLog, format_event
from tests.fakes import StaticProvider
from tests.tui.test_tui import SIZE, account_names, make_app, select_account, settle


def line(widget, y: int) -> str:
    """What the terminal shows on row ``y`` of ``widget``."""
    return "".join(segment.text for segment in widget.render_line(y))


def flagged(app, name: str, *flags: RiskFlag):
    view = next(v for v in app.session.inventory.rows() if v.account.name == name)
    return dataclasses.replace(view, flags=frozenset(flags))


async def test_riskiest_first_stays_true_when_the_stream_flags_an_account(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert account_names(app)[0] == "bob"  # ORPHAN
        app.main.update_account(flagged(app, "carol", RiskFlag.ORPHANED, RiskFlag.ANOMALOUS))
        await pilot.pause(RESORT_DELAY + 0.2)
        assert account_names(app)[:2] == ["carol", "bob"]  # ORPHAN ANOMALY first


async def test_the_risk_column_is_never_cut(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        every = (RiskFlag.ORPHANED, RiskFlag.ANOMALOUS, RiskFlag.PRIVILEGED, RiskFlag.STALE)
        app.main.update_account(flagged(app, "bob", *every))
        await pilot.pause(RESORT_DELAY + 0.2)
        table = app.screen.query_one(AccountsTable)
        row = account_names(app).index("bob")
        assert "ORPHAN ANOMALY PRIV STALE" in line(table, row + 1)


async def test_the_credentials_pane_fits_its_columns_at_120(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        table = app.screen.query_one(CredentialsTable)
        header = line(table, 0)
        assert re.search(r"Label\s+Status\s+Used\s+Kind", header), header
        rows = [line(table, 1), line(table, 2)]
        assert any(re.search(r"bob-laptop\s+active\s+1d\s+PAT\b", r) for r in rows), rows


async def test_three_sparklines_whatever_the_account_names(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        rates = RateTable()
        names = ["svc-a-very-long-service-account-name-for-ci", "b", "c"]
        for n, name in enumerate(names):
            for second in range(100, 130):
                rates.add(("a-provider-with-a-long-name", name), second, 3 - n)
        # The screen redraws the sparklines from the stream's own table every 0.5 s:
        # give it these rates, or a redraw under load shows an empty table instead.
        log = app.screen.query_one(StreamLog)
        log.rates = rates
        log.account_name = lambda provider, account_id: account_id
        sparks = app.screen.query_one(StreamRates)
        sparks.show(rates, lambda key: key[1])
        await pilot.pause()
        shown = [line(sparks, y) for y in range(3)]
        assert [s.split("/s ")[1][:1] for s in shown] == ["s", "b", "c"], shown
        assert "…" in shown[0]


async def test_one_stream_rate_on_screen(db_path):
    # Events from an hour ago (a backfill): the title counted them by their
    # timestamps, the status bar by arrival: "28/s" beside "4532/s".
    then = utcnow() - timedelta(hours=1)
    events = [
        AccessEvent("static", then + timedelta(seconds=i / 10), "u2", "t-bob-1", "GET", "/", 200)
        for i in range(40)
    ]
    app = make_app(db_path, StaticProvider(events=events))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.3)
        assert app.screen.query_one(StreamLog).ingested == 40
        app.main._refresh_stream_meta()
        app._tick()
        title = str(app.screen.query_one("#stream-pane").border_title)
        bar = str(app.screen.query_one("#status-bar").render())
        title_rate = re.search(r"· ([\d,]+)/s", title).group(1)
        bar_rate = re.search(r"stream ([\d,]+)/s", bar).group(1)
        assert title_rate == bar_rate != "0", (title, bar)


# -- 80x24 ----------------------------------------------------------------------------


async def test_80x24_shows_the_chain_state_every_key_and_the_other_panes(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app._tick()
        await pilot.pause()
        assert "chain verified" in line(app.screen.query_one("#status-bar"), 0)
        footer = app.screen.query_one(Footer)
        keys = [k for k in footer.query("FooterKey") if k.display]
        assert keys and all(k.region.right <= 80 for k in keys), [(k.key, k.region) for k in keys]
        pane = app.screen.query_one("#accounts-pane")
        assert "[1 Accounts] 2 Credentials 3 Stream 4 Queue" in str(pane.border_subtitle)
        await pilot.press("3")
        await pilot.pause()
        stream = app.screen.query_one("#stream-pane")
        assert "1 Accounts 2 Credentials [3 Stream] 4 Queue" in str(stream.border_subtitle)


# -- the audit and review screens ------------------------------------------------------------


async def test_audit_subjects_fit_and_json_shows_text_as_written(db_path):
    journal = Journal.open(db_path)
    for i in range(30):
        journal.append(
            "alice",
            "revoked",
            provider="demo-git",
            subject=f"credential:t{i}",
            detail={"label": f"Revoke token t{i}…", "why": "right-to-left \u202e override"},
        )
    journal.close()
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(JournalTable)
        assert "credential:t29" in line(table, 1)
        shown = entry_json(table.selected).plain
        assert "Revoke token t29…" in shown and "\\u2026" not in shown
        assert "\u202e" not in shown and "\\u202e" in shown  # never a live control


async def test_the_review_screen_shows_its_decisions_at_120(db_path):
    from pamtui.services.review import ReviewService

    app = make_app(db_path, StaticProvider(hostile=True), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        service = ReviewService.for_session(app.session)
        service.start("all", app.session.inventory.rows(), actor="lead")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("d")  # defer the first item
        await pilot.pause()
        items = app.screen.query_one("#review-items")
        assert "Decision" in line(items, 0)
        assert any("defer" in line(items, y) for y in range(1, 4))


def test_the_callers_ip_is_not_pushed_out_by_a_long_path():
    # The tour's incident turns on 203.0.113.66; a long path cut it off at 120 columns.
    event = AccessEvent(
        "demo-git",
        utcnow(),
        "u9",
        "716008953",
        "GET",
        "/repos/acme-robotics/firmware/contents/" + "x" * 60,
        200,
        "203.0.113.66",
    )
    shown = format_event(event, "lucia-castillo-acme", "red", "yellow").plain
    pane = 68  # the stream pane's inner width at 120 columns
    assert "203.0.113.66" in shown[:pane], shown[:pane]
