"""pamtui config path | config check, and pamtui doctor.

``config path`` says which file is used and why (``--config``,
``$PAMTUI_CONFIG`` or the platform's default), ``config check`` validates it
(exit 0, or 2 with the usual one-line error), and ``doctor`` checks the whole
installation (services/doctor.py): exit 0 when every check is ok, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from pamtui.cli.common import (
    EXIT_FALSE,
    EXIT_OK,
    add_json_option,
    print_json,
)
from pamtui.sanitize import clean


def cmd_config(args: argparse.Namespace) -> int:
    from pamtui import config as config_mod

    path, why = config_mod.config_source(args.config)
    if args.verb == "path":
        exists = path.exists()
        used = str(path) if exists else "the bundled demo organisation"
        if args.json:
            print_json({"path": str(path), "from": why, "exists": exists, "used": used})
        elif exists:
            print(f"{path} (from {why})")
        else:
            print(f"{path} (from {why}): no such file, so pamtui runs the bundled demo")
        return EXIT_OK
    cfg = config_mod.load(args.config)  # a ConfigError is the usual one line, exit 2
    _build(cfg, config_mod.resolve_db_path(args.db).parent)
    names = ", ".join(p.name for p in cfg.providers)
    if args.json:
        print_json(
            {
                "ok": True,
                "path": str(cfg.source) if cfg.source else None,
                "from": why,
                "providers": [{"name": p.name, "type": p.type} for p in cfg.providers],
                "policies": len(cfg.policies),
                "forward": [d.name for d in cfg.forward],
            }
        )
    elif cfg.source is None:
        print(f"ok: no file at {path} (from {why}); the bundled demo ({names})")
    else:
        print(f"ok: {cfg.source} (from {why}); providers: {clean(names)}")
    return EXIT_OK


def _build(cfg: Any, state_dir: Any) -> None:
    """Create each provider (settings, secrets) and parse the policies, as a session would.

    Nothing is asked of a provider: creating one only reads its settings.
    """
    from pamtui.services.baselines import parse_baselines
    from pamtui.services.policy import parse_policies
    from pamtui.services.session import build_providers

    async def build() -> None:
        providers = build_providers(cfg, state_dir)
        try:
            parse_policies(cfg.policies, cfg.source, providers=list(providers))
            parse_baselines(cfg.baselines, cfg.source, providers=list(providers))
        finally:
            for provider in providers.values():
                await provider.aclose()

    asyncio.run(build())


def cmd_doctor(args: argparse.Namespace) -> int:
    from pamtui.services.doctor import diagnose, summary

    report = asyncio.run(diagnose(args.config, args.db, timeout_s=args.timeout))
    if args.json:
        print_json({"ok": report.ok, "checks": [c.as_dict() for c in report.checks]})
    else:
        for check in report.checks:
            mark = "ok " if check.ok else "ERR"
            print(f"[{mark}] {check.area}: {check.detail}")
        print(summary(report.checks))
    return EXIT_OK if report.ok else EXIT_FALSE


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "config", parents=[common], help="which config file is used, and is it valid"
    )
    p.add_argument(
        "verb",
        choices=["path", "check"],
        help="path: the file used and why; check: validate it (exit 2 with the error)",
    )
    add_json_option(p)
    p.set_defaults(func=cmd_config)

    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check config, file modes, keyring, providers and forwarding (exit 1 on a problem)",
        description="Check this installation: the config file, the modes of the journal's "
        "files, whether the journal opens, the keyring backend, each provider (its packages, and the first page of its "
        "accounts within --timeout), and each [[forward]] receiver's lag. Changes nothing.",
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long each provider has to answer (default 10)",
    )
    add_json_option(p)
    p.set_defaults(func=cmd_doctor)
