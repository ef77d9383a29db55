"""Issue 15, the TUI: keys that never misfire, and one key map across screens.

Each test here reproduces one defect of the issue and passes only with its
fix: Esc quitting the stand-alone audit screen (here over the SSH variant),
q quitting in the middle of a revocation, a letter meaning different things
on different screens, no j/k, no remapping, Textual's own keys in the help,
the confirm dialog's colour-only deselection and its untrue "Tab here", and
the edit dialog opened for an item it cannot edit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input

from pamtui import config
from pamtui.config import Config, OperatorConfig, ProviderConfig, demo_config
from pamtui.journal import Journal
from pamtui.model import QueueState
from pamtui.services.session import Session
from pamtui.ssh.audit import SshAuditApp
from pamtui.tui.app import PamtuiApp
from pamtui.tui.keymap import TABLE_BINDINGS, binding_ids, keymap_for
from pamtui.tui.screens.audit import AuditScreen
from pamtui.tui.screens.confirm import ConfirmRevoke, StepList
from pamtui.tui.screens.help import HelpScreen
from pamtui.tui.screens.prompt import PromptScreen
from pamtui.tui.screens.quit import ConfirmQuit
from pamtui.tui.screens.review import ReviewScreen
from pamtui.tui.widgets.queue import QueueTable
from pamtui.tui.widgets.table import KeyedDataTable, VirtualTable
from tests.fakes import StaticProvider
from tests.support.totp import enrol
from tests.tui.test_tui import SIZE, make_app, select_account, settle


def line(widget, y: int) -> str:
    """What the terminal shows on row ``y`` of ``widget`` (colour left aside)."""
    return "".join(segment.text for segment in widget.render_line(y))


def app_with_keys(db_path: Path, keys: dict[str, str], source: Path) -> PamtuiApp:
    cfg = dataclasses.replace(demo_config(), source=source, keys=keys)
    provider = StaticProvider()
    session = Session(
        cfg,
        Journal.open(db_path),
        {provider.name: provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    return PamtuiApp(session)


# -- Esc and q --------------------------------------------------------------------


async def test_escape_never_closes_the_ssh_audit_session(db_path):
    # Over SSH the stand-alone audit screen's exit closed the connection on Esc.
    journal = Journal.open(db_path)
    for n in range(3):
        journal.append("alice", "stage", subject=f"credential:t{n}")
    journal.close()
    app = SshAuditApp(Journal.open(db_path, read_only=True), operator="alice")
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        await pilot.press("slash", *"actor:alice", "enter", "escape", "escape", "escape")
        await pilot.pause()
        assert app.is_running and app.screen is screen
        assert screen.query_one("#audit-query", Input).value == ""
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_q_asks_before_quitting_while_a_revocation_runs(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    release = asyncio.Event()

    async def slow_revocation(on_outcome):
        await release.wait()
        return []

    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.main._run_items(slow_revocation, count=1)
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, ConfirmQuit)
        await pilot.press("n")  # stay
        await pilot.pause()
        assert app.is_running and not isinstance(app.screen, ConfirmQuit)
        release.set()
        await settle(app, pilot)
        await pilot.press("q")  # nothing running: quits at once
        await pilot.pause()
    assert app.return_code == 0


async def test_quitting_writes_session_end(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("q")
        await pilot.pause()
    journal = Journal.open(db_path, read_only=True)
    actions = [e.action for e in journal.entries(newest_first=False)]
    assert actions[0] == "session_start" and actions[-1] == "session_end"
    end = journal.entries(limit=1)[0]
    assert end.actor == "tester" and end.detail["interface"] == "tui"
    assert journal.verify().ok


# -- one key map ----------------------------------------------------------------------


def pamtui_bindings() -> list[tuple[type, Binding]]:
    binding_ids()  # imports every module that declares bindings

    def subclasses(cls: type):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = []
    for cls in set(subclasses(DOMNode)):
        if cls.__module__.startswith("pamtui."):
            for binding in cls.__dict__.get("BINDINGS", []):
                found.append((cls, binding))
    return found


# What each destructive action does, whatever the screen: one letter, one meaning.
DESTRUCTIVE = {
    "revoke_credential": "revoke a credential",
    "revoke_account": "revoke an account",
    "revoke": "revoke an account",  # the review screen's revocation: the account's plan
    "offboard_person": "revoke an account",  # the people view: every account of one person
    "remove_access": "revoke a credential",  # the people view: single grants, the narrow revoke
    "screen.execute_item": "run queue items",
    "screen.approve_item": "say yes (approve)",
    "answer(True)": "say yes (approve)",  # quit anyway?
    "screen.cancel_item": "cancel queue items",
}


def test_every_binding_has_an_id_and_destructive_keys_mean_one_thing():
    bindings = pamtui_bindings()
    assert bindings
    assert [f"{cls.__name__}: {b.key}" for cls, b in bindings if not b.id] == []
    meaning: dict[str, set[str]] = {}
    for _cls, binding in bindings:
        for key in binding.key.split(","):
            meaning.setdefault(key.strip(), set()).add(
                DESTRUCTIVE.get(binding.action, f"other: {binding.action}")
            )
    for key, meanings in meaning.items():
        destructive = {m for m in meanings if not m.startswith("other:")}
        if destructive:
            assert meanings == destructive and len(destructive) == 1, (key, meanings)
    # The letters the issue found overloaded: x runs, d defers, p pauses.
    assert meaning["x"] == {"run queue items"}
    assert meaning["d"] == {"other: defer"}
    assert meaning["p"] == {"other: pause_stream"}


# Keys whose meaning is the same under two action names.
SAME_MEANING = {
    "to_end": "last_row",  # the replay's end is the last row of a recording
    "first": "first_row",  # the plan dialog's step list
    "last": "last_row",
    "scroll('down')": "cursor_down",  # the help's key list
    "scroll('up')": "cursor_up",
    "scroll('home')": "first_row",
    "scroll('end')": "last_row",
    "stream_status": "cycle the filter",  # the stream: denied, errors, ok, all
    "toggle_notable": "cycle the filter",  # drift: notable changes or all
}


def test_a_letter_means_one_thing_on_every_screen():
    """README: "a letter means one thing wherever it works".

    A screen's own closers (the key that opened it, q) and a dialog's answers
    (y/n in "quit anyway?") are its own.
    """
    meaning: dict[str, set[str]] = {}
    for cls, binding in pamtui_bindings():
        closer = issubclass(cls, Screen) and binding.action.startswith(("dismiss", "close"))
        if closer or (issubclass(cls, ModalScreen) and binding.action.startswith("answer(")):
            continue
        for key in binding.key.split(","):
            key = key.strip()
            if len(key) == 1 and key.isalpha():
                action = binding.action.removesuffix("_unavailable")
                meaning.setdefault(key, set()).add(
                    DESTRUCTIVE.get(action) or SAME_MEANING.get(action, action)
                )
    overloaded = {key: sorted(m) for key, m in meaning.items() if len(m) > 1}
    assert overloaded == {}
    # The letters a first-time operator found overloaded (v, e, s, n).
    assert meaning["v"] == {"open_review"} and meaning["e"] == {"screen.edit_item"}
    assert meaning["s"] == {"sort_next"} and meaning["n"] == {"next_open"}


def test_every_screens_binding_id_can_be_remapped():
    """``[keys]`` knows the ids of every screen, not only those imported by then.

    A fresh interpreter: in this one the tests have imported every screen already.
    """
    script = (
        "import importlib, pkgutil, pamtui.tui\n"
        "from pamtui.tui.keymap import binding_ids\n"
        "known = set(binding_ids())\n"
        "for m in pkgutil.walk_packages(pamtui.tui.__path__, 'pamtui.tui.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(set(binding_ids()) - known))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    keymap, problems = keymap_for({"audit.export": "ctrl+e", "drift.window": "w"}, None)
    assert problems == [] and keymap["audit.export"] == "ctrl+e"


def test_every_table_has_vim_movement():
    tables = {cls for cls, _ in pamtui_bindings()} | set(KeyedDataTable.__subclasses__())
    data_tables = [c for c in tables if issubclass(c, DataTable)]
    assert data_tables and all(issubclass(c, KeyedDataTable) for c in data_tables)
    for cls in (VirtualTable, KeyedDataTable):
        assert {"j", "k", "g", "G"} <= set(cls._merge_bindings().key_to_bindings), cls
    assert {b.id for b in TABLE_BINDINGS} == {"table.down", "table.up", "table.first", "table.last"}


async def test_j_k_g_G_move_in_the_queue_and_x_never_revokes_in_a_review(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider, stream=False)
    actions = [
        provider.revoke_actions(provider.credentials[c])[0] for c in ("t-carol-1", "t-bob-1")
    ]
    app.session.queue.stage(actions[:1], "stale", actor="policy:stale")
    app.session.queue.stage(actions[1:], "stale", actor="policy:stale")
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        queue = app.screen.query_one(QueueTable)
        assert queue.cursor_row == 0
        await pilot.press("j")
        assert queue.cursor_row == 1
        await pilot.press("k")
        assert queue.cursor_row == 0
        await pilot.press("G")
        assert queue.cursor_row == 1
        await pilot.press("g")
        assert queue.cursor_row == 0
        assert all(item.state is QueueState.STAGED for item in app.session.queue.items())


async def test_keys_table_in_the_config_remaps_by_binding_id(db_path, tmp_path):
    source = tmp_path / "config.toml"
    app = app_with_keys(db_path, {"main.audit": "A", "main.nope": "z"}, source)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        warnings = [n.message for n in app._notifications]
        assert any(f"{source}: keys.main.nope: unknown binding id" in m for m in warnings)
        await pilot.press("a")  # no longer the audit key
        await pilot.pause()
        assert not isinstance(app.screen, AuditScreen)
        await pilot.press("A")
        for _ in range(100):  # a bound for a busy machine, not a speed check
            if isinstance(app.screen, AuditScreen):
                break
            await pilot.pause(0.05)
        assert isinstance(app.screen, AuditScreen)


def test_the_keys_table_is_validated_with_file_and_key(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[providers]]\nname = "a"\ntype = "demo"\n[keys]\n"main.audit" = 3\n')
    with pytest.raises(config.ConfigError, match=r"config.toml: keys.main.audit: expected a key"):
        config.load(str(path))
    path.write_text('[[providers]]\nname = "a"\ntype = "demo"\n[keys]\n"main.audit" = "A"\n')
    loaded = config.load(str(path))
    assert keymap_for(loaded.keys, loaded.source) == ({"main.audit": "A"}, [])


# -- help -----------------------------------------------------------------------------


async def test_help_lists_pamtuis_keys_only_in_the_operators_words(db_path):
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4", "question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen._table.columns
        keys, what, where, ids = ([str(c) for c in col._cells] for col in rows)
        assert not any("Copy selected text" in w for w in what)
        assert not any("focused" in w or "Table" in w for w in where)
        assert "queue pane" in where and "everywhere" in where
        assert "queue.execute" in ids and "app.quit" in ids
        assert any(k == "j/down" for k in keys)


# -- the confirm dialog ------------------------------------------------------------------


async def bobs_plan_dialog(app, pilot) -> tuple[ConfirmRevoke, StepList]:
    """``R`` on bob's account: the plan dialog and its step list."""
    await settle(app, pilot)
    await select_account(app, pilot, "bob")
    await pilot.press("R")
    await pilot.pause()
    dialog = app.screen
    assert isinstance(dialog, ConfirmRevoke)
    return dialog, dialog.query_one(StepList)


