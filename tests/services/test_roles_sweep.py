"""The routes a sweep of every command and TUI action found without a role check.

Forwarding the journal and journalling a recheck need a role (services/roles.py).

``audit forward`` moves each receiver's cursor (what is marked sent is never
sent again) and ``audit recheck`` journals the findings the TUI's REGRESSED
flags are read from (a recheck ``--since`` tomorrow cleared them all). Both
ran for anyone: an auditor (an OS account with no ``[[operators]]`` entry)
forwarded, and on a fresh database journalled a recheck; an approver's recheck
cleared the flags. Real journals, a real TCP receiver on 127.0.0.1.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import Journal
from tests.services.test_forward import _Collector
from tests.services.test_roles_triage_writes import LUCIA, ME, _config_as, refusals

REVOKE = ["revoke", "--provider", "demo-git", "--account", "amara-quinn", "--reason", "r", "--yes"]


def _auditor_config(tmp_path: Path, extra: str = "") -> Path:
    """This OS account is not in ``[[operators]]``: an auditor."""
    cfg = _config_as(tmp_path, "operator")
    text = cfg.read_text(encoding="utf-8").replace(f'name = "{ME}"', 'name = "someone-else"', 1)
    cfg.write_text(text + extra, encoding="utf-8")
    return cfg


def _forward_table(port: int) -> str:
    return f'\n[[forward]]\nname = "siem"\ntransport = "tcp"\nhost = "127.0.0.1"\nport = {port}\n'


def _entries(db: Path, action: str | None = None) -> int:
    sql, args = "SELECT count(*) FROM entries", ()
    if action:
        sql, args = sql + " WHERE action = ?", (action,)
    with sqlite3.connect(db) as conn:
        return int(conn.execute(sql, args).fetchone()[0])


def _cursors(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT * FROM forward_state").fetchall()
        except sqlite3.OperationalError:  # no table yet: nothing was ever forwarded
            return []


def _revoked(tmp_path: Path, capsys) -> Path:
    """A journal with a revocation an operator ran (verified, so rechecked later)."""
    (tmp_path / "op").mkdir()
    db = tmp_path / "pamtui.db"
    operator = _config_as(tmp_path / "op", "operator")
    assert main([*REVOKE, "--config", str(operator), "--db", str(db)]) == 0, capsys.readouterr()
    capsys.readouterr()
    return db


# -- audit forward --------------------------------------------------------------------


def test_an_auditor_may_not_forward_the_journal(tmp_path, capsys):
    db = _revoked(tmp_path, capsys)
    collector = _Collector()
    try:
        cfg = _auditor_config(tmp_path, _forward_table(collector.port))
        before = _entries(db)
        code = main(["audit", "forward", "--config", str(cfg), "--db", str(db)])
        out, err = capsys.readouterr()
        assert code == 1, (out, err)
        assert err.count("\n") == 1 and "may not forward the journal" in err, err
        assert "Traceback" not in err
        assert collector.messages(0) == []  # nothing left this host
    finally:
        collector.close()
    assert _cursors(db) == []
    assert _entries(db) == before + 1  # only the refusal
    assert [(actor, act) for actor, _, act in refusals(db)] == [(ME, "forward")]
    assert Journal.open(db, read_only=True).verify().ok


def test_an_auditor_may_read_the_forwarding_status(tmp_path, capsys):
    """``--status`` only reads the cursors: open to everyone."""
    db = _revoked(tmp_path, capsys)
    cfg = _auditor_config(tmp_path, _forward_table(9))
    before = _entries(db)
    code = main(["audit", "forward", "--status", "--json", "--config", str(cfg), "--db", str(db)])
    assert code == 0, capsys.readouterr()
    assert _entries(db) == before and refusals(db) == []


@pytest.mark.parametrize("role", ["operator", "approver", "admin"])
def test_anyone_with_a_role_forwards(tmp_path, capsys, role):
    """Every role writes the journal, and its TUI forwards in the background: so may its CLI."""
    db = _revoked(tmp_path, capsys)
    collector = _Collector()
    try:
        cfg = _config_as(tmp_path, role)
        cfg.write_text(cfg.read_text() + _forward_table(collector.port), encoding="utf-8")
        entries = _entries(db)
        code = main(["audit", "forward", "--config", str(cfg), "--db", str(db)])
        assert code == 0, capsys.readouterr()
        assert len(collector.messages(entries)) >= entries
    finally:
        collector.close()
    assert [row[0] for row in _cursors(db)] == ["siem"]
    assert refusals(db) == []


# -- audit recheck --------------------------------------------------------------------


@pytest.mark.parametrize("role", ["approver", "admin"])
@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "recheck", "--since", "2999-01-01"],
        ["audit", "recheck", "--person", LUCIA],
    ],
    ids=["recheck", "recheck-person"],
)
def test_only_an_operator_journals_a_recheck(tmp_path, capsys, role, argv):
    db = _revoked(tmp_path, capsys)
    cfg = _config_as(tmp_path, role)
    before = _entries(db)
    code = main([*argv, "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and "needs the operator role" in err, err
    assert _entries(db, "recheck") == _entries(db, "recheck_person") == 0
    assert _entries(db) == before + 1  # only the refusal
    assert [(actor, act) for actor, _, act in refusals(db)] == [(ME, "recheck")]
    assert Journal.open(db, read_only=True).verify().ok


def test_an_approver_rechecks_read_only_when_it_says_so(tmp_path, capsys):
    db = _revoked(tmp_path, capsys)
    cfg = _config_as(tmp_path, "approver")
    before = _entries(db)
    code = main(["--read-only", "audit", "recheck", "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "5 still gone" in out and "read-only: nothing journalled" in out
    assert _entries(db) == before


def test_an_auditors_recheck_is_a_read(tmp_path, capsys):
    """An auditor's session is read-only: the recheck reports and journals nothing."""
    db = _revoked(tmp_path, capsys)
    before = _entries(db)
    cfg = _auditor_config(tmp_path)
    code = main(["audit", "recheck", "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 0, (out, err)
    assert "read-only: nothing journalled" in out
    assert _entries(db) == before


def test_an_auditors_recheck_on_a_fresh_database_creates_none(tmp_path, capsys):
    """Was: exit 0 with an empty journal created at --db; an auditor creates no journal
    (tests/services/test_roles_no_journal.py)."""
    db = tmp_path / "fresh" / "pamtui.db"
    cfg = _auditor_config(tmp_path)
    code = main(["audit", "recheck", "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err == f"pamtui: no journal at {db} yet (nothing has been recorded)\n"
    assert not db.parent.exists() or list(db.parent.iterdir()) == []


def test_an_operator_journals_a_recheck(tmp_path, capsys):
    db = _revoked(tmp_path, capsys)
    cfg = _config_as(tmp_path, "operator")
    assert main(["audit", "recheck", "--config", str(cfg), "--db", str(db)]) == 0
    assert "5 still gone" in capsys.readouterr().out
    assert _entries(db, "recheck") == 1 and refusals(db) == []


# -- policy set: the check in the service, not only in the command line -----------------


@pytest.mark.parametrize("role", ["operator", "approver"])
def test_the_policy_service_refuses_anyone_but_an_admin(db_path, role):
    """``policy set`` checked the admin role in the CLI only: any other caller of
    ``policy_store.change`` (a front end that forgot) changed the recorded policy."""
    from pamtui.model import Actor
    from pamtui.services import policy_store
    from pamtui.services.roles import RoleRefused

    journal = Journal.open(db_path)
    who = Actor("mallory", "SHA256:malkey", frozenset({role}), "ssh")
    with pytest.raises(RoleRefused, match="mallory may not change the recorded policy"):
        policy_store.change(journal, "read_only", True, actor=who, source="test")
    assert not policy_store.load(journal).read_only
    journal.close()
    assert [(actor, act) for actor, _, act in refusals(db_path)] == [("mallory", "policy")]
    assert _entries(db_path, "operator_policy_change") == 0

    journal = Journal.open(db_path)
    carol = Actor("carol", "SHA256:carolkey", frozenset({"admin"}), "ssh")
    assert policy_store.change(journal, "read_only", True, actor=carol, source="test").read_only
    journal.close()
    assert _entries(db_path, "operator_policy_change") == 1


# -- demo --reset beside real providers, and demo --scale N --reset --------------------

_REAL_PROVIDER = (
    '\n[[providers]]\nname = "web-log"\ntype = "jsonl"\npath = "{log}"\n'
    'fields = {{ ts = "ts", account = "user" }}\n'
)


def _demo_state(db: Path) -> dict[str, str]:
    from pamtui.providers.demo import state as st

    with sqlite3.connect(st.default_path(db.parent)) as conn:
        return dict(conn.execute("SELECT id, status FROM credentials").fetchall())


@pytest.mark.parametrize("who", ["auditor", "operator"])
def test_only_an_admin_resets_the_demo_beside_real_providers(tmp_path, capsys, who):
    """With a real provider configured, ``demo --reset`` restores only the demo's state
    file; it did so for anyone, bringing back every access revoked there."""
    db = _revoked(tmp_path, capsys)
    (tmp_path / "log.jsonl").touch()
    real = _REAL_PROVIDER.format(log=tmp_path / "log.jsonl")
    if who == "auditor":
        cfg = _auditor_config(tmp_path, real)
    else:
        cfg = _config_as(tmp_path, who)
        cfg.write_text(cfg.read_text() + real, encoding="utf-8")
    revoked, before = _demo_state(db), _entries(db)
    code = main(["demo", "--reset", "--config", str(cfg), "--db", str(db)])
    out, err = capsys.readouterr()
    assert code == 1, (out, err)
    assert err.count("\n") == 1 and "needs the admin role" in err, err
    assert _demo_state(db) == revoked  # the revoked credentials stay revoked
    assert _entries(db) == before + 1
    assert [(actor, act) for actor, _, act in refusals(db)] == [(ME, "rotate")]


def test_only_an_admin_regenerates_a_scaled_demo(tmp_path, capsys):
    db = _revoked(tmp_path, capsys)
    where = ["--db", str(db)]
    cfg = _auditor_config(tmp_path)
    assert main(["demo", "--scale", "40", "--config", str(cfg), *where]) == 0  # a new file
    capsys.readouterr()
    from pamtui.services.demo import scaled_path

    scaled = scaled_path(db.parent, 40, None)
    stamp = scaled.stat().st_ino, scaled.stat().st_mtime_ns
    code = main(["demo", "--scale", "40", "--reset", "--config", str(cfg), *where])
    out, err = capsys.readouterr()
    assert code == 1 and "needs the admin role" in err, (out, err)
    assert (scaled.stat().st_ino, scaled.stat().st_mtime_ns) == stamp
    assert [(actor, act) for actor, _, act in refusals(db)] == [(ME, "rotate")]
    admin = _config_as(tmp_path, "admin")
    assert main(["demo", "--scale", "40", "--reset", "--config", str(admin), *where]) == 0


# -- the TUI: every mutating key names its act ------------------------------------------


async def test_the_people_screens_remove_access_key_is_an_operators(db_path):
    """``remove_access`` (the people screen's MOVER/EXCESS removal) had no act in the key
    map, so it was shown to an approver, whom the revocation service then refused."""
    from types import SimpleNamespace

    from pamtui.model import Actor
    from pamtui.tui.keymap import role_allows
    from pamtui.tui.screens.people import PEOPLE_MUTATING
    from tests.services.test_roles_triage_writes import demo_session

    for role, allowed in (("approver", False), ("operator", True)):
        session = demo_session(db_path, Actor("x", None, frozenset({role}), "ssh"))
        app = SimpleNamespace(session=session)
        assert {a: role_allows(app, a) for a in PEOPLE_MUTATING} == dict.fromkeys(
            PEOPLE_MUTATING, allowed
        )
        await session.aclose()


@pytest.mark.parametrize("role", ["operator", None], ids=["operator", "auditor"])
async def test_the_tuis_background_forwarder_asks_the_service_too(db_path, role):
    """The TUI forwards while it runs; a session for an actor without a role (were
    one ever writable) is refused by the service, journalled, and the app goes on."""
    import dataclasses

    from pamtui.forward_config import ForwardConfig
    from pamtui.model import Actor
    from pamtui.services.session import Session
    from pamtui.tui.app import PamtuiApp
    from tests.services.test_roles_triage_writes import demo_session

    collector = _Collector()
    try:
        base = demo_session(db_path, Actor("x", None, frozenset({role} if role else ()), "ssh"))
        base.journal.append("x", "note")  # something to forward
        cfg = dataclasses.replace(
            base.config, forward=(ForwardConfig("siem", "tcp", "127.0.0.1", collector.port),)
        )
        session = Session(
            cfg, base.journal, {}, read_only=False, db_path=db_path, operator="x", actor=base.actor
        )
        app = PamtuiApp(session, stream=False)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(40):
                await pilot.pause(0.05)
                if collector.frames or refusals(db_path):
                    break
            assert app.is_running
        if role:
            assert collector.messages(1) and refusals(db_path) == []
        else:
            assert collector.messages(0) == []
            assert [(a, act) for a, _, act in refusals(db_path)] == [("x", "forward")]
    finally:
        collector.close()
