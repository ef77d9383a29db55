"""Attacks on identity from the command line: the environment and a config file.

The installed program, run as a subprocess with a spoofed environment, on a
real SQLite database: the operator is the OS account of the real uid.
"""

from __future__ import annotations

import json
import os
import pwd
import sqlite3
import subprocess
import sys
from pathlib import Path

PAMTUI = Path(sys.executable).with_name("pamtui")
ME = pwd.getpwuid(os.getuid()).pw_name

CONFIG = (
    "[operator]\nfour_eyes_for_privileged = true\n\n"
    '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'
)


def pamtui(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(PAMTUI), *argv],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_user_and_logname_do_not_make_a_second_operator(tmp_path):
    cfg, db = tmp_path / "c.toml", tmp_path / "data" / "pamtui.db"
    cfg.write_text(CONFIG)
    where = ("--config", str(cfg), "--db", str(db))
    listed = pamtui("accounts", "--json", "--provider", "demo-git", *where)
    assert listed.returncode == 0, listed.stderr
    privileged = next(
        a
        for a in json.loads(listed.stdout)
        if "privileged" in a["flags"] and any(c["status"] == "active" for c in a["credentials"])
    )
    staged = pamtui(
        "revoke", "--provider", "demo-git", "--account", privileged["id"], "--reason", "x",
        "--yes", *where,
    )  # fmt: skip
    assert staged.returncode == 0 and "four eyes required" in staged.stdout, staged.stderr
    with sqlite3.connect(db) as conn:
        item = conn.execute(
            "SELECT min(id) FROM queue_items WHERE state = 'awaiting_approval'"
        ).fetchone()[0]

    spoofed = {"USER": "mallory", "LOGNAME": "mallory", "LNAME": "mallory", "USERNAME": "mallory"}
    refused = pamtui("queue", "approve", str(item), *where, env=spoofed)
    assert refused.returncode == 1
    assert refused.stderr.count("\n") == 1 and "mallory" not in refused.stderr
    with sqlite3.connect(db) as conn:
        state = conn.execute("SELECT state FROM queue_items WHERE id = ?", (item,)).fetchone()[0]
        actors = {row[0] for row in conn.execute("SELECT actor FROM entries")}
    assert state == "awaiting_approval"
    assert "mallory" not in actors and ME in actors


def test_a_config_naming_the_operator_is_refused_in_one_line(tmp_path):
    cfg = tmp_path / "lax.toml"
    cfg.write_text('[operator]\nname = "bob"\n\n' + CONFIG.split("\n\n", 1)[1])
    result = pamtui("queue", "list", "--config", str(cfg), "--db", str(tmp_path / "p.db"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "operator.name" in result.stderr and "SSH key" in result.stderr


def test_policy_set_needs_the_admin_role(tmp_path):
    cfg, db = tmp_path / "c.toml", tmp_path / "p.db"
    cfg.write_text(f'[[operators]]\nname = "{ME}"\nroles = ["operator"]\n\n' + CONFIG)
    assert pamtui("queue", "list", "--config", str(cfg), "--db", str(db)).returncode == 0
    result = pamtui("policy", "set", "four_eyes_for_privileged", "false", "--config", str(cfg),
                    "--db", str(db))  # fmt: skip
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert "needs the admin role" in result.stderr
    with sqlite3.connect(db) as conn:
        refused = conn.execute(
            "SELECT actor, subject FROM entries WHERE action = 'refused'"
        ).fetchall()
    assert refused == [(ME, "policy:four_eyes_for_privileged")]
