"""The demo provider against a real state file: data, revocation, events, cursors."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import stat
import time
from collections.abc import AsyncIterator
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from pamtui.model import (
    AccessEvent,
    Account,
    AccountKind,
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    OwnerStatus,
    TargetKind,
)
from pamtui.providers.base import (
    Provider,
    ProviderConfigError,
    ProviderContext,
    ProviderError,
)
from pamtui.providers.demo import DemoProvider, reset
from pamtui.providers.demo import state as demo_state
from pamtui.providers.demo.constants import BUCKET_ENUMERATION, DEPARTED_TOKEN
from pamtui.providers.demo.events import Clock, company_tz
from pamtui.providers.demo.generate import dumps, generate
from pamtui.providers.registry import load_type
from pamtui.resources import sample_data_dir

DAY = 86400


class FastClock(Clock):
    """Starts at a given wall-clock time and fast-forwards through every sleep."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


def make(
    tmp_path: Path, name: str = "demo", clock: Clock | None = None, **settings: Any
) -> DemoProvider:
    settings.setdefault("latency_ms", 0)
    provider = DemoProvider.from_config(name, settings, ProviderContext(state_dir=tmp_path))
    if clock is not None:
        provider.clock = clock
    return provider


async def take(stream: AsyncIterator[AccessEvent], n: int) -> list[AccessEvent]:
    out: list[AccessEvent] = []
    async with aclosing(stream):
        async for event in stream:
            out.append(event)
            if len(out) >= n:
                break
    return out


def incident(kind: str) -> dict[str, Any]:
    org = json.loads((sample_data_dir() / "demo-org.json").read_text(encoding="utf-8"))
    return next(i for i in org["incidents"] if i["id"] == kind)


async def credential(provider: DemoProvider, cred_id: str) -> Credential:
    return next(c for c in [c async for c in provider.list_credentials()] if c.id == cred_id)


# -- the generated organisation -------------------------------------------------


def test_generated_org_is_believable() -> None:
    org = generate(seed=7, accounts=250)
    people = {p["id"]: p for p in org["people"]}
    accounts, creds = org["accounts"], org["credentials"]
    assert len(accounts) == 250
    assert 540 <= len(creds) <= 680
    assert 180 <= len(people) <= 220
    assert {a["system"] for a in accounts} == {"idp", "git", "cloud"}
    assert {a["kind"] for a in accounts} == {"human", "service", "bot"}
    assert {c["kind"] for c in creds} == {k.value for k in CredentialKind}
    active_creds = {c["account_id"] for c in creds if c["status"] == "active"}
    orphaned = {
        a["owner"]
        for a in accounts
        if a["kind"] == "human"
        and a["status"] == "active"
        and people[a["owner"]]["status"] == "terminated"
    }
    assert 10 <= len(orphaned) <= 15
    assert any(
        a["id"] in active_creds and people[a["owner"]]["status"] == "terminated"
        for a in accounts
        if a["kind"] == "human"
    )
    assert any(
        people[a["owner"]]["status"] == "terminated" for a in accounts if a["kind"] != "human"
    )
    assert 8 <= sum(bool(a.get("privileged")) for a in accounts) <= 12
    stale = [
        c
        for c in creds
        if c["last_used_minutes_ago"] is None or c["last_used_minutes_ago"] > 90 * 1440
    ]
    assert 0.10 <= len(stale) / len(creds) <= 0.22
    assert any(c["status"] == "active" and (c["expires_in_minutes"] or 0) < 0 for c in creds)
    text = dumps(org)
    assert "secret" not in text.lower().replace("aws_secret_access_key", "")
    assert len(text.encode()) < 400_000
    assert all(a["email"].endswith("@acme-robotics.example") for a in accounts if a["email"])


def test_generator_is_deterministic_and_matches_the_bundled_file() -> None:
    assert generate(seed=7) == generate(seed=7)
    assert generate(seed=8) != generate(seed=7)
    bundled = (sample_data_dir() / "demo-org.json").read_text(encoding="utf-8")
    assert bundled == dumps(generate(seed=7, accounts=250)), (
        "sample_data/demo-org.json is out of date: "
        "python -m pamtui.providers.demo.generate --out sample_data/demo-org.json"
    )


