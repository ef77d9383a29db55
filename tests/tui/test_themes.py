"""Themes: NO_COLOR, the palette's theme commands (ours and Textual's picker), user themes."""

from __future__ import annotations

import pytest
from rich.segment import Segment
from textual.command import CommandPalette

from pamtui.tui.themes import discover_themes, load_theme_file, user_themes_dir
from tests.fakes import StaticProvider
from tests.tui.test_tui import make_app, settle
from tests.tui.test_tui_commands import palette_hits, run_command

SIZE = (120, 40)
USER_THEME = """
name = "night-shift"
primary = "#FF6600"
dark = true
"""


def screen_colours(app) -> set[tuple[int, int, int]]:
    """Every foreground and background colour on screen, after Textual's filters."""
    update = app.screen._compositor.render_update(full=True)
    colours: set[tuple[int, int, int]] = set()
    for line in update.strips:
        for strip in line:
            for segment in strip:
                style = segment.style if isinstance(segment, Segment) else None
                if style is None:
                    continue
                for colour in (style.color, style.bgcolor):
                    if colour is not None and not colour.is_default:
                        colours.add(tuple(colour.get_truecolor()))
    return colours


def is_grey(rgb: tuple[int, int, int]) -> bool:
    return max(rgb) - min(rgb) <= 1


async def test_no_color_renders_without_colour(db_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert app.no_color
        colours = screen_colours(app)
        assert colours, "nothing was rendered"
        assert all(is_grey(c) for c in colours), sorted(c for c in colours if not is_grey(c))


async def test_without_no_color_there_is_colour(db_path, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert not app.no_color
        assert any(not is_grey(c) for c in screen_colours(app))


def write_user_theme(text: str = USER_THEME, name: str = "night-shift.toml") -> None:
    folder = user_themes_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


async def test_palette_lists_and_switches_themes_including_user_themes(db_path):
    write_user_theme()
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        assert "night-shift" in app.available_themes
        hits = await palette_hits(app, pilot, "Switch theme")
        for name in ("pamtui-dark", "pamtui-light", "pamtui-high-contrast", "night-shift"):
            assert f"Switch theme: {name}" in hits
        await pilot.press("escape")
        await pilot.pause()
        await run_command(app, pilot, "Switch theme: night-shift")
        assert app.theme == "night-shift"
        assert app.current_theme.primary == "#FF6600"


async def test_textuals_theme_picker_offers_our_themes(db_path):
    write_user_theme()
    app = make_app(db_path, StaticProvider())
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        # Textual's own "Theme" command opens a picker listing available_themes.
        app.action_change_theme()
        await pilot.pause(0.2)
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"pamtui-solar")
        for _ in range(40):
            await pilot.pause(0.05)
            if (
                app.screen.query("CommandList Option")
                or app.screen.query_one("CommandList").option_count
            ):
                break
        await pilot.press("enter")
        await pilot.pause(0.2)
        if isinstance(app.screen, CommandPalette):
            await pilot.press("enter")
            await pilot.pause(0.2)
        assert app.theme == "pamtui-solarized"


async def test_theme_from_flag_is_used_and_an_unknown_one_is_reported(tmp_path):
    from pamtui.tui.app import PamtuiApp

    chosen = PamtuiApp(make_app(tmp_path / "a.db", StaticProvider()).session, theme="pamtui-light")
    async with chosen.run_test(size=SIZE) as pilot:
        await settle(chosen, pilot)
        assert chosen.theme == "pamtui-light"
    unknown = PamtuiApp(make_app(tmp_path / "b.db", StaticProvider()).session, theme="no-such")
    async with unknown.run_test(size=SIZE) as pilot:
        await settle(unknown, pilot)
        assert unknown.theme == "pamtui-dark"  # our default, not Textual's
        warning = next(str(n.message) for n in unknown._notifications if "no-such" in n.message)
        assert "pamtui-dark" in warning and "pamtui-light" in warning


@pytest.mark.parametrize(
    "name",
    ["[@click=app.quit]x[/]", "[b]bold", "a b", "bell\x07", "", "x" * 65, "-leading"],
)
def test_theme_names_that_could_be_markup_are_refused(tmp_path, name):
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "{name}"\nprimary = "#112233"\n'.replace("\x07", "\\u0007"))
    with pytest.raises(ValueError, match="name"):
        load_theme_file(path)


def test_a_bad_user_theme_is_a_problem_not_a_crash():
    write_user_theme('name = "[@click=app.quit]x[/]"\nprimary = "#112233"\n', "bad.toml")
    write_user_theme()
    themes, problems = discover_themes()
    assert "night-shift" in {t.name for t in themes}
    assert len(problems) == 1 and "bad.toml" in problems[0]
