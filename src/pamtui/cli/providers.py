"""pamtui providers and pamtui demo."""

from __future__ import annotations

import argparse
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    UsageError,
    print_json,
    print_table,
)


def cmd_providers(args: argparse.Namespace) -> int:
    from pamtui import config as config_mod
    from pamtui.providers import registry

    cfg = config_mod.load(args.config)
    types = registry.available_types()
    configured = [{"name": p.name, "type": p.type} for p in cfg.providers]
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
    known = {t.name for t in types}
    print_table(
        ["name", "type", "status"],
        [
            (p["name"], p["type"], "ok" if p["type"] in known else "TYPE NOT INSTALLED")
            for p in configured
        ],
    )
    return EXIT_OK if all(p["type"] in known for p in configured) else EXIT_FALSE


def cmd_demo(args: argparse.Namespace) -> int:
    from pamtui.config import resolve_db_path
    from pamtui.providers.demo import reset

    if not args.reset:
        raise UsageError("pamtui demo needs --reset")
    path = reset(resolve_db_path(args.db).parent)
    print(f"demo organisation restored ({path})")
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("providers", parents=[common], help="installed and configured providers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_providers)

    p = sub.add_parser("demo", parents=[common], help="the bundled demo organisation")
    p.add_argument("--reset", action="store_true", help="restore it to its initial state")
    p.set_defaults(func=cmd_demo)
