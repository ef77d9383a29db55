"""The queue pane's bulk keys (issue 15): mark rows, approve or run them at once.

``space`` marks a row (``[x]``, readable without colour), ``m`` a whole plan;
``y`` approves the marked items and runs nothing, ``Y`` approves and runs,
``x`` runs, ``c`` cancels. Keys are sent in one burst, as an operator types
them (no pause between keys). The service decides (services/revoke_bulk.py);
these tests check the wiring and what the operator sees.
"""

from __future__ import annotations

import dataclasses

from pamtui.config import Config, OperatorConfig, ProviderConfig, demo_config
from pamtui.journal import EntryFilter, Journal
from pamtui.model import QueueState
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.keymap import binding_ids
from pamtui.tui.screens.prompt import PromptScreen
from pamtui.tui.widgets.queue import QueueTable
from tests.fakes import StaticProvider
from tests.services.test_revoke_service import enrol
from tests.tui.test_burst_keys import burst
from tests.tui.test_tui import SIZE, make_app, settle

S = QueueState


def sweep(app, provider, accounts=("u2", "u3")):
    """Each account's plan staged by a policy, not approved (what a sweep leaves)."""
    items = []
    for account in accounts:
        actions = [
            a
            for c in provider.credentials.values()
            if c.account_id == account
            for a in provider.revoke_actions(c)[:1]
        ]
        items.append(app.session.queue.stage(actions, "policy stale", actor="policy:stale"))
    return items


def marks(app) -> list[str]:
    table = app.screen.query_one(QueueTable)
    return [table.get_row_at(row)[0].plain for row in range(table.row_count)]


def state(app, item) -> QueueState:
    return app.session.queue.get(item.id).state


async def test_space_marks_rows_and_y_approves_only_the_marked_ones(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    bob, carol = sweep(app, provider)
    rows = [*carol[::-1], *bob[::-1]]  # the pane lists the newest first
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, "  ")  # two rows marked, the cursor moving down with each
        await pilot.pause(0.2)
        assert marks(app)[:3] == ["[x]", "[x]", "[ ]"]  # legible without colour
        assert "2 marked" in str(app.screen.query_one("#queue-pane").border_title)
        burst(app, "y")
        await settle(app, pilot)
        assert [state(app, i) for i in rows] == [S.APPROVED, S.APPROVED] + [S.STAGED] * (
            len(rows) - 2
        )
        assert provider.revoke_calls == []  # y approves; nothing ran
        assert set(marks(app)) == {"[ ]"}  # an act clears the marks
        assert any("approved 2 items; nothing ran" in n.message for n in app._notifications)


