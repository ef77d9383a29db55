"""A session builds what a first frame does not need on first use, and still
validates the config as it opens (services/session.py).

The import checks run in a fresh interpreter, so that nothing this test run
imported earlier hides an import; they assert on modules, never on time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pamtui.config import ConfigError
from pamtui.services.session import Session

NOT_AT_THE_FIRST_FRAME = (
    # The revocation path: built right after the first frame (tui/app.py).
    "pamtui.services.queue",
    "pamtui.services.queue_store",
    "pamtui.services.queue_journal_check",
    "pamtui.services.holder",
    "pamtui.services.revoke",
    "pamtui.services.offboarding_plan",
    "pamtui.services.policy",
    "pamtui.services.movers",
    "pamtui.services.people",
    "pamtui.services.people_history",
    "pamtui.services.drift",
    "pamtui.services.drift_recorder",
    "pamtui.services.totp_store",
    # The other screens: imported when opened (the key map imports them only
    # to check a [keys] table, and the demo has none).
    "pamtui.tui.screens.people",
    "pamtui.tui.screens.drift",
    "pamtui.tui.screens.review",
    "pamtui.tui.screens.review_start",
)

_FIRST_FRAME = """
import json, sys
from pamtui.services.session import Session
from pamtui.tui.app import PamtuiApp
session = Session.open(db_path={db!r})
app = PamtuiApp(session)
loaded = [m for m in {modules!r} if m in sys.modules]
# On first use, each is the real service (not a placeholder), built once.
built = {{
    "policies": session.policies,
    "baselines": len(session.baselines),
    "movers": type(session.movers).__name__,
    "same_movers": session.movers is session.movers,
    "people": type(session.people).__name__,
    "drift": type(session.drift).__name__,
    "totp": type(session.totp).__name__,
    "revocations": type(session.revocations).__name__,
    "same_queue": session.revocations.queue is session.queue,
}}
print(json.dumps({{"loaded": loaded, "built": built}}))
"""


def test_the_tui_start_on_the_demo_builds_only_what_its_first_frame_needs(tmp_path: Path):
    code = _FIRST_FRAME.format(db=str(tmp_path / "pamtui.db"), modules=NOT_AT_THE_FIRST_FRAME)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["loaded"] == []
    assert result["built"] == {
        "policies": [],
        "baselines": result["built"]["baselines"],
        "movers": "MoversService",
        "same_movers": True,
        "people": "PeopleService",
        "drift": "DriftRecorder",
        "totp": "TotpStore",
        "revocations": "RevocationService",
        "same_queue": True,
    }
    assert result["built"]["baselines"] > 0  # the demo's bundled baselines


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n\n' + extra,
        encoding="utf-8",
    )
    return path


def test_a_policy_typo_still_fails_the_open_not_a_later_use(tmp_path: Path):
    cfg = _config(
        tmp_path, '[[policies]]\nname = "x"\nmatch = { unused_dayz = 3 }\naction = "revoke_token"\n'
    )
    with pytest.raises(ConfigError, match=r"policies\[0\]\.match.*unused_dayz"):
        Session.open(config_path=str(cfg), db_path=str(tmp_path / "pamtui.db"))


def test_a_policy_naming_an_unknown_provider_fails_the_open(tmp_path: Path):
    cfg = _config(
        tmp_path,
        '[[policies]]\nname = "x"\nmatch = { unused_days_over = 3 }\n'
        'action = "revoke_token"\nproviders = ["nope"]\n',
    )
    with pytest.raises(ConfigError, match=r"no provider named 'nope'"):
        Session.open(config_path=str(cfg), db_path=str(tmp_path / "pamtui.db"))


def test_a_baseline_typo_still_fails_the_open(tmp_path: Path):
    cfg = _config(
        tmp_path,
        '[[baselines]]\nname = "eng"\nmatch = { department = "Engineering" }\n'
        'allow = { demo-cloud = ["admins"] }\n',
    )
    with pytest.raises(ConfigError, match=r"baselines\[0\]\.allow\.demo-cloud: no provider named"):
        Session.open(config_path=str(cfg), db_path=str(tmp_path / "pamtui.db"))


async def test_good_policies_are_parsed_once_at_open_and_a_sync_still_records_drift(
    tmp_path: Path,
):
    cfg = _config(
        tmp_path,
        '[[policies]]\nname = "stale"\nmatch = { unused_days_over = 90 }\n'
        'action = "revoke_token"\n',
    )
    session = Session.open(config_path=str(cfg), db_path=str(tmp_path / "pamtui.db"))
    try:
        assert "policies" in session.__dict__  # validated (and kept) as it opened
        assert [p.name for p in session.policies] == ["stale"]
        assert "drift" not in session.__dict__
        await session.inventory.sync()
        # The sync's snapshot went to the drift store, built on that first use.
        assert "drift" in session.__dict__
        assert session.drift.store.path.exists()
    finally:
        await session.aclose()