async def test_deselected_steps_read_as_such_without_colour(db_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog, steps = await bobs_plan_dialog(app, pilot)
        total = steps.option_count
        assert total >= 2
        title = dialog.query_one("#confirm-dialog").border_title
        assert str(title) == f"{total} steps"
        assert line(steps, 0).startswith("[x] ")
        assert isinstance(app.focused, Input)  # the reason
        await pilot.press("tab")  # "Tab here": the steps, not the buttons
        assert app.focused is steps
        await pilot.press("space")  # deselect the first step
        await pilot.pause()
        assert line(steps, 0).startswith("[ ] ") and line(steps, 1).startswith("[x] ")
        assert str(dialog.query_one("#confirm-dialog").border_title) == (
            f"{total - 1} of {total} steps"
        )
        await pilot.press("shift+tab")
        assert isinstance(app.focused, Input)


# -- unavailable actions are refused at once -------------------------------------------------


async def test_e_on_a_verified_item_is_refused_at_once(db_path):
    provider = StaticProvider()
    app = make_app(db_path, provider, stream=False)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        (item,) = app.session.queue.stage([action], "stale", actor="tester")
        app.session.queue.approve(item.id, actor="tester")
        await app.session.queue.run([item.id])
        assert app.session.queue.get(item.id).state is QueueState.VERIFIED
        app.main.refresh_queue()
        await pilot.press("4", "e")
        await pilot.pause()
        assert not isinstance(app.screen, PromptScreen)
        assert any("only staged items" in n.message for n in app._notifications)


# -- the review screen ----------------------------------------------------------------------


async def test_review_keys_follow_the_shared_map(db_path):
    from pamtui.services.review import ReviewService

    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        service = ReviewService.for_session(app.session)
        service.start("all", app.session.inventory.rows(), actor="lead")
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        for key in ("x", "r", "k", "p"):  # once: revoke, revoke, keep, previous
            await pilot.press(key)
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen), key
        assert all(not item.decision for item in app.screen.items)
        assert all(item.state is not QueueState.APPROVED for item in app.session.queue.items())
        await pilot.press("R")  # shift+r revokes, as on the triage screen
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)


