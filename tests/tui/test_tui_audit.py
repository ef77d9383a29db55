"""The audit review screen: paging, search, detail, verification, export."""

from __future__ import annotations

import json
import sqlite3

import pytest
from textual.widgets import Input, Static

from pamtui.journal import Journal
from pamtui.tui.app import AuditApp
from pamtui.tui.screens.audit import PAGE, AuditScreen, ExportDialog, JournalTable
from tests.support.hostile import HOSTILE_STRINGS
from tests.tui.test_tui import make_app, settle

SIZE = (120, 40)


def fill(db_path, n: int = 500) -> None:
    journal = Journal.open(db_path)
    with journal.transaction() as tx:
        for i in range(n):
            tx.append(
                "alice" if i % 3 else "bob",
                "revoked" if i % 2 else "stage",
                provider="demo-git" if i % 5 else "demo-idp",
                subject=f"credential:t{i}",
                detail={"label": f"Revoke token t{i}", "reason": "offboarding"},
                ts=f"2026-11-{1 + i // 100:02d}T10:{i % 60:02d}:00.000000Z",
            )
        tx.append(
            "mallory",
            "stage",
            subject="credential:evil",
            detail={"label": HOSTILE_STRINGS[0], "reason": HOSTILE_STRINGS[3]},
            ts="2026-11-20T03:00:00.000000Z",
        )
    journal.close()


def status_text(app) -> str:
    return str(app.screen.query_one("#audit-status", Static).render())


async def wait_verified(app, pilot) -> None:
    await app.workers.wait_for_complete()
    await pilot.pause(0.1)


@pytest.fixture
def audit_app(db_path):
    fill(db_path)
    return AuditApp(Journal.open(db_path, read_only=True))


async def test_pages_instead_of_loading_everything(audit_app):
    async with audit_app.run_test(size=SIZE) as pilot:
        await wait_verified(audit_app, pilot)
        table = audit_app.screen.query_one(JournalTable)
        assert table.row_count == PAGE  # one page, not 501 rows
        assert "501 entries" in str(audit_app.screen.query_one("#audit-list-pane").border_title)
        assert table.entries[0].seq == 501  # newest first
        table.focus()
        await pilot.press("end")
        await pilot.pause()
        assert table.row_count > PAGE
        for _ in range(4):
            await pilot.press("end")
            await pilot.pause()
        assert table.row_count == 501 and table.exhausted
        assert [e.seq for e in table.entries] == list(range(501, 0, -1))


async def test_search_narrows_and_detail_is_escaped(audit_app):
    async with audit_app.run_test(size=SIZE) as pilot:
        await wait_verified(audit_app, pilot)
        await pilot.press("slash", *"actor:mallory", "enter")
        await pilot.pause()
        table = audit_app.screen.query_one(JournalTable)
        assert [e.actor for e in table.entries] == ["mallory"]
        detail = str(audit_app.screen.query_one("#audit-detail", Static).render())
        assert '"actor": "mallory"' in detail
        assert "\x1b" not in detail and "\\u001b]0;pwned-title" in detail
        assert "[@click=app.quit]" in detail  # shown literally, not run
        query = audit_app.screen.query_one("#audit-query", Input)
        query.focus()
        query.value = ""
        await pilot.press(*"provider:demo-idp since:2026-11-03", "enter")
        await pilot.pause()
        assert {e.provider for e in table.entries} == {"demo-idp"}
        assert all(e.ts >= "2026-11-03" for e in table.entries)
        assert len(table.entries) == 60


async def test_verification_status_and_tampering(db_path):
    fill(db_path, 50)
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_verified(app, pilot)
        assert "chain verified: 51 entries" in status_text(app)
        sqlite3.connect(db_path, isolation_level=None).execute(
            "UPDATE entries SET actor = 'eve' WHERE seq = 17"
        )
        await pilot.press("C")
        await wait_verified(app, pilot)
        assert "CHAIN BROKEN at entry 17" in status_text(app)


