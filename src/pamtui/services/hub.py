"""The serve-ssh service's hub: each provider synced and polled once, for every session.

A child process of the service (``python -m pamtui.cli.hub``), not a thread
in it: polling and decoding thousands of events a second holds the GIL, and
in the service's process that would stall every SSH connection's I/O; as a
child it is also ended and restarted on its own (a crash in it takes down
neither the listener nor a session), and its memory is counted apart.

It does two things:

- **the stream**: published into ``<db>-events.sqlite``
  (services/event_store.py), resuming each stream from the cursors stored
  with the events; sessions started with ``--follow-hub`` read that file
  instead of their own stream (services/shared_stream.py);
- **the inventory**: every ``[ssh] inventory_refresh_seconds`` it runs
  ``python -m pamtui.cli.hub --inventory-once``, a short-lived grandchild
  that syncs every provider, flags, records drift and publishes the shared
  inventory (services/shared_inventory.py). Sessions read that file instead
  of listing the providers.

Revocation still calls providers directly, from the operator's session, and
verifies there.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

from pamtui import config as config_mod
from pamtui.model import ROLES, Actor
from pamtui.services.event_store import EventStore
from pamtui.services.session import Session, build_providers
from pamtui.services.shared_stream import publish
from pamtui.services.stream import EventFeed

SERVICE_ACTOR = Actor("system", None, frozenset(ROLES), "service")
"""Who the hub's syncs act as in the journal (drift, people history): the service."""


def _log(message: str) -> None:
    print(f"pamtui hub: {message}", file=sys.stderr, flush=True)


async def run_hub(db_path: Path, config_path: str | None) -> None:
    """Publish every provider's stream and the shared inventory until cancelled."""
    cfg = config_mod.load(config_path)
    providers = build_providers(cfg, state_dir=db_path.parent)
    store = EventStore.beside(db_path, writer=True)
    refresher = asyncio.create_task(
        keep_inventory(db_path, config_path, cfg.ssh.inventory_refresh_seconds)
    )
    try:
        feed = EventFeed(providers, since=store.cursors())
        await publish(feed, store)
    finally:
        refresher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await refresher
        for provider in providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        store.close()


async def keep_inventory(db_path: Path, config_path: str | None, every: float) -> None:
    """Refresh the shared inventory now and then every ``every`` seconds, one at a time."""
    argv = [sys.executable, "-m", "pamtui.cli.hub", "--db", str(db_path), "--inventory-once"]
    if config_path is not None:
        argv += ["--config", config_path]
    while True:
        started = time.monotonic()
        child = await asyncio.create_subprocess_exec(*argv, stdin=asyncio.subprocess.DEVNULL)
        try:
            status = await child.wait()
        except asyncio.CancelledError:
            with contextlib.suppress(ProcessLookupError):
                child.kill()
            await child.wait()
            raise
        took = time.monotonic() - started
        if status != 0:
            _log(f"inventory refresh ended with status {status} after {took:.1f} s")
        await asyncio.sleep(max(1.0, every - took))


async def refresh_once(db_path: Path, config_path: str | None) -> int:
    """One shared-inventory refresh (the ``--inventory-once`` grandchild)."""
    from pamtui.services.shared_inventory import refresh_inventory

    session = Session.open(config_path=config_path, db_path=str(db_path), actor=SERVICE_ACTOR)
    try:
        started = time.monotonic()
        line = await refresh_inventory(session)
        _log(f"{line} in {time.monotonic() - started:.1f} s")
    finally:
        await session.aclose()
    return 0


def main(db_path: Path, config_path: str | None, *, inventory_once: bool = False) -> int:
    if inventory_once:
        return asyncio.run(refresh_once(db_path, config_path))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_hub(db_path, config_path))
    return 0
