"""pamtui config path | config check, pamtui doctor, and what the config may leave out.

Real files, a real closed port for an unreachable provider, the real journal
and forwarding cursors; boto3's absence is simulated by blocking its import.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import keyring
import pytest

from pamtui.cli import main
from pamtui.journal import Journal


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return path


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- config path / check ------------------------------------------------------------


def test_config_path_says_which_file_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "config", "path", "--json")
    default = json.loads(out)
    assert code == 0 and default["from"] == "platform default" and not default["exists"]
    assert default["used"] == "the bundled demo organisation"
    env_file = write(tmp_path, "[ui]\ntheme = 'nord'\n", "env.toml")
    monkeypatch.setenv("PAMTUI_CONFIG", str(env_file))
    code, out, _ = run(capsys, "config", "path")
    assert code == 0 and out == f"{env_file} (from $PAMTUI_CONFIG)\n"
    flag_file = write(tmp_path, "[ui]\n", "flag.toml")
    code, out, _ = run(capsys, "config", "path", "--config", str(flag_file), "--json")
    assert json.loads(out)["path"] == str(flag_file) and json.loads(out)["from"] == "--config"


def test_config_check_is_ok_or_one_line_and_exit_2(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write(tmp_path, '[[providers]]\nname = "git"\ntype = "demo"\nsystem = "git"\n')
    code, out, err = run(capsys, "config", "check", "--config", str(good), "--db", str(db_path))
    assert code == 0, err
    assert out.startswith(f"ok: {good} (from --config); providers: git")
    # A provider setting is checked too (not only the TOML's shape).
    bad = write(tmp_path, '[[providers]]\nname = "o"\ntype = "okta"\n', "bad.toml")
    code, out, err = run(capsys, "config", "check", "--config", str(bad), "--db", str(db_path))
    assert code == 2 and out == ""
    assert err.startswith(f"pamtui: config: {bad}: provider 'o'") and err.count("\n") == 1


@pytest.mark.parametrize("text", ["[ui]\ntheme = 'nord'\n", "[operator]\nread_only = true\n"])
def test_a_config_with_only_ui_or_operator_keeps_the_demo(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """It was "providers: configure at least one [[providers]] table", exit 2."""
    cfg = write(tmp_path, text)
    code, out, err = run(capsys, "config", "check", "--config", str(cfg), "--json")
    assert code == 0, err
    assert [p["name"] for p in json.loads(out)["providers"]] == [
        "demo-idp",
        "demo-git",
        "demo-cloud",
    ]
    code, out, err = run(capsys, "accounts", "--json", "--config", str(cfg), "--db", str(db_path))
    assert code == 0 and len(json.loads(out)) == 250


def test_an_unknown_theme_is_one_line_listing_the_themes(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--theme", "nope", "--db", str(db_path))
    assert code == 2 and out == ""
    assert err.startswith("pamtui: --theme 'nope': no such theme") and err.count("\n") == 1
    assert "pamtui-dark" in err and "textual-dark" in err


# -- providers: a type whose package is missing is not "ok" ----------------------------


AWS = '[[providers]]\nname = "aws"\ntype = "aws-iam"\nprofile = "default"\n'


def test_providers_names_the_missing_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = write(tmp_path, AWS)
    code, out, _ = run(capsys, "providers", "--config", str(cfg))
    assert code == 0 and "aws-iam  ok" in out  # boto3 is installed for the tests
    monkeypatch.setitem(sys.modules, "boto3", None)  # as if it were not
    code, out, _ = run(capsys, "providers", "--config", str(cfg))
    assert code == 1  # was 0, with the instance "ok"
    assert "MISSING boto3 (pip install 'pamtui[aws]')" in out


# -- doctor -------------------------------------------------------------------------


def test_doctor_on_the_demo_is_all_ok(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "doctor", "--db", str(db_path))
    assert code == 0, out + err
    lines = out.splitlines()
    assert lines[-1] == f"all {len(lines) - 1} checks ok"
    for provider in ("demo-idp", "demo-git", "demo-cloud"):
        assert f"[ok ] provider: {provider} (demo): reachable" in out


def test_doctor_says_what_is_wrong_one_line_each(
    tmp_path: Path,
    db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = closed_port()
    monkeypatch.setenv("SCIM_TOKEN", "token-for-the-test")
    cfg = write(
        tmp_path,
        '[[providers]]\nname = "git"\ntype = "demo"\nsystem = "git"\n\n'
        f'[[providers]]\nname = "idp"\ntype = "scim"\nbase_url = "http://127.0.0.1:{port}/scim"\n'
        'token = { env = "SCIM_TOKEN" }\nmax_retries = 0\n\n'
        f"{AWS}\n"
        f'[[forward]]\nname = "siem"\ntransport = "tcp"\nhost = "127.0.0.1"\nport = {port}\n',
    )
    journal = Journal.open(db_path)
    for n in range(3):
        journal.append("tester", "note", detail={"n": n})
    journal.close()
    os.chmod(db_path, 0o644)
    monkeypatch.setitem(sys.modules, "boto3", None)

    code, out, err = run(capsys, "doctor", "--json", "--config", str(cfg), "--db", str(db_path))
    assert code == 1, err
    report = json.loads(out)
    by_name = {c["name"]: c for c in report["checks"]}
    assert not report["ok"]
    assert by_name["git"]["ok"] and "reachable" in by_name["git"]["detail"]
    assert not by_name["idp"]["ok"] and "could not connect" in by_name["idp"]["detail"]
    assert not by_name["aws"]["ok"]
    assert "boto3 is not installed: pip install 'pamtui[aws]'" in by_name["aws"]["detail"]
    assert not by_name[str(db_path)]["ok"] and "chmod 600" in by_name[str(db_path)]["detail"]
    # Forwarding lag per destination: nothing sent yet, and the receiver is down.
    assert by_name["siem"]["ok"] and "lag 3 entries" in by_name["siem"]["detail"]
    assert main(["audit", "forward", "--config", str(cfg), "--db", str(db_path)]) == 1
    capsys.readouterr()
    code, out, _ = run(capsys, "doctor", "--config", str(cfg), "--db", str(db_path))
    siem = next(line for line in out.splitlines() if "forward:" in line)
    assert siem.startswith("[ERR] forward: siem") and "last attempt failed" in siem
    assert out.splitlines()[-1] == "4 problems in 8 checks"  # the journal opens: ok
    assert all("\x1b" not in line for line in out.splitlines())


def test_doctor_flags_a_plain_text_keyring(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "tests.support.keyring_memory.PlaintextishKeyring")
    keyring.core.init_backend()
    try:
        code, out, _ = run(capsys, "doctor", "--json", "--db", str(db_path))
    finally:
        keyring.set_keyring(keyring.core.load_keyring("keyring.backends.fail.Keyring"))
    check = next(c for c in json.loads(out)["checks"] if c["area"] == "keyring")
    assert code == 1 and not check["ok"] and "PLAIN TEXT" in check["detail"]


@pytest.mark.parametrize("damage", ["truncated", "not-sqlite", "a-directory"])
def test_doctor_flags_a_journal_that_cannot_be_opened(
    db_path: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    """Every command failed on it, yet doctor said "all 7 checks ok" (it looked at modes only)."""
    journal = Journal.open(db_path)
    for i in range(50):
        journal.append("alice", "note", subject=f"s{i}", detail={"pad": "x" * 500})
    journal.close()
    if damage == "truncated":
        with db_path.open("r+b") as f:
            f.truncate(db_path.stat().st_size // 2)
    elif damage == "not-sqlite":
        db_path.write_bytes(b"this is not a database\n" * 100)
    else:
        db_path.unlink()
        db_path.mkdir(mode=0o700)
    code, out, _ = run(capsys, "doctor", "--json", "--db", str(db_path))
    checks = json.loads(out)["checks"]
    journal_checks = [c for c in checks if c["area"] == "journal"]
    assert code == 1 and journal_checks and not journal_checks[0]["ok"], checks
    assert str(db_path) in journal_checks[0]["detail"]
