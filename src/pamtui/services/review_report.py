"""The evidence report of an access review: what auditors ask for.

Scope, reviewers, dates, every decision with its justification, the
revocations each caused and their verification result, and the journal head
at the time the report was made. Each decision names the ``seq`` and
``hash`` of its journal entry, so anyone holding the journal can check the
report against it (``pamtui audit verify --expect-head SEQ:HASH``, then
``pamtui audit list``); :meth:`ReviewService.check_against_journal` does the
same comparison and its result is printed in the report.

Provider text (names, labels, justifications) is untrusted: control
characters are made visible (``sanitize.clean``) in every format, HTML is
escaped, Markdown specials are backslash-escaped, and CSV cells that a
spreadsheet would run as a formula are prefixed with a quote.
"""

from __future__ import annotations

import csv
import html
import io
from dataclasses import dataclass
from pathlib import Path

from pamtui.journal import Head, timestamp
from pamtui.safe_write import check_target, protected_files, safe_write_text
from pamtui.sanitize import clean
from pamtui.services.review import Campaign, DecisionCheck, ReviewItem, ReviewService, Revocation

FORMATS = ("md", "html", "csv")


@dataclass(frozen=True)
class ReportRow:
    item: ReviewItem
    check: DecisionCheck | None
    revocations: list[Revocation]

    @property
    def entry_ref(self) -> str:
        entry = self.check.entry if self.check else None
        return f"{entry.seq}:{entry.hash}" if entry else ""


@dataclass(frozen=True)
class ReportData:
    campaign: Campaign
    rows: list[ReportRow]
    head: Head | None
    generated: str
    generated_by: str
    start_ref: str

    @property
    def journal_ok(self) -> bool:
        return all(r.check is None or r.check.ok for r in self.rows)

    @property
    def problems(self) -> list[str]:
        return [r.check.problem for r in self.rows if r.check is not None and not r.check.ok]

    @property
    def decision_dates(self) -> tuple[str, str]:
        stamps = sorted(r.item.decided_at for r in self.rows if r.item.decided_at)
        return (stamps[0], stamps[-1]) if stamps else ("", "")


def collect(service: ReviewService, campaign_id: int, *, generated_by: str) -> ReportData:
    campaign = service.get(campaign_id)
    checks = {c.item.id: c for c in service.check_against_journal(campaign_id)}
    rows = [
        ReportRow(item, checks.get(item.id), service.revocations(item))
        for item in service.items(campaign_id)
    ]
    start = service.journal.get(campaign.start_seq) if campaign.start_seq else None
    return ReportData(
        campaign=campaign,
        rows=rows,
        head=service.head(),
        generated=timestamp(),
        generated_by=generated_by,
        start_ref=f"{start.seq}:{start.hash}" if start else "",
    )


# -- plain values (cleaned: one line, controls visible) ------------------------------


def _c(value: object) -> str:
    return clean(value, max_length=None)


def _owner(item: ReviewItem) -> str:
    account = item.account
    owner = account.get("owner", "")
    status = account.get("owner_status", "")
    return f"{owner} ({status})" if owner else status


def _decision_cells(item: ReviewItem) -> tuple[object, ...]:
    """The md and html tables' cells from # to Decided, before each format escapes them."""
    return (
        item.position,
        item.account_name,
        item.provider,
        ", ".join(item.flags),
        _owner(item),
        item.decision or "undecided",
        item.justification,
        item.reviewer,
        item.decided_at,
    )


def _revocation_text(rev: Revocation) -> str:
    proof = f", journal seq {rev.verified_seq}" if rev.verified_seq else ""
    return f"#{rev.item.id} {rev.item.action.label} [{rev.item.action.name}]: {rev.result}{proof}"


def _summary_lines(data: ReportData) -> list[tuple[str, str]]:
    c = data.campaign
    p = c.progress
    first, last = data.decision_dates
    return [
        ("Campaign", str(c.id)),
        ("Scope", c.scope),
        ("Started", f"{c.created} by {c.created_by}"),
        ("Due", c.due or "none"),
        ("Reviewers", ", ".join(c.reviewers) or "none yet"),
        ("Decisions", f"{first} to {last}" if first else "none yet"),
        (
            "Progress",
            f"{p} (kept {p.kept}, revoked {p.revoked}, deferred {p.deferred}, "
            f"undecided {p.total - p.decided})",
        ),
        ("Campaign start entry", data.start_ref),
        ("Report generated", f"{data.generated} by {data.generated_by}"),
        ("Journal head at report time", str(data.head) if data.head else "empty"),
        (
            "Decisions match the journal",
            "yes" if data.journal_ok else "NO: " + "; ".join(data.problems),
        ),
    ]


