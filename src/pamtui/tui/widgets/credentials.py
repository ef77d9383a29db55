"""The detail pane: the selected account and its credentials."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from pamtui.model import Credential, CredentialStatus, utcnow
from pamtui.sanitize import clean
from pamtui.services.inventory import AccountView
from pamtui.services.risk import has_admin_scope
from pamtui.tui.safe import join, safe
from pamtui.tui.widgets.badges import flag_badges
from pamtui.tui.widgets.table import KeyedDataTable


def ago(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "never"
    seconds = (now - when).total_seconds()
    if seconds < 0:
        days = int(-seconds // 86400)
        return f"in {days}d" if days else "today"
    if seconds < 3600:
        return f"{int(seconds // 60)}m ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h ago"
    return f"{int(seconds // 86400)}d ago"


# Most useful first: a narrow pane cuts the right-hand columns. At 120 columns
# the pane is 46 cells wide: label (18), status, last use and kind fit whole.
COLUMNS = ("Label", "Status", "Used", "Kind", "Scopes", "Expires", "Fingerprint")
LABEL_WIDTH = 18
KIND_LABEL = {
    "api_token": "token",
    "access_key": "key",
    "personal_access_token": "PAT",
    "session": "session",
    "ssh_key": "SSH key",
}
"""Short kinds for the narrow pane (``personal_access_token`` was cut to ``personal_access_t``)."""


class CredentialsTable(KeyedDataTable):
    HELP_WHERE = "credentials pane"

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self._credentials: list[Credential] = []

    def on_mount(self) -> None:
        for label in COLUMNS:  # Text: see QueueTable.on_mount
            self.add_column(Text(label), key=label)

    def load(self, credentials: list[Credential]) -> None:
        now = utcnow()
        warning = (self.app.current_theme.warning if self.app.current_theme else None) or "yellow"
        error = self.app.current_theme.error if self.app.current_theme else "red"
        selected = self.selected
        live_first = sorted(
            credentials,
            key=lambda c: (c.status is not CredentialStatus.ACTIVE, c.kind, c.label),
        )
        self._credentials = live_first
        self.clear()
        for c in live_first:
            active = c.status is CredentialStatus.ACTIVE
            expired = active and c.expires is not None and c.expires < now
            cells = {
                "Label": safe(c.label or c.id, max_length=LABEL_WIDTH),
                "Status": safe(c.status, f"bold {error}" if expired else ("" if active else "dim")),
                "Kind": safe(KIND_LABEL.get(str(c.kind), c.kind)),
                # "24d", not "24d ago": the header says it, and the pane is narrow.
                "Used": safe(ago(c.last_used, now).removesuffix(" ago")),
                "Scopes": safe(
                    ", ".join(c.scopes), warning if has_admin_scope(c) else "", max_length=40
                ),
                "Expires": safe(
                    ago(c.expires, now) if c.expires else "-", f"bold {error}" if expired else ""
                ),
                "Fingerprint": safe(c.fingerprint, "dim"),
            }
            self.add_row(*(cells[name] for name in COLUMNS), key=f"{c.provider}\x1f{c.id}")
        if selected is not None:
            for index, c in enumerate(self._credentials):
                if c.key == selected.key:
                    self.move_cursor(row=index)

    @property
    def selected(self) -> Credential | None:
        if not self._credentials or self.cursor_row < 0:
            return None
        if self.cursor_row >= len(self._credentials):
            return None
        return self._credentials[self.cursor_row]


class AccountDetail(Vertical):
    """Summary line of the account plus its credentials table."""

    _shown_credentials: tuple[Credential, ...] | None = None

    def compose(self):
        yield Static(id="account-summary")
        yield CredentialsTable(id="credentials")

    def show(self, view: AccountView | None) -> None:
        summary = self.query_one("#account-summary", Static)
        table = self.query_one(CredentialsTable)
        if view is None:
            summary.update(Text("No account selected", style="dim"), layout=False)
            self._load_table(table, ())
            return
        a = view.account
        owner = Text(end="")
        if a.owner:
            owner = join(Text("owner", style="dim"), safe(a.owner), safe(f"({a.owner_status})"))
        # layout=False: the summary's height is fixed (pamtui.tcss), so a new
        # account costs a repaint, not a relayout of the screen per keystroke.
        summary.update(
            Text("\n", end="").join(
                [
                    *_still_reading(view),  # first: the pane is four lines high
                    join(
                        safe(a.display_name or a.name, "bold", max_length=60),
                        safe(f"<{a.email}>", "dim") if a.email else Text(""),
                        flag_badges(view.flags, self.app.current_theme),
                    ),
                    join(
                        Text("provider", style="dim"),
                        safe(a.provider),
                        Text("kind", style="dim"),
                        safe(a.kind),
                        Text("status", style="dim"),
                        safe(a.status),
                        owner,
                    ),
                    join(
                        Text("groups", style="dim"), safe(", ".join(a.groups) or "-", max_length=90)
                    ),
                ]
            ),
            layout=False,
        )
        self._load_table(table, view.credentials)

    def _load_table(self, table: CredentialsTable, credentials: tuple[Credential, ...]) -> None:
        # Rebuild only when the credentials changed: a flag on the account (say,
        # ANOMALY from the stream) must not reset the operator's cursor mid-move.
        if credentials == self._shown_credentials:
            return
        self._shown_credentials = credentials
        table.load(list(credentials))


def _still_reading(view: AccountView) -> list[Text]:
    if view.credentials_read:
        return []
    if view.snapshot:
        return [
            Text(
                f"snapshot of {clean(view.snapshot[:16].replace('T', ' '))} UTC: the providers "
                "have not answered yet (revocation waits for them)",
                style="dim italic",
            )
        ]
    return [Text("credentials: still reading them from the provider…", style="dim italic")]
