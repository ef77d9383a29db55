"""The people view on the demo: list, filter, a person's accounts, offboarding by key.

Real parts: the demo providers (their SQLite state), a real journal and queue; keys are
pressed (or posted as one burst, as a terminal delivers typed words) as an operator does.
"""

from __future__ import annotations

from textual import events
from textual.widgets import DataTable, Static

from pamtui.config import demo_config
from pamtui.model import QueueState
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.confirm import ConfirmRevoke
from pamtui.tui.screens.people import PeopleScreen
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.people import PeopleTable
from tests.tui.test_tui import SIZE, settle

KEY_NAMES = {"/": "slash", " ": "space"}


def burst(app, text: str) -> None:
    for ch in text:
        app.post_message(events.Key(KEY_NAMES.get(ch, ch), ch))


def demo_app(db_path, *, read_only: bool = False) -> PamtuiApp:
    session = Session.open(cfg=demo_config(), db_path=str(db_path), read_only=read_only)
    return PamtuiApp(session, stream=False)


def cells(table: DataTable | PeopleTable) -> list[list[str]]:
    return [[c.plain for c in table.get_row_at(i)] for i in range(table.row_count)]


async def open_people(app, pilot) -> PeopleScreen:
    await settle(app, pilot)
    await pilot.press("u")
    await settle(app, pilot)
    screen = app.screen
    assert isinstance(screen, PeopleScreen)
    return screen


async def test_people_lists_lucia_near_the_top_and_filters(db_path):
    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        rows = cells(screen.query_one("#people-list", PeopleTable))
        assert len(rows) > 3
        names = [r[0] for r in rows]
        lucia = names.index("Lucía Castillo")
        assert lucia < 5, names[:5]
        # Only terminated people with live access come before her.
        assert all(r[2] == "terminated" and r[7] for r in rows[: lucia + 1]), rows[: lucia + 1]
        assert rows[lucia][1] == "E1111" and rows[lucia][2] == "terminated"
        assert rows[lucia][4] == "3"  # systems with live access
        burst(app, "/lucia castillo")
        await pilot.pause(0.3)
        rows = cells(screen.query_one("#people-list", PeopleTable))
        assert [r[1] for r in rows] == ["E1111"]
        assert app.is_running


async def test_detail_shows_every_account_with_its_link_rule(db_path):
    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        # Typed in one burst with both Enters (close the filter, open the person).
        burst(app, "/E1111")
        app.post_message(events.Key("enter", "\r"))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        accounts = screen.query_one("#person-accounts", DataTable)
        rows = cells(accounts)
        assert {r[0] for r in rows} == {"demo-idp", "demo-git", "demo-cloud"}
        # Columns fit what they hold (a table filled while hidden measured them empty).
        provider_column = next(iter(accounts.columns.values()))
        assert provider_column.get_render_width(accounts) > len("demo-cloud")
        assert all(r[4] for r in rows), rows  # every link says its rule
        assert all(r[5] for r in rows), rows  # and its evidence
        summary = str(screen.query_one("#person-summary", Static).render())
        assert "Lucía Castillo" in summary and "E1111" in summary
        await pilot.press("escape")
        assert not screen.query_one("#people-pane").has_class("hidden")


async def test_R_offboards_lucia_and_every_step_is_verified(db_path):
    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        burst(app, "/lucia castillo")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.press("R")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmRevoke)
        steps = [s.provider for s in dialog._steps]
        assert {"demo-idp", "demo-git", "demo-cloud"} <= set(steps)
        burst(app, "left 2026-11-10")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        await settle(app, pilot)
        assert app.screen is screen
        items = app.session.queue.items(limit=200)
        assert items and all(i.state is QueueState.VERIFIED for i in items), [
            (i.id, i.state) for i in items
        ]
        assert len(items) == len(steps)
        outcomes = str(screen.query_one("#person-outcomes", Static).render())
        assert f"every step verified ({len(steps)})" in outcomes
        # The triage screen below shows her accounts as they are now: nothing live.
        pane = app.main.query_one(AccountsTable).index
        keys = {(i.action.provider, i.action.account_id) for i in items}
        shown = [pane.get(key) for key in keys]
        assert all(row is not None and row.live == 0 for row in shown), shown
        # The demo providers themselves say the access has ended.
        views = await app.session.inventory.sync()
        corr = await app.session.people.refresh(views)
        assert corr.live_credentials_of("E1111") == 0