def test_generator_scales() -> None:
    started = time.perf_counter()
    org = generate(seed=7, accounts=2000)
    assert time.perf_counter() - started < 2
    assert len(org["accounts"]) == 2000
    assert 4000 <= len(org["credentials"]) <= 6000
    assert len({a["id"] for a in org["accounts"]}) == 2000
    assert len({c["id"] for c in org["credentials"]}) == len(org["credentials"])
    exact = generate(seed=3, accounts=400, credentials=1200)
    assert len(exact["credentials"]) == 1200


# -- configuration ---------------------------------------------------------------


def test_entry_point_resolves(tmp_path: Path) -> None:
    assert load_type("demo") is DemoProvider
    assert isinstance(make(tmp_path), Provider)


async def test_another_seed_builds_another_org(tmp_path: Path) -> None:
    bundled = make(tmp_path / "a")
    other = make(tmp_path / "b", seed=8)
    names = [{a.name async for a in p.list_accounts()} for p in (bundled, other)]
    assert len(names[0]) == len(names[1]) == 250
    assert names[0] != names[1]
    await bundled.aclose()
    await other.aclose()


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"sytem": "idp"}, "sytem"),
        ({"system": 3}, "system"),
        ({"system": "ldap"}, "system"),
        ({"state_file": 12}, "state_file"),
        ({"seed": "7"}, "seed"),
        ({"seed": True}, "seed"),
        ({"latency_ms": "fast"}, "latency_ms"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"event_rate": None}, "event_rate"),
        ({"backfill_minutes": [30]}, "backfill_minutes"),
    ],
)
def test_settings_are_validated(tmp_path: Path, settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ProviderConfigError, match=repr(key)):
        DemoProvider.from_config("demo", settings, ProviderContext(state_dir=tmp_path))


def test_settings_are_applied(tmp_path: Path) -> None:
    p = DemoProvider.from_config(
        "acme-git",
        {
            "system": "git",
            "state_file": "x/shared.sqlite",
            "seed": 7,
            "latency_ms": 5,
            "event_rate": 2.5,
            "backfill_minutes": 1,
        },
        ProviderContext(state_dir=tmp_path),
    )
    assert p.type == "demo"
    assert p.capabilities == frozenset(Capability)
    assert p.systems == ("git",)
    assert p.state_file == tmp_path / "x" / "shared.sqlite"
    assert (p.latency_ms, p.event_rate, p.backfill_minutes) == (5, 2.5, 1)
    defaults = DemoProvider.from_config("d", {}, ProviderContext(state_dir=tmp_path))
    assert defaults.latency_ms == 150
    assert defaults.state_file == tmp_path / "demo.sqlite"


# -- listings ----------------------------------------------------------------------


async def test_instances_share_one_state_file(tmp_path: Path) -> None:
    providers = {s: make(tmp_path, f"acme-{s}", system=s) for s in ("idp", "git", "cloud")}
    everything = make(tmp_path, "acme")
    per_system: dict[str, list[Account]] = {}
    for system, p in providers.items():
        per_system[system] = [a async for a in p.list_accounts()]
        assert {a.system for a in per_system[system]} == {system}
        assert {a.provider for a in per_system[system]} == {f"acme-{system}"}
    all_accounts = [a async for a in everything.list_accounts()]
    assert len(all_accounts) == sum(map(len, per_system.values())) == 250
    creds = [c async for c in everything.list_credentials()]
    assert 540 <= len(creds) <= 680
    assert {c.provider for c in creds} == {"acme"}
    mode = stat.S_IMODE((tmp_path / "demo.sqlite").stat().st_mode)
    assert mode == 0o600
    assert all(f.name.startswith("demo.sqlite") for f in tmp_path.iterdir())

    by_account: dict[str, list[Credential]] = {}
    for c in creds:
        by_account.setdefault(c.account_id, []).append(c)
    orphaned = [
        a
        for a in all_accounts
        if a.kind is AccountKind.HUMAN
        and a.owner_status is OwnerStatus.TERMINATED
        and a.status == "active"
        and any(c.status is CredentialStatus.ACTIVE for c in by_account.get(a.id, []))
    ]
    assert orphaned
    assert 8 <= sum(a.privileged for a in all_accounts) <= 12
    now = datetime.now(UTC)
    stale = [c for c in creds if c.last_used is None or (now - c.last_used).days > 90]
    assert len(stale) > 0.1 * len(creds)
    assert any("[@click=app.quit]" in a.display_name for a in all_accounts)
    git = providers["git"]
    some = per_system["git"][0]
    mine = [c async for c in git.list_credentials(some)]
    assert [c.id for c in mine] == [c.id for c in creds if c.account_id == some.id]
    assert [c async for c in providers["idp"].list_credentials(some)] == []
    for p in [*providers.values(), everything]:
        await p.aclose()


