"""The accounts pane on the generated 100,000-account org (demo ``scale``).

Behaviour only, never wall-clock: the first screen shows rows, the filter
narrows, sorting toggles, the selection drives the credentials pane, and the
cursor reaches the last row. Timings are benchmarks/bench_scale.py's job.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pamtui.config import Config, ProviderConfig
from pamtui.model import RiskFlag
from pamtui.providers.base import ProviderConfigError, ProviderContext
from pamtui.providers.demo import DemoProvider
from pamtui.providers.demo.scaled import CREDENTIALS_PER_ACCOUNT, ensure_scaled
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
from pamtui.tui.widgets.accounts import AccountsTable
from pamtui.tui.widgets.credentials import CredentialsTable

SCALE = 100_000
SIZE = (120, 40)


@pytest.fixture(scope="module")
def scaled_state(tmp_path_factory) -> Path:
    """The 100k org, generated once for the module (about 10-20 s)."""
    path = tmp_path_factory.mktemp("scale") / f"demo-{SCALE}.sqlite"
    return ensure_scaled(path, scale=SCALE)


def scale_app(state: Path, db_path: Path) -> PamtuiApp:
    providers = tuple(
        ProviderConfig(
            f"demo-{system}",
            "demo",
            {"system": system, "scale": SCALE, "state_file": str(state), "latency_ms": 0},
        )
        for system in ("idp", "git", "cloud")
    )
    session = Session.open(cfg=Config(source=None, providers=providers), db_path=str(db_path))
    return PamtuiApp(session, stream=False)


async def loaded(app: PamtuiApp, pilot, seen_provisional: list[int] | None = None) -> AccountsTable:
    """Wait for the whole sync; ``seen_provisional`` gets the row counts shown before it ended."""
    table = app.screen.query_one(AccountsTable)
    while table.row_count < SCALE or app.main.accounts_loading:
        if seen_provisional is not None and table.row_count and app.main.accounts_loading:
            seen_provisional.append(table.row_count)
        await asyncio.sleep(0.05)
    await pilot.pause()
    return table


def screen_lines(table: AccountsTable) -> list[str]:
    return [table.render_line(y).text for y in range(table.scrollable_content_region.height)]


async def test_the_100k_org_opens_filters_sorts_selects_and_scrolls(scaled_state, db_path):
    app = scale_app(scaled_state, db_path)
    async with app.run_test(size=SIZE) as pilot:
        early: list[int] = []
        table = await loaded(app, pilot, early)
        # Rows came before the 300,000 credentials did (provisional, then complete).
        assert early and min(early) < SCALE
        inventory = app.session.inventory
        assert not inventory.provisional.get("demo-idp")
        assert all(view.credentials_read for view in inventory.views.values())
        assert len(inventory.views) == SCALE
        assert sum(len(v.credentials) for v in inventory.views.values()) == (
            SCALE * CREDENTIALS_PER_ACCOUNT
        )

        # First screen: the header (sorted by risk, riskiest first) and full rows.
        lines = screen_lines(table)
        assert "Risk ▼" in lines[0]
        first = table.index[0]
        assert RiskFlag.ORPHANED in first.flags
        assert first.name[:20] in lines[1] and "ORPHAN" in lines[1]
        assert all(line.strip() for line in lines[1:])  # every visible line is a row
        assert "Accounts 100000" in str(app.screen.query_one("#accounts-pane").border_title)

        # Selection drives the credentials pane.
        await pilot.press("down", "down")
        await pilot.pause()
        row = table.index[2]  # the table holds light rows; the view is the inventory's
        assert table.selected_key == row.key
        view = inventory.views[row.key]
        credentials = app.screen.query_one(CredentialsTable)
        assert credentials.row_count == len(view.credentials)
        assert {c.id for c in credentials._credentials} == {c.id for c in view.credentials}

        # Filter as you type: one account by its unique name, then a flag.
        target = table.index[SCALE // 2]
        await pilot.press("slash", *target.name)
        await pilot.pause()
        assert target.key in table.index.shown_keys()
        assert table.row_count < 50
        assert f"/{SCALE}" in str(app.screen.query_one("#accounts-pane").border_title)
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == SCALE
        await pilot.press("slash", *"orphan")
        await pilot.pause()
        orphans = table.row_count
        assert 0 < orphans < SCALE
        assert all(RiskFlag.ORPHANED in table.index[n].flags for n in range(0, orphans, 97))
        await pilot.press("enter")  # back to the table, the filter stays
        await pilot.press("escape")
        await pilot.pause()
        assert table.row_count == SCALE

        # Sorting: s moves to the next column (Live, most first), S reverses it.
        table.focus()
        await pilot.press("s")
        await pilot.pause()
        assert table.index.sort_column == "creds"
        assert "Live ▼" in screen_lines(table)[0]
        live = [table.get_row_at(n)[2].plain for n in range(200)]
        assert [int(x) for x in live] == sorted((int(x) for x in live), reverse=True)
        await pilot.press("S")
        await pilot.pause()
        assert "Live ▲" in screen_lines(table)[0]
        live = [int(table.get_row_at(n)[2].plain) for n in range(200)]
        assert live == sorted(live)
        for _ in range(5):  # round the cycle back to risk
            await pilot.press("s")
        await pilot.pause()
        assert table.index.sort_column == "risk" and "Risk ▼" in screen_lines(table)[0]

        # Keyboard to the very end and back.
        await pilot.press("end")
        await pilot.pause()
        assert table.cursor_row == SCALE - 1
        last = table.index[SCALE - 1]
        assert table.selected_key == last.key
        lines = screen_lines(table)
        assert last.name[:20] in lines[-1]
        assert table.scroll_offset.y == table.max_scroll_y
        await pilot.press("pageup")
        await pilot.pause()
        assert table.cursor_row < SCALE - 1
        await pilot.press("home")
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_offset.y == 0


def test_scale_setting_is_validated(tmp_path):
    context = ProviderContext(state_dir=tmp_path)
    provider = DemoProvider.from_config("d", {"scale": 500, "system": "git"}, context)
    assert provider.scale == 500
    assert provider.state_file == tmp_path / "demo-500.sqlite"
    with pytest.raises(ProviderConfigError, match="at least"):
        DemoProvider.from_config("d", {"scale": 3}, context)
    with pytest.raises(ProviderConfigError, match="must be"):
        DemoProvider.from_config("d", {"scale": "big"}, context)


def test_demo_scale_command_writes_a_working_config(tmp_path, capsys):
    from pamtui import config as config_mod
    from pamtui.cli import main

    db = tmp_path / "data" / "pamtui.db"
    out = tmp_path / "big.toml"
    assert main(["demo", "--db", str(db), "--scale", "300", "--write-config", str(out)]) == 0
    assert (db.parent / "demo-300.sqlite").exists()
    assert f"pamtui --config {out}" in capsys.readouterr().out
    cfg = config_mod.load(str(out))
    assert [p.settings["scale"] for p in cfg.providers] == [300, 300, 300]
    assert main(["--config", str(out), "accounts", "--db", str(db)]) == 0
    listed = capsys.readouterr().out.strip().splitlines()
    assert len(listed) == 1 + 300  # the header and every account
