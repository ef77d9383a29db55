"""``Reports``: the Reports API activities (login, token, admin...) as the event stream.

``activities.list`` answers newest first, so each poll reads every page from
the cursor's time on, sorts the lot oldest first and merges the applications
by time. The cursor holds, per application, the time of the last activity
delivered and the ``id.uniqueQualifier``s delivered at that time: resuming
queries ``startTime`` = that time and drops what was already delivered, so
nothing repeats and nothing is skipped. (An activity Google records late, with
a time before the cursor's, is not delivered: the Reports API's data lags by
minutes to hours per application.)
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pamtui.model import AccessEvent
from pamtui.providers.base import ProviderError, iso_time
from pamtui.providers.base import text as _text
from pamtui.providers.http import HttpClient, Sleep
from pamtui.providers.kit.cursors import SavedCursor

PREFIX = "gws-reports.v1."
MAX_RESULTS = 1000
_FAILED_EVENTS = frozenset({"login_failure"})
"""Event names that are a refused sign-in (401); a challenge is 401 only when it failed."""

State = dict[str, tuple[str, list[str]]]
"""application -> (time text of the last activity delivered, uniqueQualifiers at that time)."""


def field(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``data[key]`` when it is a JSON object, else an empty one (answers are untrusted)."""
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def encode_cursor(state: State) -> str:
    raw = json.dumps(
        {k: [t, sorted(u)] for k, (t, u) in sorted(state.items())}, separators=(",", ":")
    )
    return PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


class Reports:
    """The Reports API stream (a mixin of :class:`GoogleWorkspaceProvider`)."""

    name: str
    http: HttpClient
    applications: tuple[str, ...]
    poll_seconds: float
    backfill_minutes: int
    _sleep: Sleep
    _saved: SavedCursor

    if TYPE_CHECKING:

        @property
        def where(self) -> str: ...

    def decode_cursor(self, cursor: str) -> State:
        if not cursor.startswith(PREFIX):
            raise ProviderError(
                f"{self.where}: not a Google Workspace Reports cursor: {cursor[:40]!r}"
            )
        raw = cursor[len(PREFIX) :]
        try:
            data = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        except (ValueError, binascii.Error):
            raise ProviderError(f"{self.where}: the Reports cursor is damaged") from None
        state: State = {}
        if not isinstance(data, dict):
            raise ProviderError(f"{self.where}: the Reports cursor is damaged")
        for app, value in data.items():
            ok = (
                isinstance(value, list)
                and len(value) == 2
                and iso_time(value[0]) is not None
                and isinstance(value[1], list)
                and all(isinstance(u, str) for u in value[1])
            )
            if not ok:
                raise ProviderError(f"{self.where}: the Reports cursor is damaged")
            state[str(app)] = (value[0], list(value[1]))
        return state

    async def _activities(self, app: str, start: str) -> list[dict[str, Any]]:
        """Every activity of ``app`` from ``start`` on (all pages), as Google sent them."""
        path = f"admin/reports/v1/activity/users/all/applications/{app}"
        params: dict[str, Any] = {"startTime": start, "maxResults": MAX_RESULTS}
        found: list[dict[str, Any]] = []
        seen: set[str] = set()
        while True:
            data = await self.http.get_json(path, params=params)
            if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
                raise ProviderError(f"{self.where}: GET /{path} did not return an activity list")
            found.extend(i for i in data.get("items", []) if isinstance(i, dict))
            following = _text(data.get("nextPageToken"))
            if not following:
                return found
            if following in seen:
                raise ProviderError(f"{self.where}: GET /{path}: the page token repeats")
            seen.add(following)
            params = {**params, "pageToken": following}

    async def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """Activities after ``since`` (None: the saved cursor, else ``backfill_minutes``)."""
        if since is None:
            since = self._saved.load(self.decode_cursor)
        state = self.decode_cursor(since) if since else {}
        backfill = _iso(datetime.now(UTC) - timedelta(minutes=self.backfill_minutes))
        while True:
            fresh: list[tuple[datetime, str, str, dict[str, Any]]] = []
            for app in self.applications:
                last_text, seen = state.get(app, ("", []))
                last = iso_time(last_text)
                for item in await self._activities(app, last_text or backfill):
                    ident = field(item, "id")
                    when = iso_time(ident.get("time"))
                    unique = _text(str(ident.get("uniqueQualifier", "")))
                    if when is None or not unique:
                        continue
                    if last is not None and (when < last or (when == last and unique in seen)):
                        continue
                    fresh.append((when, app, unique, item))
            fresh.sort(key=lambda f: (f[0], f[1], f[2]))
            for when, app, unique, item in fresh:
                last_text, seen = state.get(app, ("", []))
                text = _text(field(item, "id").get("time"))
                if iso_time(last_text) != when:
                    seen = []
                state[app] = (text, [*seen, unique])
                cursor = encode_cursor(state)
                self._saved.save(cursor)
                yield self._event(app, item, when, cursor)
            if fresh:
                self._saved.save(encode_cursor(state), force=True)
            await self._sleep(self.poll_seconds)

    def _event(self, app: str, item: Mapping[str, Any], ts: datetime, cursor: str) -> AccessEvent:
        actor = field(item, "actor")
        events = [e for e in item.get("events") or [] if isinstance(e, dict)]
        names = [_text(e.get("name")) for e in events if _text(e.get("name"))]
        user = _text(actor.get("profileId"))
        client = ""
        status = 401 if _FAILED_EVENTS & set(names) else 200
        for event in events:
            for param in event.get("parameters") or []:
                if not isinstance(param, dict):
                    continue
                if param.get("name") == "client_id":
                    client = _text(param.get("value"))
                # login_challenge / login_verification: "Challenge Passed" or "... Failed"
                value = _text(param.get("value")).lower()
                if param.get("name") == "login_challenge_status" and "fail" in value:
                    status = 401
        who = _text(actor.get("email"))
        path = f"{app}.{','.join(names[:3]) or 'activity'}" + (f" {who}" if who else "")
        return AccessEvent(
            provider=self.name,
            ts=ts,
            account_id=user,
            credential_id=f"oauth:{user}:{client}" if app == "token" and client and user else "",
            method="EVENT",
            path=path,
            status=status,
            source_ip=_text(item.get("ipAddress")),
            cursor=cursor,
        )