# -- revocation --------------------------------------------------------------------


async def test_revoke_verify_and_idempotency(tmp_path: Path) -> None:
    p = make(tmp_path, "acme-git", system="git")
    target = next(
        c
        for c in [c async for c in p.list_credentials()]
        if c.kind is CredentialKind.PERSONAL_ACCESS_TOKEN and c.status is CredentialStatus.ACTIVE
    )
    (action,) = p.revoke_actions(target)
    assert action.name == "revoke_token"
    assert action.target_kind is TargetKind.CREDENTIAL and action.target_id == target.id
    assert not (await p.verify(action)).gone

    first = await p.revoke(action, "key-1")
    assert first.ok and not first.already_done
    assert (await p.verify(action)).gone
    assert (await credential(p, target.id)).status is CredentialStatus.REVOKED

    again = await p.revoke(action, "key-2")
    assert again.ok and again.already_done
    replay = await p.revoke(action, "key-1")
    assert replay.ok and replay.already_done

    calls = demo_state.calls(p.state_file)
    assert [(c["action"], c["target"], c["result"]) for c in calls] == [
        ("revoke_token", target.id, "ok"),
        ("revoke_token", target.id, "already_done"),
        ("revoke_token", target.id, "already_done"),
    ]
    assert [c["idempotency_key"] for c in calls] == ["key-1", "key-2", "key-1"]
    await p.aclose()


async def test_action_catalogue(tmp_path: Path) -> None:
    p = make(tmp_path, "acme")
    accounts = {a.system: a async for a in p.list_accounts() if a.kind is AccountKind.HUMAN}
    creds = [c async for c in p.list_credentials()]
    key = next(c for c in creds if c.kind is CredentialKind.ACCESS_KEY)
    deactivate, delete = p.revoke_actions(key)
    assert (deactivate.name, deactivate.reversible) == ("deactivate_access_key", True)
    assert (delete.name, delete.reversible) == ("delete_access_key", False)
    session = next(c for c in creds if c.kind is CredentialKind.SESSION)
    assert [a.name for a in p.revoke_actions(session)] == ["end_session"]

    idp = p.revoke_actions(accounts["idp"])
    assert [a.name for a in idp] == ["clear_sessions", "suspend_account", "deactivate_account"]
    assert [a.reversible for a in idp] == [False, True, False]
    assert [a.name for a in p.revoke_actions(accounts["git"])] == ["remove_member"]
    assert p.revoke_actions(accounts["cloud"])[-1].name == "deactivate_account"
    credential_orders = [a.order for c in creds for a in p.revoke_actions(c)]
    for acct in accounts.values():
        actions = p.revoke_actions(acct)
        assert all(a.target_kind is TargetKind.ACCOUNT for a in actions)
        assert [a.order for a in actions] == sorted(a.order for a in actions)
        assert actions[-1].order > max(credential_orders)

    acct = accounts["idp"]
    suspend = p.revoke_actions(acct)[1]
    assert not (await p.verify(suspend)).gone
    assert not (await p.revoke(suspend, "s1")).already_done
    assert (await p.verify(suspend)).gone
    clear = p.revoke_actions(acct)[0]
    await p.revoke(clear, "c1")
    assert (await p.verify(clear)).gone
    await p.aclose()


async def test_unknown_targets_raise(tmp_path: Path) -> None:
    p = make(tmp_path, "acme-idp", system="idp")
    git_only = make(tmp_path, "acme-git", system="git")
    pat = next(
        c
        for c in [c async for c in git_only.list_credentials()]
        if c.kind is CredentialKind.PERSONAL_ACCESS_TOKEN
    )
    (action,) = git_only.revoke_actions(pat)
    foreign = type(action)(
        **{**{f: getattr(action, f) for f in action.__slots__}, "provider": "acme-idp"}
    )
    with pytest.raises(ProviderError, match="no credential"):
        await p.revoke(foreign, "k")
    with pytest.raises(ProviderError, match="no credential"):
        await p.verify(foreign)
    with pytest.raises(ProviderError):
        await p.revoke(action, "k2")  # addressed to another provider
    missing = type(action)(
        **{
            **{f: getattr(action, f) for f in action.__slots__},
            "target_id": "does-not-exist",
            "provider": "acme-git",
        }
    )
    with pytest.raises(ProviderError, match="does-not-exist"):
        await git_only.revoke(missing, "k3")
    assert demo_state.calls(p.state_file)[-1]["result"] == "error"
    await p.aclose()
    await git_only.aclose()


