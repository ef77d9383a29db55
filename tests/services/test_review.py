"""Access review campaigns: snapshots, decisions, concurrency and the evidence report."""

from __future__ import annotations

import csv
import io
import subprocess
import sys

import pytest

from pamtui.config import demo_config
from pamtui.journal import EntryFilter, Head, Journal
from pamtui.journal.journal import Transaction
from pamtui.model import QueueState, RiskFlag
from pamtui.sanitize import is_clean
from pamtui.services import review_report
from pamtui.services.queue import plan_for_account
from pamtui.services.review import (
    JOURNAL_DECISION,
    ReviewConflict,
    ReviewError,
    ReviewService,
    Scope,
)
from pamtui.services.session import Session
from tests.fakes import StaticProvider
from tests.support.hostile import HOSTILE_STRINGS


def make_session(db_path, *providers: StaticProvider, operator: str = "tester") -> Session:
    providers = providers or (StaticProvider(),)
    return Session(
        demo_config(),
        Journal.open(db_path),
        {p.name: p for p in providers},
        read_only=False,
        db_path=db_path,
        operator=operator,
    )


@pytest.fixture
async def session(db_path):
    s = make_session(db_path)
    await s.inventory.sync()
    yield s
    s.journal.close()


def start(session: Session, scope: str = "all", **kw):
    service = ReviewService.for_session(session)
    campaign = service.start(
        scope,
        session.inventory.rows(),
        actor=session.operator,
        providers=session.providers,
        **kw,
    )
    return service, campaign


def position_of(service: ReviewService, campaign_id: int, name: str) -> int:
    return next(i.position for i in service.items(campaign_id) if i.account_name == name)


# -- scope and snapshot -----------------------------------------------------------------


async def test_privileged_scope_snapshots_only_privileged_accounts(session):
    service, campaign = start(session, "privileged", due="2026-12-31")
    privileged = {
        v.account.name for v in session.inventory.rows() if RiskFlag.PRIVILEGED in v.flags
    }
    items = service.items(campaign.id)
    assert {i.account_name for i in items} == privileged == {"alice"}
    assert campaign.scope == "privileged" and campaign.due == "2026-12-31"
    alice = items[0]
    assert alice.account["owner"] == "E1" and alice.account["owner_status"] == "employed"
    assert [c["id"] for c in alice.credentials] == ["t-alice-1"]
    assert alice.credentials[0]["scopes"] == ["admin:org"]
    assert alice.last_used  # the token's last use is evidence
    start_entry = session.journal.get(campaign.start_seq)
    assert start_entry.action == "review_start" and start_entry.actor == "tester"
    assert start_entry.detail["items"] == 1 and start_entry.detail["scope"] == "privileged"


async def test_all_and_provider_scopes(db_path):
    s = make_session(db_path, StaticProvider("static"), StaticProvider("other"))
    await s.inventory.sync()
    try:
        service, everything = start(s, "all")
        assert everything.item_count == 8
        _, one = start(s, "provider:other")
        assert {i.provider for i in service.items(one.id)} == {"other"}
        assert one.item_count == 4
        _, limited = start(s, "all", limit=3)
        assert limited.item_count == 3
        with pytest.raises(ReviewError, match="no provider named"):
            start(s, "provider:nope")
        with pytest.raises(ReviewError, match="scope must be"):
            Scope.parse("everyone")
        with pytest.raises(ReviewError, match="--due"):
            start(s, "all", due="next tuesday")
    finally:
        s.journal.close()


async def test_snapshot_does_not_change_when_the_provider_does(session):
    service, campaign = start(session, "all")
    provider = session.providers["static"]
    del provider.credentials["t-carol-1"]
    await session.inventory.sync()
    carol = service.item(campaign.id, position_of(service, campaign.id, "carol"))
    assert [c["id"] for c in carol.credentials] == ["t-carol-1"]


# -- decisions ------------------------------------------------------------------------


async def test_decisions_are_journalled_with_the_reviewer(session):
    service, campaign = start(session, "all")
    kept = service.decide(campaign.id, 1, "keep", "on-call admin", reviewer="ann")
    deferred = service.decide(campaign.id, 2, "defer", reviewer="ben")
    for item, actor in ((kept, "ann"), (deferred, "ben")):
        entry = session.journal.get(item.decision_seq)
        assert entry.actor == actor and entry.action == JOURNAL_DECISION
        assert entry.subject == f"account:{item.account_id}" and entry.provider == "static"
        assert entry.detail["decision"] == item.decision
        assert entry.detail["campaign"] == campaign.id and entry.detail["item"] == item.position
    assert kept.justification == "on-call admin" and kept.reviewer == "ann"
    with pytest.raises(ReviewError, match="justification"):
        service.decide(campaign.id, 3, "keep", "   ", reviewer="ann")
    with pytest.raises(ReviewError, match="keep, revoke or defer"):
        service.decide(campaign.id, 3, "maybe", reviewer="ann")
    assert str(service.progress(campaign.id)) == "2/4 decided"
    assert session.journal.verify().ok