async def test_read_only_hides_R(db_path):
    demo_app(db_path).session.journal.close()  # the journal exists, as after a first run
    app = demo_app(db_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        assert screen.check_action("offboard_person", ()) is False
        await pilot.press("enter")
        await pilot.press("R")
        await pilot.pause()
        assert app.screen is screen  # no dialog
        assert app.session.queue.items(limit=10) == []


async def test_read_only_titles_do_not_offer_R_or_r(db_path):
    """--read-only removes R and r, but the list's title and a person's summary still
    said "R: offboard  r: excess": hints for keys that do nothing."""
    demo_app(db_path).session.journal.close()
    app = demo_app(db_path, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        title = str(screen.query_one("#people-title", Static).render())
        assert "enter: accounts" in title and "esc: back" in title
        assert "R: offboard" not in title and "r: excess" not in title, title
        await pilot.press("enter")
        await pilot.pause()
        summary = str(screen.query_one("#person-summary", Static).render())
        assert "esc: back" in summary
        assert "R: offboard" not in summary and "r: remove" not in summary, summary
    writer = demo_app(db_path)
    async with writer.run_test(size=SIZE) as pilot:
        screen = await open_people(writer, pilot)
        title = str(screen.query_one("#people-title", Static).render())
        assert "R: offboard" in title and "r: excess" in title


async def test_hostile_roster_names_render_literally(tmp_path, db_path):
    import csv

    from pamtui.config import load
    from pamtui.sanitize import clean, is_clean
    from tests.support.hostile import HOSTILE_STRINGS

    roster = tmp_path / "hostile.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "email", "status", "title", "department"])
        for n, text in enumerate(HOSTILE_STRINGS):
            writer.writerow([f"H{n}", f"Eve {text}", f"eve{n}@x.example", "active", text, text])
    config = tmp_path / "pamtui.toml"
    config.write_text(
        f'[[providers]]\nname = "hr"\ntype = "hr-csv"\npath = "{roster}"\n', encoding="utf-8"
    )
    config.chmod(0o600)
    session = Session.open(cfg=load(str(config)), db_path=str(db_path))
    app = PamtuiApp(session, stream=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        rows = cells(screen.query_one("#people-list", PeopleTable))
        names = {r[0] for r in rows}
        assert names == {clean(f"Eve {text}", max_length=40) for text in HOSTILE_STRINGS}
        assert "Eve [@click=app.quit]click-me[/]" in names  # shown, not parsed
        assert all(is_clean(n) for n in names)
        await pilot.press("enter")  # a hostile person's detail renders too
        await pilot.pause()
        assert is_clean(str(screen.query_one("#person-summary", Static).render()))
        assert app.is_running and isinstance(app.screen, PeopleScreen)


def test_snapshot_people_screen(snap_compare, db_path, monkeypatch):
    """The demo's people, terminated with live access first, as ``u`` opens them."""
    from datetime import UTC, datetime

    from pamtui.providers.demo import state as st

    # The header names the operator: the real uid's OS account, pinned for the snapshot.
    monkeypatch.setattr("pamtui.services.identity.os_account", lambda: "tester")
    # The demo's leavers left N days before it was built: build it on a fixed day, so the
    # "Left" dates in the snapshot do not move with the calendar.
    built = datetime(2026, 12, 4, 18, 0, tzinfo=UTC).timestamp()
    st.ensure(st.default_path(db_path.parent), now=built)

    async def people_open(pilot) -> None:
        await open_people(pilot.app, pilot)

    assert snap_compare(demo_app(db_path), terminal_size=SIZE, run_before=people_open)


async def test_palette_People_opens_the_people_view(db_path):
    from tests.tui.test_tui_commands import run_command

    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        hits = await run_command(app, pilot, "People")
        assert hits[0] == "People"
        await settle(app, pilot)
        assert isinstance(app.screen, PeopleScreen)


async def test_four_eyes_stages_her_plan_for_a_second_operator(db_path):
    import dataclasses

    from pamtui.config import OperatorConfig
    from pamtui.providers.demo import state as st

    cfg = dataclasses.replace(demo_config(), operator=OperatorConfig(four_eyes_for_privileged=True))
    first = Session.open(cfg=cfg, db_path=str(db_path))
    views = await first.inventory.sync()
    idp = next(v for v in views if v.account.provider == "demo-idp" and v.account.owner == "E1111")
    # Her IdP account made privileged, as test_offboard_person does.
    st.grant_privilege(st.default_path(db_path.parent), idp.account.id, "Super Administrators")
    first.journal.close()
    app = PamtuiApp(Session.open(cfg=cfg, db_path=str(db_path)), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_people(app, pilot)
        burst(app, "/E1111")
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        await pilot.press("R")
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, ConfirmRevoke)
        assert "four eyes" in str(dialog.query_one("#confirm-title", Static).render())
        burst(app, "left")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await settle(app, pilot)
        states = {i.state for i in app.session.queue.items(limit=200)}
        # Nothing runs before a second operator approves.
        assert QueueState.AWAITING_APPROVAL in states
        assert QueueState.VERIFIED not in states


async def test_accounts_a_person_only_owns_are_marked_owns(db_path):
    from pamtui.model import LinkRelation

    app = demo_app(db_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        assert screen.corr is not None
        owned = [lk for lk in screen.corr.links.values() if lk.relation is LinkRelation.OWNER]
        assert owned  # the demo plants service accounts with human owners
        person_id = owned[0].person_id
        burst(app, f"/{person_id}")
        app.post_message(events.Key("enter", "\r"))
        app.post_message(events.Key("enter", "\r"))
        await pilot.pause(0.3)
        rows = cells(screen.query_one("#person-accounts", DataTable))
        marked = {(r[0], r[1]) for r in rows if r[2] == "owns"}
        expected = {
            (lk.account[0], screen.corr.accounts[lk.account].name)
            for lk in owned
            if lk.person_id == person_id
        }
        assert marked == expected and len(rows) >= len(marked)


async def test_a_large_roster_filters_and_the_cursor_keeps_its_person(tmp_path, db_path):
    """3,000 people from an HR export: the list is virtual, the filter narrows as typed,
    and the person under the cursor stays under it while the filter still shows them."""
    import csv

    from pamtui.config import load

    roster = tmp_path / "people.csv"
    with roster.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "email", "status"])
        for n in range(3000):
            writer.writerow([f"P{n:04d}", f"Person {n:04d}", f"p{n}@x.example", "active"])
        writer.writerow(["P9999", "Zoë Ångström", "zoe@x.example", "terminated"])
    config = tmp_path / "pamtui.toml"
    config.write_text(
        f'[[providers]]\nname = "hr"\ntype = "hr-csv"\npath = "{roster}"\n', encoding="utf-8"
    )
    config.chmod(0o600)
    app = PamtuiApp(Session.open(cfg=load(str(config)), db_path=str(db_path)), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_people(app, pilot)
        table = screen.query_one("#people-list", PeopleTable)
        assert table.row_count == 3001 and table.index.total == 3001
        assert not table.children  # no widget per row: rows are drawn, not mounted
        table.move_cursor(row=table.index.position("P1234") or 0)
        assert table.selected_id == "P1234"
        burst(app, "/person 12")
        await pilot.pause(0.3)
        assert table.row_count == 100  # Person 1200 to Person 1299
        assert table.selected_id == "P1234"  # still shown: the cursor stayed on it
        title = str(screen.query_one("#people-title", Static).render())
        assert "100/3001" in title and "filter person 12" in title
        burst(app, "5")
        await pilot.pause(0.3)
        assert table.selected_id == "P1250"  # P1234 filtered out: the first row
        await pilot.press(*["backspace"] * 5)  # "perso": a widening, every row tested again
        await pilot.pause(0.3)
        assert table.row_count == 3000
        await pilot.press(*["backspace"] * 5)
        await pilot.pause(0.3)
        assert table.row_count == 3001
        burst(app, "angstrom")  # accents folded, as the operator types
        await pilot.pause(0.3)
        assert [table.get_row_at(i)[1].plain for i in range(table.row_count)] == ["P9999"]


async def test_at_80x24_the_offboard_dialog_keeps_its_reason_and_buttons_on_screen(db_path):
    """Her 11 steps pushed the reason box and the Revoke/Cancel buttons below the
    screen at 80x24: the focused, required field could not be seen."""
    from textual.widgets import Button, Input

    app = demo_app(db_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_people(app, pilot)
        burst(app, "/lucia castillo")
        await pilot.pause(0.3)
        await pilot.press("enter", "R")
        await pilot.pause(0.3)
        dialog = app.screen
        assert isinstance(dialog, ConfirmRevoke) and len(dialog._steps) >= 10
        for widget in (
            dialog.query_one("#confirm-reason", Input),
            dialog.query_one("#confirm-ok", Button),
            dialog.query_one("#confirm-cancel", Button),
        ):
            region = widget.region
            assert region.bottom <= 24, (widget.id, region)
            shown, _ = dialog.get_widget_at(region.x + 1, region.y + region.height // 2)
            assert shown is widget, (widget.id, shown)
        burst(app, "left")
        await pilot.press("tab")  # the steps stay reachable, and scroll
        await pilot.press("G")
        steps = dialog.query_one("#confirm-steps")
        assert steps.highlighted == len(dialog._steps) - 1