async def test_reset_restores(tmp_path: Path) -> None:
    p = make(tmp_path, "acme-cloud", system="cloud")
    key = next(
        c
        for c in [c async for c in p.list_credentials()]
        if c.kind is CredentialKind.ACCESS_KEY and c.status is CredentialStatus.ACTIVE
    )
    action = p.revoke_actions(key)[1]
    await p.revoke(action, "del")
    assert (await credential(p, key.id)).status is CredentialStatus.REVOKED
    await p.aclose()

    path = reset(tmp_path)
    assert path == tmp_path / "demo.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    fresh = make(tmp_path, "acme-cloud", system="cloud")
    assert (await credential(fresh, key.id)).status is CredentialStatus.ACTIVE
    assert demo_state.calls(path) == []
    await fresh.aclose()


def test_hostile_bytes_are_carried(tmp_path: Path) -> None:
    conn = sqlite3.connect(demo_state.ensure(tmp_path / "demo.sqlite"))
    (agent,) = conn.execute(
        "SELECT c.user_agent FROM credentials c JOIN accounts a ON a.id = c.account_id "
        "WHERE a.name = 'build-helper' AND c.user_agent IS NOT NULL AND c.traffic = 1"
    ).fetchone()
    conn.close()
    assert "\x1b]0;pwned\x07" in agent


