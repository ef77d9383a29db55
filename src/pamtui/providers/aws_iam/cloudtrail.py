"""``CloudTrailStream``: CloudTrail's event history as access events, resumable by cursor."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pamtui.model import AccessEvent
from pamtui.providers.aws_iam.calls import _AUTH_FAILURES, _THROTTLING, BotoCalls
from pamtui.providers.aws_iam.documents import _utc
from pamtui.providers.aws_iam.settings import AwsSettings
from pamtui.providers.base import ProviderError
from pamtui.providers.kit.cursors import SavedCursor

log = logging.getLogger("pamtui.providers.aws_iam")

Sleep = Callable[[float], Awaitable[None]]

SLICE = timedelta(minutes=15)
"""First time window read (all pages) before its events are emitted; it doubles
after a window that fit in one page and halves after one that took more than
:data:`SLICE_MAX_PAGES`, between :data:`SLICE_MIN` and the 90 days CloudTrail keeps."""

SLICE_MIN = timedelta(minutes=1)
SLICE_MAX_PAGES = 8

HISTORY = timedelta(days=90)
"""How far back CloudTrail's event history goes."""

LOOKUP_MIN_INTERVAL_S = 0.5
"""CloudTrail LookupEvents allows 2 requests per second per account and region."""

LOOKUP_PAGE = 50

_EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass
class StreamPosition:
    """Every event before ``ts``, and those at ``ts`` in ``ids``, were emitted."""

    ts: datetime
    ids: set[str] = field(default_factory=set)

    def encode(self) -> str:
        return f"ct1|{self.ts.isoformat()}|{','.join(sorted(self.ids))}"

    @classmethod
    def decode(cls, cursor: str) -> StreamPosition:
        parts = cursor.split("|")
        ts = _utc(parts[1]) if len(parts) == 3 and parts[0] == "ct1" else None
        ids = {i for i in parts[2].split(",") if i} if ts is not None else set()
        if ts is None or not all(_EVENT_ID.match(i) for i in ids):
            raise ProviderError(f"not an aws-iam stream cursor: {cursor[:80]!r}")
        return cls(ts, ids)

    def seen(self, ts: datetime, event_id: str) -> bool:
        return ts < self.ts or (ts == self.ts and event_id in self.ids)

    def advance(self, ts: datetime, event_id: str) -> None:
        if ts > self.ts:
            self.ts, self.ids = ts, {event_id}
        else:
            self.ids.add(event_id)


