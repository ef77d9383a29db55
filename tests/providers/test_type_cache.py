"""The provider types kept from the last entry-point scan (providers/type_cache.py).

Real distributions (a ``*.dist-info`` with ``entry_points.txt``) in a real
directory on ``sys.path``; the registry is driven in fresh interpreters, as
a start would be. The attacks: a plugin installed, removed or re-pointed
after the answer was kept must be seen at the next start, even when the
installer left old timestamps behind.
"""

from __future__ import annotations

import importlib.machinery
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pamtui.providers import type_cache

GROUP = "pamtui.providers"
OLD = time.time() - 3600  # older than SETTLE_SECONDS: the answer may be kept


def _plugin(site: Path, dist: str, type_name: str, module: str, *, old: bool = True) -> Path:
    """Install a plugin for real: its module and its dist-info in ``site``."""
    (site / f"{module}.py").write_text(
        "class Provider:\n"
        f"    TYPE = {type_name!r}\n"
        "    @classmethod\n"
        "    def from_config(cls, name, settings, context):\n"
        "        return cls()\n"
    )
    meta = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (meta / "entry_points.txt").write_text(f"[{GROUP}]\n{type_name} = {module}:Provider\n")
    if old:
        _age(site)
    return meta


def _age(site: Path, when: float = OLD) -> None:
    """Timestamps as an installer that keeps the archive's mtimes would leave them."""
    for path in [*site.rglob("*"), site]:
        os.utime(path, (when, when))