async def test_y_and_c_on_a_verified_item_refuse_before_any_totp_prompt(
    db_path,
    memory_keyring,
):
    enrol(db_path, "tester")
    journal = Journal.open(db_path)
    cfg = Config(
        source=None,
        providers=(ProviderConfig("static", "static"),),
        operator=OperatorConfig(require_totp=True),
    )
    provider = StaticProvider()
    session = Session(
        cfg, journal, {"static": provider}, read_only=False, db_path=db_path, operator="tester"
    )
    app = PamtuiApp(session, stream=False)
    action = provider.revoke_actions(provider.credentials["t-carol-1"])[0]
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        (item,) = app.session.queue.stage([action], "stale", actor="tester")
        app.session.queue.approve(item.id, actor="tester")
        await app.session.queue.run([item.id])
        app.main.refresh_queue()
        for key in ("y", "c"):
            await pilot.press("4", key)
            await pilot.pause()
            assert not isinstance(app.screen, PromptScreen), key  # no code asked for
        refusals = [n.message for n in app._notifications if "verified: it cannot be" in n.message]
        assert len(refusals) == 2
        assert app.session.queue.get(item.id).state is QueueState.VERIFIED


async def test_j_k_g_G_scroll_the_help_like_every_list(db_path):
    """The help says "Everywhere: j/k move, g/G first/last row": its own list too.

    At 80x24 the key list does not fit; only the arrows scrolled it, so an
    operator who pressed j (as the help itself tells them) saw nothing move.
    """
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        scroll = app.screen.query_one("#help-dialog")
        assert scroll.max_scroll_y > 2  # the list overflows at this size
        await pilot.press("j", "j")
        await pilot.pause()
        assert scroll.scroll_y == 2
        await pilot.press("k")
        await pilot.pause()
        assert scroll.scroll_y == 1
        await pilot.press("G")
        await pilot.pause()
        assert scroll.scroll_y == scroll.max_scroll_y
        await pilot.press("g")
        await pilot.pause()
        assert scroll.scroll_y == 0
        assert isinstance(app.screen, HelpScreen)


async def test_help_for_the_filter_names_what_it_matches(db_path):
    """The filter matches status and ``~letters`` too (README); the help left both out."""
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        rows = app.screen._table.columns
        ids, what = ([str(c) for c in rows[n]._cells] for n in (3, 1))
        what = dict(zip(ids, what, strict=True))
        assert "status" in what["main.filter"] and "~" in what["main.filter"]


async def test_j_k_g_G_move_in_the_plan_dialogs_steps(db_path):
    """In the plan dialog's step list j did nothing, so "Tab, j, space" (deselect the
    second step, as a vim user types it) deselected the first step instead."""
    app = make_app(db_path, StaticProvider(), stream=False)
    async with app.run_test(size=SIZE) as pilot:
        dialog, steps = await bobs_plan_dialog(app, pilot)
        last = steps.option_count - 1
        assert last >= 1
        await pilot.press("tab", "j", "space")
        await pilot.pause()
        assert line(steps, 0).startswith("[x] ") and line(steps, 1).startswith("[ ] ")
        await pilot.press("k")
        assert steps.highlighted == 0
        await pilot.press("G")
        assert steps.highlighted == last
        await pilot.press("g")
        assert steps.highlighted == 0
        assert app.screen is dialog
