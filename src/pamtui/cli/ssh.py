"""pamtui serve-ssh: the read-only audit screen over SSH (see docs/ssh.md)."""

from __future__ import annotations

import argparse
import errno
import ipaddress
import sys
from pathlib import Path
from typing import Any

from pamtui.cli.common import EXIT_OK, UsageError, plural

DEFAULT_KEYS_NAME = "ssh_authorized_keys"


def default_authorized_keys() -> Path:
    from pamtui.config import default_config_path

    return default_config_path().parent / DEFAULT_KEYS_NAME


def _positive(kind: type, what: str):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value

    return parse


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _pick(flag: Any, configured: Any) -> Any:
    """A flag given on the command line wins over the config's [ssh] value."""
    return configured if flag is None else flag


def cmd_serve_ssh(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from pamtui import config as config_mod
    from pamtui.ssh.keys import (
        KeysError,
        default_host_key_path,
        load_authorized_keys,
        load_or_create_host_key,
    )
    from pamtui.ssh.limits import Limits
    from pamtui.ssh.server import AuditSshServer, ServeOptions, log

    db_path = config_mod.resolve_db_path(args.db)
    config_path, _named = config_mod.resolve_config_path(args.config)
    config = config_mod.load(args.config)  # a broken config fails here, not in every session
    keys_path = Path(args.authorized_keys).expanduser() if args.authorized_keys else None
    keys_path = keys_path or default_authorized_keys()
    host_key_path = (
        Path(args.host_key).expanduser() if args.host_key else default_host_key_path(db_path)
    )
    try:
        keys = load_authorized_keys(keys_path)
        host_key = load_or_create_host_key(host_key_path)
    except KeysError as exc:
        raise UsageError(str(exc)) from exc
    options = ServeOptions(
        db_path=db_path,
        config_path=config_path if config_path.exists() else None,
        authorized_keys=keys,
        host_key=host_key,
        host=args.host,
        port=args.port,
        idle_timeout=args.idle_timeout,
        limits=Limits(
            login_grace=_pick(args.login_grace, config.ssh.login_grace_seconds),
            max_unauthenticated=config.ssh.max_unauthenticated,
            max_unauthenticated_per_source=_pick(
                args.max_unauthenticated_per_source, config.ssh.max_unauthenticated_per_source
            ),
            max_connections=config.ssh.max_connections,
            max_connections_per_operator=config.ssh.max_connections_per_operator,
            max_sessions=_pick(args.max_sessions, config.ssh.max_sessions),
            max_sessions_per_operator=_pick(
                args.max_sessions_per_operator, config.ssh.max_sessions_per_operator
            ),
        ),
        forward=config.forward,
        hub=config.ssh.hub,
        operators=config.operators or (),
    )

    async def serve() -> int:
        server = AuditSshServer(options)
        try:
            port = await server.start()
        except OSError as exc:
            await server.close()
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"--port {args.port}: address {args.host}:{args.port} is already in use"
                ) from exc
            raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if not _is_loopback(args.host):
            log(f"WARNING: listening on {args.host}, not only on this machine")
        log(
            f"listening on {args.host}:{port}; host key {host_key.get_fingerprint('sha256')}; "
            f"{plural(len(keys), 'key')} for {', '.join(keys.operators)}; journal {db_path}"
        )
        try:
            await stop.wait()
        finally:
            log("stopping: ending the sessions")
            await server.close()
        return EXIT_OK

    try:
        return asyncio.run(serve())
    except KeyboardInterrupt:
        print("pamtui: interrupted", file=sys.stderr)
        return 130


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve-ssh",
        parents=[common],
        help="serve the read-only audit screen over SSH (public keys only)",
        description="An SSH server whose only program is the read-only audit review screen. "
        "Public-key authentication only; each key in the authorized_keys file names its "
        'operator (pamtui-operator="alice"), who must be the SSH user name. See docs/ssh.md.',
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; anything else is reachable from outside)",
    )
    p.add_argument(
        "--port", type=int, default=2222, help="TCP port (default 2222; 0 picks a free one)"
    )
    p.add_argument(
        "--authorized-keys",
        metavar="FILE",
        help=f"keys and their operators (default: {DEFAULT_KEYS_NAME} next to the config file)",
    )
    p.add_argument(
        "--host-key",
        metavar="FILE",
        help="the server's private host key (default: generated once, 0600, next to the db)",
    )
    p.add_argument(
        "--idle-timeout",
        metavar="SECONDS",
        type=_positive(float, "a positive number of seconds"),
        default=900.0,
        help="close a session after this long without input (default 900)",
    )
    p.add_argument(
        "--max-sessions",
        metavar="N",
        type=_positive(int, "a positive integer"),
        default=None,
        help="concurrent audit sessions; more are refused with a message "
        "(default: [ssh] max_sessions, 4)",
    )
    p.add_argument(
        "--max-sessions-per-operator",
        metavar="N",
        type=_positive(int, "a positive integer"),
        default=None,
        help="concurrent sessions of one operator (default: [ssh] max_sessions_per_operator, 2)",
    )
    p.add_argument(
        "--login-grace",
        metavar="SECONDS",
        type=_positive(float, "a positive number of seconds"),
        default=None,
        help="close a connection that has not logged in by then "
        "(default: [ssh] login_grace_seconds, 10)",
    )
    p.add_argument(
        "--max-unauthenticated-per-source",
        metavar="N",
        type=_positive(int, "a positive integer"),
        default=None,
        help="connections not logged in yet from one address; past it the oldest is closed "
        "(default: [ssh] max_unauthenticated_per_source, 8)",
    )
    p.set_defaults(func=cmd_serve_ssh)
