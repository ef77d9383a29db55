"""Enrolment, lockout and admin verbs attacked through the real CLI (subprocesses).

Each test runs ``python -m pamtui`` against a real database and its real
TOTP store file, with the environment an attacker controls (``USER``,
``LOGNAME``, ``--config``). Identity is whatever pamtui makes of that: today
the login, tomorrow the real uid; the store counts failures per real uid
too, so these tests hold either way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import select
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from pathlib import Path

import pyotp
import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.services.mfa import StepUp
from pamtui.services.queue import RevocationQueue
from pamtui.services.totp_store import TotpStore, local_principal
from tests.fakes import StaticProvider
from tests.support.totp import allow, enrol

SPOOFED = "alice"
ALICE_REAL_UID = "uid:1000"  # alice's own processes: another account than the attacker's
DEMO = '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'


def env_for(tmp_path: Path, db: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
        "PAMTUI_DB": str(db),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.update(extra)
    return env


# The real CLI as another OS account: pamtui's identity is the OS account of the
# real uid (services/identity.os_account), and a test cannot switch uids, so the
# child names the account the way the in-process tests do (a monkeypatch).
AS_ACCOUNT = (
    "import os, sys; from pamtui.services import identity; "
    "identity.os_account = lambda: os.environ['PAMTUI_TEST_OS_ACCOUNT']; "
    "from pamtui.cli import main; sys.exit(main(sys.argv[1:]))"
)


def command(env: dict[str, str], argv: list[str]) -> list[str]:
    if "PAMTUI_TEST_OS_ACCOUNT" in env:
        return [sys.executable, "-c", AS_ACCOUNT, *argv]
    return [sys.executable, "-m", "pamtui", *argv]


def as_account(env: dict[str, str], name: str) -> dict[str, str]:
    return {**env, "PAMTUI_TEST_OS_ACCOUNT": name}


def pamtui(env: dict[str, str], *argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(env, list(argv)),
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        input=stdin,
    )


Answer = str | Callable[[str], str]


def in_a_terminal(
    env: dict[str, str], argv: list[str], answers: list[tuple[str, Answer]]
) -> tuple[int, str]:
    """Run pamtui on a pseudo-terminal (its controlling tty); answer each prompt in turn.

    An answer may be a function of everything shown so far (a code for a QR's secret).
    """
    master, slave = os.openpty()

    def take_the_terminal() -> None:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        command(env, argv),
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        preexec_fn=take_the_terminal,
        close_fds=True,
    )
    os.close(slave)
    seen = b""
    pending = list(answers)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child is gone and closed the terminal
                    break
                if not chunk:
                    break
                seen += chunk
            if pending and pending[0][0].encode() in seen:
                answer = pending.pop(0)[1]
                text = answer if isinstance(answer, str) else answer(seen.decode(errors="replace"))
                os.write(master, text.encode() + b"\r")
            if proc.poll() is not None and not ready:
                break
        rc = proc.wait(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        os.close(master)
    return rc, seen.decode(errors="replace")


def entries(db: Path, action: str) -> list:
    journal = Journal.open(db, read_only=True)
    try:
        return journal.entries(EntryFilter(action=action), newest_first=False)
    finally:
        journal.close()


@pytest.fixture
def alice(db_path: Path) -> pyotp.TOTP:
    return enrol(db_path, SPOOFED)


def _one_staged_item(db_path: Path) -> None:
    """Queue item #1, so `queue cancel 1` reaches the step-up (a missing item is
    refused before any code is asked for)."""
    provider = StaticProvider()
    journal = Journal.open(db_path)
    try:
        queue = RevocationQueue(journal, {provider.name: provider}, "tester")
        action = provider.revoke_actions(provider.credentials["t-bob-1"])[0]
        (item,) = queue.stage([action], "leak", approve=True)
        assert item.id == 1
    finally:
        journal.close()


def _totp_config(path: Path) -> Path:
    path.write_text("[operator]\nrequire_totp = true\n\n" + DEMO)
    return path


# -- re-enrolment -----------------------------------------------------------------


def test_re_enrolment_under_a_spoofed_name_without_the_code_is_refused_and_journalled(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    """`USER=alice pamtui mfa enroll` replaced alice's enrolment after a [y/N]."""
    before = TotpStore.beside(db_path)
    secret = before.enrolment(SPOOFED).secret  # type: ignore[union-attr]
    before.close()
    cfg = _totp_config(tmp_path / "config.toml")
    env = env_for(tmp_path, db_path, USER=SPOOFED, LOGNAME=SPOOFED)
    argv = ["mfa", "enroll", "--config", str(cfg)]
    rc, out = in_a_terminal(env, argv, [("CURRENT authenticator", "")])
    if "CURRENT authenticator" not in out:
        # Identity is the real uid's account now: the spoof names nobody enrolled,
        # and that account may not enrol without an admin either.
        assert rc == 1 and "may not enrol" in out and "otpauth://" not in out, out
        return
    assert rc == 1 and "needs a code from the current device" in out, out
    rc, out = in_a_terminal(env, argv, [("CURRENT authenticator", "000000")])
    assert rc == 1 and "wrong code" in out, out
    assert "otpauth://" not in out  # no new secret was ever shown
    after = TotpStore.beside(db_path)
    assert after.enrolment(SPOOFED).secret == secret  # type: ignore[union-attr]
    after.close()
    refused = entries(db_path, "mfa_enroll_refused")
    assert [e.detail["result"] for e in refused] == ["needs_current_code"]
    assert "mfa:re-enrol:alice" in {e.subject for e in entries(db_path, "stepup_failed")}


