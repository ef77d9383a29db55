"""A fault-injecting HTTP proxy for provider tests: the contract suite's network faults.

Test-only, standard library only. :class:`FaultProxy` listens on 127.0.0.1
(ephemeral port) in a daemon thread and forwards every request unchanged
(method, path, headers including ``Host``, body) to one upstream server: a
fake, a real SCIM server, moto. A test points the provider's ``base_url`` (or
``endpoint_url``) at the proxy and calls :meth:`FaultProxy.inject` to make the
next ``count`` requests fail in one of the ways of :data:`FAULT_KINDS` instead
of reaching the upstream:

- ``429``: Too Many Requests with ``Retry-After`` (``retry_after`` seconds);
- ``500``: Internal Server Error;
- ``timeout``: the answer is held back for ``hang_s`` seconds (longer than the
  provider's timeout), cut short by :meth:`clear` or :meth:`stop`;
- ``malformed``: 200 with a truncated JSON (or XML) body;
- ``401``: Unauthorized, and the body echoes the request's ``Authorization``
  header back, as careless servers do: the provider's error must not repeat it.

Every fault is bounded (``count``), so a provider always recovers once the
faults are used up. The replies' bodies can be shaped like the provider's own
API (``replies=``): the AWS query protocol wants XML, for instance.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

FAULT_KINDS = ("429", "500", "timeout", "malformed", "401")
"""What :meth:`FaultProxy.inject` (and the contract's ``FaultInjector``) can do."""

_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)
ECHO = "{authorization}"
"""In a fault reply's body, replaced by the request's ``Authorization`` header."""


@dataclass(frozen=True)
class FaultReply:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def json_replies(retry_after: int = 1) -> dict[str, FaultReply]:
    """Fault replies with JSON bodies (REST APIs: SCIM, Okta, GitHub, most plugins)."""
    kind = {"Content-Type": "application/json"}

    def body(data: Any) -> bytes:
        return json.dumps(data).encode()

    return {
        "429": FaultReply(
            429,
            body({"message": "rate limit exceeded"}),
            {**kind, "Retry-After": str(retry_after)},
        ),
        "500": FaultReply(500, body({"message": "internal server error"}), kind),
        "malformed": FaultReply(200, b'[{"id": "x1", "name": "trunc', kind),
        "401": FaultReply(401, body({"message": f"invalid credentials: {ECHO}"}), kind),
    }


def aws_query_replies(retry_after: int = 1) -> dict[str, FaultReply]:
    """Fault replies of the AWS query protocol (IAM, STS): XML error documents."""
    kind = {"Content-Type": "text/xml"}

    def error(code: str, message: str, sender: str = "Sender") -> bytes:
        return (
            f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
            f"<Type>{sender}</Type><Code>{code}</Code><Message>{message}</Message></Error>"
            f"<RequestId>4f9a1c2e-fault-proxy</RequestId></ErrorResponse>"
        ).encode()

    return {
        "429": FaultReply(
            429, error("Throttling", "Rate exceeded"), {**kind, "Retry-After": str(retry_after)}
        ),
        "500": FaultReply(500, error("InternalFailure", "internal error", "Receiver"), kind),
        "malformed": FaultReply(200, b"<ListUsersResponse><ListUsersResult><Users><member>", kind),
        # AWS answers bad credentials with 403 InvalidClientTokenId, not 401.
        "401": FaultReply(
            403, error("InvalidClientTokenId", f"The security token is invalid: {ECHO}"), kind
        ),
    }


def aws_json_replies(retry_after: int = 1) -> dict[str, FaultReply]:
    """Fault replies of the AWS JSON 1.1 protocol (CloudTrail, ...): ``__type`` and message."""
    kind = {"Content-Type": "application/x-amz-json-1.1"}

    def error(code: str, message: str) -> bytes:
        return json.dumps({"__type": code, "message": message}).encode()

    return {
        "429": FaultReply(
            429,
            error("ThrottlingException", "Rate exceeded"),
            {**kind, "Retry-After": str(retry_after)},
        ),
        "500": FaultReply(500, error("InternalFailure", "internal error"), kind),
        "malformed": FaultReply(200, b'{"Events": [{"EventId": "trunc', kind),
        "401": FaultReply(
            400,
            error("UnrecognizedClientException", f"The security token is invalid: {ECHO}"),
            kind,
        ),
    }


class FaultGroup:
    """Several proxies (one per endpoint of a provider) failing together."""

    def __init__(self, *proxies: FaultProxy) -> None:
        self.proxies = proxies

    def inject(self, kind: str, count: int = 1) -> None:
        for proxy in self.proxies:
            proxy.inject(kind, count)

    def clear(self) -> None:
        for proxy in self.proxies:
            proxy.clear()


@dataclass
class _Fault:
    kind: str
    count: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is what the timeout fault is for


class FaultProxy:
    """Forward to ``upstream`` (``http://host:port``) unless a fault is pending."""

    def __init__(
        self,
        upstream: str,
        *,
        replies: Mapping[str, FaultReply] | None = None,
        hang_s: float = 5.0,
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError("the upstream must be an http://host:port URL")
        self._upstream = (parts.hostname, parts.port or 80)
        self.replies = dict(replies if replies is not None else json_replies())
        self.hang_s = hang_s
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._release = threading.Event()
        self.forwarded = 0
        """Requests that reached the upstream."""
        self.faulted = 0
        """Requests answered with a fault."""
        proxy = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, data = proxy._answer(self, body)
                    if status == 0:  # a hang cut short: hang up without an answer
                        self.close_connection = True
                        return
                    self.send_response_only(status)
                    for name, value in headers:
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- control ---------------------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def inject(self, kind: str, count: int = 1) -> None:
        """The next ``count`` requests get fault ``kind`` (one of :data:`FAULT_KINDS`)."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(FAULT_KINDS)})")
        if not 1 <= count <= 1000:
            raise ValueError("count must be between 1 and 1000")
        with self._lock:
            self._faults.append(_Fault(kind, count))

    def clear(self) -> None:
        """Drop pending faults and release requests held by a ``timeout`` fault."""
        with self._lock:
            self._faults.clear()
            self._release.set()
            self._release = threading.Event()

    # -- serving ---------------------------------------------------------------

    def _next_fault(self) -> tuple[str | None, threading.Event]:
        with self._lock:
            release = self._release
            while self._faults and self._faults[0].count <= 0:
                self._faults.pop(0)
            if not self._faults:
                return None, release
            fault = self._faults[0]
            fault.count -= 1
            self.faulted += 1
            return fault.kind, release

    def _answer(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        kind, release = self._next_fault()
        if kind == "timeout":
            release.wait(self.hang_s)
            return 0, [], b""
        if kind is not None:
            reply = self.replies[kind]
            echoed = handler.headers.get("Authorization", "")
            data = reply.body.replace(ECHO.encode(), echoed.encode("latin-1", "replace"))
            return reply.status, list(reply.headers.items()), data
        return self._forward(handler, body)

    def _forward(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        conn = http.client.HTTPConnection(*self._upstream, timeout=30)
        try:
            conn.request(handler.command, handler.path, body=body or None, headers=headers)
            response = conn.getresponse()
            data = response.read()
            out = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
            with self._lock:
                self.forwarded += 1
            return response.status, out, data
        except OSError as exc:
            text = f"fault proxy: upstream unreachable: {exc}".encode()
            return 502, [("Content-Type", "text/plain")], text
        finally:
            conn.close()
