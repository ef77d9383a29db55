"""Config loading: the demo default, and one clear message per mistake."""

from __future__ import annotations

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
        ("", "configure at least one"),
    ],
)
def test_mistakes_name_the_file_and_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(config.ConfigError) as info:
        config.load(str(path))
    assert str(path) in str(info.value)
    assert message in str(info.value)
