"""First login in a real terminal: the installed pamtui shows the QR code, takes a code, goes on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyotp

from tests.e2e.test_e2e_tmux import _cli, tmux  # noqa: F401 (the fixture)
from tests.support.totp import allow, enrol

CONFIG = (
    "[operator]\nrequire_totp = true\n\n"
    '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'
)


def test_first_login_enrols_from_the_qr_screen(tmux, tmp_path: Path) -> None:  # noqa: F811
    config = tmp_path / "config.toml"
    config.write_text(CONFIG)
    tmux.env["PAMTUI_CONFIG"] = str(config)
    db = Path(tmux.env["PAMTUI_DB"])
    enrol(db, "first-admin")  # an existing installation: enrolment needs an allowance
    status = _cli(tmux.env, "mfa", "status", "--json")
    assert status.returncode == 1, status.stderr  # not enrolled yet
    operator = json.loads(status.stdout)["operator"]
    allow(db, operator)

    tmux.start()
    screen = tmux.wait_for("TOTP enrolment for")
    assert "▀" in screen or "▄" in screen  # the QR code is drawn
    secret = re.search(r"or type this key: ([A-Z2-7]{32})", screen)
    assert secret, screen
    tmux.type(pyotp.TOTP(secret.group(1)).now())
    tmux.keys("Enter")
    tmux.wait_for(lambda s: "TOTP enrolment for" not in s and "Accounts" in s)
    tmux.keys("q")

    listed = _cli(tmux.env, "operators", "list", "--json")
    states = {s["name"]: s for s in json.loads(listed.stdout)}
    assert states[operator]["enrolled"] and not states[operator]["allowed_to_enrol"]
    assert _cli(tmux.env, "mfa", "status").returncode == 0
