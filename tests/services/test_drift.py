"""Inventory snapshots and drift: what changed between two syncs."""

from __future__ import annotations

import json
import sqlite3
import stat
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pamtui.cli import main
from pamtui.journal import EntryFilter
from pamtui.model import (
    Account,
    AccountKind,
    AccountStatus,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    RiskFlag,
)
from pamtui.providers.demo import state as st
from pamtui.services import drift as dr
from pamtui.services.inventory import AccountView
from pamtui.services.session import Session
from tests.services.test_recheck import CONFIG, demo_file

PRIV_GROUP = "Okta Super Admins"


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def plain_idp_account(session: Session) -> AccountView:
    return next(
        v
        for v in session.inventory.rows()
        if v.account.provider == "demo-idp"
        and v.account.status is AccountStatus.ACTIVE
        and v.account.kind is AccountKind.HUMAN
        and not v.flags
        and v.account.owner_status is OwnerStatus.EMPLOYED
    )


async def test_a_privileged_grant_between_two_syncs(cfg: Path, db_path: Path) -> None:
    session = Session.open(config_path=str(cfg), db_path=str(db_path))
    try:
        await session.inventory.sync()
        first = session.drift.last["demo-idp"]
        assert first.baseline and first.changes == []
        view = plain_idp_account(session)
        path = demo_file(db_path)
        st.grant_privilege(path, view.account.id, PRIV_GROUP)
        st.add_credential(
            path, view.account.id, "00tNEWADMINTOKEN1", scopes=["okta.admin.read"], label="x"
        )
        st.set_person_status(path, view.account.owner, "terminated")

        await session.inventory.sync()
        record = session.drift.last["demo-idp"]
        assert not record.baseline
        mine = {c.kind: c for c in record.changes if c.account_id == view.account.id}
        assert set(mine) == {
            dr.PRIVILEGE_GRANTED,
            dr.CREDENTIAL_CREATED,
            dr.ADMIN_SCOPE_ADDED,
            dr.OWNER_LEFT,
        }
        granted = mine[dr.PRIVILEGE_GRANTED]
        assert granted.detail == {"groups": [PRIV_GROUP], "privileged": True}
        assert granted.account_name == view.account.name
        assert mine[dr.ADMIN_SCOPE_ADDED].detail["scopes"] == ["okta.admin.read"]
        assert mine[dr.OWNER_LEFT].detail["owner"] == view.account.owner
        # Only the accounts that changed: this person may own accounts elsewhere too.
        assert {c.account_id for c in record.changes} <= {
            v.account.id for v in session.inventory.rows() if v.account.owner == view.account.owner
        }
        # Notable drift is journalled once per provider sync.
        [entry] = session.journal.entries(EntryFilter(action=dr.DRIFT_ACTION, provider="demo-idp"))
        assert entry.actor == "system"
        assert entry.detail["counts"][dr.PRIVILEGE_GRANTED] == 1
        assert any(n["kind"] == dr.PRIVILEGE_GRANTED for n in entry.detail["notable"])
        assert session.journal.verify().ok

        # The store answers "since the previous sync" and "since a date".
        latest = session.drift.store.changes()
        assert {c.kind for c in latest} >= {dr.PRIVILEGE_GRANTED, dr.CREDENTIAL_CREATED}
        assert session.drift.store.changes(since="2999-01-01") == []
        grouped = dr.group_by_kind(latest)
        assert next(iter(grouped)) == dr.PRIVILEGE_GRANTED
    finally:
        await session.aclose()


