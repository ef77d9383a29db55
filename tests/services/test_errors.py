"""One exception root: every user mistake is one line on stderr and its exit code.

Each case is a real mistake an operator makes, run through ``pamtui.cli.main``
on real files (config, database, keyring backend): the error class it raises
decides the exit code (``pamtui.errors``), and ``main`` maps them all in one
place.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

import pytest

import pamtui.cli.providers
from pamtui.cli import build_parser, main
from pamtui.errors import EXIT_FALSE, EXIT_INTERNAL, EXIT_USAGE, PamtuiError

SRC = Path(__file__).resolve().parents[2] / "src"


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode())
    return str(path)


# Each case: (id, the error class the mistake raises, argv builder, exit code, stderr start).
# The builder gets tmp_path and the --db path and returns argv.
Argv = Callable[[Path, Path], list[str]]
CASES: list[tuple[str, str, Argv, int, str]] = [
    (
        "usage",
        "UsageError",
        lambda tmp, db: ["demo", "--db", str(db)],
        EXIT_USAGE,
        "pamtui: pamtui demo needs --reset or --scale N",
    ),
    (
        "config-not-toml",
        "ConfigError",
        lambda tmp, db: ["accounts", "--config", _write(tmp, "c.toml", "not = [toml")],
        EXIT_USAGE,
        "pamtui: config: ",
    ),
    (
        "provider-setting-missing",
        "ProviderConfigError",
        lambda tmp, db: [
            "accounts",
            "--db",
            str(db),
            "--config",
            _write(tmp, "c.toml", '[[providers]]\nname = "o"\ntype = "okta"\n'),
        ],
        EXIT_USAGE,
        "pamtui: config: {cfg}: provider 'o' (type okta): setting 'base_url' is required",
    ),
    (
        "provider-type-unknown",
        "UnknownProviderType",
        lambda tmp, db: [
            "accounts",
            "--db",
            str(db),
            "--config",
            _write(tmp, "c.toml", '[[providers]]\nname = "x"\ntype = "nope"\n'),
        ],
        EXIT_USAGE,
        "pamtui: config: {cfg}: unknown provider type 'nope'",
    ),
    (
        "authorized-keys-missing",
        "KeysError",
        lambda tmp, db: ["serve-ssh", "--db", str(db), "--authorized-keys", str(tmp / "nope")],
        EXIT_USAGE,
        "pamtui: ",
    ),
    (
        "no-journal-yet",
        "CheckFailed",
        lambda tmp, db: ["audit", "head", "--db", str(db)],
        EXIT_FALSE,
        "pamtui: no journal at ",
    ),
    (
        "db-is-not-a-database",
        "JournalError",
        lambda tmp, db: ["audit", "list", "--db", _write(tmp, "x.db", "not a database " * 20)],
        EXIT_FALSE,
        "pamtui: ",
    ),
    (
        "db-is-another-sqlite-file",
        "JournalError",
        lambda tmp, db: ["audit", "list", "--db", _write(tmp, "empty.db", "")],
        EXIT_FALSE,
        "pamtui: ",
    ),
    (
        "queue-item-unknown",
        "NoSuchItem",
        lambda tmp, db: ["queue", "retry", "999", "--db", str(db)],
        EXIT_USAGE,
        "pamtui: no queue item 999",
    ),
    (
        "review-campaign-unknown",
        "NoSuchReview",
        lambda tmp, db: ["review", "show", "999", "--db", str(_journal(db))],
        EXIT_USAGE,
        "pamtui: no review campaign 999",
    ),
    (
        "totp-not-enrolled",
        "StepUpError",
        lambda tmp, db: [
            "revoke",
            "--db",
            str(db),
            "--config",
            _write(
                tmp,
                "c.toml",
                "[operator]\nrequire_totp = true\n\n"
                '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\n'
                "latency_ms = 0\n",
            ),
            "--provider",
            "demo-git",
            "--account",
            "lucia-castillo-acme",
            "--credential",
            "716008953",
            "--reason",
            "leak",
            "--yes",
            "--totp",
            "000000",
        ],
        EXIT_FALSE,
        "pamtui: ",
    ),
]


def _journal(db: Path) -> Path:
    from pamtui.journal import Journal

    Journal.open(db).close()
    return db


@pytest.mark.parametrize(
    ("raised", "argv", "exit_code", "start"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_a_user_mistake_is_one_line_and_its_exit_code(
    raised: str,
    argv: Argv,
    exit_code: int,
    start: str,
    tmp_path: Path,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    memory_keyring,
) -> None:
    db_path.parent.mkdir(parents=True, exist_ok=True)
    # The command itself raises a PamtuiError, caused by (or being) the named class...
    args = build_parser().parse_args(argv(tmp_path, db_path))
    with pytest.raises(PamtuiError) as info:
        args.func(args)
    chain: list[BaseException] = []
    error: BaseException | None = info.value
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    assert raised in [type(e).__name__ for e in chain], chain
    capsys.readouterr()
    # ...and main turns it into its exit code and one line on stderr.
    code = main(argv(tmp_path, db_path))
    _, err = capsys.readouterr()
    assert code == exit_code == info.value.exit_code, err
    # {cfg}: the config file the test wrote, which the message names.
    assert err.startswith(start.format(cfg=tmp_path / "c.toml")), err
    assert err.count("\n") == 1 and err.endswith("\n"), err
    assert "Traceback" not in err and "internal error" not in err


def _all_error_classes() -> list[type[BaseException]]:
    """Every exception class pamtui defines, found by importing every module."""
    found = []
    for path in sorted((SRC / "pamtui").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if name == "pamtui.__main__":
            continue
        module = importlib.import_module(name)
        found += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and issubclass(value, BaseException)
            and value.__module__ == name
        ]
    return found


def test_every_public_error_class_has_the_one_root_and_an_exit_code() -> None:
    classes = _all_error_classes()
    assert len(classes) > 15  # the walk found them
    strays = [
        f"{c.__module__}.{c.__name__}"
        for c in classes
        if not c.__name__.startswith("_") and not issubclass(c, PamtuiError)
    ]
    assert strays == [], "derive these from pamtui.errors.PamtuiError"
    codes = {
        f"{c.__module__}.{c.__name__}": c.exit_code for c in classes if issubclass(c, PamtuiError)
    }
    assert set(codes.values()) == {EXIT_FALSE, EXIT_USAGE}, codes


def _a_bug(args) -> int:
    raise TypeError("unsupported operand\x1b[2J")


def test_a_bug_is_one_line_internal_error_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A command with a bug in it: the parser picks up cmd_providers when main builds it.
    monkeypatch.setattr(pamtui.cli.providers, "cmd_providers", _a_bug)
    monkeypatch.delenv("PAMTUI_DEBUG", raising=False)
    assert main(["providers"]) == EXIT_INTERNAL
    _, err = capsys.readouterr()
    assert err.startswith("pamtui: internal error: TypeError: unsupported operand")
    assert err.count("\n") == 1 and "PAMTUI_DEBUG=1" in err and "\x1b" not in err
    monkeypatch.setenv("PAMTUI_DEBUG", "1")
    with pytest.raises(TypeError, match="unsupported operand"):
        main(["providers"])
