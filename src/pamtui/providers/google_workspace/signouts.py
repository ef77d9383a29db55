"""``SignOuts``: when this provider last signed each user out, kept in its state dir.

Google has no API that lists a user's sessions, so ``sign_out`` is verified
by evidence instead: the sign-out Google accepted (recorded here, so a later
process, such as ``pamtui audit recheck``, still knows it) and no successful
sign-in in the Reports API's login activities since. The file is small
(user id -> time), written atomically and owner-only; a damaged or unwritable
file costs the evidence (verify then says "not verified"), never the revoke.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

from pamtui import kept_files
from pamtui.providers.base import iso_time
from pamtui.providers.kit.cursors import safe_file_name, write_private

log = logging.getLogger("pamtui.providers.google_workspace")


class SignOuts:
    def __init__(self, state_dir: Path | None, name: str) -> None:
        self.path = (
            None
            if state_dir is None
            else kept_files.PROVIDER_SIGNOUTS.in_directory(
                state_dir, f"google-workspace-{safe_file_name(name)}"
            )
        )
        self._memory: dict[str, datetime] = {}

    def _load(self) -> dict[str, datetime]:
        found = dict(self._memory)
        if self.path is None:
            return found
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return found
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable sign-out record %s: %s", self.path, exc)
            return found
        for user, text in raw.items() if isinstance(raw, dict) else []:
            when = iso_time(text)
            if isinstance(user, str) and when is not None:
                found[user] = max(when, found.get(user, when))
        return found

    def get(self, user: str) -> datetime | None:
        return self._load().get(user)

    def record(self, user: str, when: datetime | None = None) -> None:
        when = when or datetime.now(UTC)
        self._memory[user] = when
        if self.path is None:
            return
        known = self._load()
        known[user] = when
        text = json.dumps({u: t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for u, t in known.items()})
        try:
            write_private(self.path, text)
        except OSError as exc:
            log.warning("cannot save the sign-out record %s: %s", self.path, exc)