def _load(site: Path, home: Path, type_name: str) -> subprocess.CompletedProcess[str]:
    code = textwrap.dedent(
        f"""
        import sys
        from pamtui.providers import registry
        cls = registry.load_type({type_name!r})
        print(cls.TYPE, 'importlib.metadata' in sys.modules)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HOME": str(home)}
    env.pop("XDG_CACHE_HOME", None)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )


def _cache(home: Path) -> Path:
    return home / ".cache" / "pamtui" / type_cache.FILE_NAME


@pytest.fixture
def stdlib_finders(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the importlib_metadata backport's finder a test plugin installs here."""
    finders = [f for f in sys.meta_path if not hasattr(f, "find_distributions")]
    monkeypatch.setattr(sys, "meta_path", [*finders, importlib.machinery.PathFinder])


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "site"
    path.mkdir()
    return path


def test_the_second_start_loads_from_the_kept_answer_without_a_scan(
    site: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _plugin(site, "probe-one", "probe-one", "probe_one")
    first = _load(site, home, "probe-one")
    assert first.stdout.split() == ["probe-one", "True"], first.stderr  # scanned
    (kept,) = json.loads(_cache(home).read_text())["kept"].values()
    assert kept[GROUP]["probe-one"] == "probe_one:Provider"
    assert kept[GROUP]["demo"] == "pamtui.providers.demo:DemoProvider"
    second = _load(site, home, "probe-one")
    assert second.stdout.split() == ["probe-one", "False"], second.stderr  # no scan


def test_other_files_coming_and_going_beside_the_metadata_keep_the_answer(
    site: Path, tmp_path: Path
) -> None:
    """The current directory or a script's is on sys.path and changes all the time."""
    home = tmp_path / "home"
    _plugin(site, "probe-one", "probe-one", "probe_one")
    assert _load(site, home, "probe-one").returncode == 0
    (site / "notes.txt").write_text("edited just now\n")
    again = _load(site, home, "probe-one")
    assert again.stdout.split() == ["probe-one", "False"], again.stderr


def test_starts_with_another_sys_path_do_not_undo_each_others_answer(tmp_path: Path) -> None:
    home = tmp_path / "home"
    sites = [tmp_path / "one", tmp_path / "two"]
    for n, site in enumerate(sites):
        site.mkdir()
        _plugin(site, f"probe-{n}", f"probe-{n}", f"probe_{n}")
    for n, site in enumerate(sites):
        assert _load(site, home, f"probe-{n}").returncode == 0
    for n, site in enumerate(sites):
        again = _load(site, home, f"probe-{n}")
        assert again.stdout.split() == [f"probe-{n}", "False"], again.stderr


def test_a_plugin_installed_after_the_answer_was_kept_is_found(site: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    _plugin(site, "probe-one", "probe-one", "probe_one")
    assert _load(site, home, "probe-one").returncode == 0
    assert _cache(home).exists()
    # Installed later, with old timestamps everywhere, the directory's included.
    _plugin(site, "probe-two", "probe-two", "probe_two")
    _age(site)
    found = _load(site, home, "probe-two")
    assert found.stdout.split() == ["probe-two", "True"], found.stderr


def test_a_removed_plugin_is_unknown_at_the_next_start(site: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    meta = _plugin(site, "probe-one", "probe-one", "probe_one")
    _plugin(site, "probe-two", "probe-two", "probe_two")
    assert _load(site, home, "probe-two").returncode == 0
    for path in meta.iterdir():
        path.unlink()
    meta.rmdir()
    _age(site)
    gone = _load(site, home, "probe-one")
    assert gone.returncode != 0
    assert "unknown provider type 'probe-one'" in gone.stderr


def test_an_entry_point_edited_in_place_is_followed(site: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    meta = _plugin(site, "probe-one", "probe-one", "probe_one")
    assert _load(site, home, "probe-one").returncode == 0
    _plugin(site, "probe-other", "probe-other", "probe_other")
    # A develop install rewrites its entry_points.txt in the same directory.
    (meta / "entry_points.txt").write_text(f"[{GROUP}]\nprobe-one = probe_other:Provider\n")
    _age(site)
    moved = _load(site, home, "probe-one")
    assert moved.stdout.split() == ["probe-other", "True"], moved.stderr


def test_nothing_is_kept_right_after_an_install(site: Path, tmp_path: Path) -> None:
    """A second change within the same mtime tick could not be told apart: wait."""
    home = tmp_path / "home"
    _plugin(site, "probe-one", "probe-one", "probe_one", old=False)
    assert _load(site, home, "probe-one").returncode == 0
    assert not _cache(home).exists()


@pytest.mark.usefixtures("stdlib_finders")
def test_a_damaged_or_foreign_cache_means_a_scan(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _plugin(site, "probe-one", "probe-one", "probe_one")
    monkeypatch.setattr(sys, "path", [str(site)])
    kept = tmp_path / "kept.json"
    type_cache.remember(GROUP, {"probe-one": "probe_one:Provider"}, kept)
    assert type_cache.cached_types(GROUP, kept) == {"probe-one": "probe_one:Provider"}
    assert type_cache.cached_types("another.group", kept) is None
    data = json.loads(kept.read_text())
    (digest,) = data["kept"]
    for damaged in (
        "{not json",
        json.dumps({**data, "kept": {"0" * 64: data["kept"][digest]}}),
        json.dumps({**data, "kept": {digest: {GROUP: {"probe-one": 7}}}}),
        json.dumps({**data, "kept": {digest: [GROUP]}}),
        json.dumps({**data, "format": 1}),
        json.dumps([data]),
    ):
        kept.write_text(damaged)
        assert type_cache.cached_types(GROUP, kept) is None


@pytest.mark.usefixtures("stdlib_finders")
def test_a_cache_another_user_could_write_is_not_used(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer names the modules to import: a file others can write is ignored."""
    _plugin(site, "probe-one", "probe-one", "probe_one")
    monkeypatch.setattr(sys, "path", [str(site)])
    kept = tmp_path / "kept.json"
    type_cache.remember(GROUP, {"probe-one": "probe_one:Provider"}, kept)
    assert type_cache.cached_types(GROUP, kept) == {"probe-one": "probe_one:Provider"}
    assert kept.stat().st_mode & 0o077 == 0  # written for this user only
    for mode in (0o666, 0o620, 0o602):
        kept.chmod(mode)
        assert type_cache.cached_types(GROUP, kept) is None, oct(mode)
    kept.chmod(0o600)
    assert type_cache.cached_types(GROUP, kept) is not None
    # A link planted in the cache directory, even to a file of this user's.
    link = tmp_path / "link.json"
    link.symlink_to(kept)
    assert type_cache.cached_types(GROUP, link) is None


@pytest.mark.usefixtures("stdlib_finders")
def test_another_distribution_finder_disables_the_cache(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its distributions are not on sys.path: the fingerprint cannot see them change."""

    class Finder:
        @staticmethod
        def find_distributions(*_args: object, **_kwargs: object) -> list[object]:
            return []

    _plugin(site, "probe-one", "probe-one", "probe_one")
    monkeypatch.setattr(sys, "path", [str(site)])
    kept = tmp_path / "kept.json"
    type_cache.remember(GROUP, {"probe-one": "probe_one:Provider"}, kept)
    assert type_cache.cached_types(GROUP, kept) is not None
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    assert type_cache.cached_types(GROUP, kept) is None


def test_load_follows_the_entry_point_syntax() -> None:
    assert type_cache.load("os.path:join") is os.path.join
    assert type_cache.load("os.path : join [extra]") is os.path.join
    assert type_cache.load("os") is os
    with pytest.raises(ValueError):
        type_cache.load("not a value!")


@pytest.mark.usefixtures("stdlib_finders")
def test_only_the_last_answers_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tmp_path / "kept.json"
    for n in range(type_cache.KEPT + 1):
        site = tmp_path / f"site{n}"
        site.mkdir()
        _age(site)
        monkeypatch.setattr(sys, "path", [str(site)])
        type_cache.remember(GROUP, {f"probe-{n}": f"probe_{n}:Provider"}, kept)
    assert len(json.loads(kept.read_text())["kept"]) == type_cache.KEPT
    assert type_cache.cached_types(GROUP, kept) == {f"probe-{n}": f"probe_{n}:Provider"}
    monkeypatch.setattr(sys, "path", [str(tmp_path / "site0")])
    assert type_cache.cached_types(GROUP, kept) is None  # the oldest went
