"""Starting a review campaign from the TUI (issue 15: only the CLI could).

``V`` (or the palette's "Start a review campaign") opens a small dialog with
what ``pamtui review start`` asks; Enter starts the campaign through the same
service call as the CLI and opens it. A degraded provider refuses the start
with the CLI's words; a bad date is said in the dialog; read-only has no such
key. Keys are typed as operators type them, in bursts.
"""

from __future__ import annotations

from pamtui.config import demo_config
from pamtui.journal import EntryFilter, Journal
from pamtui.sanitize import is_clean
from pamtui.services.review import ReviewService
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.review import ReviewScreen
from pamtui.tui.screens.review_start import StartReviewDialog
from tests.fakes import StaticProvider
from tests.tui.test_burst_keys import burst
from tests.tui.test_tui import SIZE, make_app, settle
from tests.tui.test_tui_commands import run_command
from tests.tui.test_tui_providers import BrokenProvider


def campaigns(app):
    return ReviewService.for_session(app.session).campaigns()


async def test_V_opens_the_dialog_and_enter_starts_and_opens_the_campaign(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, "V")
        await pilot.pause(0.2)
        assert isinstance(app.screen, StartReviewDialog)
        burst(app, "2027-01-31\r")
        await settle(app, pilot)
        (campaign,) = campaigns(app)
        assert (campaign.scope, campaign.due) == ("privileged", "2027-01-31")
        assert campaign.created_by == "tester" and campaign.item_count == 1  # alice
        assert isinstance(app.screen, ReviewScreen) and app.screen.campaign_id == campaign.id
        (entry,) = app.session.journal.entries(EntryFilter(action="review_start"))
        assert entry.actor == "tester" and entry.detail["items"] == 1


async def test_scope_and_limit_as_the_cli_offers_them(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("V")
        dialog = app.screen
        assert isinstance(dialog, StartReviewDialog)
        dialog.query_one("#review-scope").value = "provider:static"
        burst(app, "\t3\r")  # due left empty, Tab to the limit, 3, Enter
        await settle(app, pilot)
        (campaign,) = campaigns(app)
        assert (campaign.scope, campaign.due, campaign.item_count) == ("provider:static", "", 3)


async def test_a_bad_date_is_said_in_the_dialog_and_esc_starts_nothing(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, "Vtomorrow\r")
        await pilot.pause(0.2)
        assert isinstance(app.screen, StartReviewDialog)  # still open, saying why
        error = str(app.screen.query_one("#review-start-error").render())
        assert "must be a date" in error and "'tomorrow'" in error
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, StartReviewDialog)
        assert campaigns(app) == []


async def test_the_palette_offers_it_too(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_command(app, pilot, "Start a review campaign")
        assert isinstance(app.screen, StartReviewDialog)


async def test_a_degraded_provider_refuses_the_start_with_the_clis_words(db_path):
    good, broken = StaticProvider(), BrokenProvider("okta-prod")
    session = Session(
        demo_config(), Journal.open(db_path), {good.name: good, broken.name: broken},
        read_only=False, db_path=db_path, operator="tester",
    )  # fmt: skip
    app = PamtuiApp(session, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await app.workers.wait_for_complete()
        burst(app, "V\r")
        await settle(app, pilot)
        assert campaigns(app) == []
        assert not isinstance(app.screen, ReviewScreen | StartReviewDialog)
        (refusal,) = [n for n in app._notifications if n.title == "Review not started"]
        # The CLI's line: "provider okta-prod is degraded: <reason, cleaned>".
        assert refusal.message.startswith("provider okta-prod is degraded: HTTP 401 from okta")
        assert "nothing snapshotted" in refusal.message
        assert is_clean(refusal.message)  # the provider's text: no escape sequence


async def test_read_only_has_no_start_review(db_path):
    writer = make_app(db_path, StaticProvider(), stream=False)
    writer.session.journal.close()
    app = make_app(db_path, StaticProvider(), read_only=True, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, "V")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, StartReviewDialog)


async def test_a_V_typed_into_the_filter_is_text(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        burst(app, "/Vera")
        await pilot.pause(0.3)
        assert not isinstance(app.screen, StartReviewDialog)
        assert app.screen.query_one("#accounts-filter").value == "Vera"