async def test_an_unchanged_sync_stores_nothing_but_one_row(cfg: Path, db_path: Path) -> None:
    session = Session.open(config_path=str(cfg), db_path=str(db_path))
    try:
        await session.inventory.sync()
        store_path = dr.snapshot_path(db_path)
        assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
        await session.inventory.sync()
        size = store_path.stat().st_size
        for _ in range(3):
            await session.inventory.sync()
        assert all(not r.changes for r in session.drift.last.values())
        with sqlite3.connect(store_path) as conn:
            assert conn.execute("SELECT count(*) FROM changes").fetchone() == (0,)
            assert conn.execute("SELECT count(*) FROM syncs").fetchone() == (5 * 2,)
            (accounts,) = conn.execute("SELECT count(*) FROM current").fetchone()
        assert accounts == len(session.inventory.views)
        assert store_path.stat().st_size - size < 16_384  # a few rows, not a copy
        assert session.journal.entries(EntryFilter(action=dr.DRIFT_ACTION)) == []
    finally:
        await session.aclose()


def test_cli_drift_shows_the_grant_and_honours_since(cfg: Path, db_path: Path, capsys) -> None:
    code, out, err = run(capsys, "drift")
    assert code == 0, err
    assert "first snapshot (baseline)" in out and "0 changes" in out

    path = demo_file(db_path)
    conn = st.connect(path)
    account_id, name = conn.execute(
        "SELECT id, name FROM accounts WHERE system = 'git' AND privileged = 0 AND status = "
        "'active' ORDER BY id LIMIT 1"
    ).fetchone()
    conn.close()
    st.grant_privilege(path, account_id, "org-owners")

    code, out, err = run(capsys, "drift", "--check")
    assert code == 1, err  # --check: access grew
    assert "Privilege granted (1)" in out and name in out and "+org-owners" in out

    code, out, _ = run(capsys, "drift", "--no-sync", "--json")
    assert code == 0
    report = json.loads(out)
    [change] = report["changes"]
    assert change["kind"] == dr.PRIVILEGE_GRANTED and change["account"] == name
    assert change["notable"] and report["last_syncs"]["demo-git"]["baseline"] is False

    # A later sync with nothing new: "since the previous sync" is empty, --since is not.
    code, out, _ = run(capsys, "drift")
    assert code == 0 and "0 changes" in out
    code, out, _ = run(capsys, "drift", "--no-sync", "--since", "1d", "--provider", "demo-git")
    assert "Privilege granted (1)" in out
    code, out, _ = run(capsys, "drift", "--no-sync", "--since", "2999-01-01")
    assert "0 changes" in out


def test_drift_text_is_cleaned(cfg: Path, db_path: Path, capsys) -> None:
    run(capsys, "drift")
    path = demo_file(db_path)
    conn = st.connect(path)
    (account_id,) = conn.execute(
        "SELECT id FROM accounts WHERE system = 'idp' AND privileged = 0 ORDER BY id LIMIT 1"
    ).fetchone()
    conn.close()
    st.grant_privilege(path, account_id, "admins\x1b]52;c;ZXZpbA==\x07")
    code, out, _ = run(capsys, "drift")
    assert code == 0 and "Privilege granted" in out
    assert "\x1b" not in out and "\x07" not in out and "␛" in out


# -- the diff, unit by unit ---------------------------------------------------------

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def view(**kw) -> AccountView:
    creds = kw.pop("credentials", ())
    flags = kw.pop("flags", frozenset())
    account = Account(
        provider="p",
        id="a1",
        name="alice",
        kind=AccountKind.HUMAN,
        status=AccountStatus.ACTIVE,
        owner="E1",
        owner_status=OwnerStatus.EMPLOYED,
    )
    return AccountView(replace(account, **kw), tuple(creds), frozenset(flags))


def token(cid: str = "t1", *scopes: str, status=CredentialStatus.ACTIVE) -> Credential:
    return Credential("p", cid, "a1", CredentialKind.API_TOKEN, status, scopes=scopes)


def kinds(old: AccountView | None, new: AccountView | None) -> dict[str, dict]:
    o = dr.record_of(old) if old else None
    n = dr.record_of(new) if new else None
    return dict(dr.diff("a1", o, n))


