"""The journal fails closed and never holds a secret, tested on real files."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pamtui.journal import Journal, JournalUnavailable, SecretInJournal
from pamtui.journal.redact import fingerprint, looks_secret, redact
from pamtui.model import QueueState
from pamtui.services.queue import RevocationQueue

SECRETS = {
    "access_token": "ghp_R3alLookingT0kenValue0000000000001",
    "client_secret": "cs-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "password": "correct horse battery staple",
    "nested": [{"sessionToken": "0oa-session-XYZZY-0123456789"}],
}
SECRET_VALUES = (
    "ghp_R3alLookingT0kenValue0000000000001",
    "cs-9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    "correct horse battery staple",
    "0oa-session-XYZZY-0123456789",
)


def _fill_until_full(journal: Journal) -> int:
    """Append until SQLite reports the database full; return how many fitted."""
    n = 0
    while True:
        try:
            journal.append(
                "tester",
                "filler",
                subject=f"credential:{n}",
                detail={"label": "Revoke api_token filler", "item": n},
            )
        except JournalUnavailable as exc:
            assert "full" in str(exc)
            return n
        n += 1
        assert n < 100_000, "max_page_count did not take effect"


def _all_bytes(db_path: Path) -> bytes:
    return b"".join(
        Path(f"{db_path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{db_path}{suffix}").exists()
    )


async def test_disk_full_means_nothing_is_revoked(static_session, static_provider):
    action = static_provider.revoke_actions(static_provider.credentials["t-bob-1"])[0]
    (item,) = static_session.queue.stage([action], "leak", approve=True)
    journal = static_session.journal
    pages = journal.conn.execute("PRAGMA page_count").fetchone()[0]
    journal.conn.execute(f"PRAGMA max_page_count = {pages + 1}")  # SQLite's own SQLITE_FULL
    _fill_until_full(journal)
    outcome = await static_session.queue.execute(item.id)
    assert not outcome.ok
    assert "not executed" in outcome.message and "full" in outcome.message
    assert static_provider.revoke_calls == []  # fail closed: the provider never heard of it
    assert static_session.queue.get(item.id).state is QueueState.APPROVED
    assert journal.verify().ok


def _make_read_only(paths: list[Path]) -> Callable[[], None]:
    """chmod 0400; as root (which ignores modes) the file is made immutable instead."""
    if os.geteuid() != 0:
        for path in paths:
            os.chmod(path, 0o400)
        return lambda: [os.chmod(path, 0o600) for path in paths]
    if shutil.which("chattr") is None:
        pytest.skip("running as root without chattr: cannot make a file read-only")
    done = []
    for path in paths:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            for undo in done:
                subprocess.run(["chattr", "-i", str(undo)], capture_output=True)
            pytest.skip("this filesystem does not support immutable files")
        done.append(path)
    return lambda: [subprocess.run(["chattr", "-i", str(p)], capture_output=True) for p in done]


async def test_read_only_file_means_nothing_is_revoked(db_path, static_provider):
    journal = Journal.open(db_path)
    queue = RevocationQueue(journal, {"static": static_provider}, "tester")
    action = static_provider.revoke_actions(static_provider.credentials["t-bob-1"])[0]
    (item,) = queue.stage([action], "leak", approve=True)
    journal.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    journal.close()
    files = [Path(f"{db_path}{s}") for s in ("", "-wal", "-shm") if Path(f"{db_path}{s}").exists()]
    restore = _make_read_only(files)
    try:
        queue = RevocationQueue(Journal.open(db_path), {"static": static_provider}, "tester")
        outcome = await queue.execute(item.id)
        assert not outcome.ok and "not executed" in outcome.message
        assert "readonly" in outcome.message.replace("-", "").replace(" ", "").lower()
        assert static_provider.revoke_calls == []
        assert queue.get(item.id).state is QueueState.APPROVED
    finally:
        restore()


async def test_locked_past_the_timeout_means_nothing_is_revoked(db_path, static_provider):
    main = Journal.open(db_path, busy_timeout_s=0.1)
    queue = RevocationQueue(main, {"static": static_provider}, "tester")
    action = static_provider.revoke_actions(static_provider.credentials["t-bob-1"])[0]
    (item,) = queue.stage([action], "leak", approve=True)
    other = sqlite3.connect(db_path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the writer lock
    try:
        outcome = await queue.execute(item.id)
    finally:
        other.execute("ROLLBACK")
    assert not outcome.ok and "locked" in outcome.message
    assert static_provider.revoke_calls == []
    outcome = await queue.execute(item.id)  # the lock is gone: it runs now
    assert outcome.ok and outcome.item.state is QueueState.VERIFIED


async def test_secrets_from_a_provider_never_reach_the_file(
    static_session, static_provider, db_path
):
    static_provider.response_extra = SECRETS
    action = static_provider.revoke_actions(static_provider.credentials["t-bob-1"])[0]
    (item,) = static_session.queue.stage([action], "leaked", approve=True)
    outcome = await static_session.queue.execute(item.id)
    assert outcome.ok
    stored = _all_bytes(db_path)
    for secret in SECRET_VALUES:
        assert secret.encode() not in stored, secret
    verified = static_session.journal.entries(limit=1)[0]
    response = verified.detail["provider_response"]
    assert response["access_token_fingerprint"] == fingerprint(SECRETS["access_token"])
    assert response["nested"][0]["sessionToken_fingerprint"].startswith("…6789 sha256:")


def test_the_journal_refuses_unredacted_secrets(journal):
    for key in ("token", "access_token", "accessToken", "X-Api-Key", "totp_code", "password"):
        with pytest.raises(SecretInJournal):
            journal.append("tester", "x", detail={"response": {key: "value"}})
    assert journal.head() is None


@pytest.mark.parametrize(
    ("key", "secret"),
    [
        ("token", True),
        ("access_token", True),
        ("refreshToken", True),
        ("api_key", True),
        ("secret_access_key", True),
        ("SecretAccessKey", True),
        ("client_secret", True),
        ("Set-Cookie", True),
        ("totp_code", True),
        ("password", True),
        ("token_id", False),
        ("idempotency_key", False),
        ("status_code", False),
        ("access_key_id", False),
        ("AccessKeyId", False),
        ("fingerprint", False),
        ("tokens_revoked", False),
        ("reason", False),
    ],
)
def test_what_looks_secret(key, secret):
    assert looks_secret(key) is secret


def test_redaction_keeps_structure_and_fingerprints():
    out = redact({"ok": True, "items": [{"password": "p@ss"}], "token": ""})
    assert out == {
        "ok": True,
        "items": [{"password_fingerprint": fingerprint("p@ss")}],
        "token_fingerprint": "",
    }
    assert fingerprint("abcdefghijklmnopqrstuvwxyz").startswith("…wxyz sha256:")
    assert "p@ss" not in fingerprint("p@ss")