async def test_m_marks_a_whole_plan_and_Y_approves_and_runs_it_in_order(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    bob, carol = sweep(app, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        table = app.screen.query_one(QueueTable)
        table.move_cursor(row=len(carol))  # the first of bob's rows
        burst(app, "mY")
        await settle(app, pilot)
        assert [state(app, i) for i in bob] == [S.VERIFIED] * len(bob)
        assert [state(app, i) for i in carol] == [S.STAGED] * len(carol)
        assert provider.revoke_calls == [("revoke_token", i.action.target_id) for i in bob]


async def test_m_again_unmarks_the_plan_and_c_cancels_the_marked(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider)
    bob, carol = sweep(app, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, "mm")  # carol's plan marked, then unmarked
        await pilot.pause(0.2)
        assert set(marks(app)) == {"[ ]"}
        burst(app, "mc")
        await settle(app, pilot)
        assert [state(app, i) for i in carol] == [S.CANCELLED] * len(carol)
        assert [state(app, i) for i in bob] == [S.STAGED] * len(bob)


async def test_my_own_four_eyes_item_among_the_marked_is_skipped_with_the_reason(db_path):
    provider = StaticProvider()
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(four_eyes_for_privileged=True),
    )
    session = Session(
        cfg, Journal.open(db_path), {"static": provider}, read_only=False, db_path=db_path,
        operator="tester",
    )  # fmt: skip
    token = provider.revoke_actions(provider.credentials["t-alice-1"])[0]
    (mine,) = session.queue.stage([token], "admin token leaked", approve=True, four_eyes=True)
    carol = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    (theirs,) = session.queue.stage([carol], "stale", actor="second-op", approve=False)
    app = PamtuiApp(session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, "  Y")  # both marked, approve and run
        await settle(app, pilot)
        assert state(app, mine) is S.AWAITING_APPROVAL  # never approved, never run
        assert state(app, theirs) is S.VERIFIED
        assert provider.revoke_calls == [("revoke_token", "t-carol-1")]
        told = "\n".join(n.message for n in app._notifications)
        assert f"four eyes: item {mine.id} needs a second operator" in told
        # Only her own marked: refused at once, nothing asked, nothing done.
        burst(app, "G y")
        await settle(app, pilot)
        assert state(app, mine) is S.AWAITING_APPROVAL
        assert any(n.title == "Nothing done" for n in app._notifications)


async def test_the_bulk_keys_have_ids_and_can_be_remapped(db_path, tmp_path):
    ids = binding_ids()
    assert {"queue.mark", "queue.mark_plan", "queue.approve", "queue.approve_and_run"} <= set(ids)
    provider = StaticProvider()
    source = tmp_path / "config.toml"
    cfg = dataclasses.replace(
        demo_config(), source=source, keys={"queue.mark": "v", "queue.approve": "z"}
    )
    session = Session(
        cfg, Journal.open(db_path), {provider.name: provider}, read_only=False,
        db_path=db_path, operator="tester",
    )  # fmt: skip
    app = PamtuiApp(session)
    (bob, carol) = sweep(app, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, "vz")  # the operator's own keys: mark, approve
        await settle(app, pilot)
        assert state(app, carol[-1]) is S.APPROVED
        assert [state(app, i) for i in bob] == [S.STAGED] * len(bob)


async def test_read_only_keeps_marks_harmless_and_hides_the_acts(db_path):
    provider = StaticProvider()
    writer = make_app(db_path, provider)
    (bob,) = sweep(writer, provider, ("u2",))
    writer.session.journal.close()
    app = make_app(db_path, provider, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, " yYxc")
        await settle(app, pilot)
        assert [state(app, i) for i in bob] == [S.STAGED] * len(bob)
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "screen.approve_and_run_item" not in shown


async def test_one_code_for_the_marked_items_and_a_wrong_one_keeps_the_marks(
    db_path,
    memory_keyring,
):
    totp = enrol(db_path)
    provider = StaticProvider()
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=True),
    )
    session = Session(
        cfg, Journal.open(db_path), {"static": provider}, read_only=False, db_path=db_path,
        operator="tester",
    )  # fmt: skip
    app = PamtuiApp(session)
    bob, carol = sweep(app, provider)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        burst(app, "  y")
        await pilot.pause(0.3)
        assert isinstance(app.screen, PromptScreen)  # one code for both
        burst(app, "000000\r")
        await settle(app, pilot)
        assert marks(app)[:2] == ["[x]", "[x]"]  # refused: the selection is still there
        assert {state(app, i) for i in (*bob, *carol)} == {S.STAGED}
        burst(app, "y")
        await pilot.pause(0.3)
        burst(app, totp.now() + "\r")
        await settle(app, pilot)
        assert [state(app, i) for i in (carol[0], bob[-1])] == [S.APPROVED, S.APPROVED]
        assert len(app.session.journal.entries(EntryFilter(action="stepup_ok"))) == 1
        assert provider.revoke_calls == []


async def test_help_on_the_queue_pane_lists_the_bulk_keys(db_path):
    from pamtui.tui.screens.help import HelpScreen

    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys, what, _where, ids = (
            [str(c) for c in col._cells] for col in app.screen._table.columns
        )
        shown = dict(zip(ids, keys, strict=True))
        assert shown["queue.mark"] == "space" and shown["queue.mark_plan"] == "m"
        assert shown["queue.approve"] == "y" and shown["queue.approve_and_run"] == "Y"
        approve = what[ids.index("queue.approve")]
        assert "nothing runs" in approve and "skipped" in approve


async def test_an_approver_sees_y_not_Y_and_a_forced_Y_is_refused_not_a_crash(db_path):
    from tests.services.test_roles import ALICE, BOB, session_as, view_of

    alice = session_as(db_path, ALICE)
    plan = alice.revocations.plan_account(await view_of(alice, "alice"))
    items = alice.revocations.submit(plan, "owner on leave").items
    alice.journal.close()
    app = PamtuiApp(session_as(db_path, BOB), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        shown = {b.binding.action for b in app.screen.active_bindings.values()}
        assert "screen.approve_item" in shown
        assert "screen.approve_and_run_item" not in shown  # running is an operator's
        burst(app, "Y")
        await settle(app, pilot)
        assert {state(app, i) for i in items} == {S.AWAITING_APPROVAL}
        app.screen.action_approve_and_run_item()  # as if a remapped key reached it
        await settle(app, pilot)
        assert app.is_running
        assert any(n.title == "Refused" for n in app._notifications)
        assert {state(app, i) for i in items} == {S.AWAITING_APPROVAL}
        burst(app, "y")
        await settle(app, pilot)
        assert state(app, items[-1]) is S.APPROVED


async def test_read_only_marked_title_does_not_offer_y_Y_x_c(db_path):
    """Marks are harmless in read-only, but the pane's title said "(y/Y/x/c act on them)"."""
    provider = StaticProvider()
    writer = make_app(db_path, provider)
    sweep(writer, provider, ("u2",))
    writer.session.journal.close()
    app = make_app(db_path, provider, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4", "space")
        await pilot.pause()
        title = str(app.screen.query_one("#queue-pane").border_title)
        assert "1 marked" in title
        assert "y/Y/x/c" not in title and "act on them" not in title, title