# -- Markdown ------------------------------------------------------------------------

_MD_SPECIAL = set("\\`*_{}[]<>|~")


def md_escape(value: object) -> str:
    text = _c(value).replace("&", "&amp;")
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in text)


def render_md(data: ReportData) -> str:
    c = data.campaign
    out = [f"# Access review {c.id}: {md_escape(c.scope)}", ""]
    for key, value in _summary_lines(data):
        out.append(f"- **{key}:** {md_escape(value)}")
    out += [
        "",
        "Check this report against the journal: "
        f"`pamtui audit verify --expect-head {data.head}` must pass, and each decision's "
        "entry (`pamtui audit list --action review_decision --json`) must carry the seq "
        "and hash shown below.",
        "",
        "## Decisions",
        "",
        "| # | Account | Provider | Flags | Owner (HR) | Decision | Justification "
        "| Reviewer | Decided (UTC) | Journal entry | Revocations |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in data.rows:
        item = row.item
        revs = "<br>".join(md_escape(_revocation_text(r)) for r in row.revocations)
        cells = [
            *(md_escape(value) for value in _decision_cells(item)),
            f"`{row.entry_ref}`" if row.entry_ref else "",
            revs,
        ]
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


# -- HTML ------------------------------------------------------------------------------


def h(value: object) -> str:
    return html.escape(_c(value), quote=True)


def render_html(data: ReportData) -> str:
    c = data.campaign
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Access review {c.id}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}"
        "code{font-size:85%}</style>",
        "</head><body>",
        f"<h1>Access review {c.id}: {h(c.scope)}</h1>",
        "<dl>",
    ]
    for key, value in _summary_lines(data):
        out.append(f"<dt>{h(key)}</dt><dd>{h(value)}</dd>")
    out += [
        "</dl>",
        "<h2>Decisions</h2>",
        "<table><thead><tr>"
        + "".join(
            f"<th>{h(t)}</th>"
            for t in (
                "#",
                "Account",
                "Provider",
                "Flags",
                "Owner (HR)",
                "Decision",
                "Justification",
                "Reviewer",
                "Decided (UTC)",
                "Journal entry",
                "Revocations",
            )
        )
        + "</tr></thead><tbody>",
    ]
    for row in data.rows:
        item = row.item
        revs = "<br>".join(h(_revocation_text(r)) for r in row.revocations)
        cells = [
            *(h(value) for value in _decision_cells(item)),
            f"<code>{h(row.entry_ref)}</code>" if row.entry_ref else "",
            revs,
        ]
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    out += ["</tbody></table>", "</body></html>", ""]
    return "\n".join(out)


# -- CSV -------------------------------------------------------------------------------

CSV_COLUMNS = (
    "campaign",
    "scope",
    "item",
    "provider",
    "account_id",
    "account",
    "flags",
    "owner",
    "owner_status",
    "decision",
    "justification",
    "reviewer",
    "decided_at",
    "journal_seq",
    "journal_hash",
    "revocations",
    "journal_head_at_report",
    "report_generated",
)


def csv_cell(value: object) -> str:
    """Cleaned, and never a formula in a spreadsheet (=, +, -, @ lead with a quote)."""
    text = _c(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def render_csv(data: ReportData) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    c = data.campaign
    for row in data.rows:
        item = row.item
        entry = row.check.entry if row.check else None
        writer.writerow(
            csv_cell(v)
            for v in (
                c.id,
                c.scope,
                item.position,
                item.provider,
                item.account_id,
                item.account_name,
                " ".join(item.flags),
                item.account.get("owner", ""),
                item.account.get("owner_status", ""),
                item.decision or "undecided",
                item.justification,
                item.reviewer,
                item.decided_at,
                entry.seq if entry else "",
                entry.hash if entry else "",
                "; ".join(_revocation_text(r) for r in row.revocations),
                str(data.head) if data.head else "",
                data.generated,
            )
        )
    return buffer.getvalue()


RENDERERS = {"md": render_md, "html": render_html, "csv": render_csv}


def render(data: ReportData, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return RENDERERS[fmt](data)


def write_report(
    path: Path | str, text: str, *, db_path: Path | str | None, force: bool = False
) -> Path:
    """Write a report through the safe writer: 0600, atomic, never the database.

    Raises :class:`~pamtui.safe_write.SafeWriteError` (one line) if ``path``
    is the database or one of its files, a symlink, or exists without ``force``.
    """
    return safe_write_text(path, text, protect=protected_files(db_path), force=force)


def check_report_target(
    path: Path | str, *, db_path: Path | str | None, force: bool = False
) -> None:
    """Fail before the report is built if it could not be written to ``path``."""
    check_target(path, protect=protected_files(db_path), force=force)
