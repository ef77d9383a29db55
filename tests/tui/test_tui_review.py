"""The access review screen: Pilot tests and one snapshot, on the static provider."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import DataTable, Input, Static

from pamtui.journal import Journal
from pamtui.model import AccessEvent, QueueState, utcnow
from pamtui.services.review import ReviewService
from pamtui.tui.screens.prompt import PromptScreen
from pamtui.tui.screens.review import ReviewScreen
from tests.fakes import StaticProvider
from tests.tui.test_tui import make_app, settle

SIZE = (120, 40)


def start_campaign(app, scope: str = "all") -> int:
    service = ReviewService.for_session(app.session)
    return service.start(scope, app.session.inventory.rows(), actor="lead").id


def _text(app, selector: str) -> str:
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(app.screen.query_one(selector, Static).content)
    return console.export_text()


def evidence(app) -> str:
    return _text(app, "#review-evidence")


def head(app) -> str:
    return _text(app, "#review-head")


def decisions(app) -> list[str]:
    table = app.screen.query_one("#review-items", DataTable)
    return [table.get_row_at(i)[1].plain for i in range(table.row_count)]


async def open_review(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("v")
    await pilot.pause()
    assert isinstance(app.screen, ReviewScreen)


async def answer(app, pilot, text: str) -> None:
    assert isinstance(app.screen, PromptScreen)
    app.screen.query_one(Input).value = text
    await pilot.press("enter")
    await pilot.pause()


async def test_decide_every_item_from_the_screen(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        cid = start_campaign(app)
        await open_review(app, pilot)
        assert "0/4 decided" in head(app)
        first = app.screen.current
        assert first.account_name in evidence(app) and "Owner / HR" in evidence(app)

        await pilot.press("K")  # shift+k keeps: k moves up, as in every table
        await pilot.pause()
        await answer(app, pilot, "break-glass admin")
        assert "1/4 decided" in head(app)
        assert app.screen.current.position == 2  # moved on to the next undecided item

        await pilot.press("d")
        await pilot.pause()
        await pilot.press("R")  # shift+r revokes the account, as on the triage screen
        await pilot.pause()
        await answer(app, pilot, "no longer needed")
        await pilot.press("K")
        await pilot.pause()
        await answer(app, pilot, "")  # an empty justification keeps nothing
        assert "3/4 decided" in head(app)
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("escape")  # Esc cancels a revocation
        await pilot.pause()
        await pilot.press("K")
        await pilot.pause()
        await answer(app, pilot, "service account, owner confirmed")
        assert "4/4 decided" in head(app)

        service = ReviewService.for_session(app.session)
        items = service.items(cid)
        assert [i.decision for i in items] == ["keep", "defer", "revoke", "keep"]
        assert decisions(app) == ["keep", "defer", "revoke", "keep"]
        for item in items:
            entry = app.session.journal.get(item.decision_seq)
            assert entry.actor == "tester" and entry.detail["decision"] == item.decision
        revoked = items[2]
        staged = [app.session.queue.get(i) for i in revoked.queue_item_ids]
        assert staged and all(q.state is QueueState.APPROVED for q in staged)
        assert app.session.providers["static"].revoke_calls == []  # nothing executed
        assert "no longer needed" in staged[0].reason

        await pilot.press("k")  # all decided: still on the last item, k goes up one
        await pilot.pause()
        assert "Decision: revoke" in evidence(app) and "pending (approved)" in evidence(app)
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ReviewScreen)


async def test_read_only_has_no_decision_keys(db_path):
    setup = make_app(db_path, StaticProvider())
    async with setup.run_test(size=SIZE) as pilot:
        await settle(setup, pilot)
        cid = start_campaign(setup)
    app = make_app(db_path, StaticProvider(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        for key in ("K", "R", "x", "r", "d"):
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen), key
        assert "0/4 decided" in head(app)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert not {"keep", "revoke", "defer"} & {
            a for a in shown if app.screen.check_action(a, ()) is not False
        }
    journal = Journal.open(db_path, read_only=True)
    try:
        assert ReviewService(journal).progress(cid).decided == 0
    finally:
        journal.close()


async def test_picker_when_several_campaigns_and_message_when_none(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        assert "pamtui review start" in evidence(app)
        await pilot.press("escape")
        await pilot.pause()
        start_campaign(app, "privileged")
        start_campaign(app, "all")
        await pilot.press("v")
        await pilot.pause()
        table = app.screen.query_one("#review-campaigns", DataTable)
        assert table.row_count == 2 and table.has_focus
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.screen.campaign_id == 2 and "0/4 decided" in head(app)
        await pilot.press("escape")  # back to the picker, not out
        await pilot.pause()
        assert app.screen.campaign_id is None
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen.campaign_id == 1 and "0/1 decided" in head(app)


async def test_a_decision_made_elsewhere_meanwhile_is_not_overwritten(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        cid = start_campaign(app)
        await open_review(app, pilot)
        other = Journal.open(db_path)
        try:
            ReviewService(other).decide(cid, 1, "keep", "decided by ann", reviewer="ann")
        finally:
            other.close()
        await pilot.press("d")
        await pilot.pause()
        items = ReviewService.for_session(app.session).items(cid)
        assert items[0].decision == "keep" and items[0].reviewer == "ann"
        assert decisions(app)[0] == "keep"  # the screen reloaded what really happened
        assert "decided by ann" in evidence(app)


async def test_hostile_names_are_shown_literally(db_path):
    app = make_app(db_path, StaticProvider(hostile=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        cid = start_campaign(app)
        await open_review(app, pilot)
        service = ReviewService.for_session(app.session)
        click = next(i for i in service.items(cid) if i.account_name.startswith("[@click"))
        table = app.screen.query_one("#review-items", DataTable)
        table.move_cursor(row=click.position - 1)
        await pilot.pause()
        assert "[@click=app.quit]click-me[/]" in evidence(app)
        assert app.is_running and isinstance(app.screen, ReviewScreen)
        await pilot.press("K")
        await pilot.pause()
        await answer(app, pilot, "\x1b]52;c;ZXZpbA==\x07 [bold]x[/bold]")
        table.move_cursor(row=click.position - 1)
        await pilot.pause()
        shown = evidence(app)
        assert "\x1b" not in shown and "[bold]x[/bold]" in shown


async def test_live_stream_events_are_evidence(db_path):
    event = AccessEvent(
        "static",
        utcnow(),
        "u1",
        "t-alice-1",
        "DELETE",
        "/orgs/[bold]acme[/bold]",
        403,
        "203.0.113.9",
    )
    app = make_app(db_path, StaticProvider(events=[event]))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        start_campaign(app, "privileged")
        await pilot.pause(0.3)  # the stream delivers the event
        await open_review(app, pilot)
        shown = evidence(app)
        assert "DELETE /orgs/[bold]acme[/bold] 403 203.0.113.9" in shown


def test_snapshot_review_screen(snap_compare, db_path):
    async def opened(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        cid = start_campaign(app)
        service = ReviewService.for_session(app.session)
        service.decide(cid, 2, "keep", "on call", reviewer="ann")
        service.decide(cid, 3, "defer", reviewer="ben")
        await pilot.press("v")
        await pilot.pause(0.2)

    assert snap_compare(make_app(db_path, StaticProvider()), terminal_size=SIZE, run_before=opened)


async def test_no_campaign_yet_points_at_V_unless_read_only(db_path):
    """The empty review screen sent operators to the command line only, though
    ``V`` (shift+v) starts a campaign from the TUI; read-only has no such key."""
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        assert "V (shift+v)" in evidence(app)
        assert "pamtui review start" in evidence(app)
    app.session.journal.close()
    reader = make_app(db_path, StaticProvider(), read_only=True)
    async with reader.run_test(size=SIZE) as pilot:
        await open_review(reader, pilot)
        assert "V (shift+v)" not in evidence(reader)
        assert "pamtui review start" in evidence(reader)


async def test_the_due_date_stays_on_the_head_line_at_80_columns(db_path):
    """At 80x24 the one-row head wrapped after "· due" and the date itself was lost."""
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        service = ReviewService.for_session(app.session)
        scope = f"provider:{next(iter(app.session.providers))}"  # a long scope, as in the demo
        service.start(scope, app.session.inventory.rows(), actor="lead", due="2026-12-31")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        row = app.screen.query_one("#review-head", Static).render_line(0)
        shown = "".join(segment.text for segment in row)
        assert "decided" in shown and "due 2026-12-31" in shown, shown


async def test_read_only_evidence_does_not_offer_K_R_d(db_path):
    """Read-only has no decision keys, yet an undecided item said "K keep · R revoke"."""
    setup = make_app(db_path, StaticProvider())
    async with setup.run_test(size=SIZE) as pilot:
        await settle(setup, pilot)
        start_campaign(setup)
        await open_review(setup, pilot)
        assert "K keep" in evidence(setup)
    setup.session.journal.close()
    app = make_app(db_path, StaticProvider(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await open_review(app, pilot)
        assert "Undecided" in evidence(app)
        assert "K keep" not in evidence(app) and "R revoke" not in evidence(app)


async def test_a_one_item_campaign_reads_right_when_done(db_path):
    """The last decision said "All 1 items decided." for a one-item campaign."""
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        service = ReviewService.for_session(app.session)
        service.start("all", app.session.inventory.rows(), actor="lead", limit=1)
        await open_review(app, pilot)
        assert "0/1 decided" in head(app)
        await pilot.press("K")
        await pilot.pause()
        await answer(app, pilot, "break-glass admin")
        assert "1/1 decided" in head(app)
        done = [str(n.message) for n in app._notifications if n.title == "Review complete"]
        assert done == ["All decided: 1 item."]
