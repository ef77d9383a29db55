"""pamtui providers and pamtui demo."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    add_json_option,
    clean,
    plural,
    print_json,
    print_table,
)
from pamtui.safe_write import SafeWriteError, check_target, protected_files, safe_write_text


def cmd_providers(args: argparse.Namespace) -> int:
    from pamtui import config as config_mod
    from pamtui.services import catalog

    if args.settings is not None:
        return show_settings(args.settings, as_json=args.json, markdown=args.markdown)
    if args.markdown:
        raise UsageError("--markdown goes with --settings TYPE")

    cfg = config_mod.load(args.config)
    types = catalog.available_types()
    known = {t.name for t in types}
    configured = [
        {"name": p.name, "type": p.type, "status": _status(p.type, known)} for p in cfg.providers
    ]
    if args.json:
        print_json(
            {
                "types": [
                    {"type": t.name, "module": t.module, "distribution": t.distribution}
                    for t in types
                ],
                "configured": configured,
                "config": str(cfg.source) if cfg.source else "bundled demo",
            }
        )
        return EXIT_OK
    print("Installed provider types:")
    print_table(["type", "module", "from"], [(t.name, t.module, t.distribution) for t in types])
    print()
    print(f"Configured instances ({cfg.source or 'bundled demo configuration'}):")
    print_table(
        ["name", "type", "status"], [(p["name"], p["type"], p["status"]) for p in configured]
    )
    return EXIT_OK if all(p["status"] == "ok" for p in configured) else EXIT_FALSE


def _status(type_name: str, known: set[str]) -> str:
    """``ok``, ``TYPE NOT INSTALLED``, or which package to install."""
    from pamtui.errors import PamtuiError
    from pamtui.services import catalog

    if type_name not in known:
        return "TYPE NOT INSTALLED"
    try:
        missing = catalog.missing_packages(type_name)
    except PamtuiError as exc:  # the plugin's module failed to load
        return f"BROKEN: {exc}"
    if missing:
        return "MISSING " + ", ".join(f"{m} (pip install '{i}')" for m, i in missing)
    return "ok"


def show_settings(type_name: str, *, as_json: bool, markdown: bool) -> int:
    """``pamtui providers --settings TYPE``: the type's declared settings."""
    from pamtui.services.catalog import markdown_table, settings_of, text_lines

    declared = settings_of(type_name)
    if as_json:
        print_json({"type": type_name, "settings": declared.describe()})
    elif markdown:
        print(markdown_table(declared), end="")
    else:
        print(f"Settings of provider type {type_name} ([[providers]] with type = {type_name!r}):")
        for line in text_lines(declared):
            print(clean(line, max_length=200))
    return EXIT_OK


def scale_config(scale: int, *, seed: int | None = None, event_rate: float | None = None) -> str:
    """A config file for the generated ``scale``-account demo org (three providers)."""
    lines = [
        f"# pamtui demo at scale: {scale:,} accounts, about 3 credentials each,",
        "# across three simulated systems. Written by: pamtui demo --scale "
        f"{scale}{f' --seed {seed}' if seed is not None else ''}",
        "# Run it: pamtui --config THIS_FILE (the state file sits beside the database)",
    ]
    for system in ("idp", "git", "cloud"):
        lines += ["", "[[providers]]", f'name = "demo-{system}"', 'type = "demo"']
        lines += [f'system = "{system}"', f"scale = {scale}"]
        if seed is not None:
            lines.append(f"seed = {seed}")
        if event_rate is not None:
            lines.append(f"event_rate = {event_rate:g}")
    return "\n".join(lines) + "\n"


def _check_config_target(target: str, db_path: Path, *, force: bool) -> None:
    """Fail before generating anything if the config could not be written there."""
    given = Path(target).expanduser()
    try:
        given.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        check_target(given, protect=protected_files(db_path), force=force)
    except SafeWriteError as exc:
        raise UsageError(f"--write-config: {clean(exc)}") from None
    except OSError as exc:
        raise UsageError(f"--write-config: {clean(given.parent)}: {exc.strerror}") from None


