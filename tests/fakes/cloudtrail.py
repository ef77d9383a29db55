"""A small, real CloudTrail ``LookupEvents`` server for the aws-iam provider's tests.

moto does not implement ``LookupEvents`` (it answers HTTP 500), so this one
speaks just enough of the real protocol for botocore's own client to talk to
it unchanged:

- the AWS JSON 1.1 protocol: ``POST /`` with ``Content-Type:
  application/x-amz-json-1.1`` and ``X-Amz-Target:
  com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents``; errors
  are ``{"__type": ..., "message": ...}`` with a 4xx/5xx status;
- request (API reference, LookupEvents): ``StartTime``/``EndTime`` (epoch
  seconds; both inclusive), ``MaxResults`` (1-50, default 50), ``NextToken``,
  ``LookupAttributes`` (one of ``EventId``, ``EventName``, ``Username``,
  ``AccessKeyId``, ``EventSource``, ``ReadOnly``);
- response: ``Events`` newest first, each ``{EventId, EventName, ReadOnly,
  AccessKeyId, EventTime, EventSource, Username, Resources, CloudTrailEvent}``
  (``CloudTrailEvent`` a JSON string, ``EventTime`` epoch seconds), and
  ``NextToken`` while more remain. A token only works with the query that
  produced it (``InvalidNextTokenException`` otherwise), as in the service.

Faults are queued with :meth:`CloudTrailFake.fail`: the next requests get them
(``ThrottlingException`` 400, ``InternalFailure`` 500, ...) before normal
service resumes. Every request is recorded (target, JSON body, whether it was
signed).

Event history entries are made with :func:`event` and added with
:meth:`CloudTrailFake.add`; a test may add more while a stream is running.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.http import LocalServer, Recorded, Reply, handler_for

TARGET_PREFIX = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."
_ATTRIBUTES = {
    "EventId": "EventId",
    "EventName": "EventName",
    "Username": "Username",
    "AccessKeyId": "AccessKeyId",
    "EventSource": "EventSource",
    "ReadOnly": "ReadOnly",
}


def event(
    name: str,
    when: datetime,
    *,
    user: str = "alice",
    access_key: str = "AKIAEXAMPLEKEY000001",
    source: str = "iam.amazonaws.com",
    ip: str = "198.51.100.7",
    user_agent: str = "aws-cli/2.15.0",
    error_code: str | None = None,
    event_id: str | None = None,
    read_only: bool = True,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """One event-history entry, shaped like LookupEvents' ``Event``."""
    event_id = event_id or str(uuid.uuid4())
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLE" + user.upper()[:8],
            "arn": f"arn:aws:iam::123456789012:user/{user}",
            "accountId": "123456789012",
            "accessKeyId": access_key,
            "userName": user,
        },
        "eventTime": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": user_agent,
        "requestParameters": None,
        "responseElements": None,
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": "123456789012",
    }
    if error_code:
        detail["errorCode"] = error_code
        detail["errorMessage"] = f"User: {detail['userIdentity']['arn']} is not authorized"
    return {
        "EventId": event_id,
        "EventName": name,
        "ReadOnly": "true" if read_only else "false",
        "AccessKeyId": access_key,
        "EventTime": int(when.timestamp()),
        "EventSource": source,
        "Username": user,
        "Resources": [],
        "CloudTrailEvent": json.dumps(detail),
    }


@dataclass(frozen=True)
class Request:
    target: str
    body: dict[str, Any]
    signed: bool


