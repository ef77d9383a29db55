"""The audit screen: the journal, newest first, paged from SQLite.

It never loads the whole journal: the table holds a window of pages fetched
by ``seq`` (keyset paging) and fetches the next older page when the cursor
nears the end, so a million entries scroll like a hundred.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static
from textual.worker import get_current_worker

from pamtui.model import JournalEntry
from pamtui.safe_write import SafeWriteError, TargetExists
from pamtui.sanitize import clean, is_clean
from pamtui.services.audit import (
    EXPORT_FORMATS,
    QueryError,
    default_export_path,
    export_summary,
    export_to_file,
    parse_query,
)
from pamtui.services.journal import EntryFilter, Journal, JournalError, entry_record
from pamtui.services.recordings import RecordingError, recorded_session, verified_recording
from pamtui.tui.safe import safe
from pamtui.tui.widgets.table import KeyedDataTable
from pamtui.wording import plural

PAGE = 200
COLUMNS = ("Seq", "Time (UTC)", "Actor", "Action", "Provider", "Subject", "Detail")


def summary(entry: JournalEntry) -> str:
    detail = entry.detail
    for key in ("label", "reason", "error", "why"):
        if detail.get(key):
            return str(detail[key])
    return ""


def entry_json(entry: JournalEntry) -> Text:
    """The whole entry as JSON: text as written (``…``, ``é``), controls escaped.

    JSON escapes C0 controls itself; whatever else a terminal would act on
    (DEL, C1, bidi overrides, invisibles: ``pamtui.sanitize``) is written as
    a ``\\uXXXX`` escape, which is still valid JSON for the same string.
    """
    record = entry_record(entry)
    text = json.dumps(record, indent=2, ensure_ascii=False, sort_keys=True)
    return Text(_escape_unsafe(text), no_wrap=False)


def _escape_unsafe(text: str) -> str:
    if is_clean(text.replace("\n", "")):
        return text
    return "".join(ch if ch == "\n" or is_clean(ch) else f"\\u{ord(ch):04x}" for ch in text)


class JournalTable(KeyedDataTable):
    """A window onto the journal; asks for more when the cursor nears its end.

    G/end (the shared ``table.last``) goes to the oldest entry loaded, which
    pages in older ones; g/home to the newest.
    """

    HELP_WHERE = "journal list"

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.entries: list[JournalEntry] = []
        self.exhausted = False

    def on_mount(self) -> None:
        for label in COLUMNS:
            self.add_column(label, key=label)

    def reset(self) -> None:
        self.entries = []
        self.exhausted = False
        self.clear()

    def append_page(self, page: list[JournalEntry]) -> None:
        if len(page) < PAGE:
            self.exhausted = True
        for entry in page:
            self.entries.append(entry)
            self.add_row(
                safe(entry.seq),
                safe(entry.ts[:19].replace("T", " "), "dim"),
                safe(entry.actor, max_length=20),
                safe(entry.action, "bold"),
                safe(entry.provider, max_length=16),
                safe(entry.subject, max_length=32),
                safe(summary(entry), max_length=60),
                key=str(entry.seq),
            )

    def action_last_row(self) -> None:
        # Moving the cursor (not just scrolling) is what pages in older entries.
        self.move_cursor(row=self.row_count - 1)

    @property
    def selected(self) -> JournalEntry | None:
        if 0 <= self.cursor_row < len(self.entries):
            return self.entries[self.cursor_row]
        return None


class ExportDialog(ModalScreen[tuple[str, str] | None]):
    DEFAULT_CSS = """
    ExportDialog {
        align: center middle;
    }

    ExportDialog #export-dialog {
        width: 80;
        max-width: 95%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 1 2;
    }

    ExportDialog #export-buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }

    ExportDialog #export-buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="export-dialog"):
            yield Label("Export the filtered journal (oldest first)")
            yield Select(
                [(f, f) for f in EXPORT_FORMATS],
                value="jsonl",
                allow_blank=False,
                id="export-format",
            )
            yield Label("File (created 0600):")
            yield Input(str(default_export_path("jsonl")), id="export-path")
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", id="export-ok")
                yield Button("Cancel", id="export-cancel")

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        path = self.query_one("#export-path", Input)
        path.value = str(default_export_path(str(event.value), Path(path.value).parent))

    def _submit(self) -> None:
        fmt = str(self.query_one("#export-format", Select).value)
        self.dismiss((fmt, self.query_one("#export-path", Input).value.strip()))

    @on(Input.Submitted, "#export-path")
    def _path_submitted(self) -> None:
        self._submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "export-ok":
            self._submit()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AuditScreen(Screen):
    DEFAULT_CSS = """
    AuditScreen #audit-query {
        height: 3;
    }

    AuditScreen #audit-body {
        height: 1fr;
    }

    /* 2:1, so at 120 columns every column up to Subject fits whole. */
    AuditScreen #audit-list-pane {
        width: 2fr;
    }

    AuditScreen #audit-detail-pane {
        width: 1fr;
    }

    AuditScreen #audit-detail {
        padding: 0 1;
    }

    AuditScreen #audit-status {
        height: 1;
        background: $panel;
        /* One row: wrapped, a narrow terminal showed "... head" and lost the head. */
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    BINDINGS = [
        # priority: see MainScreen's "/" (a burst typed after it stays in order).
        Binding(
            "slash", "focus_query", "Search", key_display="/", priority=True, id="audit.search"
        ),
        # One meaning per key (tui/keymap.py): v opens reviews and e edits a
        # queue item's reason elsewhere, so the chain is C and the export E.
        Binding("C", "verify", "Verify chain", id="audit.verify"),
        Binding("E", "export", "Export", id="audit.export"),
        # Shown only on a recorded session's start or end entry; elsewhere the
        # same key gets one line saying why not (the second binding, hidden).
        Binding(
            "w",
            "replay",
            "Replay session",
            id="audit.replay",
            tooltip="Replay the selected entry's recorded SSH session, after its hash check",
        ),
        Binding("w", "replay_unavailable", "", show=False, id="audit.replay_unavailable"),
        Binding(
            "ctrl+y",
            "copy",
            "Copy",
            id="audit.copy",
            tooltip="Copy the selected value to the clipboard (OSC 52, works over SSH)",
        ),
        # Esc clears an active search first; then goes back to the triage screen,
        # or (stand-alone, over SSH) does nothing: q quits, never Esc.
        Binding("escape", "clear_search", "Clear search", id="audit.clear_search"),
        Binding("escape", "back", "Back", id="audit.back"),
    ]

    def __init__(self, journal: Journal, *, standalone: bool = False) -> None:
        super().__init__()
        self.journal = journal
        self.standalone = standalone
        self.filter = EntryFilter()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False)
        yield Input(
            placeholder="search: actor:alice action:revoked since:2026-11-01 free text",
            id="audit-query",
        )
        with Horizontal(id="audit-body"):
            with Vertical(id="audit-list-pane", classes="pane"):
                yield JournalTable(id="audit-table")
            with VerticalScroll(id="audit-detail-pane", classes="pane"):
                yield Static(id="audit-detail")
        yield Static(id="audit-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#audit-list-pane").border_title = "Audit journal"
        self.query_one("#audit-detail-pane").border_title = "Entry"
        self.query_one(JournalTable).focus()
        self.reload()
        self.action_verify()

    # -- paging ------------------------------------------------------------

    def reload(self) -> None:
        table = self.query_one(JournalTable)
        table.reset()
        try:
            table.append_page(self.journal.entries(self.filter, limit=PAGE))
        except JournalError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        pane = self.query_one("#audit-list-pane")
        if table.exhausted:
            pane.border_title = f"Audit journal ({plural(table.row_count, 'entry', 'entries')})"
        else:
            # Counting a free-text match scans the journal: never before the first page.
            pane.border_title = "Audit journal (counting…)"
            self._count(self.filter)
        self._show_detail()

    @work(thread=True, exclusive=True, group="audit-count")
    def _count(self, filt: EntryFilter) -> None:
        try:
            counter = Journal.open(self.journal.path, read_only=True)
            try:
                total = counter.count(filt)
            finally:
                counter.close()
        except JournalError:
            return
        if filt == self.filter:  # still the search on screen
            pane = self.query_one("#audit-list-pane")
            self.app.call_from_thread(
                setattr,
                pane,
                "border_title",
                f"Audit journal ({plural(total, 'entry', 'entries')})",
            )

    def _load_more(self) -> None:
        table = self.query_one(JournalTable)
        if table.exhausted or not table.entries:
            return
        page = self.journal.entries(self.filter, limit=PAGE, before_seq=table.entries[-1].seq)
        table.append_page(page)

    @on(DataTable.RowHighlighted, "#audit-table")
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one(JournalTable)
        if table.cursor_row >= len(table.entries) - PAGE // 4:
            self._load_more()
        self._show_detail()
        self.refresh_bindings()  # "w Replay session" only on a recorded session's entries

    def _show_detail(self) -> None:
        entry = self.query_one(JournalTable).selected
        detail = self.query_one("#audit-detail", Static)
        detail.update(entry_json(entry) if entry else Text("No entries match.", style="dim"))

    def action_copy(self) -> None:
        entry = self.query_one(JournalTable).selected
        if entry is None:
            self.notify("No entry selected to copy.", severity="warning")
            return
        text = f"{entry.seq}:{entry.hash}"
        self.app.copy_to_clipboard(text)
        self.notify(f"Copied {text}", markup=False)

    # -- replay ----------------------------------------------------------------

    def _selected_session(self) -> str | None:
        if not self.is_mounted:
            return None
        entry = self.query_one(JournalTable).selected
        return recorded_session(entry) if entry is not None else None

    def action_replay(self) -> None:
        entry = self.query_one(JournalTable).selected
        session = recorded_session(entry) if entry is not None else None
        if entry is None or session is None:
            self.action_replay_unavailable()
            return
        self._open_recording(session, entry.actor)

    def action_replay_unavailable(self) -> None:
        entry = self.query_one(JournalTable).selected
        what = f"Entry #{entry.seq} ({clean(entry.action, 40)})" if entry else "No entry"
        self.notify(
            f"{what} has no session recording: only a recorded SSH session's start or end "
            "entry can be replayed.",
            severity="warning",
            markup=False,
        )

    @work(thread=True, exclusive=True, group="audit-replay")
    def _open_recording(self, session: str, operator: str) -> None:
        # The hash check reads the whole file: off the UI thread, on its own connection.
        from pamtui.services.playback import parse  # the emulator only when replaying

        try:
            reader = Journal.open(self.journal.path, read_only=True)
            try:
                recording = parse(verified_recording(reader, self.journal.path, session))
            finally:
                reader.close()
        except (JournalError, RecordingError, OSError) as exc:
            self.app.call_from_thread(
                self.notify, f"replay refused: {clean(exc)}", severity="error", markup=False
            )
            return
        if get_current_worker().is_cancelled:
            return  # w pressed again meanwhile: that check opens the replay, once
        from pamtui.tui.screens.replay import ReplayScreen

        self.app.call_from_thread(
            self.app.push_screen, ReplayScreen(recording, session=session, operator=operator)
        )

    # -- search --------------------------------------------------------------

    def action_focus_query(self) -> None:
        # At once (see tui/keys.py): the rest of a burst typed after "/" is the query.
        self.set_focus(self.query_one("#audit-query", Input))

    @on(Input.Submitted, "#audit-query")
    def _query_submitted(self, event: Input.Submitted) -> None:
        try:
            self.filter = parse_query(event.value)
        except QueryError as exc:
            self.notify(str(exc), severity="error", markup=False)
            return
        self.reload()
        self.query_one(JournalTable).focus()
        self.refresh_bindings()

    # -- verification ----------------------------------------------------------

    def action_verify(self) -> None:
        self.query_one("#audit-status", Static).update(Text(" verifying the hash chain…"))
        self._verify()

    @work(thread=True, exclusive=True, group="audit-verify")
    def _verify(self) -> None:
        # A separate read-only connection: the UI's connection stays on the UI thread.
        try:
            checker = Journal.open(self.journal.path, read_only=True)
            try:
                report = checker.verify()
            finally:
                checker.close()
        except JournalError as exc:
            line = Text(f" cannot verify: {exc}", style="bold red")
        else:
            if report.ok:
                # The count spans the archives; the list shows the live file only.
                n = len(report.archives)
                archived = f" ({plural(n, 'archive')} included)" if n else ""
                line = Text(
                    f" chain verified: {plural(report.entries, 'entry', 'entries')}{archived},"
                    f" head {report.head}",
                    style="green",
                )
            else:
                line = Text(
                    f" CHAIN BROKEN at entry {report.bad_seq}: {report.problem}",
                    style="bold reverse red",
                )
        self.app.call_from_thread(self.query_one("#audit-status", Static).update, line)

    # -- export ----------------------------------------------------------------

    def action_export(self) -> None:
        def chosen(choice: tuple[str, str] | None) -> None:
            if choice is None:
                return
            fmt, path = choice
            try:
                result = export_to_file(self.journal, fmt, path, self.filter)
            except TargetExists:
                self.notify(
                    f"export failed: {clean(path)} exists; choose another file name",
                    severity="error",
                    markup=False,
                )
                return
            except SafeWriteError as exc:
                self.notify(f"export failed: {clean(exc)}", severity="error", markup=False)
                return
            self.notify(clean(export_summary(result, fmt, path)), markup=False)

        self.app.push_screen(ExportDialog(), callback=chosen)

    @property
    def searching(self) -> bool:
        """A search is typed or applied (what Esc clears first)."""
        if not self.is_mounted:
            return False
        return bool(self.query_one("#audit-query", Input).value) or self.filter != EntryFilter()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # False: not in the footer, and the next binding of the key (if any) is tried.
        if action == "focus_query" and isinstance(self.focused, Input):
            return False  # a "/" typed into a box is text (the binding is a priority one)
        if action == "clear_search":
            return self.searching
        if action == "back":
            return not self.standalone
        if action == "replay":
            return self._selected_session() is not None
        if action == "replay_unavailable":
            return self._selected_session() is None
        return True

    @on(Input.Changed, "#audit-query")
    def _query_changed(self) -> None:
        self.refresh_bindings()  # the footer's esc: "Clear search" or not

    def action_clear_search(self) -> None:
        self.query_one("#audit-query", Input).value = ""
        if self.filter != EntryFilter():
            self.filter = EntryFilter()
            self.reload()
        self.query_one(JournalTable).focus()
        self.refresh_bindings()

    def action_back(self) -> None:
        self.app.pop_screen()
