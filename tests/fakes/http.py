"""A small, real HTTP/1.1 server for tests of the HTTP layer and HTTP providers.

Runs ``ThreadingHTTPServer`` in a daemon thread on 127.0.0.1 with an
ephemeral port. Each path is scripted with a queue of canned replies (status,
headers, body, optional delay) or with a function of the request; the last
reply of a queue repeats forever. Every request is recorded (method, path,
headers, body), and the server counts how many requests are in flight at once.

Use the ``http_server`` fixture (import it into the test module)::

    from tests.fakes import http as http_fake
    from tests.fakes.http import FakeServer, Reply

    http_server = http_fake.http_server

    async def test_x(http_server):
        http_server.route("/users", Reply(200, body=[{"id": 1}]))
        url = http_server.url  # http://127.0.0.1:PORT
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = b""
    """bytes or str as they are; anything else is sent as JSON."""
    delay: float = 0.0
    """Seconds to wait before answering (cut short when the server stops)."""
    stream_bytes: int = 0
    """When set: send ``body`` then filler up to this many bytes, with no length
    (the connection closes), stopping early when the client hangs up."""
    until: threading.Event | None = None
    """A streamed reply also stops when this is set (the server stopping)."""

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        else:
            data = json.dumps(self.body).encode()
            headers.setdefault("Content-Type", "application/json")
        return data, headers


@dataclass(frozen=True)
class Recorded:
    method: str
    target: str
    """Path with query string, as sent."""
    headers: dict[str, str]
    """Lower-cased names."""
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Recorded], Reply]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that timed out and hung up is expected in tests


class LocalServer:
    """A threaded HTTP server on 127.0.0.1 with an ephemeral port.

    Subclasses build their request handler, set ``self.stopping`` (an Event that
    slow replies wait on) and call :meth:`_listen`; ``start``/``stop`` are shared.
    """

    stopping: threading.Event

    def _listen(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._httpd = _QuietServer(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


Responder = Callable[[Recorded], Reply | None]
"""A fake's answer to one request; None drops it unanswered (a slow reply cut short)."""


def handler_for(
    respond: Responder,
    *,
    date_header: bool = True,
    on_streamed: Callable[[int], None] | None = None,
) -> type[BaseHTTPRequestHandler]:
    """The one request handler every fake server uses.

    It reads the request, records it as :class:`Recorded`, asks ``respond`` for
    the :class:`Reply` and writes it with its Content-Length (or, for a reply
    with ``stream_bytes``, streams it until the client hangs up). Each fake
    keeps only what is its own: routes, state, faults and headers.
    ``date_header=False`` leaves out the Server and Date headers that
    ``send_response`` adds (a fake that sets Date itself, or wants none).
    """

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = respond(Recorded(self.command, self.path, headers, body))
            if reply is None:
                return
            try:
                data, reply_headers = reply.encoded()
                if reply.stream_bytes:
                    self._stream(reply, data, reply_headers)
                    return
                self._status(reply.status)
                for name, value in reply_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _status(self, status: int) -> None:
            if date_header:
                self.send_response(status)
            else:
                self.send_response_only(status)

        def _stream(self, reply: Reply, data: bytes, headers: dict[str, str]) -> None:
            self.close_connection = True
            self._status(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Connection", "close")
            self.end_headers()
            filler = b" " * 65536
            sent = 0
            try:
                self.wfile.write(data)
                sent = len(data)
                while sent < reply.stream_bytes and not reply_stopped(reply):
                    self.wfile.write(filler)
                    sent += len(filler)
            finally:
                if on_streamed is not None:
                    on_streamed(sent)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return _Handler


def reply_stopped(reply: Reply) -> bool:
    return reply.until is not None and reply.until.is_set()


class FakeServer(LocalServer):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: dict[str, list[Reply] | Handler] = {}
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.streamed = 0
        """Bytes sent by streamed replies (they stop when the client hangs up)."""
        self.stopping = threading.Event()
        self._listen(handler_for(self._respond, date_header=False, on_streamed=self._count))

    def _respond(self, record: Recorded) -> Reply | None:
        with self._lock:
            self.requests.append(record)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self._next_reply(record)
            if reply.delay:
                self.stopping.wait(reply.delay)
                if self.stopping.is_set():
                    return None
            return replace(reply, until=self.stopping) if reply.stream_bytes else reply
        finally:
            with self._lock:
                self.in_flight -= 1

    def _count(self, sent: int) -> None:
        with self._lock:
            self.streamed += sent

    def route(self, path: str, *replies: Reply, handler: Handler | None = None) -> None:
        """Script ``path``: replies in order (the last repeats), or a handler."""
        if handler is not None:
            self._routes[path] = handler
        else:
            if not replies:
                raise ValueError("give at least one reply or a handler")
            self._routes[path] = list(replies)

    def _next_reply(self, record: Recorded) -> Reply:
        with self._lock:
            script = self._routes.get(record.path)
            if script is None:
                return Reply(404, body={"message": f"no route for {record.path}"})
            if callable(script):
                pass
            elif len(script) > 1:
                return script.pop(0)
            else:
                return script[0]
        return script(record)

    def hits(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]


@pytest.fixture
def http_server() -> Iterator[FakeServer]:
    server = FakeServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