async def test_concurrent_creation(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "demo.sqlite"
    await asyncio.gather(*(asyncio.to_thread(demo_state.ensure, path) for _ in range(4)))
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (250,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    assert sorted(f.name for f in path.parent.iterdir() if f.name.endswith(".tmp")) == []


# -- events ------------------------------------------------------------------------


async def test_backfill_replays_the_incidents(tmp_path: Path) -> None:
    p = make(tmp_path, "acme", clock=FastClock(), backfill_minutes=4, event_rate=4)
    events = await take(p.stream_events(), 1500)
    stamps = [e.ts for e in events]
    assert stamps == sorted(stamps)
    assert len({e.cursor for e in events}) == len(events)

    departed = incident(DEPARTED_TOKEN)
    mine = [e for e in events if e.credential_id == departed["credential_id"]]
    assert mine and all(e.source_ip == departed["source_ip"] for e in mine)
    assert mine[0].ts.astimezone(company_tz("America/New_York")).hour == 3
    assert not any(
        e.source_ip == departed["source_ip"]
        for e in events
        if e.credential_id != departed["credential_id"]
    )
    accounts = {a.id: a async for a in p.list_accounts()}
    assert accounts[departed["account_id"]].owner_status is OwnerStatus.TERMINATED
    assert (await credential(p, departed["credential_id"])).status is CredentialStatus.ACTIVE

    enumeration = incident(BUCKET_ENUMERATION)
    listed = {
        e.path
        for e in events
        if e.credential_id == enumeration["credential_id"] and e.path.endswith("?list-type=2")
    }
    assert len(listed) >= 30
    statuses = {e.status for e in events}
    assert {200, 404} <= statuses and statuses & {403, 500}
    await p.aclose()


async def test_revoked_by_another_instance_comes_back_401(tmp_path: Path) -> None:
    departed = incident(DEPARTED_TOKEN)
    watcher = make(
        tmp_path, "acme-git", clock=FastClock(), system="git", backfill_minutes=0, event_rate=0
    )
    admin = make(tmp_path, "admin-git", system="git")  # another instance, another connection
    stream = watcher.stream_events()
    async with aclosing(stream):
        async for e in stream:  # the 03:00 history, then the first live request
            assert e.credential_id == departed["credential_id"]
            assert e.status != 401
            if e.ts.timestamp() >= time.time() - 1:
                break
        cred = await credential(admin, departed["credential_id"])
        result = await admin.revoke(admin.revoke_actions(cred)[0], "revoke-departed")
        assert result.ok and not result.already_done
        await asyncio.sleep(0.3)  # the stream looks at data_version a few times a second
        after = []
        async for e in stream:
            after.append(e)
            if len(after) == 3:
                break
    assert [e.status for e in after] == [401, 401, 401]
    assert {e.source_ip for e in after} == {departed["source_ip"]}
    gaps = [(b.ts - a.ts).total_seconds() for a, b in itertools.pairwise(after)]
    assert all(5 <= g <= 10 for g in gaps)
    await watcher.aclose()
    await admin.aclose()


async def test_disabled_account_comes_back_403(tmp_path: Path) -> None:
    enumeration = incident(BUCKET_ENUMERATION)
    p = make(
        tmp_path, "acme-cloud", clock=FastClock(), system="cloud", backfill_minutes=0, event_rate=0
    )
    account = next(
        a for a in [a async for a in p.list_accounts()] if a.id == enumeration["account_id"]
    )
    assert account.name == "svc-billing-sync"
    await p.revoke(p.revoke_actions(account)[-1], "deactivate-svc")
    await asyncio.sleep(0.3)
    events = await take(p.stream_events(), 120)
    live = [e for e in events if e.ts.timestamp() > time.time() + 1]
    assert live and {e.status for e in live} == {403}
    await p.aclose()


async def test_cursor_resume_without_duplicates(tmp_path: Path) -> None:
    start = time.time()
    p = make(tmp_path, "acme", clock=FastClock(start), backfill_minutes=1, event_rate=20)
    first = await take(p.stream_events(), 700)
    cursors = [e.cursor for e in first]
    assert len(set(cursors)) == len(cursors)
    history = sum(e.ts.timestamp() < start - 60 for e in first)
    assert 0 < history < 200

    def key(e: AccessEvent) -> tuple[Any, ...]:
        return (e.cursor, e.ts, e.credential_id, e.method, e.path, e.status, e.source_ip)

    for cut in (history // 2, history + 100, 600):
        p.clock = FastClock(start)
        rest = await take(p.stream_events(since=first[cut].cursor), 60)
        assert [key(e) for e in rest] == [key(e) for e in first[cut + 1 : cut + 61]]

    p.clock = FastClock(start + 5)  # resumed a little later: still nothing twice
    later = await take(p.stream_events(since=first[400].cursor), 200)
    assert not {e.cursor for e in later} & set(cursors[:401])
    assert [key(e) for e in later[:100]] == [key(e) for e in first[401:501]]
    with pytest.raises(ProviderError, match="cursor"):
        await take(p.stream_events(since="not-a-cursor"), 1)
    await p.aclose()


async def test_a_cursor_just_older_than_the_window_resumes_exactly(tmp_path: Path) -> None:
    """A restart takes a while: the window's oldest event's cursor still resumes (flaked)."""
    start = time.time()
    p = make(tmp_path, "acme", clock=FastClock(start), backfill_minutes=1, event_rate=20)
    first = await take(p.stream_events(), 400)
    regular = [e for e in first if e.ts.timestamp() >= start - 60]  # the window, not history
    assert len(regular) > 50
    p.clock = FastClock(start + 30)  # the window's start has moved past that cursor
    rest = await take(p.stream_events(since=regular[0].cursor), 20)
    assert [e.cursor for e in rest] == [e.cursor for e in regular[1:21]]
    await p.aclose()


async def test_live_events_flow_at_about_the_configured_rate(tmp_path: Path) -> None:
    clock = FastClock()
    p = make(tmp_path, "acme", clock=clock, backfill_minutes=0, event_rate=50)
    began = clock.time()
    events = await take(p.stream_events(), 3000)
    live = [e for e in events if e.ts.timestamp() >= began]
    span = (live[-1].ts - live[0].ts).total_seconds()
    assert 5 <= len(live) / span <= 70  # office-hours rhythm: quieter at night and weekends
    assert all(e.ts.timestamp() <= clock.time() + 1e-6 for e in live)
    await p.aclose()


def test_what_stopped_working_is_read_from_an_index_not_a_scan(tmp_path: Path) -> None:
    # A stream reloads it after every revocation; at 300,000 credentials a scan took
    # a third of a second on the event loop.
    path = demo_state.ensure(tmp_path / "state.sqlite")
    conn = sqlite3.connect(path)
    try:
        for sql, index in (
            (demo_state.DISABLED_CREDENTIALS, "credentials_disabled"),
            (demo_state.DISABLED_ACCOUNTS, "accounts_disabled"),
        ):
            plan = " ".join(str(row[-1]) for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
            assert f"COVERING INDEX {index}" in plan, plan
    finally:
        conn.close()