def test_enrolment_without_an_allowance_is_refused_and_journalled(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    cfg = _totp_config(tmp_path / "config.toml")
    env = as_account(env_for(tmp_path, db_path), "ops-bob")
    rc, out = in_a_terminal(env, ["mfa", "enroll", "--config", str(cfg)], [])
    assert rc == 1 and "allow-enrol ops-bob" in out and "otpauth://" not in out, out
    [refused] = entries(db_path, "mfa_enroll_refused")
    assert refused.actor == "ops-bob" and refused.detail == {"result": "not_allowed"}


def test_an_allowed_operator_enrols_in_a_terminal_and_the_allowance_is_spent(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    cfg = _totp_config(tmp_path / "config.toml")
    allow(db_path, "ops-bob", by="root")
    env = as_account(env_for(tmp_path, db_path), "ops-bob")

    def code_for_the_shown_secret(seen: str) -> str:
        secret = re.search(r"secret=([A-Z2-7]+)", seen)
        assert secret, seen
        return pyotp.TOTP(secret.group(1)).now()

    rc, out = in_a_terminal(
        env,
        ["mfa", "enroll", "--config", str(cfg)],
        [("Code from your authenticator app", code_for_the_shown_secret)],
    )
    assert rc == 0 and "enrolled ops-bob" in out, out
    assert "\u2580" in out or "\u2584" in out  # the QR code was drawn
    store = TotpStore.beside(db_path)
    try:
        assert store.enrolment("ops-bob") is not None and store.allowance("ops-bob") is None
    finally:
        store.close()
    [entry] = [e for e in entries(db_path, "mfa_enrolled") if e.actor == "ops-bob"]
    assert entry.detail == {"result": "enrolled", "grounds": "allowance"}
    result = pamtui(env, "mfa", "status", "--json", "--config", str(cfg))
    assert result.returncode == 0 and json.loads(result.stdout)["enrolled"] is True


# -- lockout ------------------------------------------------------------------------


def test_a_spoofed_lockout_does_not_lock_alice(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    """Five wrong codes under a spoofed name used to lock the real alice out.

    Two guards, whichever this build has: the operator's name comes from the
    real uid (then ``USER=alice`` names nobody enrolled), or, while it still
    follows ``USER``, the failures count against the sender's real uid, so
    alice's own account (another uid) is not locked.
    """
    _one_staged_item(db_path)
    cfg = _totp_config(tmp_path / "config.toml")
    env = env_for(tmp_path, db_path, USER=SPOOFED, LOGNAME=SPOOFED)
    named = json.loads(pamtui(env, "mfa", "status", "--json", "--config", str(cfg)).stdout)
    for _ in range(5):
        result = pamtui(env, "queue", "cancel", "1", "--config", str(cfg), "--totp", "000000")
        assert result.returncode == 1, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1  # one line, no traceback
    if named["operator"] != SPOOFED:  # identity is the real uid: alice was never named
        assert "not enrolled" in result.stderr
        store = TotpStore.beside(db_path)
        try:
            assert SPOOFED not in store.lockouts()
        finally:
            store.close()
    else:
        assert "locked" in result.stderr
        locked = entries(db_path, "stepup_locked")
        assert locked and {e.detail["principal"] for e in locked} == {local_principal()}

    # alice, from her own account, is not locked and steps up at once.
    store = TotpStore.beside(db_path)
    journal = Journal.open(db_path)
    try:
        assert store.lockout(SPOOFED, ALICE_REAL_UID).locked_until is None
        mine = StepUp(journal, SPOOFED, store=store, principal=ALICE_REAL_UID)
        assert mine.locked_until() is None
        mine.check(alice.now(), subject="queue:1")
    finally:
        store.close()
        journal.close()
    assert entries(db_path, "stepup_ok")[-1].detail["principal"] == ALICE_REAL_UID


def test_wrong_codes_lock_only_the_operator_who_sent_them(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    _one_staged_item(db_path)
    bob = enrol(db_path, "ops-bob")
    bob_cfg = alice_cfg = _totp_config(tmp_path / "config.toml")
    base = env_for(tmp_path, db_path)
    bob_env, alice_env = as_account(base, "ops-bob"), as_account(base, "alice")
    for _ in range(5):
        result = pamtui(
            bob_env, "queue", "cancel", "1", "--config", str(bob_cfg), "--totp", "000000"
        )
        assert result.returncode == 1
    result = pamtui(bob_env, "queue", "cancel", "1", "--config", str(bob_cfg), "--totp", bob.now())
    assert result.returncode == 1 and "locked" in result.stderr  # even the right code
    # alice is untouched: her right code passes step-up (and cancels item 1).
    result = pamtui(
        alice_env, "queue", "cancel", "1", "--config", str(alice_cfg), "--totp", alice.now()
    )
    assert "locked" not in result.stderr and "wrong code" not in result.stderr, result.stderr
    assert ("alice", "stepup_ok") in {(e.actor, e.action) for e in entries(db_path, "stepup_ok")}
    listed = pamtui(base, "operators", "list", "--json")
    states = {s["name"]: s for s in json.loads(listed.stdout)}
    assert states["ops-bob"]["locked_until"] and states["ops-bob"]["failures"] == 5
    assert states["alice"]["locked_until"] is None and states["alice"]["failures"] == 0


# -- the store file -------------------------------------------------------------------


def test_a_world_readable_store_is_refused_with_a_clear_message(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    _one_staged_item(db_path)
    store = TotpStore.beside(db_path).path
    os.chmod(store, 0o644)
    cfg = _totp_config(tmp_path / "alice.toml")
    env = as_account(env_for(tmp_path, db_path), "alice")
    result = pamtui(env, "mfa", "status", "--config", str(cfg))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"pamtui: TOTP store {store} is readable or writable by group or others (mode 0644): "
        f"refusing to use it; fix with: chmod 600 {store}"
    )
    result = pamtui(env, "queue", "cancel", "1", "--config", str(cfg), "--totp", alice.now())
    assert result.returncode == 1 and "chmod 600" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert entries(db_path, "stepup_failed")[-1].detail["result"] == "store_error"


# -- admin verbs ----------------------------------------------------------------------


def test_an_admin_allows_and_resets_and_a_non_admin_is_refused(
    tmp_path: Path, db_path: Path, alice: pyotp.TOTP
) -> None:
    root_env = env_for(tmp_path, db_path, USER="root", LOGNAME="root")
    if os.getuid() != 0:
        pytest.skip("the local admin rule is tested as root here")

    # A non-admin (an operator without the admin role) is refused and journalled.
    roles = tmp_path / "roles.toml"
    roles.write_text(
        "[operator]\nrequire_totp = true\n\n"
        '[[operators]]\nname = "mallory"\nroles = ["operator", "approver"]\n\n'
        '[[operators]]\nname = "root"\nroles = ["admin"]\n\n' + DEMO
    )
    mallory_env = as_account(root_env, "mallory")
    result = pamtui(mallory_env, "operators", "reset-totp", SPOOFED, "--config", str(roles))
    assert result.returncode == 1 and "mallory is not an admin" in result.stderr, result.stderr
    result = pamtui(mallory_env, "operators", "allow-enrol", "eve", "--config", str(roles))
    assert result.returncode == 1
    refused = entries(db_path, "operators_refused")
    assert [(e.actor, e.detail["verb"]) for e in refused] == [
        ("mallory", "reset-totp"),
        ("mallory", "allow-enrol"),
    ]

    # The admin, not enrolled, may allow but not reset: a reset needs the admin's step-up.
    result = pamtui(root_env, "operators", "reset-totp", SPOOFED, "--totp", "123456")
    assert result.returncode == 1 and "root is not enrolled" in result.stderr, result.stderr
    result = pamtui(root_env, "operators", "allow-enrol", "root", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"operator": "root", "allowed_to_enrol": True, "by": "root"}
    root = enrol(db_path, "root")

    result = pamtui(root_env, "operators", "reset-totp", SPOOFED, "--totp", "000000")
    assert result.returncode == 1 and "wrong code" in result.stderr
    result = pamtui(root_env, "operators", "reset-totp", SPOOFED, stdin=root.now() + "\n")
    assert result.returncode == 0 and "may enrol again" in result.stdout, result.stderr
    [reset] = entries(db_path, "totp_reset")
    assert reset.actor == "root" and reset.subject == "operator:alice"
    assert reset.detail["had_enrolment"] is True

    listed = json.loads(pamtui(root_env, "operators", "list", "--json").stdout)
    states = {s["name"]: s for s in listed}
    assert not states["alice"]["enrolled"] and states["alice"]["allowed_to_enrol"]
    assert states["alice"]["allowed_by"] == "root" and states["root"]["enrolled"]
    text = pamtui(root_env, "operators", "list")
    assert text.returncode == 0 and "by root" in text.stdout

    # An admin cannot reset themselves without a device: another admin must.
    result = pamtui(root_env, "operators", "reset-totp", "root", "--totp", root.now())
    assert result.returncode == 1 and "cannot reset their own" in result.stderr


def test_operators_help_and_bad_names(tmp_path: Path, db_path: Path, alice: pyotp.TOTP) -> None:
    env = env_for(tmp_path, db_path, USER="root")
    result = pamtui(env, "operators", "--help")
    assert (
        result.returncode == 0 and "allow-enrol" in result.stdout and "reset-totp" in result.stdout
    )
    result = pamtui(env, "operators", "allow-enrol", "bad\x1bname")
    assert result.returncode == 2 and "\x1b" not in result.stderr
    result = pamtui(env, "operators", "allow-enrol", SPOOFED)
    assert result.returncode == 2 and "reset-totp alice" in result.stderr
