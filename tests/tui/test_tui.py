"""Pilot tests of the triage screen on the deterministic static provider."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import AccessEvent, QueueState, utcnow
from pamtui.sanitize import clean, is_clean
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.confirm import ConfirmRevoke
from pamtui.tui.screens.help import HelpScreen
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import CredentialsTable
from pamtui.tui.widgets.queue import QueueTable
from pamtui.tui.widgets.stream import StreamLog
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS

SIZE = (120, 40)


def make_app(
    db_path, provider: StaticProvider, *, read_only: bool = False, stream: bool = True
) -> PamtuiApp:
    journal = Journal.open(db_path, read_only=read_only and db_path.exists())
    session = Session(
        demo_config(),
        journal,
        {provider.name: provider},
        read_only=read_only,
        db_path=db_path,
        operator="tester",
    )
    return PamtuiApp(session, stream=stream)


async def settle(app: PamtuiApp, pilot) -> None:
    """Wait for the finite workers (sync, revocations); the stream never ends."""
    await pilot.pause()
    finite = [w for w in app.workers if w.group != "stream"]
    if finite:  # an empty list would mean "all workers", the endless stream included
        await app.workers.wait_for_complete(finite)
    await pilot.pause(0.1)


def account_names(app: PamtuiApp) -> list[str]:
    table = app.screen.query_one(AccountsTable)
    return [table.get_row_at(i)[0].plain for i in range(table.row_count)]


async def select_account(app, pilot, name: str) -> None:
    table = app.screen.query_one(AccountsTable)
    table.focus()
    table.move_cursor(row=account_names(app).index(name))
    await pilot.pause()


async def test_main_screen_shows_accounts_riskiest_first(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        names = account_names(app)
        assert names[0] == "bob"  # the orphaned account leads
        assert set(names) == {"alice", "bob", "carol", "svc-backup"}
        risk = {
            name: app.screen.query_one(AccountsTable).get_row_at(i)[1].plain
            for i, name in enumerate(names)
        }
        assert "ORPHAN" in risk["bob"] and "PRIV" in risk["alice"] and "STALE" in risk["carol"]
        assert app.screen.query_one(QueueTable).row_count == 0


async def test_revoke_a_credential_end_to_end(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("enter")  # opens the credentials pane
        assert app.focused is app.screen.query_one(CredentialsTable)
        credentials = app.screen.query_one(CredentialsTable)
        assert credentials.selected.id == "t-bob-1"
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRevoke)
        await pilot.press("enter")  # an empty reason is refused
        assert isinstance(app.screen, ConfirmRevoke)
        await pilot.press(*"leaked in INC-42", "enter")
        await settle(app, pilot)
        assert provider.revoke_calls == [("revoke_token", "t-bob-1")]
        queue = app.screen.query_one(QueueTable)
        assert queue.row_count == 1
        assert queue.get_row_at(0)[2].plain == "verified"
        statuses = {c.id: c.status for c in credentials._credentials}
        assert statuses["t-bob-1"] == "revoked"
        # The account's row was updated in place, cells still under their headers.
        accounts = app.screen.query_one(AccountsTable)
        row = [cell.plain for cell in accounts.get_row_at(account_names(app).index("bob"))]
        assert row[0] == "bob" and "ORPHAN" in row[1] and row[2] == "1" and row[3] == "static"
    journal = Journal.open(db_path, read_only=True)
    actions = [(e.action, e.actor) for e in journal.entries(newest_first=False)]
    assert actions == [
        ("session_start", "tester"),
        ("stage", "tester"),
        ("approve", "tester"),
        ("execute", "tester"),
        ("revoked", "tester"),
        ("verified", "tester"),
        ("session_end", "tester"),  # quitting closes the session in the journal
    ]
    assert journal.entries(limit=2)[1].subject == "credential:t-bob-1"
    assert journal.verify().ok


async def test_de_provision_an_account_runs_the_whole_plan(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRevoke)
        await pilot.press(*"left the company", "enter")
        await settle(app, pilot)
        assert [name for name, _ in provider.revoke_calls] == [
            "revoke_token",
            "revoke_token",
            "deactivate_account",
        ]
        states = {app.session.queue.get(i).state for i in (1, 2, 3)}
        assert states == {QueueState.VERIFIED}


async def test_r_outside_the_credentials_pane_only_moves_focus(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmRevoke)
        assert app.focused is app.screen.query_one(CredentialsTable)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRevoke)


async def test_cancel_stages_nothing(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("escape")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmRevoke)
        assert app.session.queue.items() == []
        assert provider.revoke_calls == []


async def test_read_only_has_no_revoke(db_path):
    Journal.open(db_path).close()
    provider = StaticProvider()
    app = make_app(db_path, provider, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("enter", "r", "R")
        await settle(app, pilot)
        assert not isinstance(app.screen, ConfirmRevoke)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not {"revoke_credential", "revoke_account"} & shown
        assert provider.revoke_calls == []


async def test_filter_as_you_type(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"orphan")
        await pilot.pause()
        assert account_names(app) == ["bob"]
        title = app.screen.query_one("#accounts-pane").border_title
        assert "1/4 · orphan" in str(title)
        await pilot.press("enter")  # the box hides, the filter stays
        await pilot.pause()
        assert app.screen.query_one("#accounts-filter").has_class("hidden")
        assert account_names(app) == ["bob"]
        assert app.focused is app.screen.query_one(AccountsTable)
        await pilot.press("escape")
        await pilot.pause()
        assert len(account_names(app)) == 4


async def test_help_lists_the_keys(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        table = app.screen._table
        keys = [cell.plain for cell in table.columns[0]._cells]
        assert {"r", "R", "/", "q", "?", "a"} <= set(keys)
        assert {"j/down", "k/up", "g/home", "G/end"} <= set(keys)  # the shared table keys
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


async def test_hostile_names_render_literally_and_clicks_do_nothing(db_path):
    app = make_app(db_path, StaticProvider(hostile=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.screen.query_one(AccountsTable)
        cells = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert all(isinstance(c, Text) for c in cells)
        shown = {c.plain for c in cells}
        for text in HOSTILE_STRINGS:
            assert clean(text, max_length=28) in shown
        assert all(is_clean(s) for s in shown)
        # Clicking the row whose name is "[@click=app.quit]..." must not quit.
        row = account_names(app).index(clean(HOSTILE_STRINGS[0], max_length=28))
        table.move_cursor(row=row)
        await pilot.click(AccountsTable, offset=(5, row + 1 - table.scroll_offset.y))
        await pilot.pause()
        assert app.is_running
        detail = app.screen.query_one("#account-summary")
        assert "\x1b" not in str(detail.render())


async def test_stream_shows_events_batched(db_path):
    now = utcnow()
    events = [
        AccessEvent(
            "static",
            now - timedelta(seconds=10 - i),
            "u2",
            "t-bob-1",
            "GET",
            f"/repos/acme/{i}",
            200 if i < 8 else 401,
            "203.0.113.9",
        )
        for i in range(10)
    ]
    app = make_app(db_path, StaticProvider(events=events))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.3)
        log = app.screen.query_one(StreamLog)
        assert log.shown == 10
        await pilot.press("t")  # the status filter's first stop: denied only
        log.push(events[0])
        log.push(events[9])
        log.flush()
        assert log.shown == 11
        await pilot.press("p")
        log.push(events[9])
        log.flush()
        assert log.shown == 11  # paused: held back, not lost
        await pilot.press("p")
        log.flush()
        assert log.shown == 12


async def test_a_flood_is_drawn_newest_first_without_blocking(db_path):
    from pamtui.tui.widgets.stream import MAX_LINES_PER_FLUSH

    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        log = app.screen.query_one(StreamLog)
        now = utcnow()
        for i in range(1000):
            log.push(AccessEvent("static", now, "u1", "t-alice-1", "GET", f"/p/{i}", 200))
        log.flush()
        assert log.shown == MAX_LINES_PER_FLUSH
        assert log.skipped == 1000 - MAX_LINES_PER_FLUSH
        last = log.lines[-1].text
        assert "/p/999" in last  # the newest event is the one on screen


def test_snapshot_main_screen(snap_compare, db_path):
    async def loaded(pilot) -> None:
        await settle(pilot.app, pilot)

    assert snap_compare(make_app(db_path, StaticProvider()), terminal_size=SIZE, run_before=loaded)


def _privileged_session(db_path, provider, *, four_eyes: bool):
    from pamtui.config import Config, OperatorConfig, ProviderConfig

    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(four_eyes_for_privileged=four_eyes),
    )
    return Session(
        cfg,
        Journal.open(db_path),
        {"static": provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )


async def test_four_eyes_in_the_tui_then_approve_from_the_queue_pane(db_path):
    provider = StaticProvider()
    app = PamtuiApp(_privileged_session(db_path, provider, four_eyes=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "alice")  # privileged
        await pilot.press("enter", "r")
        await pilot.pause()
        assert "four eyes" in str(app.screen.query_one("#confirm-title").render())
        await pilot.press(*"admin token leaked", "enter")
        await settle(app, pilot)
        (item,) = app.session.queue.items()
        assert item.state is QueueState.AWAITING_APPROVAL and provider.revoke_calls == []
        await pilot.press("4", "y")  # the requester cannot approve it
        await settle(app, pilot)
        assert app.session.queue.get(item.id).state is QueueState.AWAITING_APPROVAL
        app.session.queue.operator = "second-op"  # another operator at the keyboard
        await pilot.press("Y")  # approve and run (y alone approves only)
        await settle(app, pilot)
        assert app.session.queue.get(item.id).state is QueueState.VERIFIED
        assert provider.revoke_calls == [("revoke_token", "t-alice-1")]


async def test_queue_pane_cancel_and_policy_marker(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    app.session.queue.stage(
        [action], "policy stale-tokens: unused 200 days", actor="policy:stale-tokens"
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        queue = app.screen.query_one(QueueTable)
        assert queue.get_row_at(0)[5].plain == "⚙ policy:stale-tokens"
        await pilot.press("4", "c")
        await settle(app, pilot)
        assert app.session.queue.items()[0].state is QueueState.CANCELLED
        assert provider.revoke_calls == []


async def test_read_only_hides_the_queue_keys(db_path):
    provider = StaticProvider()
    writer = make_app(db_path, provider)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    (item,) = writer.session.queue.stage([action], "stale")
    writer.session.journal.close()
    app = make_app(db_path, provider, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await pilot.pause()
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not {"screen.approve_item", "screen.execute_item", "screen.cancel_item"} & shown
        await pilot.press("y", "x", "c")
        await settle(app, pilot)
        assert app.session.queue.get(item.id).state is QueueState.STAGED
        assert provider.revoke_calls == []


async def test_a_plan_step_can_be_deselected(db_path):
    from textual.widgets import SelectionList

    provider = StaticProvider()
    app = make_app(db_path, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("R")
        await pilot.pause()
        steps = app.screen.query_one("#confirm-steps", SelectionList)
        assert steps.selected == [0, 1, 2]  # every step chosen by default
        steps.focus()
        await pilot.press("space")  # drop the first step (bob-laptop's token)
        await pilot.pause()
        app.screen.query_one("#confirm-reason").focus()
        await pilot.press(*"offboarding, keep the laptop token for forensics", "enter")
        await settle(app, pilot)
        assert [target for _, target in provider.revoke_calls] == ["t-bob-2", "u2"]
        staged = [e for e in app.session.journal.entries(newest_first=False) if e.action == "stage"]
        assert len(staged) == 2


def test_snapshot_plan_dialog(snap_compare, db_path):
    async def open_plan(pilot) -> None:
        await settle(pilot.app, pilot)
        await select_account(pilot.app, pilot, "bob")
        await pilot.press("R")
        await pilot.pause()

    assert snap_compare(
        make_app(db_path, StaticProvider()), terminal_size=SIZE, run_before=open_plan
    )


def test_snapshot_help_screen(snap_compare, db_path):
    async def open_help(pilot) -> None:
        await settle(pilot.app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(
        make_app(db_path, StaticProvider()), terminal_size=SIZE, run_before=open_help
    )


async def test_edit_a_staged_item_and_progress_of_a_plan(db_path):
    from textual.widgets import ProgressBar

    provider = StaticProvider()
    app = make_app(db_path, provider)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    (item,) = app.session.queue.stage([action], "policy stale-tokens", actor="policy:stale-tokens")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4", "e")
        await pilot.pause()
        box = app.screen.query_one("#prompt-input")
        box.value = "confirmed stale with the owner, INC-77"
        await pilot.press("enter")
        await pilot.pause()
        assert app.session.queue.get(item.id).reason == "confirmed stale with the owner, INC-77"
        entry = app.session.journal.entries(limit=1)[0]
        assert (entry.action, entry.detail["reason_before"]) == ("edit", "policy stale-tokens")
        # A three-step plan drives the progress bar to its end.
        await select_account(app, pilot, "bob")
        await pilot.press("R")
        await pilot.pause()
        await pilot.press(*"offboarding", "enter")
        await settle(app, pilot)
        bar = app.screen.query_one("#queue-progress", ProgressBar)
        assert (bar.total, bar.progress) == (3, 3)


async def test_leaving_while_recovery_runs_is_clean(db_path):
    import asyncio
    from datetime import timedelta

    class SlowVerify(StaticProvider):
        async def verify(self, action):
            await asyncio.sleep(0.4)
            return await super().verify(action)

    provider = SlowVerify()
    app = make_app(db_path, provider)
    action = provider.revoke_actions(provider.credentials["t-bob-1"])[0]
    (item,) = app.session.queue.stage([action], "leak", approve=True)
    app.session.queue.lease = timedelta(seconds=-1)  # its lease is already over
    app.session.queue.claim(item.id)  # "a crashed session left it executing"
    async with app.run_test(size=SIZE):
        table = app.screen.query_one(AccountsTable)
        while table.row_count == 0:
            await asyncio.sleep(0.01)
        # leave now: the recovery worker is still inside the provider call
    # Reaching this line means no worker raised (run_test re-raises their errors).
    assert Journal.open(db_path, read_only=True).verify().ok


async def test_80x24_shows_one_pane_at_a_time(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = app.screen
        assert screen.has_class("compact")

        def shown() -> list[str]:
            return [p.id for p in screen.query(".pane") if p.display and p.region.area > 0]

        assert shown() == ["accounts-pane"]
        await pilot.press("tab")
        await pilot.pause()
        assert shown() == ["detail-pane"]
        await pilot.press("4")
        await pilot.pause()
        assert shown() == ["queue-pane"]
        await pilot.press("1")
        await select_account(app, pilot, "bob")
        await pilot.press("enter")  # Enter opens the credentials, full screen
        await pilot.pause()
        assert shown() == ["detail-pane"]
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmRevoke)


async def test_large_terminals_show_all_panes(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=(200, 60)) as pilot:
        await settle(app, pilot)
        assert not app.screen.has_class("compact")
        assert all(p.region.area > 0 for p in app.screen.query(".pane"))


def test_snapshot_main_screen_80x24(snap_compare, db_path):
    async def loaded(pilot) -> None:
        await settle(pilot.app, pilot)

    assert snap_compare(
        make_app(db_path, StaticProvider()), terminal_size=(80, 24), run_before=loaded
    )


async def test_status_bar_shows_the_journal_chain(db_path):
    import sqlite3

    journal = Journal.open(db_path)
    for n in range(3):
        journal.append("tester", "stage", subject=f"credential:{n}")
    journal.close()
    sqlite3.connect(db_path, isolation_level=None).execute(
        "UPDATE entries SET actor = 'eve' WHERE seq = 2"
    )
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app._tick()
        await pilot.pause()
        bar = str(app.screen.query_one("#status-bar").render())
        assert "BROKEN at entry 2" in bar


async def test_status_bar_says_verified_for_a_sound_journal(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app._tick()
        await pilot.pause()
        assert "✓ chain verified" in str(app.screen.query_one("#status-bar").render())
