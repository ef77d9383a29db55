"""Bastion mode with the real OpenSSH client: operators, roles and four eyes across sessions.

One real ``pamtui serve-ssh`` (127.0.0.1, a free port) with three keys:
``eve`` (no ``[[operators]]`` entry: an auditor), ``alice`` (operator) and
``bob`` (approver); four eyes on the demo's git provider. alice stages a
privileged de-provisioning over SSH, bob approves it from his own SSH
session, the plan runs in order and verifies, and the journal names both with
their key fingerprints. Each bypass is tried the way a client would.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from pamtui.journal import Journal
from tests.e2e.test_serve_ssh import SSH, _clean_env, _keygen, _pamtui, pytestmark, wait_until

__all__ = ["pytestmark"]

CONFIG = """
[operator]
four_eyes_for_privileged = true

[[operators]]
name = "alice"
roles = ["operator"]

[[operators]]
name = "bob"
roles = ["approver"]

[[operators]]
name = "carol"
roles = ["admin"]

[[providers]]
name = "demo-git"
type = "demo"
system = "git"
latency_ms = 0
"""


class Bastion:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.db = root / "data" / "pamtui.db"
        self.config = root / "config.toml"
        self.config.write_text(CONFIG, encoding="utf-8")
        self.fp = {
            name: _keygen(root / name, f"{name}@laptop")
            for name in ("alice", "bob", "carol", "eve")
        }
        keys = root / "authorized_keys"
        keys.write_text(
            "".join(
                f'pamtui-operator="{name}" {(root / f"{name}.pub").read_text()}' for name in self.fp
            ),
            encoding="utf-8",
        )
        keys.chmod(0o600)
        self.env = _clean_env(root / "home")
        self.log = root / "server.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [_pamtui(), "serve-ssh", "--config", str(self.config), "--db", str(self.db),
                 "--authorized-keys", str(keys), "--port", "0"],
                stdout=log,
                stderr=log,
                env=self.env,
            )  # fmt: skip

        def listening() -> int | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve-ssh exited: {self.log.read_text()}")
            match = re.search(r"listening on 127\.0\.0\.1:(\d+)", self.log.read_text())
            return int(match.group(1)) if match else None

        self.port = wait_until(listening, 20, "serve-ssh to listen")

    def argv(self, who: str, *options: str) -> list[str]:
        return [
            SSH, "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
            "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
            "-i", str(self.root / who), "-p", str(self.port), *options, f"{who}@127.0.0.1",
        ]  # fmt: skip

    def run(self, who: str, *words: str, options: tuple[str, ...] = ()):
        return subprocess.run(
            [*self.argv(who, *options), *words],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env=self.env,
        )

    def rows(self, sql: str, *params: object) -> list[tuple]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def entries(self) -> list:
        journal = Journal.open(self.db, read_only=True)
        try:
            return journal.entries(limit=100000, newest_first=False)
        finally:
            journal.close()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def bastion(tmp_path_factory: pytest.TempPathFactory):
    b = Bastion(tmp_path_factory.mktemp("bastion"))
    yield b
    b.stop()


def _privileged(bastion: Bastion) -> dict:
    listed = bastion.run("alice", "accounts", "--json", "--provider", "demo-git")
    assert listed.returncode == 0, listed.stderr
    return min(
        (
            a
            for a in json.loads(listed.stdout)
            if "privileged" in a["flags"] and any(c["status"] == "active" for c in a["credentials"])
        ),
        key=lambda a: (len(a["credentials"]), a["name"]),
    )


def test_alice_stages_bob_approves_and_the_journal_names_both_keys(bastion: Bastion) -> None:
    account = _privileged(bastion)
    staged = bastion.run(
        "alice", "revoke", "--provider", "demo-git", "--account", account["id"],
        "--reason", "'owner left; token leaked'", "--yes",
    )  # fmt: skip
    assert staged.returncode == 0 and "four eyes required" in staged.stdout, staged
    waiting = bastion.rows(
        "SELECT id FROM queue_items WHERE state = 'awaiting_approval' ORDER BY step_order, id"
    )
    order = [row[0] for row in waiting]
    assert order

    # alice cannot approve her own item, whatever her client says its USER is.
    own = bastion.run("alice", "queue", "approve", str(order[0]),
                      options=("-o", "SetEnv=USER=bob LOGNAME=bob"))  # fmt: skip
    assert own.returncode != 0 and own.stderr.count("\n") == 1, own
    assert "alice" in own.stderr and "bob" not in own.stderr.replace("bob@", "")
    # The auditor's key runs no command at all.
    eve = bastion.run("eve", "queue", "approve", str(order[0]))
    assert eve.returncode != 0
    assert bastion.rows("SELECT DISTINCT state FROM queue_items") == [("awaiting_approval",)]

    for item in order:
        approved = bastion.run("bob", "queue", "approve", str(item))
        assert approved.returncode == 0, approved
        assert "approved by bob" in approved.stdout
    # An approver approves; running is an operator's (bob's --run is refused).
    assert bastion.run("bob", "queue", "run", str(order[-1])).returncode != 0
    ran = bastion.run("alice", "queue", "run", *map(str, order))
    assert ran.returncode == 0, ran
    states = dict(bastion.rows("SELECT id, state FROM queue_items"))
    assert set(states.values()) == {"verified"}, states

    entries = bastion.entries()
    for item in order:
        trail = [(e.actor, e.action, e.detail.get("key")) for e in entries
                 if e.detail.get("item") == item]  # fmt: skip
        assert trail == [
            ("alice", "stage", bastion.fp["alice"]),
            ("alice", "request_approval", bastion.fp["alice"]),
            ("bob", "approve", bastion.fp["bob"]),
            ("alice", "execute", bastion.fp["alice"]),
            ("alice", "revoked", bastion.fp["alice"]),
            ("alice", "verified", bastion.fp["alice"]),
        ], trail
    executed = [e.detail["item"] for e in entries if e.action == "execute"]
    assert executed == order  # plan order
    refused = [(e.actor, e.detail.get("act"), e.detail.get("key")) for e in entries
               if e.action == "refused"]  # fmt: skip
    assert ("alice", "approve", bastion.fp["alice"]) in refused
    assert all(e.actor in ("alice", "bob", "eve", "system") for e in entries)
    verify = subprocess.run([_pamtui(), "audit", "verify", "--db", str(bastion.db)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize(
    "words",
    [
        ("mfa", "enroll"),
        ("audit", "export", "--format", "ocsf", "--out", "/tmp/stolen.json"),
        ("accounts", "--json", "--db", "/tmp/other.db"),
        ("accounts", "--config", "/tmp/lax.toml"),
        ("sh", "-c", "id"),
    ],
)
def test_anything_off_the_allow_list_is_refused_in_one_line(bastion: Bastion, words) -> None:
    result = bastion.run("alice", *words)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "not available over SSH" in result.stderr, result
    command = " ".join(words)
    refusals = wait_until(
        lambda: [
            e
            for e in bastion.entries()
            if e.actor == "alice"
            and (
                (e.action == "refused" and e.detail.get("command") == command)
                or (e.action == "ssh_refused" and e.detail.get("command") == command)
            )
        ],
        10,
        "the refusal in the journal",
    )
    assert refusals


def test_allow_listed_read_commands_run_as_the_operator(bastion: Bastion) -> None:
    listed = bastion.run("bob", "queue", "list", "--json")
    assert listed.returncode == 0 and isinstance(json.loads(listed.stdout), list)
    audit = bastion.run("alice", "audit", "list", "--json")
    assert audit.returncode == 0 and isinstance(json.loads(audit.stdout), list)
    exported = bastion.run("alice", "audit", "export", "--format", "ocsf")
    assert exported.returncode == 0 and "exported" in exported.stderr, exported
    lines = bastion.run("alice", "audit", "export", "--format", "jsonl")
    assert lines.returncode == 0 and lines.stdout.strip(), lines
    assert all(json.loads(line)["seq"] for line in lines.stdout.splitlines()), lines


@pytest.fixture
def tmux(bastion: Bastion):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    sock = f"pamtui-op-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["tmux", "-L", sock, "-f", "/dev/null", *args],
                              capture_output=True, text=True, timeout=20, env=bastion.env)  # fmt: skip

    yield run
    run("kill-server")


def _screen(tmux, target: str) -> str:
    return tmux("capture-pane", "-p", "-t", target).stdout


@pytest.mark.tmux
def test_the_auditor_key_sending_revoke_keys_changes_nothing(bastion: Bastion, tmux) -> None:
    before = bastion.rows("SELECT id, state FROM queue_items ORDER BY id")
    argv = " ".join(bastion.argv("eve", "-tt"))
    assert tmux("new-session", "-d", "-s", "eve", "-x", "120", "-y", "40", argv).returncode == 0
    wait_until(lambda: "chain verified" in _screen(tmux, "eve"), 30, "the audit screen")
    for key in ("R", "r", "y", "x", "c", "enter", "y"):
        tmux("send-keys", "-t", "eve", key)
        time.sleep(0.1)
    time.sleep(1)
    assert bastion.rows("SELECT id, state FROM queue_items ORDER BY id") == before
    assert not [e for e in bastion.entries() if e.actor == "eve" and e.action == "stage"]


@pytest.mark.tmux
def test_an_operator_gets_the_triage_tui_with_only_its_keys(bastion: Bastion, tmux) -> None:
    argv = " ".join(bastion.argv("bob", "-tt", "-o", "SetEnv=USER=alice"))
    started = time.monotonic()
    assert tmux("new-session", "-d", "-s", "bob", "-x", "160", "-y", "45", argv).returncode == 0
    screen = wait_until(
        lambda: (
            (s := _screen(tmux, "bob")) and "bob (approver) via ssh" in s and "Accounts" in s and s
        ),
        60,
        "the triage TUI",
    )
    first_frame = time.monotonic() - started
    print(f"connect to first frame (triage TUI over SSH): {first_frame:.2f} s")
    assert "alice" not in str(screen)
    tmux("send-keys", "-t", "bob", "?")
    help_screen = wait_until(lambda: (s := _screen(tmux, "bob")) and "Id (for [keys])" in s and s,
                             20, "the help screen")  # fmt: skip
    # bob approves: the revoke keys are neither in the help nor in the footer.
    assert "main.revoke_credential" not in str(help_screen)
    assert "main.revoke_account" not in str(help_screen)


@pytest.mark.tmux
def test_an_operators_audit_screen_writes_no_file_on_the_bastion(bastion: Bastion, tmux) -> None:
    """The service account owns the keys file: no export path is ever typed over SSH."""
    argv = " ".join(bastion.argv("alice", "-tt"))
    assert tmux("new-session", "-d", "-s", "al", "-x", "160", "-y", "45", argv).returncode == 0
    wait_until(lambda: "alice (operator) via ssh" in _screen(tmux, "al"), 60, "the triage TUI")
    tmux("send-keys", "-t", "al", "a")
    wait_until(lambda: "chain verified" in _screen(tmux, "al"), 30, "the audit screen")
    screen = _screen(tmux, "al")
    assert "Export" not in screen
    tmux("send-keys", "-t", "al", "e")
    time.sleep(1)
    after = _screen(tmux, "al")
    assert "Export the filtered journal" not in after and "created 0600" not in after


@pytest.mark.tmux
def test_alice_stages_in_the_tui_over_ssh_and_bob_approves_from_his_session(
    bastion: Bastion, tmux
) -> None:
    """The TUI route of four eyes across sessions: R in alice's TUI, approve in bob's."""
    staged_before = {row[0] for row in bastion.rows("SELECT DISTINCT target_id FROM queue_items")}
    listed = bastion.run("alice", "accounts", "--json", "--provider", "demo-git")
    account = min(
        (
            a
            for a in json.loads(listed.stdout)
            if "privileged" in a["flags"]
            and a["status"] == "active"
            and not staged_before & {a["id"], *(c["id"] for c in a["credentials"])}
            and any(c["status"] == "active" for c in a["credentials"])
        ),
        key=lambda a: (len(a["credentials"]), a["name"]),
    )
    argv = " ".join(bastion.argv("alice", "-tt"))
    assert tmux("new-session", "-d", "-s", "st", "-x", "160", "-y", "45", argv).returncode == 0
    wait_until(lambda: "alice (operator) via ssh" in _screen(tmux, "st"), 60, "alice's TUI")
    wait_until(lambda: re.search(r"Accounts \d", _screen(tmux, "st")), 60, "the accounts")
    tmux("send-keys", "-t", "st", "-l", f"/{account['name']}")
    wait_until(lambda: "Accounts 1/" in _screen(tmux, "st"), 30, "the filter")
    tmux("send-keys", "-t", "st", "Enter")
    time.sleep(0.5)
    for _attempt in range(4):
        tmux("send-keys", "-t", "st", "R")
        try:
            wait_until(lambda: "Reason (journalled)" in _screen(tmux, "st"), 5, "the dialog")
            break
        except AssertionError:
            continue
    else:
        raise AssertionError("no de-provisioning dialog:\n" + _screen(tmux, "st"))
    tmux("send-keys", "-t", "st", "-l", "privileged owner left")
    tmux("send-keys", "-t", "st", "Enter")
    # A TOTP-free policy: the plan is staged for approval at once (four eyes).
    waiting = wait_until(
        lambda: bastion.rows(
            "SELECT id FROM queue_items WHERE state = 'awaiting_approval' "
            "AND reason = 'privileged owner left' ORDER BY step_order, id"
        ),
        30,
        "alice's plan to be staged",
    )
    ids = [row[0] for row in waiting]
    for item in ids:
        approved = bastion.run("bob", "queue", "approve", str(item))
        assert approved.returncode == 0, approved
    ran = bastion.run("alice", "queue", "run", *map(str, ids))
    assert ran.returncode == 0, ran
    states = dict(
        bastion.rows(f"SELECT id, state FROM queue_items WHERE id IN ({','.join(map(str, ids))})")
    )
    assert set(states.values()) == {"verified"}, states
    trail = [(e.actor, e.action, e.detail.get("key")) for e in bastion.entries()
             if e.detail.get("item") in ids and e.action in ("stage", "approve")]  # fmt: skip
    assert {t for t in trail if t[1] == "stage"} == {("alice", "stage", bastion.fp["alice"])}
    assert {t for t in trail if t[1] == "approve"} == {("bob", "approve", bastion.fp["bob"])}


def test_only_the_admin_changes_the_policy_over_ssh(bastion: Bastion) -> None:
    refused = bastion.run("alice", "policy", "set", "read_only", "true")
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert "needs the admin role" in refused.stderr
    shown = bastion.run("carol", "policy", "show", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["four_eyes_for_privileged"] is True
    for value in ("true", "false"):
        changed = bastion.run("carol", "policy", "set", "read_only", value)
        assert changed.returncode == 0 and "by carol" in changed.stdout, changed
    changes = [e for e in bastion.entries() if e.action == "operator_policy_change"]
    assert [(e.actor, e.detail.get("key")) for e in changes[-2:]] == [
        ("carol", bastion.fp["carol"])
    ] * 2
    refusals = [e for e in bastion.entries() if e.action == "refused" and e.actor == "alice"]
    assert any(e.subject == "policy:read_only" for e in refusals)
