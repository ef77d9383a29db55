"""``hr-csv``: the HR roster from a CSV or JSON export of any HR system.

Configured like any provider (entry point ``hr-csv`` in ``pamtui.providers``)::

    [[providers]]
    name = "hr"
    type = "hr-csv"
    path = "/srv/hr/people.csv"     # .csv or .json (else set format = "csv"|"json")
    mapping = "bamboohr"            # bamboohr | workday | generic (the default)
    columns = { email = "Email (work)" }   # override one field's column

It serves no accounts and revokes nothing: it is a roster source
(``providers/roster.py``). The file is re-read when its modification time or
size changes, so an HR system that drops a fresh export every night needs no
restart. A mapping names, for each field, the columns it may come from (the
first one present in the file's header wins), so one mapping reads both a
report's CSV headers and its JSON API names. ``docs/people.md`` lists the
ready-made mappings and where their names come from.

A missing or renamed column fails the whole read with one line that names the
file and the column: a roster silently missing its status column would make
every leaver look employed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pamtui.model import (
    AccessEvent,
    Account,
    Capability,
    Credential,
    Person,
    PersonStatus,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers.base import ProviderContext, ProviderError
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import REQUIRED, SettingError, Settings, choice, string, table
from pamtui.providers.roster import RosterError

FIELDS = (
    "id",
    "name",
    "first_name",
    "last_name",
    "email",
    "aliases",
    "status",
    "employment_status",
    "terminated",
    "manager",
    "department",
    "title",
    "worker_type",
)

ColumnMap = dict[str, tuple[str, ...]]

MAPPINGS: dict[str, ColumnMap] = {
    "generic": {field: (field,) for field in FIELDS},
    # BambooHR: a custom report exported as CSV carries the fields' display names;
    # the API's JSON report (reports/custom) carries their API names.
    "bamboohr": {
        "id": ("Employee #", "Employee Number", "employeeNumber"),
        "name": ("Display Name", "displayName"),
        "first_name": ("First Name", "firstName"),
        "last_name": ("Last Name", "lastName"),
        "email": ("Work Email", "workEmail"),
        "status": ("Status", "status"),
        "employment_status": ("Employment Status", "employmentHistoryStatus"),
        "terminated": ("Termination Date", "terminationDate"),
        "manager": ("Supervisor EID", "Supervisor E ID", "supervisorEId"),
        "department": ("Department", "department"),
        "title": ("Job Title", "jobTitle"),
    },
    # Workday: a custom report (Report-as-a-Service) names its columns after the
    # report fields' XML aliases; these are the delivered Worker fields' names.
    "workday": {
        "id": ("Employee_ID", "Worker_ID", "workerID"),
        "name": ("Worker", "Legal_Name", "descriptor"),
        "email": ("Primary_Work_Email", "Email_-_Primary_Work", "primaryWorkEmail"),
        "aliases": ("Additional_Work_Emails", "Email_-_Secondary_Work"),
        "status": ("Worker_Status", "Active_Status", "workerStatus"),
        "terminated": ("Termination_Date", "terminationDate"),
        "manager": ("Manager_ID", "Manager_Employee_ID"),
        "department": ("Supervisory_Organization", "Department", "Cost_Center"),
        "title": ("Business_Title", "businessTitle", "Job_Title"),
        "worker_type": ("Worker_Type", "workerType"),
    },
}

_EMPLOYED = {"active", "1", "true", "yes", "employed", "current"}
_TERMINATED = {"inactive", "terminated", "0", "false", "no", "former", "withdrawn"}
_EMPTY_DATES = {"", "0000-00-00", "null", "none"}


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    if text.lower() in _EMPTY_DATES:
        return None
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text[:10], fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    parsed = datetime.fromisoformat(text)  # raises ValueError: the caller names the cell
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _split_aliases(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        items = [str(v) for v in value]
    else:
        items = str(value or "").replace(",", ";").replace(" ", ";").split(";")
    return tuple(dict.fromkeys(i.strip() for i in items if i.strip()))


def _columns(raw: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    columns: dict[str, tuple[str, ...]] = {}
    for field, column in raw.items():
        if field not in FIELDS:
            raise SettingError(
                f"is not a roster field ({', '.join(FIELDS)})", key=f"columns.{field}"
            )
        if isinstance(column, str) and column:
            columns[field] = (column,)
        elif isinstance(column, list) and column and all(isinstance(c, str) for c in column):
            columns[field] = tuple(column)
        else:
            raise SettingError("must be a column name or a list of them", key=f"columns.{field}")
    return columns


SETTINGS = Settings(
    string(
        "path",
        "the HR export file (CSV or JSON); relative to the data dir",
        REQUIRED,
        non_empty=True,
    ),
    choice("format", "csv or json (default: from the file name)", ("csv", "json"), None),
    choice(
        "mapping",
        "the export's column names: a ready-made mapping (see docs/people.md)",
        tuple(sorted(MAPPINGS)),
        "generic",
    ),
    table(
        "columns",
        'per-field column overrides, e.g. { email = "Work Email" } (a name or a list of names)',
        None,
        check=_columns,
    ),
)


class HrCsvProvider(DeclaredProvider):
    """A roster read from a file: no accounts, no revocations, one ``list_people``."""

    type: ClassVar[str] = "hr-csv"
    SETTINGS = SETTINGS
    capabilities: frozenset[Capability] = frozenset({Capability.PEOPLE})

    def __init__(
        self,
        name: str,
        *,
        path: Path,
        fmt: str | None = None,
        mapping: ColumnMap | None = None,
    ) -> None:
        self.name = name
        self.path = Path(path)
        self.format = fmt or ("json" if self.path.suffix.lower() == ".json" else "csv")
        self.mapping: ColumnMap = dict(mapping or MAPPINGS["generic"])
        self._cache: tuple[tuple[int, int], list[Person]] | None = None
        self.reads = 0
        """How many times the file was actually parsed (the rest came from the cache)."""

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> HrCsvProvider:
        path = Path(values["path"]).expanduser()
        if not path.is_absolute():
            path = Path(context.state_dir) / path
        mapping = dict(MAPPINGS[values["mapping"]])
        mapping.update(values["columns"] or {})
        return cls(name, path=path, fmt=values["format"], mapping=mapping)

    # -- the roster ------------------------------------------------------------

    async def list_people(self) -> AsyncIterator[Person]:
        for person in self.read():
            yield person

    def read(self) -> list[Person]:
        """The roster, parsed again only when the file changed (mtime and size)."""
        try:
            st = self.path.stat()
        except OSError as exc:
            raise RosterError(f"{self.path}: cannot read the roster: {exc.strerror}") from exc
        stamp = (st.st_mtime_ns, st.st_size)
        if self._cache is not None and self._cache[0] == stamp:
            return self._cache[1]
        people = self._parse(self.path.read_bytes())
        self._cache = (stamp, people)
        self.reads += 1
        return people

    def _rows(self, data: bytes) -> tuple[list[str], list[Mapping[str, Any]]]:
        try:
            text = data.decode("utf-8-sig")  # Excel and many HR systems write a BOM
        except UnicodeDecodeError as exc:
            raise RosterError(f"{self.path}: not UTF-8 text ({exc.reason})") from exc
        if self.format == "json":
            try:
                doc = json.loads(text)
            except json.JSONDecodeError as exc:
                raise RosterError(f"{self.path}: not JSON: {exc.msg} (line {exc.lineno})") from exc
            if isinstance(doc, Mapping):  # BambooHR: {"employees": [...]}; Workday RaaS
                doc = doc.get("employees", doc.get("Report_Entry", doc.get("people")))
            if not isinstance(doc, list) or not all(isinstance(r, Mapping) for r in doc):
                raise RosterError(
                    f"{self.path}: expected a list of records (or employees/Report_Entry)"
                )
            header = list(dict.fromkeys(k for r in doc for k in r))
            return header, doc
        reader = csv.DictReader(io.StringIO(text, newline=""))
        header = [h.strip() for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        try:
            return header, list(reader)
        except csv.Error as exc:
            raise RosterError(f"{self.path}: not CSV: {exc}") from exc

    def _column(self, header: list[str], field: str, *, required: bool) -> str | None:
        present = set(header)
        for candidate in self.mapping.get(field, ()):
            if candidate in present:
                return candidate
        if required:
            names = " or ".join(repr(c) for c in self.mapping.get(field, ())) or "(none mapped)"
            raise RosterError(
                f"{self.path}: column {names} ({field}) not found; the header has: "
                + ", ".join(repr(h) for h in header[:20])
            )
        return None

    def _parse(self, data: bytes) -> list[Person]:
        header, rows = self._rows(data)
        col = {f: self._column(header, f, required=f in ("id", "email")) for f in FIELDS}
        if col["name"] is None and (col["first_name"] is None or col["last_name"] is None):
            self._column(header, "name", required=True)
        if col["status"] is None and col["terminated"] is None:
            self._column(header, "status", required=True)
        now = datetime.now(UTC)
        people: list[Person] = []
        seen: set[str] = set()
        for n, row in enumerate(rows, start=2 if self.format == "csv" else 1):
            where = f"{self.path}: {'line' if self.format == 'csv' else 'record'} {n}"

            def cell(field: str, row: Mapping[str, Any] = row) -> str:
                column = col[field]
                value = row.get(column) if column else None
                return "" if value is None else str(value).strip()

            pid = cell("id")
            if not pid:
                continue  # a blank line or a total row
            if pid in seen:
                raise RosterError(f"{where}: HR id {pid!r} appears twice")
            seen.add(pid)
            name = cell("name") or f"{cell('first_name')} {cell('last_name')}".strip()
            try:
                terminated = _parse_date(cell("terminated"))
            except ValueError:
                raise RosterError(
                    f"{where}: column {col['terminated']!r}: not a date: {cell('terminated')!r}"
                ) from None
            status = self._status(where, cell("status"), cell("employment_status"), terminated, now)
            worker = cell("worker_type").lower()
            contractor = "contingent" in worker or "contract" in worker
            contractor = contractor or "contract" in cell("employment_status").lower()
            aliases_raw = row.get(col["aliases"]) if col["aliases"] else None
            people.append(
                Person(
                    id=pid,
                    name=name,
                    email=cell("email"),
                    aliases=_split_aliases(aliases_raw),
                    status=status,
                    terminated=terminated,
                    manager=cell("manager"),
                    department=cell("department"),
                    title=cell("title"),
                    worker_type="contractor" if contractor else "employee",
                    source=self.name,
                )
            )
        return people

    def _status(
        self,
        where: str,
        status: str,
        employment: str,
        terminated: datetime | None,
        now: datetime,
    ) -> PersonStatus:
        raw, employment = status.lower(), employment.lower()
        if "terminat" in employment:
            return PersonStatus.TERMINATED
        if raw in _TERMINATED:
            return PersonStatus.TERMINATED
        # A termination date already past wins over a status HR has not flipped yet.
        if terminated is not None and terminated <= now:
            return PersonStatus.TERMINATED
        if "leave" in raw or "leave" in employment:
            return PersonStatus.LEAVE
        if raw in _EMPLOYED or raw == "":
            return PersonStatus.EMPLOYED
        raise RosterError(
            f"{where}: status {status!r} is not one of active, inactive, terminated, leave"
        )

    # -- the provider protocol: a roster has no accounts -------------------------

    async def list_accounts(self) -> AsyncIterator[Account]:
        return
        yield  # pragma: no cover

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        return
        yield  # pragma: no cover

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        return
        yield  # pragma: no cover

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        return []

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        raise ProviderError(f"{self.name} is a roster (hr-csv): it revokes nothing")

    async def verify(self, action: RevokeAction) -> VerifyResult:
        raise ProviderError(f"{self.name} is a roster (hr-csv): it verifies nothing")

    async def aclose(self) -> None:
        self._cache = None

    def __repr__(self) -> str:
        return f"HrCsvProvider(name={self.name!r}, path={str(self.path)!r})"
