"""``pamtui audit recheck``: revoked access that came back behind pamtui's back.

Against the demo organisation (its real state file, tampered with through
``providers/demo/state.py``), against a real SCIM server (re-activated with a
PATCH), and with a provider that is down.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pamtui.cli import main
from pamtui.cli.common import UsageError
from pamtui.cli.drift import parse_since
from pamtui.config import demo_config
from pamtui.journal import EntryFilter, Journal
from pamtui.model import AccountStatus, Capability, QueueState, RiskFlag
from pamtui.providers.base import ProviderError
from pamtui.providers.demo import state as st
from pamtui.services import recheck as rc
from pamtui.services.queue import plan_for_account
from pamtui.services.session import Session
from tests.fakes import StaticProvider
from tests.providers.test_provider_scim import PATCH_OP, make
from tests.support.servers import Tenant

CONFIG = """
[[providers]]
name = "demo-idp"
type = "demo"
system = "idp"
latency_ms = 0

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0
"""


@pytest.fixture
def cfg(tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    monkeypatch.setenv("PAMTUI_DB", str(db_path))
    return path


def demo_file(db_path: Path) -> Path:
    return st.default_path(db_path.parent)


async def open_session(cfg: Path, db_path: Path) -> Session:
    session = Session.open(config_path=str(cfg), db_path=str(db_path))
    await session.inventory.sync()
    return session


def find(session: Session, provider: str, *, active: bool = True, system_kind: str = "human"):
    """A live human account of ``provider`` with at least one active token."""
    for view in session.inventory.rows():
        a = view.account
        if a.provider == provider and a.status is AccountStatus.ACTIVE and a.kind == system_kind:
            return view
    raise AssertionError(f"no active account in {provider}")


async def revoke(session: Session, actions: list, reason: str = "left the company") -> None:
    items = session.queue.stage(actions, reason, approve=True)
    outcomes = await session.queue.run([i.id for i in items])
    assert all(o.ok for o in outcomes), [o.message for o in outcomes]
    assert all(session.queue.get(i.id).state is QueueState.VERIFIED for i in items)


async def test_demo_reactivated_account_is_a_finding(cfg: Path, db_path: Path) -> None:
    session = await open_session(cfg, db_path)
    try:
        view = find(session, "demo-idp")
        provider = session.providers["demo-idp"]
        [deactivate] = [
            a for a in provider.revoke_actions(view.account) if a.name == "deactivate_account"
        ]
        await revoke(session, [deactivate])

        report = await rc.recheck(session.journal, session.providers, actor="tester")
        assert report.ok and report.counts() == {
            "checked": 1,
            "still_gone": 1,
            "came_back": 0,
            "could_not_check": 0,
        }

        # An administrator re-activates the account in the IdP console.
        st.reactivate_account(demo_file(db_path), view.account.id)
        report = await rc.recheck(session.journal, session.providers, actor="tester")
        assert not report.ok
        [finding] = report.came_back
        assert finding.action.target_id == view.account.id
        assert "active" in finding.detail
        [entry] = session.journal.entries(EntryFilter(action=rc.FINDING_ACTION))
        assert entry.subject == f"account:{view.account.id}"
        assert entry.detail["status"] == "came_back" and entry.provider == "demo-idp"
        summary = session.journal.entries(EntryFilter(action=rc.RECHECK_ACTION), limit=1)[0]
        assert summary.detail["came_back"] == 1
        assert rc.regressed_accounts(session.journal) == {view.key}
        assert session.journal.verify().ok
    finally:
        await session.aclose()

    # The next session flags the account in the inventory (the TUI shows CAME BACK).
    session = await open_session(cfg, db_path)
    try:
        assert RiskFlag.REGRESSED in session.inventory.get(view.key).flags
    finally:
        await session.aclose()


async def test_demo_reenabled_token_and_the_since_window(cfg: Path, db_path: Path) -> None:
    session = await open_session(cfg, db_path)
    try:
        view = next(
            v
            for v in session.inventory.rows()
            if v.account.provider == "demo-git"
            and any(c.status == "active" and c.kind != "session" for c in v.credentials)
        )
        cred = next(c for c in view.credentials if c.status == "active" and c.kind != "session")
        provider = session.providers["demo-git"]
        await revoke(session, provider.revoke_actions(cred)[:1])
        st.reenable_credential(demo_file(db_path), cred.id)

        report = await rc.recheck(session.journal, session.providers, since="2999-01-01")
        assert report.checks == [] and report.ok
        report = await rc.recheck(session.journal, session.providers, since=parse_since("1d"))
        assert [c.action.target_id for c in report.came_back] == [cred.id]
        assert "credential status: active" in report.came_back[0].detail
    finally:
        await session.aclose()


class DownProvider(StaticProvider):
    """The provider's API is unreachable: every verify fails."""

    def __init__(self) -> None:
        super().__init__("static")
        self.verify_calls = 0

    async def verify(self, action: Any) -> Any:
        self.verify_calls += 1
        raise ProviderError("connection refused (127.0.0.1:443)", retryable=True)


