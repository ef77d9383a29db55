"""Who is acting: the OS account of the real uid, or the SSH key serve-ssh authenticated.

Never ``USER``/``LOGNAME`` (the environment is the caller's to set), never a
config file (anyone can write one), never a flag.

- **Local mode**: :func:`local_actor` names the OS account of the process's
  real uid (``pwd.getpwuid(os.getuid())``, ``uid:N`` when it has no passwd
  entry). Its roles come from ``[[operators]]`` when the config has that
  table, and are all of them when it has none: local mode is guardrails for
  one operator, who owns the database file anyway.
- **Bastion mode**: the serve-ssh child is told its identity once, by the
  service, through an inherited pipe (:func:`read_assumed`), before anything
  else runs; :func:`assume` makes it the process's actor for good.
"""

from __future__ import annotations

import json
import os
import pwd
from typing import Any

from pamtui.config import Config
from pamtui.errors import PamtuiError
from pamtui.model import ROLES, Actor

_assumed: Actor | None = None


class IdentityError(PamtuiError):
    """The identity handed to a child process is missing or malformed."""


def os_account() -> str:
    """The OS account of the real uid (not the environment's idea of it)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def roles_for(name: str, cfg: Config) -> frozenset[str]:
    """``name``'s roles in ``[[operators]]``; every role when the config has no such table."""
    if cfg.operators is None:
        return frozenset(ROLES)
    for entry in cfg.operators:
        if entry.name == name:
            return entry.roles
    return frozenset()


def local_actor(cfg: Config) -> Actor:
    name = os_account()
    return Actor(name, None, roles_for(name, cfg), "local")


def current_actor(cfg: Config) -> Actor:
    """The actor of this process: the one the service handed over, else the OS account."""
    return _assumed if _assumed is not None else local_actor(cfg)


def assume(actor: Actor) -> None:
    """Make ``actor`` this process's identity (the serve-ssh child, once, at start)."""
    global _assumed
    if _assumed is not None and _assumed != actor:
        raise IdentityError("this process has an identity already")
    _assumed = actor


# -- the pipe between serve-ssh and its child --------------------------------------


def encode(actor: Actor) -> bytes:
    return json.dumps(
        {
            "name": actor.name,
            "key": actor.key_fingerprint,
            "roles": sorted(actor.roles),
            "via": actor.via,
        }
    ).encode()


def decode(data: bytes) -> Actor:
    try:
        raw: Any = json.loads(data.decode())
        name, key, roles, via = raw["name"], raw["key"], raw["roles"], raw["via"]
    except (ValueError, KeyError, TypeError) as exc:
        raise IdentityError(f"malformed identity from the service: {exc}") from None
    if (
        not isinstance(name, str)
        or not name
        or not (key is None or isinstance(key, str))
        or not isinstance(roles, list)
        or not all(r in ROLES for r in roles)
        or via not in ("local", "ssh")
    ):
        raise IdentityError("malformed identity from the service")
    return Actor(name, key, frozenset(roles), via)


def read_assumed(fd: int) -> Actor:
    """Read the identity the service wrote on pipe ``fd`` (then closed), and assume it."""
    chunks: list[bytes] = []
    try:
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
            if sum(map(len, chunks)) > 65536:
                raise IdentityError("identity from the service is too long")
    except OSError as exc:
        raise IdentityError(f"cannot read the identity from the service: {exc}") from None
    finally:
        os.close(fd)
    actor = decode(b"".join(chunks))
    assume(actor)
    return actor
