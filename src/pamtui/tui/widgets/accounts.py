"""The accounts pane: every provider's accounts with their risk flags."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable

from pamtui.model import CredentialStatus, RiskFlag
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.tui.safe import safe
from pamtui.tui.widgets.badges import flag_badges

_SEP = "\x1f"
RISK_WIDTH = 15
COLUMNS = (
    ("Account", "account"),
    ("Risk", "risk"),
    ("Live", "creds"),
    ("Provider", "provider"),
    ("Status", "status"),
    ("Kind", "kind"),
)


def row_key(key: AccountKey) -> str:
    return f"{key[0]}{_SEP}{key[1]}"


def parse_row_key(value: str) -> AccountKey:
    provider, _, account_id = value.partition(_SEP)
    return provider, account_id


def _risk_rank(view: AccountView) -> tuple:
    flags = view.flags
    return (
        RiskFlag.ORPHANED not in flags,
        RiskFlag.ANOMALOUS not in flags,
        RiskFlag.PRIVILEGED not in flags,
        RiskFlag.STALE not in flags,
        view.account.provider,
        view.account.name.lower(),
    )


def matches(view: AccountView, needle: str) -> bool:
    """Case-insensitive substring over name, display name, email, provider and flags."""
    if not needle:
        return True
    a = view.account
    haystack = " ".join(
        (
            a.name,
            a.display_name,
            a.email,
            a.provider,
            a.system,
            str(a.kind),
            str(a.status),
            *(str(f) for f in view.flags),
        )
    ).lower()
    return all(part in haystack for part in needle.lower().split())


class AccountsTable(DataTable):
    """Accounts, riskiest first. Posts ``AccountSelected`` when the cursor moves."""

    BINDINGS = [
        Binding(
            "enter",
            "open_account",
            "Credentials",
            show=False,
            id="accounts.open",
            tooltip="Open the account's credentials",
        ),
    ]

    class AccountSelected(Message):
        def __init__(self, key: AccountKey | None) -> None:
            super().__init__()
            self.key = key

    class AccountOpened(Message):
        def __init__(self, key: AccountKey) -> None:
            super().__init__()
            self.key = key

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=False, **kwargs)
        self._views: dict[AccountKey, AccountView] = {}
        self._filter = ""

    def on_mount(self) -> None:
        # What triage needs first comes first: narrow terminals cut the right side.
        for label, key in COLUMNS:
            # Risk badges change in place (update_cell keeps widths): size it up front.
            self.add_column(label, key=key, width=RISK_WIDTH if key == "risk" else None)

    @property
    def shown(self) -> int:
        return self.row_count

    def _cells(self, view: AccountView) -> dict[str, Text]:
        """Cells by column key, so add_row and update_cell cannot disagree on order."""
        a = view.account
        live = sum(1 for c in view.credentials if c.status is CredentialStatus.ACTIVE)
        return {
            "account": safe(a.name, max_length=28),
            "risk": flag_badges(view.flags, self.app.current_theme),
            "creds": safe(live),
            "provider": safe(a.provider, max_length=16),
            "status": safe(a.status, "dim" if a.status != "active" else ""),
            "kind": safe(a.kind),
        }

    def load(self, views: Iterable[AccountView]) -> None:
        self._views = {v.key: v for v in views}
        self._render_rows()

    def set_filter(self, needle: str) -> None:
        self._filter = needle.strip()
        self._render_rows()

    def _render_rows(self) -> None:
        selected = self.selected_key
        self.clear()
        shown = sorted(
            (v for v in self._views.values() if matches(v, self._filter)), key=_risk_rank
        )
        for view in shown:
            cells = self._cells(view)
            self.add_row(*(cells[key] for _, key in COLUMNS), key=row_key(view.key))
        if selected is not None and selected in self._views and self.row_count:
            try:
                self.move_cursor(row=self.get_row_index(row_key(selected)))
            except Exception:
                self.move_cursor(row=0)
        self.post_message(self.AccountSelected(self.selected_key))

    def update_view(self, view: AccountView) -> None:
        self._views[view.key] = view
        key = row_key(view.key)
        if key not in self.rows:
            return
        for column, value in self._cells(view).items():
            self.update_cell(key, column, value)

    @property
    def selected_key(self) -> AccountKey | None:
        if not self.row_count:
            return None
        try:
            row = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return parse_row_key(row.value) if row.value else None

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.post_message(self.AccountSelected(self.selected_key))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.selected_key is not None:
            self.post_message(self.AccountOpened(self.selected_key))

    def action_open_account(self) -> None:
        if self.selected_key is not None:
            self.post_message(self.AccountOpened(self.selected_key))
