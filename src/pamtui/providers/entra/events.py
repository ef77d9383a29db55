"""``AuditStream``: sign-ins and directory audits as access events, resumable.

Both logs are polled with ``$filter=<time> ge <watermark>`` and read to the
end through ``@odata.nextLink``; each round's events are merged in time order.
A cursor holds, per log, the time of the last event delivered and the ids
already delivered at that time: resuming after an event repeats nothing and
skips nothing that Graph had stored by then. (An event Graph stores late, with
a time before the watermark, is not delivered: the sign-in log can lag by a
few minutes. See the README's known limits.)
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pamtui.model import AccessEvent
from pamtui.providers.base import ProviderError, iso_time, text
from pamtui.providers.entra.graph import Graph
from pamtui.providers.http import HttpError
from pamtui.providers.kit.cursors import SavedCursor

log = logging.getLogger("pamtui.providers.entra")

PREFIX = "entra1."
SIGN_INS = "s"
AUDITS = "a"
_LOGS = {
    SIGN_INS: ("auditLogs/signIns", "createdDateTime"),
    AUDITS: ("auditLogs/directoryAudits", "activityDateTime"),
}

Position = dict[str, tuple[datetime, tuple[str, ...]]]


def encode_cursor(position: Position) -> str:
    data = {k: [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), list(ids)] for k, (t, ids) in position.items()}
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    """The position a cursor names; ProviderError for anything this provider did not write."""
    if not isinstance(cursor, str) or not cursor.startswith(PREFIX):
        raise ProviderError(f"not an entra cursor: {str(cursor)[:40]!r}")
    body = cursor[len(PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error) as exc:
        raise ProviderError(f"damaged entra cursor {cursor[:40]!r}") from exc
    if not isinstance(data, dict) or set(data) != set(_LOGS):
        raise ProviderError(f"damaged entra cursor {cursor[:40]!r}")
    position: Position = {}
    for key, value in data.items():
        ok = isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)
        when = iso_time(value[0]) if ok else None
        if when is None or not all(isinstance(i, str) for i in value[1]):
            raise ProviderError(f"damaged entra cursor {cursor[:40]!r}")
        position[key] = (when, tuple(value[1]))
    return position


def _odata_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class AuditStream:
    name: str
    graph: Graph
    page_size: int
    poll_seconds: float
    backfill_minutes: int
    cursor_file: SavedCursor
    _sleep: Any
    _sign_ins_readable: bool = True
    """False once Graph refused the sign-in log (no P1/P2 licence): audits only."""

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        if since is None:
            saved = self.cursor_file.load(decode_cursor)
            if saved is not None:
                position = decode_cursor(saved)
            else:
                start = datetime.now(UTC) - timedelta(minutes=self.backfill_minutes)
                position = {key: (start, ()) for key in _LOGS}
        else:
            position = decode_cursor(since)
        while True:
            batch: list[tuple[datetime, str, str, dict[str, Any]]] = []
            for key in _LOGS:
                if key == SIGN_INS and not self._sign_ins_readable:
                    continue
                try:
                    batch.extend(await self._read(key, position[key]))
                except HttpError as exc:
                    # Sign-in logs need an Entra ID P1/P2 licence; directory audits do not.
                    if key != SIGN_INS or exc.status != 403:
                        raise
                    self._sign_ins_readable = False
                    log.warning(
                        "%s: sign-in logs refused, streaming audits only: %s", self.name, exc
                    )
            batch.sort(key=lambda item: (item[0], item[1], item[2]))
            for when, key, item_id, item in batch:
                at, ids = position[key]
                position[key] = (when, (*ids, item_id) if when == at else (item_id,))
                cursor = encode_cursor(position)
                self.cursor_file.save(cursor)
                yield self._event(key, when, item, cursor)
            if batch:
                self.cursor_file.save(encode_cursor(position), force=True)
            await self._sleep(self.poll_seconds)

    async def _read(
        self, key: str, at: tuple[datetime, tuple[str, ...]]
    ) -> list[tuple[datetime, str, str, dict[str, Any]]]:
        path, field = _LOGS[key]
        watermark, seen = at
        params = {
            "$filter": f"{field} ge {_odata_time(watermark)}",
            "$top": min(self.page_size, 999),
        }
        found = []
        async for page in self.graph.pages(path, params):
            for item in page:
                item_id = text(item.get("id"))
                when = iso_time(item.get(field))
                if not item_id or when is None or when < watermark:
                    continue
                if when == watermark and item_id in seen:
                    continue
                found.append((when, key, item_id, item))
        return found

    def _event(self, key: str, when: datetime, item: Mapping[str, Any], cursor: str) -> AccessEvent:
        if key == SIGN_INS:
            status_info = _mapping(item.get("status"))
            code = status_info.get("errorCode")
            if code in (0, None):
                status = 200
            elif text(item.get("conditionalAccessStatus")) == "failure":
                status = 403
            else:
                status = 401
            app = text(item.get("appDisplayName")) or text(item.get("appId"))
            resource = text(item.get("resourceDisplayName"))
            path = f"sign-in {app}" + (f" -> {resource}" if resource else "")
            return AccessEvent(
                provider=self.name,
                ts=when,
                account_id=text(item.get("userId")),
                credential_id="",
                method="SIGNIN",
                path=path,
                status=status,
                source_ip=text(item.get("ipAddress")),
                user_agent=text(item.get("userAgent")) or text(item.get("clientAppUsed")),
                cursor=cursor,
            )
        initiator = _mapping(item.get("initiatedBy"))
        user = _mapping(initiator.get("user"))
        app_info = _mapping(initiator.get("app"))
        result = text(item.get("result")).lower()
        status = {"success": 200, "failure": 403, "timeout": 504}.get(result, 0)
        return AccessEvent(
            provider=self.name,
            ts=when,
            account_id=text(user.get("id")) or text(app_info.get("servicePrincipalId")),
            credential_id="",
            method="AUDIT",
            path=f"{text(item.get('category'))}/{text(item.get('activityDisplayName'))}",
            status=status,
            source_ip=text(user.get("ipAddress")),
            cursor=cursor,
        )


def _mapping(value: Any) -> Mapping[str, Any]:
    """A JSON object from untrusted data, or an empty one when it is anything else."""
    return value if isinstance(value, dict) else {}
