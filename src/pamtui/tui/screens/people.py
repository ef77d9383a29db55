"""The people view: every person on the roster, their accounts everywhere, and offboarding.

The rows, links and risk come from correlation (services/people.py); the plan,
its order, four eyes and step-up from the revocation service (services/revoke.py).
This screen only shows them and collects the operator's choices: the confirm
dialog, the step-up prompt and the run with its progress bar are the triage
screen's own (:class:`pamtui.tui.screens.revoking.RevokeActions`), reused.
Everything from a roster or a provider goes through ``safe``.

The list is a virtual table (``widgets/people.py``) over a ``PeopleIndex``: only
the rows on screen are rendered, and a keystroke in the filter tests at most
the rows still shown. A person's accounts are read when the person is opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, ProgressBar, Static

from pamtui import heap
from pamtui.model import LinkRelation, Person, PersonStatus
from pamtui.services.inventory import AccountView
from pamtui.services.movers import Movers, PersonAccess, access_steps, people_flags
from pamtui.services.people import Correlation, PeopleError, summary
from pamtui.services.people_index import PeopleIndex, fold
from pamtui.services.queue import Outcome, QueueError
from pamtui.tui.keymap import role_allows
from pamtui.tui.safe import join, safe
from pamtui.tui.screens.revoking import RevokeActions
from pamtui.tui.widgets.people import PeopleTable
from pamtui.tui.widgets.table import KeyedDataTable, VirtualTable

PEOPLE_MUTATING = frozenset({"offboard_person", "remove_access"})


__all__ = ["PeopleScreen", "fold", "person_cells", "risk_order", "risk_text"]


def risk_order(row: dict[str, Any]) -> tuple[int, int, str, str]:
    """Terminated people who still hold live access first, then by risk, then by name."""
    live = row["orphaned_accounts"] > 0 or row["live_credentials"] > 0
    terminated_live = row["status"] == PersonStatus.TERMINATED and live
    return (0 if terminated_live else 1, -row["orphaned_accounts"], row["name"].lower(), row["id"])


def risk_text(row: dict[str, Any]) -> Text:
    text = Text("")
    if row["status"] == PersonStatus.TERMINATED and row["orphaned_accounts"]:
        n = row["orphaned_accounts"]
        text.append(f"LEFT · {n} live account{'s' if n != 1 else ''}", style="bold red")
    for word in row.get("access", ()):
        text.append(" " if text else "")
        text.append(word.upper(), style="bold yellow" if word == "mover" else "bold")
    return text


def access_words(access: PersonAccess | None) -> tuple[str, ...]:
    """``("mover", "excess")`` as far as they apply: the people list's words for a person."""
    if access is None:
        return ()
    return tuple(w for w, on in (("mover", access.mover), ("excess", access.excess)) if on)


def access_text(access: PersonAccess | None) -> Text:
    """A person's MOVER and EXCESS grants, one a line (roster and provider text made safe)."""
    if access is None or not access.findings:
        return Text("")
    lines = Text(end="")
    if access.previous is not None and access.mover:
        lines.append_text(safe(f"moved from {access.previous.describe()}", "bold", max_length=80))
        lines.append("\n")
    for finding in access.findings[:12]:
        style = "bold yellow" if finding.flag.value == "mover" else "bold"
        lines.append_text(
            join(
                Text(f"{finding.flag.value.upper():>6}", style=style),
                safe(finding.why, max_length=110),
            )
        )
        lines.append("\n")
    if len(access.findings) > 12:
        lines.append(f"... and {len(access.findings) - 12} more (pamtui people show)", style="dim")
    return lines


def haystack(row: dict[str, Any]) -> str:
    """What the filter searches: name, HR id, email, status, mover/excess."""
    access = " ".join(row.get("access", ()))
    return f"{row['name']} {row['id']} {row['email']} {row['status']} {access}"


def person_cells(row: dict[str, Any]) -> tuple[Text, ...]:
    """One row of the people list (built only for the rows on screen)."""
    return (
        safe(row["name"], max_length=40),
        safe(row["id"], max_length=20),
        safe(row["status"], max_length=12),
        safe(row["terminated"], max_length=10),
        Text(str(row["systems"]), justify="right"),
        Text(str(row["accounts"]), justify="right"),
        Text(str(row["live_credentials"]), justify="right"),
        risk_text(row),
    )


