"""An auditor's command on a database that does not exist yet creates nothing.

Was: ``accounts``, ``queue list``, ``drift``, ``people`` and ``sweep`` run by an
auditor (an OS account with no role in ``[[operators]]``) created an empty
journal (and the demo's state file) at ``--db``, and ``mfa status`` created
the journal and ``<db>-totp``: Session.open opened a missing journal
writable. An auditor may not write, so it may not create one either: the
commands say "no journal at PATH yet (nothing has been recorded)", exit 1,
as the audit commands do. An operator's first start still creates it.
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
