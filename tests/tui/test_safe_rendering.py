"""Property tests: no provider text is ever markup or a terminal control sequence.

Names and events are generated from markup fragments, ESC/CSI/OSC sequences,
C0/C1 controls and bidirectional overrides. Whatever the mix, the rendered
TUI screen and the CLI's output contain no control character, the app keeps
running, and the journal keeps the original bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import AccessEvent, utcnow
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS

FRAGMENTS = [
    "[",
    "]",
    "[/]",
    "[@click=app.quit]",
    "[bold red]",
    "[link=https://evil.example]",
    "\x1b[2J",
    "\x1b]0;title\x07",
    "\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;http://x\x07",
    "\x9b31m",
    "\x07",
    "\x00",
    "\r",
    "\n",
    "\t",
    "\u202e",
    "\u2066",
    "\u200b",
    "é",
    "名",
    "admin",
    " ",
]
hostile_text = st.lists(
    st.sampled_from(FRAGMENTS) | st.text(max_size=4), min_size=1, max_size=8
).map("".join)
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _session(tmp_path, names: list[str], paths: list[str]) -> tuple[Session, StaticProvider]:
    now = utcnow()
    events = [
        AccessEvent(
            "static",
            now - timedelta(seconds=1),
            "u2",
            "t-bob-1",
            "GET",
            p,
            401,
            "203.0.113.9",
            user_agent=p,
        )
        for p in paths
    ]
    provider = StaticProvider(events=events)
    for n, name in enumerate(names):
        provider.accounts[f"g{n}"] = provider.accounts["u3"].__class__(
            provider="static",
            id=f"g{n}",
            name=name,
            kind=provider.accounts["u3"].kind,
            status=provider.accounts["u3"].status,
            display_name=name,
            email=name,
        )
    db = tmp_path / f"db-{abs(hash((tuple(names), tuple(paths))))}" / "pamtui.db"
    session = Session(
        demo_config(),
        Journal.open(db),
        {"static": provider},
        read_only=False,
        db_path=db,
        operator="tester",
    )
    return session, provider


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    names=st.lists(hostile_text, min_size=3, max_size=12),
    paths=st.lists(hostile_text, min_size=1, max_size=6),
)
def test_the_rendered_screen_never_carries_markup_or_controls(tmp_path, names, paths):
    async def scenario() -> str:
        session, _ = _session(tmp_path, names + list(HOSTILE_STRINGS[:3]), paths)
        app = PamtuiApp(session)
        async with app.run_test(size=(140, 40)) as pilot:
            for _ in range(100):
                await pilot.pause(0.02)
                if (
                    app.screen.query("AccountsTable")
                    and app.screen.query_one("AccountsTable").row_count
                ):
                    break
            await pilot.pause(0.3)  # let the stream flush
            await pilot.click("AccountsTable", offset=(4, 2))  # clicking never runs markup
            await pilot.pause()
            assert app.is_running
            return app.export_screenshot()

    svg = asyncio.run(scenario())
    assert not CONTROL.search(svg)


@settings(max_examples=40, deadline=None)
@given(rows=st.lists(st.tuples(hostile_text, hostile_text), min_size=1, max_size=5))
def test_cli_tables_never_print_controls(rows):
    from pamtui.cli.common import print_table as _print_table

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        _print_table(["name", "path"], rows)
    assert not CONTROL.search(out.getvalue().replace("\n", ""))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=hostile_text)
def test_the_journal_keeps_the_original_bytes(tmp_path, text):
    journal = Journal.open(tmp_path / f"j{abs(hash(text))}.db")
    journal.append("tester", "stage", subject="credential:x", detail={"label": text})
    assert journal.entries(limit=1)[0].detail["label"] == text
    assert journal.verify().ok
    journal.close()
