"""The command palette (ctrl+p): pamtui's main actions, and every account by name.

Account names, emails and provider names are untrusted provider text. Textual
parses plain-string hits as markup (and ``Matcher.highlight`` does too), so every
hit here is a ``Content`` built from cleaned text and highlighted by hand: a name
like ``[@click=app.quit]x[/]`` stays literal. Help strings are parsed as markup
by the palette, so they only ever hold pamtui's own words.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.fuzzy import Matcher
from textual.widgets import Input

from pamtui.sanitize import clean
from pamtui.services.inventory import AccountKey
from pamtui.tui.keymap import role_allows
from pamtui.tui.screens.main import MUTATING_ACTIONS, MainScreen
from pamtui.tui.widgets.accounts import AccountsTable, row_key
from pamtui.tui.widgets.stream import StreamLog

if TYPE_CHECKING:
    from pamtui.tui.app import PamtuiApp

# (palette text, MainScreen action, help): pamtui's own words only.
MAIN_COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "Revoke selected credential",
        "revoke_credential",
        "Revoke the credential selected in the credentials pane",
    ),
    (
        "De-provision selected account",
        "revoke_account",
        "Every token, key and session of the selected account, then the account",
    ),
    ("Open audit journal", "open_audit", "Review, search, verify and export the journal"),
    (
        "Access review",
        "open_review",
        "Decide each account of a review campaign: keep, revoke or defer",
    ),
    (
        "Start a review campaign",
        "start_review",
        "Snapshot the accounts in scope into a new access review campaign, then open it",
    ),
    (
        "People",
        "open_people",
        "Everyone on the roster, their accounts in every provider; offboard a person",
    ),
    ("Pause/resume stream", "pause_stream", "Pause or resume the stream view"),
    ("Denied calls only", "denied_only", "Show only denied calls (401/403) in the stream"),
    (
        "Stream: only the selected account",
        "stream_account",
        "Show only the selected account's events in the stream (again: everyone's)",
    ),
)

# (palette text, StreamFilter status, help)
STREAM_STATUS_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("Stream: only denied calls", "denied", "401 and 403 only"),
    ("Stream: only errors", "errors", "Status 400 and above"),
    ("Stream: only successful calls", "ok", "Status below 400"),
)


def _highlight(matcher: Matcher, candidate: str) -> Content:
    """``Matcher.highlight`` without its markup parsing: the candidate stays literal."""
    content = Content(candidate)
    score, offsets = matcher.fuzzy_search.match(matcher.query, candidate)
    if not score:
        return content
    for offset in offsets:
        if not candidate[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content


class PamtuiCommands(Provider):
    """Accounts, revocation, the journal, themes, filters and the stream."""

    @property
    def _main(self) -> MainScreen | None:
        return self.screen if isinstance(self.screen, MainScreen) else None

    def _allowed(self, action: str) -> bool:
        if action in MUTATING_ACTIONS and not role_allows(self.app, action):
            return False
        return not (action in MUTATING_ACTIONS and getattr(self.app, "read_only", True))

    def _commands(self) -> Iterator[tuple[str, Callable[[], object], str | None]]:
        """(plain text, callback, help) for every command on offer right now."""
        main = self._main
        if main is not None:
            for text, action, help_text in MAIN_COMMANDS:
                if self._allowed(action):
                    yield text, partial(self._run, action), help_text
            providers = sorted(cast("PamtuiApp", self.app).session.providers)
            for name in providers:
                label = clean(name, max_length=40)
                yield f"Filter by provider: {label}", partial(self._filter, name), None
            for text, status, help_text in STREAM_STATUS_COMMANDS:
                yield text, partial(self._stream_filter, status=status), help_text
            for name in providers:
                label = clean(name, max_length=40)
                yield (
                    f"Stream: only provider {label}",
                    partial(self._stream_filter, provider=name),
                    None,
                )
            yield (
                "Stream: show everything",
                partial(self._stream_filter, clear=True),
                "Clear the stream's filters",
            )
        for name in sorted(self.app.available_themes):
            label = clean(name, max_length=40)
            yield f"Switch theme: {label}", partial(self._set_theme, name), None

    def _accounts(self) -> Iterator[tuple[str, AccountKey]]:
        if self._main is None:
            return
        # The pane's rows: what the operator sees (the service's, in bastion mode).
        for row in self._main.query_one(AccountsTable).index.all_rows():
            text = " · ".join(
                part
                for part in (
                    f"Go to account {clean(row.name, max_length=60)}",
                    clean(row.email, max_length=60),
                    clean(row.provider, max_length=30),
                )
                if part
            )
            yield text, row.key

    async def discover(self) -> Hits:
        for text, callback, help_text in self._commands():
            yield DiscoveryHit(Content(text), callback, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, callback, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _highlight(matcher, text), callback, text=text, help=help_text)
        for text, key in self._accounts():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, _highlight(matcher, text), partial(self._go_to, key), text=text)

    # -- what the hits do (run after the palette has closed) ----------------------

    def _run(self, action: str) -> None:
        main = self._main
        if main is None or not self._allowed(action):
            return
        if action == "open_audit":
            cast("PamtuiApp", self.app).action_open_audit()
            return
        getattr(main, f"action_{action}")()

    def _set_theme(self, name: str) -> None:
        if name in self.app.available_themes:
            self.app.theme = name

    def _stream_filter(self, *, clear: bool = False, **changes: str) -> None:
        main = self._main
        if main is None:
            return
        if clear:
            main.clear_stream_filter()
            return
        main.query_one(StreamLog).update_filter(**changes)
        main._update_stream_title()

    def _filter(self, provider: str) -> None:
        main = self._main
        if main is None:
            return
        # The Input's Changed handler filters the table and titles the pane.
        main.query_one("#accounts-filter", Input).value = provider
        main.query_one(AccountsTable).focus()

    def _go_to(self, key: AccountKey) -> None:
        main = self._main
        if main is None:
            return
        table = main.query_one(AccountsTable)
        if row_key(key) not in table.rows:
            main.action_clear_filter()  # hidden by the filter: show every account
        if row_key(key) not in table.rows:
            self.app.notify("That account is no longer listed.", severity="warning")
            return
        table.move_cursor(row=table.get_row_index(row_key(key)))
        table.focus()