async def test_a_provider_that_is_down_is_could_not_check_not_still_gone(
    static_session: Session,
) -> None:
    provider = static_session.providers["static"]
    actions = [a for c in provider.credentials.values() for a in provider.revoke_actions(c)]
    await revoke(static_session, actions)
    assert len(actions) >= 4

    down = DownProvider()
    report = await rc.recheck(
        static_session.journal, {"static": down}, concurrency=1, breaker=2, actor="tester"
    )
    assert not report.ok and not report.came_back and not report.still_gone
    assert len(report.could_not_check) == len(actions)
    # After two failures in a row the provider is left alone (rate limits, outages).
    assert down.verify_calls == 2
    assert "connection refused" in report.could_not_check[0].detail
    assert "not asked" in report.could_not_check[-1].detail
    summary = static_session.journal.entries(EntryFilter(action=rc.RECHECK_ACTION), limit=1)[0]
    assert summary.detail["could_not_check"] == len(actions)
    assert summary.detail["unchecked_providers"] == ["static"]

    # A provider that is no longer configured, or cannot verify: could not check too.
    report = await rc.recheck(static_session.journal, {}, record=False)
    assert {c.status for c in report.checks} == {rc.COULD_NOT_CHECK}
    blind = StaticProvider()
    blind.capabilities = frozenset(Capability) - {Capability.VERIFY}
    report = await rc.recheck(static_session.journal, {"static": blind}, record=False)
    assert all("cannot verify" in c.detail for c in report.checks)


async def test_concurrency_per_provider_is_bounded(static_session: Session) -> None:
    import asyncio

    provider = static_session.providers["static"]
    actions = [a for c in provider.credentials.values() for a in provider.revoke_actions(c)]
    await revoke(static_session, actions)
    running = peak = 0

    class Slow(StaticProvider):
        async def verify(self, action: Any) -> Any:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            await asyncio.sleep(0.01)
            running -= 1
            return await provider.verify(action)

    report = await rc.recheck(static_session.journal, {"static": Slow()}, concurrency=2)
    assert report.ok and len(report.still_gone) == len(actions)
    assert peak == 2


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


async def _revoke_one(cfg: Path, db_path: Path) -> str:
    session = await open_session(cfg, db_path)
    try:
        view = find(session, "demo-idp")
        provider = session.providers["demo-idp"]
        [deactivate] = [
            a for a in provider.revoke_actions(view.account) if a.name == "deactivate_account"
        ]
        await revoke(session, [deactivate])
        return view.account.id
    finally:
        await session.aclose()


def test_cli_exit_codes_for_cron(cfg: Path, db_path: Path, capsys, tmp_path: Path) -> None:
    import asyncio

    account_id = asyncio.run(_revoke_one(cfg, db_path))
    code, out, err = run(capsys, "audit", "recheck", "--since", "1d")
    assert code == 0, err
    assert "1 still gone" in out and "0 CAME BACK" in out

    st.reactivate_account(demo_file(db_path), account_id)
    code, out, err = run(capsys, "audit", "recheck", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["came_back"] == 1 and report["journalled"]
    assert report["findings"][0]["account_id"] == account_id
    assert "CAME BACK" in err and err.count("\n") == 1

    code, out, err = run(capsys, "audit", "recheck")
    assert code == 1 and "CAME BACK  demo-idp" in out

    # The provider is gone from the config: could not check, a distinct message.
    other = tmp_path / "other.toml"
    other.write_text(
        CONFIG.split("[[providers]]")[0] + "[[providers]]" + CONFIG.split("[[providers]]")[2]
    )
    code, out, err = run(capsys, "audit", "recheck", "--config", str(other))
    assert code == 1
    assert "could not check 1 revocation (demo-idp)" in err and "CAME BACK" not in err

    code, _, err = run(capsys, "audit", "recheck", "--since", "last tuesday")
    assert code == 2 and "--since" in err


def test_parse_since() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_since("2026-11-01") == "2026-11-01T00:00:00.000000Z"
    assert parse_since("2026-11-01T10:30Z") == "2026-11-01T10:30:00.000000Z"
    assert parse_since("7d", now=now) == "2026-11-15T12:00:00.000000Z"
    assert parse_since("24h", now=now) == "2026-11-21T12:00:00.000000Z"
    assert parse_since(None) is None
    with pytest.raises(UsageError):
        parse_since("yesterday")


# -- against a real SCIM server -----------------------------------------------------


async def test_scim_user_reactivated_on_the_server(
    tmp_path: Path,
    db_path: Path,
    tenant: Tenant,
) -> None:
    user_id = tenant.add_user("mallory.departed", displayName="Mallory Departed")
    provider = make(tmp_path, tenant.base_url)
    session = Session(
        demo_config(),
        Journal.open(db_path),
        {"corp-scim": provider},
        read_only=False,
        db_path=db_path,
        operator="tester",
    )
    try:
        await session.inventory.sync()
        view = session.inventory.get(("corp-scim", user_id))
        assert view is not None
        steps = plan_for_account(provider, view.account, view.credentials)
        deactivate = [s for s in steps if s.name == "deactivate_account"]
        await revoke(session, deactivate)
        assert tenant.get_user(user_id).json()["active"] is False

        report = await rc.recheck(session.journal, session.providers)
        assert report.ok and len(report.still_gone) == 1

        # Someone re-activates the user directly on the SCIM server.
        r = tenant.client.patch(
            f"Users/{user_id}",
            json={
                "schemas": [PATCH_OP],
                "Operations": [{"op": "replace", "path": "active", "value": True}],
            },
        )
        assert r.status_code in (200, 204), r.text
        assert tenant.get_user(user_id).json()["active"] is True

        report = await rc.recheck(session.journal, session.providers)
        assert not report.ok
        [finding] = report.came_back
        assert finding.action.target_id == user_id and finding.action.provider == "corp-scim"
        assert rc.regressed_accounts(session.journal) == {("corp-scim", user_id)}
    finally:
        await session.aclose()


async def test_clear_sessions_is_point_in_time_and_not_rechecked(static_session: Session) -> None:
    from pamtui.model import RevokeAction, TargetKind

    clear = RevokeAction(
        "static", "clear_sessions", TargetKind.ACCOUNT, "u1", "u1", "Clear sessions of alice"
    )
    await revoke(static_session, [clear], "incident")
    report = await rc.recheck(static_session.journal, static_session.providers, record=False)
    assert report.checks == []
