"""The offboarding certificate of one person: ``pamtui offboard report PERSON``.

Every account and credential the person had in every provider, every step
pamtui took (what, when, requested, approved and executed by whom), its
verification and the ``SEQ:HASH`` of its latest journal entry (the
``verified`` entry once it is verified), the result of asking every provider
again now, and the journal head when the report was made. Anyone holding the
journal can check it: ``pamtui audit verify --expect-head SEQ:HASH``, then
``pamtui audit list --subject ...``.

Same shape as ``services/review_report.py`` (one renderer per format in
:data:`RENDERERS`; written only through the safe writer), and the same care
with untrusted provider and roster text: control characters made visible,
HTML escaped, Markdown specials escaped, spreadsheet formulas defused.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from pamtui.model import CredentialStatus
from pamtui.safe_write import check_target, protected_files, safe_write_text
from pamtui.services.offboarding import AccountRecord, Certificate, StepRecord, plan_detail
from pamtui.services.review_report import csv_cell, h, md_escape
from pamtui.wording import plural

FORMATS = ("md", "html", "csv")


def _verdict(cert: Certificate) -> str:
    if cert.ok:
        return "OFFBOARDED: every access ended, verified, and still gone now"
    return f"NOT PROVEN: {plural(len(cert.findings), 'finding')}"


def _summary(cert: Certificate) -> list[tuple[str, str]]:
    p = cert.person
    left = p.terminated.date().isoformat() if p.terminated else ""
    return [
        ("Person", f"{p.name} ({p.id})"),
        ("Work email", p.email),
        ("HR status", f"{p.status}{', left ' + left if left else ''}"),
        ("Offboarding plans", "; ".join(plan_detail(e) for e in cert.plans) or "none"),
        ("Steps", f"{len(cert.steps)} ({len(cert.open_steps)} open)"),
        ("Verdict", _verdict(cert)),
        ("Report generated", f"{cert.generated} by {cert.generated_by}"),
        ("Journal head at report time", str(cert.head) if cert.head else "empty"),
    ]


def _credentials(acc: AccountRecord) -> str:
    return "; ".join(
        f"{c.kind} {c.label or c.id}: {c.status}"
        + (" (LIVE)" if c.status is CredentialStatus.ACTIVE else "")
        for c in acc.credentials
    )


def _account_cells(acc: AccountRecord) -> tuple[object, ...]:
    status = acc.status + (" (LIVE)" if acc.live else "")
    return (acc.provider, acc.name, acc.relation, status, _credentials(acc), acc.rule)


def _step_cells(step: StepRecord) -> tuple[object, ...]:
    it = step.item
    check = step.check + (f" ({step.check_detail})" if step.check_detail else "")
    return (
        it.id,
        it.action.provider,
        step.phase,
        f"{it.action.label} [{it.action.name}]",
        it.state,
        step.done_at,
        it.requested_by,
        it.approved_by,
        step.executed_by,
        check,
    )


_ACCOUNT_HEAD = ("Provider", "Account", "Relation", "Status now", "Credentials now", "Linked by")
_STEP_HEAD = (
    "#",
    "Provider",
    "Phase",
    "Step",
    "State",
    "When (UTC)",
    "Requested by",
    "Approved by",
    "Executed by",
    "Checked again now",
)


def render_md(cert: Certificate) -> str:
    out = [f"# Offboarding certificate: {md_escape(cert.person.name)}", ""]
    out += [f"- **{k}:** {md_escape(v)}" for k, v in _summary(cert)]
    out += ["", "## Findings", ""]
    out += [f"- {md_escape(f)}" for f in cert.findings] or ["- none"]
    out += ["", "## Accounts and credentials", ""]
    out += ["| " + " | ".join(_ACCOUNT_HEAD) + " |", "|" + "---|" * len(_ACCOUNT_HEAD)]
    for acc in cert.accounts:
        out.append("| " + " | ".join(md_escape(v) for v in _account_cells(acc)) + " |")
    out += ["", "## Steps", ""]
    out += [
        "| " + " | ".join((*_STEP_HEAD, "Journal entry")) + " |",
        "|" + "---|" * (len(_STEP_HEAD) + 1),
    ]
    for step in cert.steps:
        cells = [md_escape(v) for v in _step_cells(step)]
        cells.append(f"`{step.entry_ref}`" if step.entry_ref else "")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return "\n".join(out)


def render_html(cert: Certificate) -> str:
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Offboarding certificate: {h(cert.person.name)}</title>",
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;text-align:left}</style>",
        "</head><body>",
        f"<h1>Offboarding certificate: {h(cert.person.name)}</h1>",
        "<dl>",
    ]
    for k, v in _summary(cert):
        out.append(f"<dt>{h(k)}</dt><dd>{h(v)}</dd>")
    out += ["</dl>", "<h2>Findings</h2>", "<ul>"]
    out += [f"<li>{h(f)}</li>" for f in cert.findings] or ["<li>none</li>"]
    out += ["</ul>", "<h2>Accounts and credentials</h2>", "<table>"]
    out.append("<tr>" + "".join(f"<th>{h(c)}</th>" for c in _ACCOUNT_HEAD) + "</tr>")
    for acc in cert.accounts:
        out.append("<tr>" + "".join(f"<td>{h(v)}</td>" for v in _account_cells(acc)) + "</tr>")
    out += ["</table>", "<h2>Steps</h2>", "<table>"]
    out.append(
        "<tr>" + "".join(f"<th>{h(c)}</th>" for c in (*_STEP_HEAD, "Journal entry")) + "</tr>"
    )
    for step in cert.steps:
        cells = "".join(f"<td>{h(v)}</td>" for v in _step_cells(step))
        out.append(f"<tr>{cells}<td><code>{h(step.entry_ref)}</code></td></tr>")
    out += ["</table>", "</body></html>", ""]
    return "\n".join(out)


CSV_COLUMNS = (
    "person_id",
    "person_name",
    "record",
    "provider",
    "account",
    "what",
    "state",
    "when",
    "requested_by",
    "approved_by",
    "executed_by",
    "checked_again",
    "journal_seq",
    "journal_hash",
    "journal_head_at_report",
    "report_generated",
)


def render_csv(cert: Certificate) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    p = cert.person
    head = str(cert.head) if cert.head else ""
    for acc in cert.accounts:
        writer.writerow(
            csv_cell(v)
            for v in (
                p.id, p.name, "account", acc.provider, acc.name,
                f"{acc.relation}; credentials: {_credentials(acc)}",
                acc.status + (" (LIVE)" if acc.live else ""),
                "", "", "", "", "", "", "", head, cert.generated,
            )
        )  # fmt: skip
    for step in cert.steps:
        it, e = step.item, step.entry
        writer.writerow(
            csv_cell(v)
            for v in (
                p.id, p.name, "step", it.action.provider, it.action.account_id,
                f"{it.action.label} [{it.action.name}]", it.state, step.done_at,
                it.requested_by, it.approved_by, step.executed_by,
                step.check + (f" ({step.check_detail})" if step.check_detail else ""),
                e.seq if e else "", e.hash if e else "", head, cert.generated,
            )
        )  # fmt: skip
    for finding in cert.findings:
        writer.writerow(
            csv_cell(v)
            for v in (p.id, p.name, "finding", "", "", finding, "", "", "", "", "", "", "", "",
                      head, cert.generated)
        )  # fmt: skip
    return buffer.getvalue()


RENDERERS = {"md": render_md, "html": render_html, "csv": render_csv}


def render(cert: Certificate, fmt: str) -> str:
    if fmt not in RENDERERS:
        raise ValueError(f"report format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    return RENDERERS[fmt](cert)


def write_report(
    path: Path | str, text: str, *, db_path: Path | str | None, force: bool = False
) -> Path:
    """Write through the safe writer: 0600, atomic, never the database, no overwrite."""
    return safe_write_text(path, text, protect=protected_files(db_path), force=force)


def check_report_target(
    path: Path | str, *, db_path: Path | str | None, force: bool = False
) -> None:
    """Fail before the checks run if the report could not be written to ``path``."""
    check_target(path, protect=protected_files(db_path), force=force)
