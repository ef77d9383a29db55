"""Every file pamtui keeps beside its database, declared once.

The modules that own these files build their paths from here (the TOTP
store, the events store, the inventory and drift snapshots, the stream
cursors, session recordings, the journal's archives, the SSH host key, the
providers' state), and the safe writer (``safe_write.py``) refuses every one
of them as the target of a user's file (an export, a report, a config), with
``--force`` too. One list, read by both sides: a new kind of file declared
here is protected at once, and an owner cannot move its file where the
writer does not look.

A name is relative to the database's directory; ``{db}`` stands for the
database's file name. A :attr:`Kept.directory` protects every file in it,
existing or not; a name with ``*`` protects every file that matches it (the
providers' per-instance state). SQLite's sidecars of each file are covered
by the writer.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Kept:
    """One kind of file pamtui keeps beside its database."""

    name: str
    what: str
    """What it is, for the writer's refusal."""
    owner: str
    """The module that writes it."""
    directory: bool = False

    @property
    def is_pattern(self) -> bool:
        return "*" in self.name

    def at(self, db_path: Path | str, stem: str = "") -> Path:
        """Where it is for ``db_path`` (``stem`` fills a pattern's ``*``)."""
        db = Path(db_path).expanduser()
        return db.parent / self.name.format(db=db.name).replace("*", stem)

    def in_directory(self, directory: Path | str, stem: str = "") -> Path:
        """Where it is in the database's directory (a provider's ``state_dir``)."""
        if "{db}" in self.name:
            raise ValueError(f"{self.name} is named after the database")
        return Path(directory) / self.name.replace("*", stem)

    def matches(self, db_path: Path | str, name: str) -> bool:
        """True if ``name`` (in the database's directory) is this kind of file."""
        db = Path(db_path).expanduser()
        return fnmatch.fnmatchcase(name, self.name.format(db=db.name))


TOTP = Kept("{db}-totp", "operators' TOTP secrets", "services/totp_store.py")
EVENTS = Kept("{db}-events.sqlite", "the hub's shared event store", "services/event_store.py")
INVENTORY_SNAPSHOT = Kept(
    "{db}-inventory.sqlite", "the inventory snapshot", "services/inventory_snapshot.py"
)
ARCHIVES = Kept("{db}-archives", "the journal's archives", "journal/segments.py", directory=True)
RECORDINGS = Kept("recordings", "SSH session recordings", "services/recordings.py", directory=True)
DRIFT_SNAPSHOTS = Kept("snapshots.sqlite", "the drift snapshots", "services/drift.py")
STREAM_CURSORS = Kept("stream-cursors.json", "the stream cursors", "providers/kit/cursors.py")
SSH_HOST_KEY = Kept("ssh_host_ed25519_key", "serve-ssh's host key", "ssh/keys.py")
UI_SETTINGS = Kept("ui-settings.json", "the TUI's saved settings", "services/ui_settings.py")
PROVIDER_CURSOR = Kept("*.cursor", "a provider's own stream cursor", "providers/kit/cursors.py")
PROVIDER_SIGNOUTS = Kept(
    "*.signouts.json", "a provider's sign-out record", "providers/google_workspace/signouts.py"
)
DEMO_STATE = Kept("demo.sqlite", "the demo organisation's state", "providers/demo/state.py")

BESIDE_DATABASE: tuple[Kept, ...] = (
    TOTP,
    EVENTS,
    INVENTORY_SNAPSHOT,
    ARCHIVES,
    RECORDINGS,
    DRIFT_SNAPSHOTS,
    STREAM_CURSORS,
    SSH_HOST_KEY,
    UI_SETTINGS,
    PROVIDER_CURSOR,
    PROVIDER_SIGNOUTS,
    DEMO_STATE,
)
"""What the safe writer refuses beside a protected database."""