def cmd_demo(args: argparse.Namespace) -> int:
    import asyncio
    import sys
    import time

    from pamtui import config as config_mod
    from pamtui.config import resolve_db_path
    from pamtui.services import identity
    from pamtui.services.demo import (
        MIN_ACCOUNTS,
        ensure_scaled,
        require_reset_allowed,
        reset_demo,
        reset_state,
        scaled_path,
        seed_drift,
    )

    state_dir = resolve_db_path(args.db).parent
    if args.scale is None:
        if not args.reset:
            raise UsageError("pamtui demo needs --reset or --scale N")
        config = config_mod.load(args.config)
        if any(p.type != "demo" for p in config.providers):
            # This database holds real work too: only the demo's own state is reset.
            path = reset_state(resolve_db_path(args.db), actor=identity.current_actor(config))
            if args.json:
                print_json({"state_file": str(path), "journal_rotated": False})
            else:
                print(f"demo organisation restored ({path})")
                print(
                    f"{config.source} configures real providers too: the queue, reviews, "
                    "drift snapshots and the journal's history were left as they are "
                    "(a demo_reset entry records the reset)"
                )
            return EXIT_OK
        done = reset_demo(resolve_db_path(args.db), actor=identity.current_actor(config))
        changed = asyncio.run(seed_drift(config, resolve_db_path(args.db)))
        if args.json:
            print_json(
                {
                    "state_file": str(done.state_file),
                    "journal_rotated": done.archive is not None,
                    "archive": str(done.archive) if done.archive else None,
                    "cleared": done.cleared,
                    "drift_snapshots_removed": done.snapshots_removed,
                    "reset_entry": done.reset_seq,
                    "drift_seeded": changed,
                }
            )
            return EXIT_OK
        print(f"demo organisation restored ({done.state_file})")
        forgot = [
            plural(done.cleared.get("queue_items", 0), "queue item"),
            plural(done.cleared.get("review_campaigns", 0), "review campaign"),
        ]
        print(
            f"forgot {', '.join(forgot)} and the drift snapshots of the old org; "
            f"journal entry {done.reset_seq} records the reset"
        )
        if done.archive is not None:
            print(f"the journal's earlier entries are archived in {done.archive}")
        if changed:
            print(
                f"to show drift, {clean(changed)} was made an admin behind pamtui's back: "
                "see pamtui drift"
            )
        return EXIT_OK
    if args.scale < MIN_ACCOUNTS:
        raise UsageError(f"--scale must be at least {MIN_ACCOUNTS}")
    db_path = resolve_db_path(args.db)
    if args.write_config is not None:
        _check_config_target(args.write_config, db_path, force=args.force)
    path = scaled_path(state_dir, args.scale, args.seed)
    actor = identity.current_actor(config_mod.load(args.config))
    if args.reset:  # refused before "generating…" is said, not after
        require_reset_allowed(db_path, actor)
    started = time.perf_counter()
    if args.reset or not path.exists():
        print(f"generating {args.scale:,} accounts into {path}…", file=sys.stderr, flush=True)
    if args.reset:
        reset_state(db_path, actor=actor, scale=args.scale, seed=args.seed)
    else:
        ensure_scaled(path, scale=args.scale, seed=args.seed)
    took = time.perf_counter() - started
    text = scale_config(args.scale, seed=args.seed, event_rate=args.event_rate)
    if args.write_config is None:
        sys.stdout.write(text)
        print(f"state file ready ({path}, {took:.1f} s)", file=sys.stderr)
        return EXIT_OK
    target = Path(args.write_config).expanduser()
    try:
        safe_write_text(target, text, protect=protected_files(db_path, path), force=args.force)
    except SafeWriteError as exc:
        raise UsageError(f"--write-config: {clean(exc)}") from None
    print(f"state file ready ({path}, {took:.1f} s); config written to {target}")
    print(f"run: pamtui --config {target}")
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("providers", parents=[common], help="installed and configured providers")
    add_json_option(p)
    p.add_argument(
        "--settings", metavar="TYPE", help="the settings a provider type takes (declared once)"
    )
    p.add_argument(
        "--markdown", action="store_true", help="with --settings: a Markdown table (the README's)"
    )
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("demo", parents=[common], help="the bundled demo organisation")
    p.add_argument("--reset", action="store_true", help="restore it to its initial state")
    p.add_argument(
        "--scale",
        type=int,
        metavar="N",
        help="generate an org of N accounts (about 3N credentials) and print its config",
    )
    p.add_argument("--seed", type=int, help="with --scale: the generator's seed")
    p.add_argument(
        "--event-rate", type=float, help="with --scale: simulated events per second per system"
    )
    p.add_argument(
        "--write-config",
        metavar="FILE",
        help="with --scale: write the config here (0600, never over the database), not stdout",
    )
    p.add_argument("--force", action="store_true", help="replace the --write-config file")
    add_json_option(p)
    p.set_defaults(func=cmd_demo)
