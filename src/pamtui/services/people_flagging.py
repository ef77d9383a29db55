"""UNOWNED, MOVER and EXCESS for the accounts pane, with the heavy part in a thread.

Correlating 100,000 accounts with an 80,000-person roster takes about a second
of pure computation. Run on the event loop, as it was, it froze the TUI for
that second just after the providers answered: keystrokes in the accounts
filter waited behind it. Here the steps that talk to providers or to the
database stay on the event loop (the roster and job history are async
provider calls; the manual links and the roles history live behind the
journal's connection, which only the loop's thread uses), and the pure
computation (the correlation, and turning it and the movers' assessment into
flags) runs in a worker thread. What is computed is unchanged: the same calls
on the same inputs, in the same order as ``PeopleService.refresh`` and
``MoversService.assess``.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pamtui.model import RiskFlag
from pamtui.services.inventory import AccountKey, AccountView
from pamtui.services.movers import people_flags
from pamtui.services.thread_handover import quick_gil_handover

if TYPE_CHECKING:
    from pamtui.services.session import Session


async def compute_people_flags(session: Session) -> dict[AccountKey, frozenset[RiskFlag]]:
    """The roster's flags for every account the inventory holds now.

    Raises what ``PeopleService.refresh`` and ``MoversService.assess`` raise
    (``PamtuiError`` for a problem the operator should read).
    """
    people = session.people
    views = session.inventory.rows()  # a list of frozen views: safe to read from a thread
    await people.load_roster()
    overrides = people.store.load()
    with quick_gil_handover():
        correlation = await asyncio.to_thread(people.correlate, views, overrides)
    movers = await session.movers.assess(correlation, views)
    with quick_gil_handover():
        return await asyncio.to_thread(people_flags, correlation, movers)


async def flag_people(session: Session) -> list[AccountView]:
    """Compute the roster's flags (``compute_people_flags``) and merge them into the inventory.

    Returns the accounts whose flags changed, as the inventory now holds them:
    the pane redraws those rather than reloading 100,000 rows. The merge
    happens on the event loop, where the inventory is used.
    """
    flags = await compute_people_flags(session)
    inventory = session.inventory
    old = inventory.people_flags
    inventory.set_people_flags(flags)
    changed = [key for key in old.keys() | flags.keys() if old.get(key) != flags.get(key)]
    return [view for key in changed if (view := inventory.views.get(key)) is not None]