class CloudTrailStream(BotoCalls):
    """The event stream of the provider (a mixin of :class:`AwsIamProvider`)."""

    settings: AwsSettings
    _saved: SavedCursor
    _sleep: Sleep
    _lookup_interval_s: float
    _last_lookup: float
    _lookup_lock: asyncio.Lock
    lookups: int

    def _cursor_file(self) -> Path | None:
        return self._saved.path

    def _load_position(self) -> StreamPosition | None:
        cursor = self._saved.load(StreamPosition.decode)
        return None if cursor is None else StreamPosition.decode(cursor)

    def _save_position(self, position: StreamPosition) -> None:
        self._saved.save(position.encode(), force=True)

    async def _lookup(self, **kwargs: Any) -> dict[str, Any]:
        async with self._lookup_lock:
            wait = self._last_lookup + self._lookup_interval_s - time.monotonic()
            if wait > 0:
                await self._sleep(wait)
            try:
                return await self._call(self.cloudtrail, "lookup_events", **kwargs)
            finally:
                self._last_lookup = time.monotonic()
                self.lookups += 1

    async def _read_slice(self, start: datetime, end: datetime) -> tuple[list[dict[str, Any]], int]:
        """Every event from ``start`` to ``end`` (both inclusive), and the pages read."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        pages = 0
        while True:
            pages += 1
            page = await self._lookup(
                StartTime=start,
                EndTime=end,
                MaxResults=LOOKUP_PAGE,
                **({"NextToken": token} if token else {}),
            )
            if not isinstance(page.get("Events"), list):
                # LookupEvents always answers an Events list; botocore parses a body that is
                # not JSON into an answer without one. Read as "no events", the stream would
                # skip this window for good.
                raise ProviderError(
                    f"{self.where}: cloudtrail:LookupEvents returned a malformed response "
                    "(no Events list)",
                    retryable=True,
                )
            events.extend(e for e in page.get("Events") or [] if isinstance(e, dict))
            token = page.get("NextToken")
            if not token:
                return events, pages

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """CloudTrail management events, oldest first, polled forever."""
        if not self.settings.stream:
            return
        if since:
            try:
                position = StreamPosition.decode(since)
            except ProviderError as exc:
                raise ProviderError(f"{self.where}: {exc}") from None
        else:
            position = self._load_position() or StreamPosition(
                datetime.now(UTC).replace(microsecond=0)
                - timedelta(minutes=self.settings.backfill_minutes)
            )
        span = SLICE
        try:
            while True:
                end = datetime.now(UTC).replace(microsecond=0) - timedelta(
                    seconds=self.settings.settle_seconds
                )
                oldest = end - HISTORY + timedelta(minutes=1)
                if position.ts < oldest:
                    log.warning(
                        "%s: the stream position %s is older than CloudTrail's 90-day "
                        "history; resuming at %s",
                        self.name,
                        position.ts.isoformat(),
                        oldest.isoformat(),
                    )
                    position = StreamPosition(oldest)
                while position.ts <= end:
                    stop = min(end, position.ts + span)
                    raw, pages = await self._read_slice(position.ts, stop)
                    if pages == 1 and len(raw) < LOOKUP_PAGE:
                        span = min(span * 2, HISTORY)
                    elif pages > SLICE_MAX_PAGES:
                        span = max(span / 2, SLICE_MIN)
                    batch = []
                    for item in raw:
                        ts, event_id = _utc(item.get("EventTime")), str(item.get("EventId") or "")
                        if ts is None or ts > stop or not _EVENT_ID.match(event_id):
                            continue
                        batch.append((ts, event_id, item))
                    batch.sort(key=lambda t: (t[0], t[1]))
                    for ts, event_id, item in batch:
                        if position.seen(ts, event_id):
                            continue
                        position.advance(ts, event_id)
                        yield self._event(item, ts, position.encode())
                    if position.ts < stop:
                        position = StreamPosition(stop)
                    self._save_position(position)
                    if stop >= end:
                        break
                await self._sleep(self.settings.poll_seconds)
        finally:
            # Closed by the consumer (or failed): keep what was handed out.
            self._save_position(position)

    def _event(self, item: dict[str, Any], ts: datetime, cursor: str) -> AccessEvent:
        detail: dict[str, Any] = {}
        raw = item.get("CloudTrailEvent")
        if isinstance(raw, str):
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw)
                if isinstance(parsed, dict):
                    detail = parsed
        raw_identity = detail.get("userIdentity")
        identity: dict[str, Any] = raw_identity if isinstance(raw_identity, dict) else {}
        context = identity.get("sessionContext")
        issuer = context.get("sessionIssuer") if isinstance(context, dict) else None
        account = (
            str(identity.get("userName") or "")
            or str(item.get("Username") or "")
            or (str(issuer.get("userName") or "") if isinstance(issuer, dict) else "")
            or ("root" if identity.get("type") == "Root" else "")
            or str(identity.get("principalId") or "")
        )
        source = str(detail.get("eventSource") or item.get("EventSource") or "")
        error = str(detail.get("errorCode") or "")
        if not error:
            status = 200
        elif error.startswith(("AccessDenied", "Client.UnauthorizedOperation")) or error in (
            "UnauthorizedOperation",
            "Forbidden",
        ):
            status = 403
        elif error in _AUTH_FAILURES:
            status = 401
        elif error in _THROTTLING:
            status = 429
        elif error.startswith("Server.") or error in ("InternalError", "InternalFailure"):
            status = 500
        else:
            status = 400
        return AccessEvent(
            provider=self.name,
            ts=ts,
            account_id=account,
            credential_id=str(identity.get("accessKeyId") or item.get("AccessKeyId") or ""),
            method=source.removesuffix(".amazonaws.com") or "aws",
            path=str(detail.get("eventName") or item.get("EventName") or ""),
            status=status,
            source_ip=str(detail.get("sourceIPAddress") or ""),
            user_agent=str(detail.get("userAgent") or ""),
            cursor=cursor,
        )