async def test_revoke_stages_the_plan_then_report_shows_verification(session):
    service, campaign = start(session, "all")
    pos = position_of(service, campaign.id, "bob")
    view = session.inventory.get(("static", "u2"))
    expected = plan_for_account(session.providers["static"], view.account, view.credentials)
    item = service.decide(campaign.id, pos, "revoke", "left the company", reviewer="ann", view=view)
    queued = [session.queue.get(i) for i in item.queue_item_ids]
    assert [q.action for q in queued] == expected
    assert all(q.state is QueueState.APPROVED and q.requested_by == "ann" for q in queued)
    assert all("access review #1" in q.reason and "left the company" in q.reason for q in queued)
    assert session.providers["static"].revoke_calls == []  # staged, not executed
    entry = session.journal.get(item.decision_seq)
    assert entry.detail["queue_items"] == list(item.queue_item_ids)
    stage_entries = session.journal.entries(EntryFilter(action="stage"))
    assert {e.detail["item"] for e in stage_entries} == set(item.queue_item_ids)
    assert all(e.seq < item.decision_seq for e in stage_entries)

    data = review_report.collect(service, campaign.id, generated_by="auditor")
    assert "pending (approved)" in review_report.render(data, "md")

    await session.queue.run_pending()
    revocations = service.revocations(service.item(campaign.id, pos))
    assert [r.result for r in revocations] == ["verified"] * len(expected)
    for rev in revocations:
        proof = session.journal.get(rev.verified_seq)
        assert proof.action == "verified" and proof.detail["item"] == rev.item.id
    md = review_report.render(review_report.collect(service, campaign.id, generated_by="a"), "md")
    assert md.count(": verified, journal seq") == len(expected)


async def test_revoke_needs_the_live_account(session):
    service, campaign = start(session, "all")
    with pytest.raises(ReviewError, match="no longer reported"):
        service.decide(campaign.id, 1, "revoke", reviewer="ann", view=None)
    assert service.item(campaign.id, 1).decision == ""


async def test_decision_and_staging_commit_together_or_not_at_all(session, monkeypatch):
    service, campaign = start(session, "all")
    pos = position_of(service, campaign.id, "bob")
    before = session.journal.head()
    real_append = Transaction.append

    def failing(self, actor, action, **kw):
        if action == JOURNAL_DECISION:
            raise RuntimeError("disk full")
        return real_append(self, actor, action, **kw)

    monkeypatch.setattr(Transaction, "append", failing)
    with pytest.raises(RuntimeError):
        service.decide(
            campaign.id, pos, "revoke", reviewer="ann", view=session.inventory.get(("static", "u2"))
        )
    monkeypatch.undo()
    assert session.journal.head() == before
    assert session.queue.items() == []
    assert service.item(campaign.id, pos).decision == ""


async def test_read_only_service_refuses_decisions(session):
    _, campaign = start(session, "all")
    ro = ReviewService(session.journal, session.revocations, read_only=True)
    with pytest.raises(ReviewError, match="read-only"):
        ro.decide(campaign.id, 1, "defer", reviewer="ann")


# -- several reviewers, restarts ----------------------------------------------------------


async def test_progress_survives_reopening_the_database(session, db_path):
    service, campaign = start(session, "all")
    service.decide(campaign.id, 1, "keep", "needed", reviewer="ann")
    service.decide(campaign.id, 2, "defer", reviewer="ann")
    session.journal.close()
    reopened = Journal.open(db_path)
    try:
        again = ReviewService(reopened)
        progress = again.progress(campaign.id)
        assert (progress.decided, progress.kept, progress.deferred) == (2, 1, 1)
        assert again.item(campaign.id, 1).justification == "needed"
    finally:
        reopened.close()
    session.journal = Journal.open(db_path)  # the fixture closes it


async def test_two_reviewers_share_a_campaign_and_conflicts_are_refused(session, db_path):
    service_a, campaign = start(session, "all")
    other = Journal.open(db_path)  # a second process on the same database
    try:
        service_b = ReviewService(other)
        seen_by_b = service_b.item(campaign.id, 1)
        service_a.decide(campaign.id, 1, "keep", "ann says keep", reviewer="ann")
        service_b.decide(campaign.id, 2, "defer", reviewer="ben")
        head = other.head()
        with pytest.raises(ReviewConflict, match=r"decided meanwhile.*ann"):
            service_b.decide(
                campaign.id,
                1,
                "defer",
                reviewer="ben",
                expected_version=seen_by_b.version,
            )
        with pytest.raises(ReviewConflict, match="decided already"):
            service_b.decide(campaign.id, 1, "defer", reviewer="ben")
        assert other.head() == head  # nothing journalled, nothing overwritten
        assert service_a.item(campaign.id, 1).justification == "ann says keep"
        # Having seen ann's decision, ben may change it; that is journalled too.
        current = service_b.item(campaign.id, 1)
        changed = service_b.decide(
            campaign.id, 1, "defer", reviewer="ben", expected_version=current.version
        )
        assert other.get(changed.decision_seq).detail["previous"] == "keep"
        # A deferred item stays open to anyone.
        service_a.decide(campaign.id, 2, "keep", "fine", reviewer="ann")
        assert service_a.get(campaign.id).reviewers == ("ann", "ben")
    finally:
        other.close()


