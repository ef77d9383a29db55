"""``SystemLog``: Okta's System Log as the event stream, resumable by cursor."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pamtui.model import AccessEvent
from pamtui.providers.base import ProviderError
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, Sleep, next_link
from pamtui.providers.okta.values import _CURSOR_PREFIX, _encode_cursor, _get, _iso, _timestamp

log = logging.getLogger("pamtui.providers.okta")


_OUTCOME_STATUS = {
    "SUCCESS": 200,
    "ALLOW": 200,
    "SKIPPED": 204,
    "CHALLENGE": 401,
    "FAILURE": 403,
    "DENY": 403,
}


class SystemLog:
    """The System Log stream (a mixin of :class:`OktaProvider`)."""

    name: str
    http: HttpClient
    page_size: int
    poll_seconds: float
    backfill_minutes: int
    _sleep: Sleep

    if TYPE_CHECKING:  # provided by DeclaredProvider, a later base of OktaProvider

        @property
        def where(self) -> str: ...

    def _decode_cursor(self, cursor: str) -> dict[str, Any]:
        if not cursor.startswith(_CURSOR_PREFIX):
            raise ProviderError(f"{self.where}: not an Okta System Log cursor: {cursor[:40]!r}")
        raw = cursor[len(_CURSOR_PREFIX) :]
        try:
            state = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, binascii.Error) as exc:
            raise ProviderError(f"{self.where}: the System Log cursor is damaged") from exc
        ok = (
            isinstance(state, dict)
            and _timestamp(state.get("p")) is not None
            and isinstance(state.get("u"), list)
            and all(isinstance(u, str) for u in state["u"])
            and isinstance(state.get("q", {}), dict)
            and all(isinstance(v, str) for v in state.get("q", {}).values())
        )
        if not ok:
            raise ProviderError(f"{self.where}: the System Log cursor is damaged")
        return state

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """System Log events after ``since`` (None: the last ``backfill_minutes``), forever."""
        limit = str(min(1000, max(self.page_size, 1)))
        last: datetime | None = None
        last_text = ""
        seen: set[str] = set()
        # Following next links repeats nothing, so an event published before the
        # last one delivered is a late arrival (the log is eventually consistent)
        # and is delivered. Only a query by time (a mid-page cursor, or a server
        # without next links) cannot tell those from events already delivered.
        by_time = False
        if since:
            state = self._decode_cursor(since)
            last_text = state["p"]
            last = _timestamp(last_text)
            seen = set(state["u"])
            by_time = not state.get("q")
            params: dict[str, str] = state.get("q") or {
                "since": last_text,
                "sortOrder": "ASCENDING",
                "limit": limit,
            }
        else:
            start = datetime.now(UTC) - timedelta(minutes=self.backfill_minutes)
            params = {"since": _iso(start), "sortOrder": "ASCENDING", "limit": limit}
        while True:
            response = await self.http.request("GET", "api/v1/logs", params=params)
            page = self.http.parse_json(response)
            if not isinstance(page, list):
                raise ProviderError(f"{self.where}: GET /api/v1/logs did not return a list")
            following = next_link(response)
            next_params = dict(following.params.items()) if following is not None else None
            fresh: list[tuple[dict[str, Any], datetime]] = []
            for entry in page:
                if not isinstance(entry, dict):
                    continue
                published = _timestamp(entry.get("published"))
                uuid = _text(entry.get("uuid"))
                if published is None or not uuid:
                    log.debug("%s: skipping a System Log entry without published/uuid", self.name)
                    continue
                if last is not None and (
                    (published == last and uuid in seen) or (by_time and published < last)
                ):
                    continue  # already delivered before the cursor
                fresh.append((entry, published))
            for n, (entry, published) in enumerate(fresh):
                if last is None or published > last:
                    last, last_text, seen = published, _text(entry.get("published")), set()
                seen.add(_text(entry.get("uuid")))
                tail = n == len(fresh) - 1 and next_params is not None
                cursor = _encode_cursor(last_text, sorted(seen), next_params if tail else None)
                yield self._event(entry, published, cursor)
            by_time = next_params is None
            if next_params is not None:
                params = next_params
            elif last is not None:  # no next link (not a polling answer): poll by time
                params = {"since": last_text, "sortOrder": "ASCENDING", "limit": limit}
            if len(page) < int(params.get("limit", limit) or limit):
                await self._sleep(self.poll_seconds)

    def _event(self, entry: Mapping[str, Any], ts: datetime, cursor: str) -> AccessEvent:
        event_type = _text(entry.get("eventType"))
        targets = [
            _text(_get(t, "alternateId")) or _text(_get(t, "displayName")) or _text(_get(t, "id"))
            for t in entry.get("target") or []
            if isinstance(t, dict)
        ]
        targets = [t for t in targets if t]
        path = event_type + (" " + ", ".join(targets[:3]) if targets else "")
        result = _text(_get(entry, "outcome", "result")).upper()
        return AccessEvent(
            provider=self.name,
            ts=ts,
            account_id=_text(_get(entry, "actor", "id")),
            credential_id=_text(_get(entry, "transaction", "detail", "requestApiTokenId")),
            method="EVENT",
            path=path,
            status=_OUTCOME_STATUS.get(result, 0),
            source_ip=_text(_get(entry, "client", "ipAddress")),
            user_agent=_text(_get(entry, "client", "userAgent", "rawUserAgent")),
            cursor=cursor,
        )
