"""The serve-ssh service's hub: each provider's event stream polled once, for every session.

A child process of the service (``python -m pamtui.cli.hub``), not a thread
in it: polling and decoding thousands of events a second holds the GIL, and
in the service's process that would stall every SSH connection's I/O; as a
child it is also ended and restarted on its own (a crash in it takes down
neither the listener nor a session), and its memory is counted apart.

It publishes into ``<db>-events.sqlite`` (services/event_store.py), resuming
each stream from the cursors stored with the events, and sessions started
with ``--follow-hub`` read that file instead of their own stream
(services/shared_stream.py). Revocation still calls providers directly.

Not done yet (issue 14): the hub does not sync the inventory for the
sessions; each session still lists every provider once at its start.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from pamtui import config as config_mod
from pamtui.services.event_store import EventStore
from pamtui.services.session import build_providers
from pamtui.services.shared_stream import publish
from pamtui.services.stream import EventFeed


async def run_hub(db_path: Path, config_path: str | None) -> None:
    """Publish every provider's stream into the shared store until cancelled."""
    cfg = config_mod.load(config_path)
    providers = build_providers(cfg, state_dir=db_path.parent)
    store = EventStore.beside(db_path, writer=True)
    try:
        feed = EventFeed(providers, since=store.cursors())
        await publish(feed, store)
    finally:
        for provider in providers.values():
            with contextlib.suppress(Exception):
                await provider.aclose()
        store.close()


def main(db_path: Path, config_path: str | None) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_hub(db_path, config_path))
    return 0