async def test_a_revocation_is_final(session):
    service, campaign = start(session, "all")
    pos = position_of(service, campaign.id, "carol")
    item = service.decide(
        campaign.id, pos, "revoke", reviewer="ann", view=session.inventory.get(("static", "u3"))
    )
    with pytest.raises(ReviewConflict, match="cancel them in the queue"):
        service.decide(
            campaign.id, pos, "keep", "oops", reviewer="ann", expected_version=item.version
        )


# -- the report ------------------------------------------------------------------------------


async def decided_campaign(session):
    service, campaign = start(session, "all")
    service.decide(campaign.id, 1, "keep", "on-call", reviewer="ann")
    pos = position_of(service, campaign.id, "bob")
    service.decide(
        campaign.id,
        pos,
        "revoke",
        "left",
        reviewer="ben",
        view=session.inventory.get(("static", "u2")),
    )
    service.decide(campaign.id, 3 if pos != 3 else 4, "defer", reviewer="ann")
    return service, campaign


async def test_report_names_the_journal_head_and_each_decisions_entry(session):
    service, campaign = await decided_campaign(session)
    data = review_report.collect(service, campaign.id, generated_by="auditor")
    head = session.journal.head()
    assert data.head == head and data.journal_ok
    md = review_report.render(data, "md")
    html_text = review_report.render(data, "html")
    csv_text = review_report.render(data, "csv")
    for text in (md, html_text, csv_text):
        assert str(head) in text
    decided = [i for i in service.items(campaign.id) if i.decision]
    assert len(decided) == 3
    for item in decided:
        entry = session.journal.get(item.decision_seq)
        for text in (md, html_text):
            assert f"{entry.seq}:{entry.hash}" in text
    rows = list(csv.DictReader(io.StringIO(csv_text)))
    assert len(rows) == campaign.item_count
    for row in rows:
        if row["decision"] == "undecided":
            assert row["journal_seq"] == ""
            continue
        entry = session.journal.get(int(row["journal_seq"]))
        assert entry.hash == row["journal_hash"] and entry.actor == row["reviewer"]
        assert entry.detail["decision"] == row["decision"]
        assert row["journal_head_at_report"] == str(head)
    # The head in the report verifies the journal up to that point.
    assert session.journal.verify(Head.parse(str(data.head))).ok
    assert "Scope" in md and "ann, ben" in md and "on-call" in md


async def test_report_flags_a_campaign_edited_behind_the_journals_back(session):
    service, campaign = await decided_campaign(session)
    session.journal.conn.execute(
        "UPDATE review_items SET justification = 'forged' WHERE campaign_id = ? AND position = 1",
        (campaign.id,),
    )
    data = review_report.collect(service, campaign.id, generated_by="auditor")
    assert not data.journal_ok
    assert "disagrees on justification" in review_report.render(data, "md")


async def test_hostile_names_are_escaped_in_every_format(db_path):
    s = make_session(db_path, StaticProvider(hostile=True))
    await s.inventory.sync()
    try:
        service, campaign = start(s, "all")
        nasty = '<script>alert(1)</script> | **x** =HYPERLINK("http://evil")'
        service.decide(campaign.id, 1, "keep", nasty, reviewer="ann")
        service.decide(campaign.id, 2, "keep", "=cmd|' /C calc'!A0", reviewer="ann")
        data = review_report.collect(service, campaign.id, generated_by="auditor")
        names = [i.account_name for i in service.items(campaign.id)]
        assert set(HOSTILE_STRINGS) <= set(names)
        for fmt in review_report.FORMATS:
            text = review_report.render(data, fmt)
            assert all(is_clean(line) for line in text.splitlines()), fmt
            assert "<script>" not in text or fmt == "csv"
        html_text = review_report.render(data, "html")
        assert "&lt;script&gt;" in html_text and "[@click=app.quit]" in html_text
        md = review_report.render(data, "md")
        assert "\\<script\\>" in md and "\\[@click=app.quit\\]" in md
        # Every table row keeps its 11 cells: no | from a name splits a row.
        rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
        for row in rows:
            assert row.replace("\\|", "").count("|") == 12, row
        cells = list(csv.DictReader(io.StringIO(review_report.render(data, "csv"))))
        assert cells[0]["justification"].startswith("<script>")
        assert cells[1]["justification"].startswith("'=cmd")
        assert all(not c["account"].startswith(("=", "+", "-", "@")) for c in cells)
    finally:
        s.journal.close()


def test_review_modules_do_not_import_textual() -> None:
    code = (
        "import sys, pamtui.services.review, pamtui.services.review_report, pamtui.cli.review; "
        "print(sorted(m for m in sys.modules if m.startswith(('textual', 'pamtui.tui'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
