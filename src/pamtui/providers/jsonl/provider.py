"""``JsonlProvider``: an API gateway's JSON-lines access log as a live event stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any, ClassVar

from pamtui.model import (
    AccessEvent,
    Account,
    Capability,
    Credential,
    RevokeAction,
    RevokeResult,
    VerifyResult,
)
from pamtui.providers.base import ProviderConfigError, ProviderContext, ProviderError, where
from pamtui.providers.jsonl import records
from pamtui.providers.jsonl.records import (
    _lookup,
    _Malformed,
    _parse_cursor,
    _parse_ts,
    _short,
    _status,
    _Tail,
    _text,
)
from pamtui.providers.jsonl.settings import SETTINGS
from pamtui.providers.jsonl.tail import FileTail
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import (
    Settings,
)

SAVE_EVERY_S = 1.0
"""While events keep coming, the cursor file is rewritten at most this often."""


_ONLY_EVENTS = "this provider only reads events"


class JsonlProvider(FileTail, DeclaredProvider):
    """Access events tailed from a JSON-lines log file or a command's output."""

    type: ClassVar[str] = "jsonl"
    SETTINGS: ClassVar[Settings] = SETTINGS
    capabilities = frozenset({Capability.EVENTS})

    def __init__(
        self,
        name: str,
        *,
        fields: Mapping[str, str],
        path: Path | None = None,
        command: list[str] | None = None,
        ts_format: str = "iso8601",
        poll_interval_s: float = 0.25,
        start_at: str = "end",
        state_dir: Path | None = None,
    ) -> None:
        if (path is None) == (command is None):
            raise ProviderConfigError(
                f"provider {name!r} (type jsonl): set exactly one of path, command"
            )
        self.name = name
        self.path = path
        self.command = list(command) if command is not None else None
        self.fields = {key: str(value).split(".") for key, value in fields.items()}
        self.ts_format = ts_format
        self.poll_interval_s = float(poll_interval_s)
        self.start_at = start_at
        self.state_dir = state_dir
        self.skipped = 0
        """Malformed lines skipped so far."""
        self.last_error = ""
        """What was wrong with the latest skipped line (or the cursor file)."""
        self._procs: set[asyncio.subprocess.Process] = set()
        self._saved = SavedCursor(
            state_dir if path is not None else None,
            "jsonl",
            name,
            scope={"path": str(path)},
            every=SAVE_EVERY_S,
        )
        """The last cursor, kept between runs for this log file (path mode only)."""

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> JsonlProvider:
        if (values["path"] is None) == (values["command"] is None):
            raise ProviderConfigError(
                f"{where(name, cls.type)}: set exactly one of 'path' (a log file) or "
                "'command' (an argv list)"
            )
        return cls(
            name,
            state_dir=Path(context.state_dir),
            **SETTINGS.own(values),
        )

    async def list_accounts(self) -> AsyncIterator[Account]:
        none: tuple[Account, ...] = ()  # an events-only provider: an empty async iterator
        for account in none:
            yield account

    async def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        none: tuple[Credential, ...] = ()
        for credential in none:
            yield credential

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]:
        return []

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult:
        raise ProviderError(_ONLY_EVENTS)

    async def verify(self, action: RevokeAction) -> VerifyResult:
        raise ProviderError(_ONLY_EVENTS)

    def _skip(self, where: str, reason: str) -> None:
        self.skipped += 1
        self.last_error = f"{where}: {reason}"

    def _event(self, line: bytes | None, cursor: str, where: str) -> AccessEvent | None:
        """The event on one line, or None (a malformed line is counted)."""
        if line is None:
            self._skip(where, f"line longer than {records.MAX_LINE} bytes")
            return None
        text = line.decode("utf-8", errors="replace").strip()
        if not text:
            return None
        try:
            try:
                record = json.loads(text)
            except (ValueError, RecursionError) as exc:
                raise _Malformed(f"not JSON ({exc})") from None
            if not isinstance(record, dict):
                raise _Malformed(f"not a JSON object but {type(record).__name__}")
            values = {key: _lookup(record, parts) for key, parts in self.fields.items()}
            ts = _parse_ts(values["ts"], self.ts_format)
            account = values["account"]
            if account is None or account == "":
                raise _Malformed(
                    f"account missing (fields.account = {'.'.join(self.fields['account'])!r})"
                )
            if isinstance(account, (dict, list)):
                raise _Malformed(f"account {_short(account)} is not a string")
            return AccessEvent(
                provider=self.name,
                ts=ts,
                account_id=_text(account),
                credential_id=_text(values.get("credential")),
                method=_text(values.get("method")),
                path=_text(values.get("path")),
                status=_status(values.get("status")),
                source_ip=_text(values.get("source_ip")),
                user_agent=_text(values.get("user_agent")),
                cursor=cursor,
            )
        except _Malformed as exc:
            self._skip(where, str(exc))
            return None

    def _consume(self, tail: _Tail, data: bytes) -> list[AccessEvent]:
        events = []
        for line, length in tail.lines.feed(data):
            start = tail.pos
            tail.pos += length
            event = self._event(line, f"{tail.ino}:{tail.pos}", f"{tail.label} at byte {start}")
            if event is not None:
                events.append(event)
        return events

    def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        if self.command is not None:
            return self._stream_command()
        if since is not None:
            _parse_cursor(since)  # fail early on a foreign cursor
        return self._stream_file(since)

    async def aclose(self) -> None:
        for proc in list(self._procs):
            await self._stop(proc)

    def __repr__(self) -> str:
        source = f"path={self.path}" if self.path is not None else f"command={self.command!r}"
        return f"JsonlProvider(name={self.name!r}, {source})"