async def test_export_from_the_screen(audit_app, tmp_path):
    target = tmp_path / "out.jsonl"
    async with audit_app.run_test(size=SIZE) as pilot:
        await wait_verified(audit_app, pilot)
        await pilot.press("slash", *"actor:bob", "enter")
        await pilot.pause()
        await pilot.press("E")
        await pilot.pause()
        assert isinstance(audit_app.screen, ExportDialog)
        path = audit_app.screen.query_one("#export-path", Input)
        path.value = str(target)
        path.focus()
        await pilot.press("enter")
        await pilot.pause()
    records = [json.loads(line) for line in target.read_text().splitlines()]
    assert len(records) == 167 and {r["actor"] for r in records} == {"bob"}
    assert oct(target.stat().st_mode & 0o777) == "0o600"


def footer_keys(app) -> dict[str, str]:
    """The footer's key -> description, as the operator reads it."""
    return {
        key: active.binding.description
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def test_escape_never_quits_the_standalone_screen_q_does(audit_app):
    # Issue 15: Esc quit `pamtui audit` (over SSH: closed the connection), even
    # with a search active, while the footer said "esc Back".
    async with audit_app.run_test(size=SIZE) as pilot:
        await wait_verified(audit_app, pilot)
        screen = audit_app.screen
        assert "escape" not in footer_keys(audit_app)  # no "esc Back" to nowhere
        await pilot.press("slash", *"actor:bob", "enter")
        await pilot.pause()
        assert screen.query_one(JournalTable).row_count == 167
        assert footer_keys(audit_app)["escape"] == "Clear search"
        await pilot.press("escape")  # clears the search...
        await pilot.pause()
        assert audit_app.is_running and audit_app.screen is screen
        assert screen.query_one("#audit-query", Input).value == ""
        assert screen.query_one(JournalTable).row_count == PAGE  # everything again
        await pilot.press("escape", "escape")  # ...then does nothing at the top level
        await pilot.pause()
        assert audit_app.is_running and audit_app.screen is screen
        await pilot.press("slash", *"zzz", "escape")  # typed, not submitted: cleared too
        await pilot.pause()
        assert audit_app.is_running and screen.query_one("#audit-query", Input).value == ""
        await pilot.press("q")
        await pilot.pause()
    assert audit_app.return_code == 0


async def test_a_opens_the_audit_screen_from_triage(db_path):
    from tests.fakes import StaticProvider

    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AuditScreen)
        table = app.screen.query_one(JournalTable)
        assert [e.action for e in table.entries] == ["session_start"]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AuditScreen)


def test_snapshot_audit_screen(snap_compare, db_path):
    fill(db_path, 30)

    async def loaded(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.1)

    assert snap_compare(
        AuditApp(Journal.open(db_path, read_only=True)), terminal_size=SIZE, run_before=loaded
    )


async def test_the_verified_head_stays_on_its_one_line_at_80_columns(db_path):
    """At 80x24 the status line wrapped and its one row showed "... head" and no head.

    The head (``SEQ:HASH``) is what ``audit verify --expect-head`` takes: its
    sequence number and the start of the hash stay on the line, the rest ends in …
    """
    fill(db_path, 50)
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_verified(app, pilot)
        status = app.screen.query_one("#audit-status", Static)
        shown = "".join(segment.text for segment in status.render_line(0))
        assert "chain verified: 51 entries, head 51:" in shown, shown
        assert "…" in shown


async def test_after_a_rotation_the_status_says_the_archives_are_counted(db_path):
    """The list said "(6 entries)" and the status "chain verified: 162 entries" with
    no word on why: the count includes the archives (``audit verify`` says so)."""
    from tests.journal.test_journal_rotate import _fill

    journal = Journal.open(db_path)
    _fill(journal, 5)
    journal.rotate()  # into the default archive directory, where verify looks
    _fill(journal, 2, actor="bob")
    journal.close()
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_verified(app, pilot)
        assert "chain verified: 8 entries (1 archive included)" in status_text(app)


@pytest.mark.parametrize(("n", "title"), [(0, "(1 entry)"), (1, "(2 entries)")])
async def test_the_list_title_counts_in_words(db_path, n: int, title: str):
    """Was "Audit journal (1 entries)" and "chain verified: 1 entries" on a journal
    that had only its first entry."""
    fill(db_path, n)  # n entries and mallory's
    app = AuditApp(Journal.open(db_path, read_only=True))
    async with app.run_test(size=SIZE) as pilot:
        await wait_verified(app, pilot)
        assert str(app.screen.query_one("#audit-list-pane").border_title) == (
            f"Audit journal {title}"
        )
        assert f"chain verified: {title.strip('()')}, head" in status_text(app)
