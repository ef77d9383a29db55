"""Owner-only files, world-writable refusals, and pamtui secrets set."""

from __future__ import annotations

import io
import os

import keyring
import pytest

from pamtui.cli import main
from pamtui.journal import Journal, JournalError
from pamtui.services.session import KEYRING_SERVICE, resolve_secret
from tests.support.keyring_memory import use_backend


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_world_writable_config_is_refused(capsys, tmp_path):
    cfg = tmp_path / "config.toml"
    cfg.write_text('[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n')
    os.chmod(cfg, 0o666)
    code, _, err = run(capsys, "accounts", "--config", str(cfg))
    assert code == 2 and "world-writable" in err and f"chmod o-w {cfg}" in err


def test_world_writable_journal_is_refused(capsys, db_path):
    Journal.open(db_path).append("tester", "one")
    os.chmod(db_path, 0o646)
    code, _, err = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 1 and "world-writable" in err
    code, _, err = run(capsys, "accounts", "--db", str(db_path))
    assert code == 1 and "world-writable" in err


def test_new_files_are_owner_only(db_path):
    Journal.open(db_path).append("tester", "one")
    assert oct(db_path.stat().st_mode & 0o777) == "0o600"
    assert oct(db_path.parent.stat().st_mode & 0o777) == "0o700"


def test_secrets_set_from_a_pipe(capsys, monkeypatch, memory_keyring):
    monkeypatch.setattr("sys.stdin", io.StringIO("scim-token-value-0001\n"))
    code, out, _ = run(capsys, "secrets", "set", "corp-scim")
    assert code == 0 and '{ keyring = "corp-scim" }' in out
    assert "scim-token-value-0001" not in out
    assert keyring.get_password(KEYRING_SERVICE, "corp-scim") == "scim-token-value-0001"
    assert resolve_secret({"keyring": "corp-scim"}) == "scim-token-value-0001"


def test_secrets_set_warns_about_a_plaintext_keyring(capsys, monkeypatch):
    use_backend(monkeypatch, "tests.support.keyring_memory.PlaintextishKeyring")
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("value\n"))
        code, _, err = run(capsys, "secrets", "set", "x")
        assert code == 0 and "WARNING" in err
    finally:
        keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))


@pytest.mark.parametrize("sidecar", ["-wal", "-shm"])
def test_a_world_writable_wal_or_shm_is_refused(capsys, db_path, sidecar):
    """SQLite replays the WAL into the database: writing it is writing the journal."""
    writer = Journal.open(db_path)  # an open writer keeps the -wal and -shm
    try:
        writer.append("tester", "one")
        side = db_path.with_name(db_path.name + sidecar)
        assert side.exists() and oct(side.stat().st_mode & 0o777) == "0o600"
        os.chmod(side, 0o666)
        code, _, err = run(capsys, "audit", "verify", "--db", str(db_path))
        assert code == 1 and "world-writable" in err and f"chmod o-w {side}" in err
        assert err.count("\n") == 1 and "Traceback" not in err
        code, _, err = run(capsys, "audit", "export", "--format", "jsonl", "--db", str(db_path))
        assert code == 1 and "world-writable" in err
    finally:
        writer.close()


@pytest.mark.parametrize("dir_mode", [0o777, 0o1777])
def test_a_world_writable_journal_directory_is_refused(capsys, db_path, dir_mode):
    """Anyone who can write the directory can swap the journal or plant a WAL (sticky or not)."""
    Journal.open(db_path).close()
    os.chmod(db_path.parent, dir_mode)
    try:
        code, _, err = run(capsys, "audit", "verify", "--db", str(db_path))
        assert code == 1 and "directory is world-writable" in err
        assert f"chmod o-w {db_path.parent}" in err and "Traceback" not in err
        with pytest.raises(JournalError, match="world-writable"):
            Journal.open(db_path)
    finally:
        os.chmod(db_path.parent, 0o700)
    code, out, _ = run(capsys, "audit", "verify", "--db", str(db_path))
    assert code == 0 and out.startswith("ok: 0 entries")  # the same file, once fixed
