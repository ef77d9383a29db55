"""The serve-ssh hub with the real OpenSSH client: one stream poll, however many sessions.

A real ``pamtui serve-ssh`` whose demo providers count their calls
(demo/calls.py). Three operator sessions over SSH in tmux: the streams are
opened once (by the hub), not once per session, and the live polls per
second do not grow with the sessions. Killing one session's process leaves
the other sessions and the service up.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from pamtui.providers.demo.calls import read_calls
from tests.e2e import test_serve_ssh_operators as ops
from tests.e2e.test_serve_ssh import pytestmark, wait_until
from tests.e2e.test_serve_ssh_operators import Bastion, _screen, tmux  # noqa: F401

__all__ = ["pytestmark"]

PROVIDERS = """
[[providers]]
name = "demo-idp"
type = "demo"
system = "idp"
latency_ms = 0
call_log = "demo-calls.sqlite"

[[providers]]
name = "demo-cloud"
type = "demo"
system = "cloud"
latency_ms = 0
call_log = "demo-calls.sqlite"
"""


@pytest.fixture
def bastion(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    limits = "[ssh]\nmax_sessions_per_operator = 6\nmax_connections_per_operator = 6\n"
    config = limits + ops.CONFIG.split("[[providers]]")[0] + PROVIDERS
    monkeypatch.setattr(ops, "CONFIG", config)
    b = Bastion(tmp_path)
    yield b
    b.stop()


def _children(pid: int) -> dict[int, str]:
    """Every descendant of ``pid``: its command line."""
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        parent = todo.pop()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == parent:
                found[int(entry.name)] = cmd
                todo.append(int(entry.name))
    return found


def _calls(bastion: Bastion, kind: str) -> int:
    calls = read_calls(bastion.db.parent / "demo-calls.sqlite")
    return sum(n for (_p, k), n in calls.items() if k == kind)


def _open(bastion: Bastion, tmux, name: str) -> None:  # noqa: F811
    argv = " ".join(bastion.argv("alice", "-tt"))
    assert tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "45", argv).returncode == 0
    wait_until(
        lambda: "alice (operator) via ssh" in (s := _screen(tmux, name)) and "Accounts" in s,
        60,
        f"session {name}'s first frame",
    )


@pytest.mark.tmux
def test_sessions_share_the_hubs_stream_and_survive_a_crashed_one(bastion: Bastion, tmux) -> None:  # noqa: F811
    _open(bastion, tmux, "s0")
    wait_until(lambda: _calls(bastion, "stream_open") >= 2, 30, "the hub's streams")
    for name in ("s1", "s2"):
        _open(bastion, tmux, name)
    time.sleep(4)  # the sessions follow the store; counts are flushed each second
    assert _calls(bastion, "stream_open") == 2  # one per provider: the hub's, not the sessions'
    before = _calls(bastion, "stream_poll")
    time.sleep(6)
    polls = _calls(bastion, "stream_poll") - before
    assert 0 < polls <= 2 * 8  # two streams, about one poll a second each: not times three
    hubs = [p for p, cmd in _children(bastion.proc.pid).items() if "pamtui.cli.hub" in cmd]
    assert len(hubs) == 1
    remotes = [p for p, cmd in _children(bastion.proc.pid).items() if "pamtui.cli.remote" in cmd]
    assert len(remotes) == 3
    os.kill(remotes[0], signal.SIGKILL)  # one session's UI crashes
    wait_until(
        lambda: len([c for c in _children(bastion.proc.pid).values() if "cli.remote" in c]) == 2,
        20,
        "the crashed session to be gone",
    )
    assert bastion.proc.poll() is None  # the service is up
    _open(bastion, tmux, "s3")  # and still lets operators in
    survivors = [n for n in ("s0", "s1", "s2") if "alice (operator)" in _screen(tmux, n)]
    assert len(survivors) == 2
    assert _calls(bastion, "stream_open") == 2


@pytest.mark.tmux
def test_a_killed_hub_is_restarted_and_repeats_no_event(bastion: Bastion, tmux) -> None:  # noqa: F811
    from pamtui.model import AccessEvent
    from pamtui.services.event_store import EventStore

    def hubs() -> list[int]:
        return [p for p, cmd in _children(bastion.proc.pid).items() if "pamtui.cli.hub" in cmd]

    _open(bastion, tmux, "s0")
    first = wait_until(lambda: hubs(), 20, "the hub")
    wait_until(lambda: _calls(bastion, "stream_open") >= 2, 30, "the hub's streams")
    store = EventStore.beside(bastion.db)
    wait_until(lambda: store.last_seq() > 0, 30, "events in the shared store")
    os.kill(first[0], signal.SIGKILL)
    wait_until(lambda: (h := hubs()) and h != first, 30, "a new hub")
    wait_until(lambda: _calls(bastion, "stream_open") >= 4, 30, "the new hub's streams")
    seen = store.last_seq()
    wait_until(lambda: store.last_seq() > seen, 30, "events from the new hub")
    cursors = [
        (s.item.provider, s.item.cursor)
        for s in store.after(0, 100_000)
        if isinstance(s.item, AccessEvent)
    ]
    assert len(cursors) == len(set(cursors))
    assert "alice (operator)" in _screen(tmux, "s0")  # the session lived through it
    store.close()


@pytest.mark.tmux
def test_sessions_read_the_services_inventory_and_never_list_the_providers(
    bastion: Bastion,
    tmux,  # noqa: F811
) -> None:
    """The hub syncs once; three sessions show its rows and ask no provider for a listing."""
    from pamtui.services.inventory_snapshot import snapshot_file

    _open(bastion, tmux, "s0")
    wait_until(lambda: snapshot_file(bastion.db).exists(), 60, "the hub's first inventory")
    wait_until(lambda: "service sync" in _screen(tmux, "s0"), 30, "the shared rows in s0")

    def refreshing() -> list[str]:
        return [c for c in _children(bastion.proc.pid).values() if "--inventory-once" in c]

    wait_until(lambda: not refreshing(), 60, "the refresh child to end (its counts flushed)")
    listed, credentials = _calls(bastion, "list_accounts"), _calls(bastion, "list_credentials")
    assert listed >= 2  # the hub's refresh: one page at least per provider
    for name in ("s1", "s2"):
        _open(bastion, tmux, name)
        wait_until(lambda n=name: "service sync" in _screen(tmux, n), 30, f"the rows in {name}")
    time.sleep(2)  # counts are flushed each second
    assert _calls(bastion, "list_accounts") == listed  # no session listed anything
    assert _calls(bastion, "list_credentials") == credentials
    screen = _screen(tmux, "s2")
    assert "waiting for the service" not in screen
    assert not refreshing()  # short-lived: one per [ssh] inventory_refresh_seconds
    # A scripted command over SSH reads the same published inventory.
    listed_json = bastion.run("alice", "accounts", "--json")
    assert listed_json.returncode == 0, listed_json.stderr
    accounts = json.loads(listed_json.stdout)
    assert len(accounts) > 10 and {a["provider"] for a in accounts} == {"demo-idp", "demo-cloud"}
    time.sleep(1.5)  # counts are flushed each second
    assert _calls(bastion, "list_accounts") == listed
