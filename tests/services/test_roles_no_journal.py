"""An auditor's command on a database that does not exist yet creates nothing.

Was: ``accounts``, ``queue list``, ``drift``, ``people`` and ``sweep`` run by an
auditor (an OS account with no role in ``[[operators]]``) created an empty
journal (and the demo's state file) at ``--db``, and ``mfa status`` created
the journal and ``<db>-totp``: Session.open opened a missing journal
writable. An auditor may not write, so it may not create one either: the
commands say "no journal at PATH yet (nothing has been recorded)", exit 1,
as the audit commands do. An operator's first start still creates it. So did
an auditor's ``demo --reset`` (the admin check guarded only a journal with a
history), recording the reset under the auditor's name.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pamtui.cli import main
from tests.services.test_roles_sweep import _auditor_config
from tests.services.test_roles_triage_writes import _config_as


@pytest.mark.parametrize(
    "argv",
    [
        ["accounts"],
        ["queue", "list"],
        ["drift"],
        ["mfa", "status"],
        ["people"],
        ["sweep", "--dry-run"],
        ["demo", "--reset"],
        ["demo", "--scale", "40", "--reset"],
    ],
    ids=lambda argv: "-".join(argv),
)
def test_an_auditor_on_a_missing_journal_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    cfg = _auditor_config(tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    db = data / "pamtui.db"
    code = main([*argv, "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err == f"pamtui: no journal at {db} yet (nothing has been recorded)\n"
    assert sorted(p.name for p in data.iterdir()) == []


def test_an_operators_first_command_still_creates_the_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = _config_as(tmp_path, "operator")
    db = tmp_path / "data" / "pamtui.db"
    code = main(["queue", "list", "--config", str(cfg), "--db", str(db)])
    assert code == 0, capsys.readouterr()
    assert db.exists()


def test_an_auditors_mfa_status_on_a_journal_creates_no_totp_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``mfa status`` is a read: an auditor's created ``<db>-totp`` beside an existing
    journal. It now says "not enrolled" as an operator without an enrolment is told."""
    from pamtui.journal import Journal

    data = tmp_path / "data"
    data.mkdir()
    db = data / "pamtui.db"
    journal = Journal.open(db)
    journal.append("tester", "note")
    journal.close()
    totp = data / "pamtui.db-totp"
    code = main(["mfa", "status", "--config", str(_auditor_config(tmp_path)), "--db", str(db)])
    audited = code, *capsys.readouterr()
    assert not totp.exists()
    (tmp_path / "op").mkdir()
    operator = _config_as(tmp_path / "op", "operator")
    code = main(["mfa", "status", "--config", str(operator), "--db", str(db)])
    assert audited == (code, *capsys.readouterr())
    assert audited[0] == 1 and "NOT enrolled" in audited[1], audited