class PeopleScreen(RevokeActions, Screen):
    DEFAULT_CSS = """
    PeopleScreen #people-list { height: 1fr; }
    PeopleScreen #people-title { height: 1; padding: 0 1; }
    PeopleScreen #person-pane { height: 1fr; }
    PeopleScreen #person-summary { height: auto; padding: 0 1; }
    PeopleScreen #person-accounts { height: 1fr; }
    PeopleScreen #queue-pane { height: auto; }
    PeopleScreen #person-outcomes { height: auto; max-height: 12; padding: 0 1; }
    PeopleScreen .hidden { display: none; }
    """

    BINDINGS = [
        Binding(
            "slash",
            "filter",
            "Filter",
            key_display="/",
            priority=True,
            id="people.filter",
            tooltip="Filter people as you type: name, HR id, email, status",
        ),
        Binding(
            "R",
            "offboard_person",
            "Offboard",
            key_display="R",
            id="people.offboard",
            tooltip="Offboard the selected person: every account in every provider, in order",
        ),
        Binding(
            "r",
            "remove_access",
            "Remove excess",
            key_display="r",
            id="people.remove_access",
            tooltip="Remove the selected person's MOVER and EXCESS grants (beyond their role)",
        ),
        Binding("escape", "back", "Back", id="people.back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.corr: Correlation | None = None
        self.movers = Movers()
        self.rows: list[dict[str, Any]] = []
        self.at_risk = 0
        """People who left and still hold live access (they are listed first)."""
        self.mover_count = 0
        self.person: Person | None = None

    @property
    def session(self):
        return self.app.session  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        with Vertical(id="people-pane"):
            yield Static(id="people-title")
            yield Input(
                placeholder="filter: name, HR id, email, status",
                id="people-filter",
                classes="hidden",
            )
            yield PeopleTable(person_cells, id="people-list")
        with Vertical(id="person-pane", classes="hidden"):
            yield Static(id="person-summary")
            yield Static(id="person-access")
            yield KeyedDataTable(id="person-accounts", cursor_type="row", zebra_stripes=True)
            with Vertical(id="queue-pane"):
                yield ProgressBar(id="queue-progress", show_eta=False, classes="hidden")
                yield Static(id="person-outcomes")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#people-title", Static).update(
            Text("People · reading the rosters and correlating…", style="bold")
        )
        self.query_one("#person-accounts", DataTable).add_columns(
            "Provider", "Account", "Relation", "Live creds", "Rule", "Evidence"
        )
        self.query_one("#people-list").focus()
        self.load()

    # -- data ------------------------------------------------------------------

    @work(exclusive=True, group="people-load")
    async def load(self) -> None:
        # 80,000 people and 100,000 links are long-lived: built without collections and
        # frozen after, so no later full collection re-walks them (a late keystroke).
        with heap.long_lived():
            try:
                corr = await self.session.people.refresh(self.session.inventory.rows())
            except PeopleError as exc:
                self.notify(str(exc), severity="error", markup=False)
                return
            self.corr = corr
            self.movers = await self.session.movers.assess(corr, self.session.inventory.rows())
            # The accounts pane's UNOWNED/MOVER/EXCESS follow (e.g. after r removed grants).
            self.session.inventory.set_people_flags(people_flags(corr, self.movers))
            people = list(corr.people.values())
            self.rows = sorted(summary(corr, people), key=risk_order)
            for row in self.rows:
                row["access"] = access_words(self.movers.of(row["id"]))
            # They sort first: count the leading run, not every row again.
            self.at_risk = next(
                (n for n, row in enumerate(self.rows) if risk_order(row)[0] != 0), len(self.rows)
            )
            self.mover_count = sum(1 for row in self.rows if "mover" in row["access"])
            index = PeopleIndex(self.rows, haystack)
        index.filter(self.query_one("#people-filter", Input).value)
        self.query_one("#people-list", PeopleTable).load(index)
        self._show_list()
        if self.person is not None:
            self._show_person(corr.people.get(self.person.id, self.person))

    def _show_list(self) -> None:
        """Filter the list by the box's text and say so in the title."""
        table = self.query_one("#people-list", PeopleTable)
        table.set_filter(self.query_one("#people-filter", Input).value)
        needle = table.index.needle
        shown, total = table.row_count, table.index.total
        title = Text("People", style="bold")
        title.append(f" {shown}/{total}" if shown != total else f" {total}")
        title.append(f" · {self.at_risk} left with live access first")
        if needle:
            title.append(" · filter ")
            title.append_text(safe(needle, max_length=40))
        if self.mover_count:
            n = self.mover_count
            title.append(f" · {n} mover{'s' if n != 1 else ''}")
        title.append(f" · /: filter  enter: accounts  {self._key_hints('excess')}", style="dim")
        # One line, always (CSS): no layout pass for the whole screen on every keystroke.
        self.query_one("#people-title", Static).update(title, layout=False)

    def _selected_person(self) -> Person | None:
        if self.person is not None and not self.query_one("#person-pane").has_class("hidden"):
            return self.person
        key = self.query_one("#people-list", PeopleTable).selected_id
        if self.corr is None or key is None:
            return None
        return self.corr.people.get(key)

    # -- detail ----------------------------------------------------------------

    def _open_selected(self) -> None:
        key = self.query_one("#people-list", PeopleTable).selected_id
        person = self.corr.people.get(key) if self.corr is not None and key else None
        if person is not None:
            self._show_person(person)

    @on(VirtualTable.RowSelected, "#people-list")
    def _opened(self, event: VirtualTable.RowSelected) -> None:
        event.stop()
        self._open_selected()

    def _show_person(self, person: Person) -> None:
        assert self.corr is not None
        self.person = person
        # Shown before it is filled: a hidden table measures its columns as empty.
        self.query_one("#people-pane").add_class("hidden")
        self.query_one("#person-pane").remove_class("hidden")
        table = self.query_one("#person-accounts", DataTable)
        table.clear()
        for link in self.corr.accounts_of(person.id):
            account = self.corr.accounts[link.account]
            owns = link.relation is LinkRelation.OWNER
            table.add_row(
                safe(link.account[0], max_length=30),
                safe(account.name, max_length=40),
                Text("owns", style="bold") if owns else Text("holds"),
                Text(str(self.corr.live_credentials.get(link.account, 0)), justify="right"),
                safe(link.rule, max_length=12),
                safe(link.evidence, max_length=80),
            )
        left = f", left {person.terminated.date().isoformat()}" if person.terminated else ""
        self.query_one("#person-summary", Static).update(
            join(
                safe(person.name, "bold", max_length=60),
                safe(f"({person.id})", max_length=30),
                safe(f"{person.status}{left}", max_length=40),
                Text(
                    f"· {self.corr.systems_of(person.id)} systems, "
                    f"{self.corr.live_credentials_of(person.id)} live credentials"
                ),
                Text(f"   {self._key_hints('remove excess')}", style="dim"),
            )
        )
        self.query_one("#person-access", Static).update(access_text(self.movers.of(person.id)))
        table.focus()

    def action_back(self) -> None:
        if not self.query_one("#person-pane").has_class("hidden"):
            self.query_one("#person-pane").add_class("hidden")
            self.query_one("#people-pane").remove_class("hidden")
            self.query_one("#people-list").focus()
            return
        box = self.query_one("#people-filter", Input)
        if box.value or not box.has_class("hidden"):
            box.value = ""
            box.add_class("hidden")
            self._show_list()
            self.set_focus(self.query_one("#people-list"))
            return
        self.app.pop_screen()

    # -- filter (as the accounts pane's: focus at once, so a burst lands whole) --

    def action_filter(self) -> None:
        if not self.query_one("#person-pane").has_class("hidden"):
            self.action_back()
        box = self.query_one("#people-filter", Input)
        box.remove_class("hidden")
        self.set_focus(box)

    @on(Input.Changed, "#people-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self._show_list()

    @on(Input.Submitted, "#people-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if event.input.has_class("hidden"):
            # A second Enter read in the same burst reached the box before the focus
            # moved: it was meant for the list, so it opens the selected person.
            self._open_selected()
            return
        event.input.add_class("hidden")
        # At once (Widget.focus defers): an Enter right after this one opens the person.
        self.set_focus(self.query_one("#people-list"))

    def _key_hints(self, excess: str) -> str:
        """R and r only where they work (not read-only, the role allows them)."""
        hints = [
            hint
            for action, hint in (
                ("offboard_person", "R: offboard"),
                ("remove_access", f"r: {excess}"),
            )
            if self.check_action(action, ()) is not False
        ]
        return "  ".join([*hints, "esc: back"])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "filter" and isinstance(self.focused, Input):
            return False  # a "/" typed into a box is text
        if action in PEOPLE_MUTATING and not role_allows(self.app, action):
            return False
        return not (action in PEOPLE_MUTATING and getattr(self.app, "read_only", True))

    # -- offboarding: the service plans, the shared dialog confirms and runs ----

    def action_offboard_person(self) -> None:
        person = self._selected_person()
        if person is None or self.corr is None:
            self.notify("Select a person first.", severity="warning")
            return
        try:
            plan = self.session.revocations.plan_person(
                person, self.corr, self.session.inventory.rows()
            )
        except QueueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        if not plan.steps:
            self.notify("Nothing left to revoke for this person.", severity="warning")
            return
        title = join(Text("Offboard", style="bold"), safe(plan.target, "bold", max_length=80))
        if plan.needs_owner:
            title = join(
                title, Text(f"· {len(plan.needs_owner)} owned account(s) need a new owner")
            )
        self._show_person(person)
        self.query_one("#person-outcomes", Static).update("")
        self._confirm_then_run(title, plan)

    def action_remove_access(self) -> None:
        """The person's MOVER and EXCESS grants as one plan, through the same dialog."""
        person = self._selected_person()
        access = self.movers.of(person.id) if person is not None else None
        if person is None or access is None or not access.findings:
            self.notify("No MOVER or EXCESS access for this person.", severity="warning")
            return
        views = {v.key: v for v in self.session.inventory.rows()}
        found = access_steps(access.findings, views, self.session.providers)
        kinds = " and ".join(sorted({str(f.flag) for f in access.findings}))
        try:
            plan = self.session.revocations.plan_access(person, found, what=f"{kinds} access")
        except QueueError as exc:
            self.notify(str(exc), severity="warning", markup=False)
            return
        title = join(Text("Remove access", style="bold"), safe(plan.target, "bold", max_length=80))
        if plan.manual:
            title = join(title, Text(f"· {len(plan.manual)} grant(s) to remove by hand"))
        self._show_person(person)
        self.query_one("#person-outcomes", Static).update(
            Text("\n".join(plan.manual), style="yellow") if plan.manual else ""
        )
        self._confirm_then_run(title, plan)

    # What RevokeActions needs from the screen it is mixed into.

    def refresh_queue(self) -> None:
        """The triage screen's queue pane is refreshed when it is shown again."""

    def update_account(self, view: AccountView) -> None:
        """The triage screen below shows the account as it is now (its pane, its detail).

        The nearest screen below that shows accounts: the triage screen.
        """
        for below in reversed(self.app.screen_stack):
            if below is not self and hasattr(below, "update_account"):
                below.update_account(view)
                return

    def _selected_view(self) -> AccountView | None:
        return None

    def _report(self, outcomes: Sequence[Outcome]) -> None:
        """Each step's outcome on the screen (and the usual notification), then re-read."""
        super()._report(outcomes)
        lines = Text(end="")
        for outcome in outcomes:
            action = outcome.item.action
            mark = "ok" if outcome.ok else ("waiting" if outcome.waiting else "FAILED")
            lines.append_text(
                join(
                    Text(f"{mark:>7}", style="bold" if outcome.ok else "bold red"),
                    safe(action.provider, max_length=30),
                    safe(action.label, max_length=70),
                )
            )
            lines.append("\n")
        if outcomes and all(o.ok for o in outcomes):
            lines.append(f"every step verified ({len(outcomes)})", style="bold")
        self.query_one("#person-outcomes", Static).update(lines)
        self.load()
