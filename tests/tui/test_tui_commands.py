"""The command palette (ctrl+p) and the copy key (ctrl+y), driven by Pilot."""

from __future__ import annotations

from textual.command import Command, CommandList, CommandPalette
from textual.widgets import Input

from pamtui.journal import Journal
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import AuditScreen, JournalTable
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import CredentialsTable
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS
from tests.tui.test_tui import account_names, make_app, select_account, settle

SIZE = (120, 40)


def selected_name(app) -> str:
    table = app.screen.query_one(AccountsTable)
    return table.get_row_at(table.cursor_row)[0].plain


async def palette_hits(app, pilot, query: str) -> list[str]:
    """Open the palette, type ``query``, wait for the search; the hits' plain text."""
    await pilot.press("ctrl+p")
    await pilot.pause()
    assert isinstance(app.screen, CommandPalette)
    await pilot.press(*query)
    hits: list[str] = []
    for _ in range(40):  # the palette searches in a worker, after a short debounce
        await pilot.pause(0.05)
        commands = app.screen.query_one(CommandList)
        options = [commands.get_option_at_index(i) for i in range(commands.option_count)]
        # What the operator sees (the prompt's first line), not the hit's plain text.
        now = [o.prompt.plain.split("\n")[0] for o in options if isinstance(o, Command)]
        if now == hits and (now or commands.option_count):
            break
        hits = now
    return hits


async def run_command(app, pilot, query: str) -> list[str]:
    """Search, then Enter on the best hit; returns the hits that were offered."""
    hits = await palette_hits(app, pilot, query)
    assert hits, f"no palette hit for {query!r}"
    await pilot.press("enter")  # highlights the first hit (runs it if it is the only one)
    await pilot.pause()
    if isinstance(app.screen, CommandPalette):
        await pilot.press("enter")
    await pilot.pause(0.1)
    assert not isinstance(app.screen, CommandPalette)
    return hits


async def test_go_to_account_moves_the_cursor_and_focuses(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert selected_name(app) != "carol"
        hits = await run_command(app, pilot, "go to carol")
        assert hits[0].startswith("Go to account carol")
        assert selected_name(app) == "carol"
        assert app.focused is app.screen.query_one(AccountsTable)


async def test_go_to_account_hidden_by_the_filter_clears_it(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("slash", *"carol", "enter")
        await pilot.pause()
        assert account_names(app) == ["carol"]
        await run_command(app, pilot, "go to bob")
        assert set(account_names(app)) == {"alice", "bob", "carol", "svc-backup"}
        assert selected_name(app) == "bob"
        assert app.screen.query_one("#accounts-filter", Input).value == ""


async def test_switch_theme(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.theme == "pamtui-dark"
        hits = await run_command(app, pilot, "Switch theme: pamtui-light")
        assert hits[0] == "Switch theme: pamtui-light"
        assert app.theme == "pamtui-light"


async def test_filter_by_provider(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await run_command(app, pilot, "Filter by provider: static")
        await pilot.pause()
        assert app.screen.query_one("#accounts-filter", Input).value == "static"
        assert app.screen.query_one(AccountsTable)._filter == "static"
        assert "static" in str(app.screen.query_one("#accounts-pane").border_title)


async def test_main_actions_are_offered(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        hits = await palette_hits(app, pilot, "revoke")
        assert "Revoke selected credential" in hits
        await pilot.press("escape")
        await pilot.pause()
        await run_command(app, pilot, "Open audit journal")
        assert isinstance(app.screen, AuditScreen)


async def test_read_only_offers_no_revocation(db_path):
    app = make_app(db_path, StaticProvider(), read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for query in ("revoke", "de-provision", "selected"):
            hits = await palette_hits(app, pilot, query)
            assert not any(h.startswith(("Revoke", "De-provision")) for h in hits), hits
            await pilot.press("escape")
            await pilot.pause()
        # Read-only actions are still there.
        assert "Denied calls only" in await palette_hits(app, pilot, "denied")


async def test_hostile_account_name_stays_literal(db_path):
    app = make_app(db_path, StaticProvider(hostile=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        hits = await palette_hits(app, pilot, "click-me")
        assert any(h.startswith(f"Go to account {HOSTILE_STRINGS[0]}") for h in hits), hits
        await pilot.press("escape")
        await pilot.pause()
        hits = await run_command(app, pilot, "go to click-me")
        assert hits[0].startswith(f"Go to account {HOSTILE_STRINGS[0]}")
        assert app.is_running and app.return_code is None  # no app.quit ran
        assert selected_name(app) == HOSTILE_STRINGS[0]
        hits = await palette_hits(app, pilot, "fake-alert")
        assert any(HOSTILE_STRINGS[2] in h for h in hits), hits


async def test_copy_account_name_then_credential_id(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await select_account(app, pilot, "bob")
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard == "bob"
        await pilot.press("enter")  # the credentials pane
        assert app.focused is app.screen.query_one(CredentialsTable)
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard == "t-bob-1"


async def test_copy_hostile_name_makes_controls_visible(db_path):
    app = make_app(db_path, StaticProvider(hostile=True))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        hostile = HOSTILE_STRINGS[4]  # OSC 52 inside the name
        table = app.screen.query_one(AccountsTable)
        key = next(k for k, v in app.session.inventory.views.items() if v.account.name == hostile)
        table.move_cursor(row=table.get_row_index(f"{key[0]}\x1f{key[1]}"))
        await pilot.pause()
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard and "\x1b" not in app.clipboard and "\x07" not in app.clipboard


async def test_copy_on_the_audit_screen(db_path):
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        entry = app.screen.query_one(JournalTable).selected
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard == f"{entry.seq}:{entry.hash}"


async def test_copy_in_the_standalone_audit_app(db_path):
    journal = Journal.open(db_path)
    journal.append("alice", "session_start", detail={"interface": "tui"})
    journal.close()
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause(0.1)
        entry = app.screen.query_one(JournalTable).selected
        assert entry is not None and len(entry.hash) >= 16
        await pilot.press("ctrl+y")
        await pilot.pause()
        assert app.clipboard == f"{entry.seq}:{entry.hash}"