def test_diff_kinds() -> None:
    base = view(groups=("Everyone",), credentials=[token("t1", "read")])
    assert kinds(base, base) == {}
    assert dr.NEW_ACCOUNT in kinds(None, base)
    privileged = view(privileged=True, flags={RiskFlag.PRIVILEGED})
    assert dr.NEW_PRIVILEGED_ACCOUNT in kinds(None, privileged)
    assert kinds(base, None) == {dr.ACCOUNT_REMOVED: {"status": "active"}}
    assert kinds(view(status=AccountStatus.DEACTIVATED), view()) == {
        dr.ACCOUNT_REACTIVATED: {"before": "deactivated", "after": "active"}
    }
    assert kinds(view(), view(owner_status=OwnerStatus.TERMINATED)) == {
        dr.OWNER_LEFT: {"owner": "E1", "owner_status": "terminated"}
    }
    # An existing token gains an admin scope; a revoked admin token is re-enabled.
    grown = kinds(base, view(groups=("Everyone",), credentials=[token("t1", "read", "admin")]))
    assert grown == {
        dr.ADMIN_SCOPE_ADDED: {
            "credential": "t1",
            "credential_kind": "api_token",
            "scopes": ["admin"],
        }
    }
    revoked = view(credentials=[token("t2", "admin", status=CredentialStatus.REVOKED)])
    assert dr.ADMIN_SCOPE_ADDED in kinds(revoked, view(credentials=[token("t2", "admin")]))
    # Removal is recorded, and is not notable.
    lost = kinds(view(privileged=True, groups=("Admins",)), view())
    assert lost == {dr.PRIVILEGE_REMOVED: {"groups": ["Admins"], "privileged": False}}
    assert dr.PRIVILEGE_REMOVED not in dr.NOTABLE
    # Timestamps and sessions are not privilege-relevant: no drift, same digest.
    session = Credential("p", "s1", "a1", CredentialKind.SESSION, CredentialStatus.ACTIVE)
    busy = view(last_active=NOW, credentials=[session])
    assert dr.record_of(busy) == dr.record_of(view())


def test_a_large_sync_is_cheap(tmp_path: Path) -> None:
    """20k accounts: a baseline and an unchanged sync take well under a few seconds."""
    n = 20_000
    views = [
        AccountView(
            Account(
                "big",
                f"u{i:06d}",
                f"user{i}@example.test",
                AccountKind.HUMAN,
                AccountStatus.ACTIVE,
                groups=("Everyone", f"Team-{i % 50}"),
                owner=f"E{i}",
                owner_status=OwnerStatus.EMPLOYED,
            ),
            (token(f"t{i}", "read:org"),),
            frozenset(),
        )
        for i in range(n)
    ]
    store = dr.SnapshotStore(tmp_path / "snapshots.sqlite")
    started = time.perf_counter()
    store.record("big", views)
    again = store.record("big", views)
    elapsed = time.perf_counter() - started
    assert again.changes == []
    assert elapsed < 20, elapsed  # shared CI cores; typically ~1 s
    size = store.path.stat().st_size
    assert size / n < 400, size  # bytes per account, index included

    views[7] = replace(
        views[7],
        account=replace(views[7].account, privileged=True, groups=("Everyone", "Team-7", "Admins")),
    )
    third = store.record("big", views)
    assert [(c.account_id, c.kind) for c in third.changes] == [("u000007", dr.PRIVILEGE_GRANTED)]


def test_the_new_services_stay_headless() -> None:
    """Like tests/test_architecture.py: cron runs recheck and drift without Textual."""
    import subprocess
    import sys

    code = (
        "import sys, pamtui.services.drift, pamtui.services.drift_recorder, "
        "pamtui.services.recheck, "
        "pamtui.services.policy_history, pamtui.cli.drift; "
        "print(sorted(m for m in sys.modules if m.startswith(('textual', 'pamtui.tui'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
