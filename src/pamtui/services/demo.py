"""The bundled demo organisation: restore it, or generate one at a given scale.

What ``pamtui demo`` does, through the services layer so the CLI never imports
the demo provider's modules (import-linter holds that rule, see pyproject.toml).

:func:`reset_demo` restores the whole demo, not only the simulated providers:
what pamtui remembers about the old org (revocations in the queue, review
campaigns, drift snapshots, the journal's entries) describes accounts and
credentials that are back to their first state, so ``audit recheck`` would
report every old revocation as "CAME BACK". The journal is rotated (its
entries archived where ``audit verify`` finds them, the chain continued) and
the new segment says the demo was reset.

So that the drift view has something to show, :func:`seed_drift` then takes
the first snapshot of the fresh org and changes one account "behind pamtui's
back", as an administrator with console access could: the next sync (``pamtui
drift``, or the TUI) reports a privilege granted and an admin token created.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from pamtui.config import Config
from pamtui.journal import Journal
from pamtui.model import AccountKind, AccountStatus, Actor, OwnerStatus
from pamtui.providers.demo import reset
from pamtui.providers.demo import state as demo_state
from pamtui.providers.demo.generate import MIN_ACCOUNTS
from pamtui.providers.demo.scaled import ensure_scaled, scaled_path
from pamtui.services.drift import snapshot_path
from pamtui.services.journal import refuse_to_create, require_rotate

__all__ = [
    "MIN_ACCOUNTS",
    "DemoReset",
    "ensure_scaled",
    "require_reset_allowed",
    "reset",
    "reset_demo",
    "reset_state",
    "scaled_path",
    "seed_drift",
]

DRIFT_GROUP = "Okta Super Admins"
DRIFT_TOKEN = "00tMINTEDOUTSIDEPAMTUI"

JOURNAL_DEMO_RESET = "demo_reset"
_CLEARED_TABLES = ("review_items", "review_campaigns", "queue_items")


@dataclass(frozen=True)
class DemoReset:
    """What :func:`reset_demo` did, for the CLI to report."""

    state_file: Path
    archive: Path | None = None
    """Where the journal's earlier entries went (None: the journal was empty)."""
    cleared: dict[str, int] = field(default_factory=dict)
    """Rows removed per table (queue items, review campaigns and items)."""
    snapshots_removed: bool = False
    reset_seq: int = 0
    """The ``demo_reset`` journal entry."""


def reset_demo(db_path: Path, *, actor: Actor) -> DemoReset:
    """Restore the demo providers and forget what pamtui recorded about the old org.

    An admin's act, like ``audit rotate``: it rotates the journal and clears the
    queue, the reviews and the drift (a journalled refusal for anyone else).
    """
    require_reset_allowed(db_path, actor)
    state = reset(db_path.parent)
    journal = Journal.open(db_path)
    try:
        archive = None
        if journal.head() is not None:
            _, _, archive = journal.rotate(actor=actor.name)
        with journal.transaction() as tx:
            cleared = {t: tx.execute(f"DELETE FROM {t}").rowcount for t in _CLEARED_TABLES}
            snapshots = snapshot_path(db_path)
            removed = snapshots.exists()
            for path in (snapshots, Path(f"{snapshots}-wal"), Path(f"{snapshots}-shm")):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            entry = tx.append(
                actor.name,
                JOURNAL_DEMO_RESET,
                detail={
                    "state_file": state.name,
                    "archive": archive.name if archive else "",
                    "cleared": cleared,
                    "drift_snapshots_removed": removed,
                },
            )
    finally:
        journal.close()
    return DemoReset(state, archive, cleared, removed, entry.seq)


def reset_state(
    db_path: Path, *, actor: Actor, scale: int | None = None, seed: int | None = None
) -> Path:
    """Rebuild only a demo state file (``demo --reset`` beside real providers, or
    ``demo --scale N --reset``): an admin's too, since it brings back every access
    revoked in that org (a journalled refusal for anyone else).

    Journalled as one ``demo_reset`` entry with the full reset's detail keys:
    nothing archived, nothing cleared, plus the scale and seed when given.
    """
    require_reset_allowed(db_path, actor)
    state = reset(db_path.parent, scale=scale, seed=seed)
    detail: dict[str, object] = {
        "state_file": state.name,
        "archive": "",
        "cleared": {},
        "drift_snapshots_removed": False,
    }
    if scale is not None:
        detail["scale"] = scale
        detail["seed"] = seed
    journal = Journal.open(db_path)
    try:
        journal.append(actor.name, JOURNAL_DEMO_RESET, detail=detail)
    finally:
        journal.close()
    return state


def require_reset_allowed(db_path: Path, actor: Actor) -> None:
    """Refuse (journalled) anyone but an admin, once the database holds a history.

    A new database has nothing recorded to guard, but an auditor creates none.
    """
    refuse_to_create(actor, db_path)
    if not db_path.exists():
        return
    journal = Journal.open(db_path)
    try:
        if journal.head() is not None:
            require_rotate(journal, actor)
    finally:
        journal.close()


async def seed_drift(cfg: Config, db_path: Path) -> str | None:
    """Snapshot the fresh demo, then grant one idp account admin behind pamtui's back.

    Returns the account's name (None when the demo has no such account, e.g.
    a config without ``demo-idp``): the next sync shows it as drift.
    """
    from pamtui.services.session import Session

    session = Session.open(cfg=cfg, db_path=str(db_path))
    try:
        await session.inventory.sync()
        plain = sorted(
            (
                v
                for v in session.inventory.rows()
                if v.account.provider == "demo-idp"
                and v.account.status is AccountStatus.ACTIVE
                and v.account.kind is AccountKind.HUMAN
                and v.account.owner_status is OwnerStatus.EMPLOYED
                and not v.flags
            ),
            key=lambda v: v.account.name,
        )
        if not plain:
            return None
        account = plain[0].account
        path = demo_state.default_path(db_path.parent)
        demo_state.grant_privilege(path, account.id, DRIFT_GROUP)
        demo_state.add_credential(
            path,
            account.id,
            DRIFT_TOKEN,
            scopes=["okta.admin.read"],
            label="minted in the admin console",
        )
        return account.name
    finally:
        await session.aclose()
