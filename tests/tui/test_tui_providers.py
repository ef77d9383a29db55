"""A degraded provider is named in the status bar, and shift+p says why."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

from rich.console import Console
from textual.widgets import Static

from pamtui.config import demo_config
from pamtui.journal import Journal
from pamtui.model import Account
from pamtui.providers.base import ProviderError
from pamtui.sanitize import is_clean
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.screens.providers import ProvidersScreen
from tests.fakes import StaticProvider

REASON = "HTTP 401 from okta: [bold]Invalid token[/bold] \x1b]52;c;cm0gLXJmIH4=\x07 E0000011"


class BrokenProvider(StaticProvider):
    async def list_accounts(self) -> AsyncIterator[Account]:
        raise ProviderError(REASON)
        yield  # pragma: no cover  (an async generator that fails on first use)


def make_app(db_path) -> PamtuiApp:
    good, broken = StaticProvider(), BrokenProvider("okta-prod")
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {good.name: good, broken.name: broken},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    return PamtuiApp(session, stream=False)


async def test_degraded_provider_is_named_and_explained(db_path) -> None:
    app = make_app(db_path)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        app._update_status()
        await pilot.pause()
        bar = str(app.screen.query_one("#status-bar").render())
        assert "1 degraded: okta-prod" in bar

        await pilot.press("P")
        await pilot.pause()
        assert isinstance(app.screen, ProvidersScreen)
        statuses = {s.name: s for s in app.provider_statuses()}
        assert statuses["okta-prod"].ok is False and "Invalid token" in statuses["okta-prod"].reason
        assert statuses["static"].ok is True and statuses["static"].accounts > 0
        table = app.screen.query_one("#providers-table", Static).content
        console = Console(width=140, record=True, file=io.StringIO())
        console.print(table)
        shown = console.export_text()
        # The reason is shown literally: markup not interpreted, the OSC 52 neutralised.
        assert "[bold]Invalid token[/bold]" in shown
        assert "E0000011" in shown and is_clean(shown.replace("\n", ""))
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ProvidersScreen)


async def test_a_stream_problem_degrades_until_the_stream_delivers(db_path) -> None:
    from pamtui.services.health import provider_statuses

    good = StaticProvider()
    rows = provider_statuses({good.name: good}, {}, {good.name: "timed out"})
    assert rows[0].ok is False and rows[0].reason == "stream: timed out"
    assert provider_statuses({good.name: good}, {}, {})[0].stream in ("live", "none")


def test_snapshot_providers_screen(snap_compare, db_path) -> None:
    async def open_providers(pilot) -> None:
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        pilot.app.clear_notifications()  # the toast's timing is not what this shows
        await pilot.press("P")
        await pilot.pause()

    assert snap_compare(make_app(db_path), terminal_size=(140, 40), run_before=open_providers)
