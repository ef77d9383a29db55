"""``AuditLog``: the organisation audit log as the event stream; its cursor."""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pamtui.model import (
    AccessEvent,
)
from pamtui.providers.base import ProviderError
from pamtui.providers.base import text as _text
from pamtui.providers.github.values import _epoch_ms, _id
from pamtui.providers.http import (
    HttpClient,
    HttpError,
    Sleep,
)
from pamtui.providers.kit.cursors import SavedCursor

_DENIED = ("deny", "denied", "reject", "rejected", "block", "blocked", "fail", "failed", "failure")


_VERBS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("DELETE", ("remove", "destroy", "delete", "revoke", "deauthorize", "uninstall", "cancel")),
    ("GET", ("clone", "fetch", "view", "download", "access", "read", "list", "export")),
    (
        "PATCH",
        (
            "update",
            "change",
            "rename",
            "edit",
            "enable",
            "disable",
            "set",
            "transfer",
            "archive",
            "unarchive",
            "promote",
            "demote",
            "convert",
            "reinstate",
        ),
    ),
    ("POST", ("create", "add", "invite", "grant", "push", "install", "approve", "request")),
)


def _iso_second(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(ms // 1000))


def encode_cursor(ts_ms: int, seen: set[str] | frozenset[str]) -> str:
    return json.dumps([ts_ms, sorted(seen)], separators=(",", ":"))


def decode_cursor(cursor: str) -> tuple[int, frozenset[str]]:
    try:
        data = json.loads(cursor)
    except (TypeError, ValueError):
        data = None
    if (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], int)
        and not isinstance(data[0], bool)
        and data[0] >= 0
        and isinstance(data[1], list)
        and all(isinstance(d, str) for d in data[1])
    ):
        return data[0], frozenset(data[1])
    raise ProviderError(f"not a github audit-log cursor: {str(cursor)[:80]!r}")


def _method(action: str) -> str:
    words = re.split(r"[._\-]", action.lower())
    for verb in reversed(words[1:] or words):
        for method, markers in _VERBS:
            if any(verb == m or verb.startswith(m) for m in markers):
                return method
    return "POST"


def _status(entry: Mapping[str, Any], action: str) -> int:
    words = set(re.split(r"[._\-]", action.lower()))
    for key in ("result", "outcome", "saml_response", "status"):
        value = _text(entry.get(key)).lower()
        if value:
            words |= set(re.split(r"[._\- ]", value))
    return 403 if words & set(_DENIED) else 200


class AuditLog:
    """The audit-log stream (a mixin of :class:`GitHubProvider`)."""

    name: str
    http: HttpClient
    audit_log: bool
    audit_include: str
    poll_seconds: float
    backfill_hours: float
    _org_path: str
    _saved: SavedCursor
    _sleep: Sleep
    _clock: Any
    _login_ids: dict[str, str]
    _token_pats: dict[str, str]

    if TYPE_CHECKING:  # provided by GitHubProvider and its base DeclaredProvider

        @property
        def where(self) -> str: ...

        def _list(
            self, path: str, params: Mapping[str, Any] | None = None
        ) -> AsyncIterator[Any]: ...

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """Audit-log events after ``since``, polling every ``poll_seconds``, forever."""
        if not self.audit_log:
            return
        saved = None if since else self._load_cursor()
        if since or saved:
            ts_ms, seen = decode_cursor(since or saved or "")
        else:
            ts_ms = int((self._clock() - self.backfill_hours * 3600) * 1000)
            seen = frozenset()
        current: set[str] = set(seen)
        delivered: str | None = None
        path = f"{self._org_path}/audit-log"
        while True:
            params = {
                "phrase": f"created:>={_iso_second(ts_ms)}",
                "order": "asc",
                "include": self.audit_include,
            }
            try:
                async for entry in self._list(path, params):
                    when = _epoch_ms(entry.get("@timestamp", entry.get("created_at")))
                    if when is None:
                        continue
                    doc = _text(entry.get("_document_id")) or json.dumps(
                        entry, sort_keys=True, default=str
                    )
                    if when < ts_ms or (when == ts_ms and doc in current):
                        continue
                    if when > ts_ms:
                        ts_ms, current = when, set()
                    current.add(doc)
                    delivered = encode_cursor(ts_ms, current)
                    yield self._event(entry, when, delivered)
            except HttpError as exc:
                if exc.status == 404:
                    raise ProviderError(
                        f"{self.where}: GET /{path} answered 404: the organisation audit-log "
                        "API needs GitHub Enterprise Cloud (or GHES 3.x with the audit log), "
                        "and a token allowed to read it; set audit_log = false to turn the "
                        "event stream off"
                    ) from exc
                raise
            finally:
                self._save_cursor(delivered)
            await self._sleep(self.poll_seconds)

    @property
    def cursor_file(self) -> Path | None:
        return self._saved.path

    def _cursor_scope(self) -> str:
        return f"{self.http.settings.base_url.rstrip('/')}/{self._org_path}"

    def _load_cursor(self) -> str | None:
        return self._saved.load(decode_cursor)

    def _save_cursor(self, cursor: str | None) -> None:
        self._saved.save(cursor)

    def _event(self, entry: Mapping[str, Any], when: int, cursor: str) -> AccessEvent:
        action = _text(entry.get("action")) or "unknown"
        actor = _text(entry.get("actor"))
        account_id = _id(entry.get("actor_id")) or self._login_ids.get(actor, actor)
        token_id = _id(entry.get("token_id"))
        target = next(
            (
                _text(entry.get(k))
                for k in ("repo", "repository", "user", "team", "name")
                if _text(entry.get(k))
            ),
            "",
        )
        return AccessEvent(
            provider=self.name,
            ts=datetime.fromtimestamp(when / 1000, UTC),
            account_id=account_id,
            credential_id=self._token_pats.get(token_id, "") if token_id else "",
            method=_method(action),
            path=f"{action} {target}" if target else action,
            status=_status(entry, action),
            source_ip=_text(entry.get("actor_ip")),
            user_agent=_text(entry.get("user_agent")),
            cursor=cursor,
        )
