"""``pamtui doctor``: is this installation fit to work, and if not, what to fix.

Each check is one line an operator can act on: which config file is used and
whether it is valid, the modes of the journal's files and directory, whether
the journal opens and its last entry reads, the
keyring backend (a plain-text one is a problem when secrets go there), each
configured provider (its type installed, the packages it needs importable, and
one cheap, bounded call that reaches it), and how far each ``[[forward]]``
receiver is behind the journal. The checks never change anything a provider
holds; a provider is asked for the first page of its accounts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import stat
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pamtui import config as config_mod
from pamtui.config import Config
from pamtui.errors import PamtuiError
from pamtui.sanitize import clean
from pamtui.services.drift import snapshot_path

PROVIDER_TIMEOUT_S = 10.0
"""How long one provider has to answer its first page of accounts."""


@dataclass(frozen=True)
class Check:
    area: str
    """config, files, journal, keyring, provider or forward."""
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


# -- config -------------------------------------------------------------------------


def check_config(flag: str | None) -> tuple[Check, Config | None]:
    path, why = config_mod.config_source(flag)
    try:
        cfg = config_mod.load(flag)
    except PamtuiError as exc:
        return Check("config", str(path), False, f"{exc} (chosen by {why})"), None
    if cfg.source is None:
        detail = f"no file at {path} ({why}): the bundled demo organisation"
    else:
        n = len(cfg.providers)
        detail = f"{path} ({why}): valid, {n} provider{'' if n == 1 else 's'}"
    return Check("config", str(path), True, detail), cfg


# -- file modes ---------------------------------------------------------------------


def _mode_problem(path: Path, *, directory: bool) -> str | None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o022:
        who = "everyone" if mode & 0o002 else "its group"
        return (
            f"{path} is writable by {who} (mode {mode:04o}): they could replace the "
            f"journal's files; fix with: chmod go-w {path}"
        )
    if not directory and mode & 0o044:
        return (
            f"{path} is readable by others (mode {mode:04o}): the journal and state name "
            f"every account; fix with: chmod 600 {path}"
        )
    return None


def journal_files(db_path: Path) -> list[Path]:
    """The database, its SQLite sidecars, archives and the drift snapshots, as they exist."""
    folder = db_path.parent
    found = sorted(p for p in folder.glob(f"{db_path.name}*") if p != db_path)
    snapshots = snapshot_path(db_path)
    found += [Path(f"{snapshots}{suffix}") for suffix in ("", "-wal", "-shm")]
    archives = folder / f"{db_path.name}-archives"
    if archives.is_dir():
        found += sorted(archives.iterdir())
    return [db_path, *(p for p in found if p.exists())]


def check_files(db_path: Path) -> list[Check]:
    if not db_path.exists():
        return [Check("files", str(db_path), True, f"{db_path}: no journal yet")]
    problems = []
    try:
        folder_problem = _mode_problem(db_path.parent, directory=True)
        if folder_problem:
            problems.append(folder_problem)
        for path in journal_files(db_path):
            problem = _mode_problem(path, directory=path.is_dir())
            if problem:
                problems.append(problem)
    except OSError as exc:
        problems.append(f"cannot inspect {exc.filename}: {exc.strerror}")
    if not problems:
        return [Check("files", str(db_path), True, f"{db_path} and its files: modes ok")]
    return [Check("files", str(db_path), False, p) for p in problems]


def check_journal(db_path: Path) -> list[Check]:
    """Does the journal open, and can its last entry be read? (The chain: ``audit verify``.)

    Every command opens it first; a doctor that looked only at modes said "ok" for a
    truncated file, or a directory, that every command refused.
    """
    if not db_path.exists() and not db_path.is_symlink():
        return []  # "no journal yet" is the files check's line
    from pamtui.journal import Journal

    try:
        journal = Journal.open(db_path, read_only=True)
        try:
            head = journal.head()
        finally:
            journal.close()
    except PamtuiError as exc:
        return [Check("journal", "journal", False, clean(exc))]
    except sqlite3.DatabaseError as exc:  # damage found past the header, at the last entry
        return [Check("journal", "journal", False, f"{db_path}: cannot be read: {exc}")]
    last = f"last entry {head.seq}" if head else "no entries yet"
    detail = f"{db_path} opens, {last} (the hash chain: pamtui audit verify)"
    return [Check("journal", "journal", True, detail)]


# -- keyring ------------------------------------------------------------------------


def _uses_keyring(cfg: Config | None) -> bool:
    if cfg is None:
        return False

    def refers(value: Any) -> bool:
        if isinstance(value, Mapping):
            return set(value) == {"keyring"} or any(refers(v) for v in value.values())
        if isinstance(value, list):
            return any(refers(v) for v in value)
        return False

    # TOTP secrets live in the TOTP store beside the database, not in the keyring.
    return any(refers(dict(p.settings)) for p in cfg.providers)


def check_keyring(cfg: Config | None) -> Check:
    from pamtui.services.keyring_store import KeyringStore

    store = KeyringStore()
    try:
        name = store.backend_name
    except Exception as exc:  # keyring's own initialisation failed
        name = f"unusable ({type(exc).__name__})"
    warning = store.backend_warning(what="secrets")
    if warning is None:
        return Check("keyring", name, True, f"backend {name}")
    if "PLAIN TEXT" in warning:
        return Check("keyring", name, False, warning)
    if _uses_keyring(cfg):
        return Check("keyring", name, False, f"{warning} (the config stores secrets there)")
    return Check("keyring", name, True, f"backend {name}: no usable keyring, and none needed")


# -- providers ----------------------------------------------------------------------


async def _first_page(provider: Any, timeout_s: float) -> str:
    accounts = provider.list_accounts()
    try:
        first = await asyncio.wait_for(anext(accounts, None), timeout_s)
    finally:
        close = getattr(accounts, "aclose", None)
        if close is not None:
            await close()
    return (
        "reachable (listed the first accounts)" if first is not None else "reachable, no accounts"
    )


async def check_provider(
    name: str, type_name: str, settings: Mapping[str, Any], state_dir: Path, timeout_s: float
) -> Check:
    from pamtui.providers import registry
    from pamtui.providers.base import ProviderContext
    from pamtui.services import catalog
    from pamtui.services.session import resolve_secret

    label = f"{name} ({type_name})"
    if type_name not in {t.name for t in catalog.available_types()}:
        return Check("provider", name, False, f"{label}: provider type {type_name!r} not installed")
    try:
        missing = catalog.missing_packages(type_name)
    except PamtuiError as exc:
        return Check("provider", name, False, f"{label}: {exc}")
    if missing:
        needs = "; ".join(f"{m} is not installed: pip install '{i}'" for m, i in missing)
        return Check("provider", name, False, f"{label}: {needs}")
    context = ProviderContext(state_dir=state_dir, resolve_secret=resolve_secret)
    try:
        provider = registry.create(type_name, name, settings, context)
    except PamtuiError as exc:
        return Check("provider", name, False, f"{label}: {exc}")
    try:
        detail = await _first_page(provider, timeout_s)
        return Check("provider", name, True, f"{label}: {detail}")
    except TimeoutError:
        return Check("provider", name, False, f"{label}: no answer within {timeout_s:g} s")
    except PamtuiError as exc:
        return Check("provider", name, False, f"{label}: {exc}")
    except Exception as exc:  # a plugin's bug: say so in one line, check the others
        return Check("provider", name, False, f"{label}: {type(exc).__name__}: {exc}")
    finally:
        with contextlib.suppress(Exception):  # best effort: the check said what matters
            await provider.aclose()


# -- forwarding ---------------------------------------------------------------------


def check_forwarding(cfg: Config, db_path: Path) -> list[Check]:
    from pamtui.journal import Journal
    from pamtui.services.forward import forwarding_lag

    if not cfg.forward:
        return [Check("forward", "-", True, "no [[forward]] receiver configured")]
    if not db_path.exists():
        return [Check("forward", d.name, True, f"{d.name}: no journal yet") for d in cfg.forward]
    try:
        journal = Journal.open(db_path, read_only=True)
    except PamtuiError as exc:
        return [Check("forward", "-", False, f"cannot read the journal: {exc}")]
    try:
        lags = forwarding_lag(journal, cfg.forward)
    finally:
        journal.close()
    checks = []
    for lag in lags:
        entries = "entry" if lag.lag == 1 else "entries"
        detail = (
            f"{lag.destination} ({lag.url}): lag {lag.lag} {entries} "
            f"(forwarded up to {lag.last_seq} of {lag.head_seq})"
        )
        if lag.skipped:
            detail += f"; entries {lag.skipped} were rotated away unsent"
        if lag.last_error:
            detail += f"; last attempt failed: {lag.last_error}"
        checks.append(Check("forward", lag.destination, not lag.last_error, detail))
    return checks


# -- all ----------------------------------------------------------------------------


async def diagnose(
    config_flag: str | None,
    db_flag: str | None,
    *,
    timeout_s: float = PROVIDER_TIMEOUT_S,
) -> DoctorReport:
    report = DoctorReport()
    config_check, cfg = check_config(config_flag)
    report.checks.append(config_check)
    db_path = config_mod.resolve_db_path(db_flag)
    report.checks += check_files(db_path)
    report.checks += check_journal(db_path)
    report.checks.append(check_keyring(cfg))
    if cfg is not None:
        checks = await asyncio.gather(
            *(
                check_provider(p.name, p.type, p.settings, db_path.parent, timeout_s)
                for p in cfg.providers
            )
        )
        report.checks += checks
        report.checks += check_forwarding(cfg, db_path)
    report.checks = [
        Check(c.area, clean(c.name, max_length=200), c.ok, clean(c.detail, max_length=500))
        for c in report.checks
    ]
    return report


def summary(checks: Sequence[Check]) -> str:
    problems = sum(1 for c in checks if not c.ok)
    if not problems:
        return f"all {len(checks)} checks ok"
    return f"{problems} problem{'' if problems == 1 else 's'} in {len(checks)} checks"