class CloudTrailFake(LocalServer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[dict[str, Any]] = []
        self._faults: list[tuple[int, str, str]] = []
        self.requests: list[Request] = []
        self.stopping = threading.Event()
        self._listen(handler_for(self._respond))

    def _respond(self, record: Recorded) -> Reply:
        status, payload = self._handle(
            record.headers.get("x-amz-target", ""),
            record.headers.get("content-type", ""),
            record.body,
            bool(record.headers.get("authorization")),
        )
        headers = {
            "Content-Type": "application/x-amz-json-1.1",
            "x-amzn-RequestId": str(uuid.uuid4()),
        }
        return Reply(status, headers, json.dumps(payload).encode())

    def add(self, *events: dict[str, Any]) -> None:
        with self._lock:
            self._events.extend(events)

    def fail(self, status: int, code: str, message: str = "", times: int = 1) -> None:
        """The next ``times`` requests get this error instead of an answer."""
        with self._lock:
            self._faults.extend([(status, code, message or code)] * times)

    def lookups(self) -> list[Request]:
        return [r for r in self.requests if r.target.endswith(".LookupEvents")]

    # -- protocol ------------------------------------------------------------

    @staticmethod
    def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
        return status, {"__type": code, "message": message}

    def _handle(
        self, target: str, content_type: str, raw: bytes, signed: bool
    ) -> tuple[int, dict[str, Any]]:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return self._error(400, "SerializationException", "body is not JSON")
        with self._lock:
            self.requests.append(Request(target, body, signed))
            if self._faults:
                return self._error(*self._faults.pop(0))
            events = list(self._events)
        if not content_type.startswith("application/x-amz-json-1.1"):
            return self._error(400, "SerializationException", "expected x-amz-json-1.1")
        if target != TARGET_PREFIX + "LookupEvents":
            return self._error(400, "UnknownOperationException", f"unknown target {target!r}")
        return self._lookup(body, events)

    def _lookup(self, body: dict[str, Any], events: list[dict[str, Any]]) -> tuple[int, Any]:
        max_results = body.get("MaxResults", 50)
        if not isinstance(max_results, int) or not 1 <= max_results <= 50:
            return self._error(400, "InvalidMaxResultsException", "MaxResults must be 1-50")
        start, end = body.get("StartTime"), body.get("EndTime")
        if start is not None and end is not None and start > end:
            return self._error(400, "InvalidTimeRangeException", "StartTime is after EndTime")
        attributes = body.get("LookupAttributes") or []
        if len(attributes) > 1:
            return self._error(400, "InvalidLookupAttributesException", "one attribute only")
        selected = []
        for item in events:
            if start is not None and item["EventTime"] < start:
                continue
            if end is not None and item["EventTime"] > end:
                continue
            if attributes:
                key = _ATTRIBUTES.get(attributes[0].get("AttributeKey", ""))
                if key is None:
                    return self._error(400, "InvalidLookupAttributesException", "bad key")
                if str(item.get(key)) != attributes[0].get("AttributeValue"):
                    continue
            selected.append(item)
        # Newest first; the service's order among equal times is its own (here: by id).
        selected.sort(key=lambda e: (e["EventTime"], e["EventId"]), reverse=True)
        query = {k: v for k, v in body.items() if k not in ("NextToken", "MaxResults")}
        digest = hashlib.sha256(json.dumps(query, sort_keys=True).encode()).hexdigest()[:16]
        offset = 0
        if body.get("NextToken"):
            try:
                text = base64.urlsafe_b64decode(body["NextToken"].encode()).decode()
                token_digest, raw_offset = text.split(":")
                offset = int(raw_offset)
            except (ValueError, UnicodeDecodeError):
                return self._error(400, "InvalidNextTokenException", "invalid NextToken")
            if token_digest != digest:
                return self._error(
                    400, "InvalidNextTokenException", "NextToken does not match the query"
                )
        page = selected[offset : offset + max_results]
        answer: dict[str, Any] = {"Events": page}
        if offset + max_results < len(selected):
            token = f"{digest}:{offset + max_results}"
            answer["NextToken"] = base64.urlsafe_b64encode(token.encode()).decode()
        return 200, answer


@pytest.fixture
def cloudtrail() -> Iterator[CloudTrailFake]:
    fake = CloudTrailFake()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
