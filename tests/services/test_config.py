"""Config loading: the demo default, and one clear message per mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pamtui import config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_no_config_means_the_bundled_demo() -> None:
    cfg = config.load(None)
    assert cfg.is_demo
    assert [p.type for p in cfg.providers] == ["demo", "demo", "demo"]


def test_named_but_missing_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="no such config file"):
        config.load(str(tmp_path / "nope.toml"))


def test_environment_names_the_config(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, '[[providers]]\nname = "a"\ntype = "demo"\n')
    monkeypatch.setenv("PAMTUI_CONFIG", str(path))
    assert config.load(None).source == path


def test_valid_config(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[operator]
four_eyes_for_privileged = true
[risk]
stale_days = 30
[[providers]]
name = "corp"
type = "demo"
system = "idp"
""",
    )
    cfg = config.load(str(path))
    assert cfg.operator.four_eyes_for_privileged is True
    assert cfg.risk.stale_days == 30
    assert cfg.providers[0].settings == {"system": "idp"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[providers]]\nname = 'a'\n", "providers[0].type"),
        ("[[providers]]\ntype = 'demo'\n", "providers[0].name"),
        (
            "[operator]\nrequire_totp = 'yes'\n[[providers]]\nname='a'\ntype='demo'\n",
            "operator.require_totp: expected bool, got str",
        ),
        ("[operatr]\n", "unknown key 'operatr'"),
        ("[operator]\nnmae = 'x'\n", "operator.nmae: unknown key"),
        (
            "[[providers]]\nname='a'\ntype='demo'\n[[providers]]\nname='a'\ntype='demo'\n",
            "used twice",
        ),
        ("providers = 3\n", "providers: expected an array"),
        ("[risk]\nstale_days = 0\n[[providers]]\nname='a'\ntype='demo'\n", "risk.stale_days"),
        ("this is not toml", "not valid TOML"),
        ("providers = []\n", "configure at least one"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as info:
        config.load(str(path))
    assert str(path) in str(info.value)
    assert message in str(info.value)


# -- every number has bounds (issue 17): through the real CLI, in a subprocess ---------


def pamtui(tmp_path: Path, config_text: str, *argv: str) -> subprocess.CompletedProcess[str]:
    path = write(tmp_path, config_text + '[[providers]]\nname = "demo-git"\ntype = "demo"\n')
    env = {**os.environ, "PAMTUI_CONFIG": str(path), "PAMTUI_DB": str(tmp_path / "pamtui.db")}
    return subprocess.run(
        [sys.executable, "-m", "pamtui", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )


@pytest.mark.parametrize(
    ("section", "argv", "expected"),
    [
        (
            "[queue]\napproval_ttl_hours = 100000000\n",
            ("queue", "run"),
            "queue.approval_ttl_hours: expected an integer of hours between 1 and 8784, "
            "got 100000000",
        ),
        (
            "[risk]\nstale_days = 100000000\n",
            ("accounts",),
            "risk.stale_days: expected an integer of days between 1 and 3650, got 100000000",
        ),
        (
            "[queue]\nlease_seconds = 100000000000000\n",
            ("accounts",),
            "queue.lease_seconds: expected an integer of seconds between 1 and 86400, "
            "got 100000000000000",
        ),
    ],
)
def test_numbers_out_of_range_are_one_line_config_errors(
    tmp_path: Path, section: str, argv: tuple[str, ...], expected: str
) -> None:
    result = pamtui(tmp_path, section, *argv)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1
    assert str(tmp_path / "config.toml") in result.stderr
    assert expected in result.stderr


def test_every_number_in_the_config_is_bounded() -> None:
    for name, (_, declared) in config.SECTIONS.items():
        for item in declared:
            if item.kind in ("integer", "number"):
                assert item.low is not None and item.high is not None, f"{name}.{item.name}"


def test_numbers_in_range_load(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "[queue]\napproval_ttl_hours = 8784\nlease_seconds = 1\nconcurrency_per_provider = 256\n"
        "[risk]\nstale_days = 3650\n[[providers]]\nname = 'a'\ntype = 'demo'\n",
    )
    cfg = config.load(str(path))
    assert (cfg.queue.approval_ttl_hours, cfg.queue.lease_seconds) == (8784, 1)
    assert (cfg.queue.concurrency_per_provider, cfg.risk.stale_days) == (256, 3650)
