"""The shared HTTP layer against a real HTTP server on 127.0.0.1.

Waits are never measured with a wall clock: the client gets a recording
``sleep`` (and a fixed ``clock`` where epoch timestamps matter) and the tests
assert the delays it asked for.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import traceback
from email.utils import formatdate
from typing import Any

import certifi
import httpx
import pytest

from pamtui.providers.base import ProviderConfigError, ProviderError
from pamtui.providers.http import (
    HttpClient,
    HttpError,
    HttpSettings,
    TokenAuth,
    bearer_auth,
    http_settings,
    httpx_client_options,
    iter_link_pages,
    iter_scim_pages,
    parse_link_header,
    parse_retry_after,
    ssws_auth,
)
from tests.fakes import http as http_fake
from tests.fakes.http import FakeServer, Recorded, Reply

http_server = http_fake.http_server  # the fixture, shared with other HTTP provider tests

TOKEN = "s3cr3t-T0KEN-do-not-leak-42"
NOW = 1_700_000_000.0


class Sleeps(list[float]):
    """A recording ``sleep``: remembers the delay, yields once, does not wait."""

    async def __call__(self, delay: float) -> None:
        self.append(delay)
        await asyncio.sleep(0)


def make_client(
    url: str,
    *,
    sleeps: Sleeps | None = None,
    auth: httpx.Auth | None = None,
    clock: Any = lambda: NOW,
    **overrides: Any,
) -> HttpClient:
    settings, _ = http_settings("test-prov", {"base_url": url, **overrides})
    return HttpClient(
        "test-prov",
        settings,
        auth=auth if auth is not None else bearer_auth(TOKEN),
        sleep=sleeps if sleeps is not None else Sleeps(),
        clock=clock,
        jitter=lambda cap: cap,  # deterministic: always the top of the backoff window
    )


def all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc)


# ---------------------------------------------------------------- requests and retries


async def test_success_sends_auth_user_agent_and_returns_json(http_server: FakeServer) -> None:
    http_server.route("/api/users", Reply(200, body=[{"id": "u1"}]))
    async with make_client(http_server.url + "/api") as client:
        data = await client.get_json("/users", params={"limit": 5})
        assert data == [{"id": "u1"}]
        assert (client.requests, client.retries, client.rate_limited_waits) == (1, 0, 0)
    [hit] = http_server.requests
    assert hit.method == "GET" and hit.path == "/api/users" and hit.query == {"limit": "5"}
    assert hit.headers["authorization"] == f"Bearer {TOKEN}"
    assert hit.headers["user-agent"] == "pamtui/0.1.0 (+provider test-prov)"
    assert hit.headers["accept"] == "application/json"


async def test_okta_ssws_scheme_and_json_body(http_server: FakeServer) -> None:
    http_server.route("/api/v1/users/u1/lifecycle/deactivate", Reply(200, body={}))
    async with make_client(http_server.url, auth=ssws_auth(TOKEN)) as client:
        await client.request("POST", "/api/v1/users/u1/lifecycle/deactivate", json={"x": 1})
    [hit] = http_server.requests
    assert hit.headers["authorization"] == f"SSWS {TOKEN}"
    assert hit.json() == {"x": 1}
    assert TOKEN not in repr(ssws_auth(TOKEN))


async def test_429_retry_after_seconds_is_honoured(http_server: FakeServer) -> None:
    http_server.route("/x", Reply(429, {"Retry-After": "1"}), Reply(200, body={"ok": True}))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        assert await client.get_json("/x") == {"ok": True}
        assert client.retries == 1 and client.rate_limited_waits == 1
    assert sleeps == [1.0]
    assert len(http_server.hits("/x")) == 2


async def test_503_twice_then_success_backs_off_exponentially(http_server: FakeServer) -> None:
    http_server.route("/x", Reply(503), Reply(503), Reply(200, body={}))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        await client.get_json("/x")
        assert client.requests == 3 and client.retries == 2
    assert sleeps == [0.5, 1.0]  # base 0.5 * 2**n, jitter pinned to the window's top


async def test_backoff_is_capped_by_backoff_max_s(http_server: FakeServer) -> None:
    http_server.route("/x", Reply(502))
    sleeps = Sleeps()
    async with make_client(
        http_server.url, sleeps=sleeps, max_retries=5, backoff_base_s=1, backoff_max_s=3
    ) as client:
        with pytest.raises(HttpError):
            await client.get_json("/x")
    assert sleeps == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_500_forever_gives_up_retryable_after_max_retries(http_server: FakeServer) -> None:
    http_server.route("/x", Reply(500, body={"message": "boom"}))
    async with make_client(http_server.url, max_retries=3) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/x")
    assert info.value.retryable and info.value.status == 500
    assert len(http_server.hits("/x")) == 4  # 1 + max_retries
    assert "after 4 attempts" in str(info.value) and "boom" in str(info.value)


async def test_timeout_is_retried_then_raises(http_server: FakeServer) -> None:
    http_server.route("/slow", Reply(200, body={}, delay=2.0))
    async with make_client(http_server.url, timeout_s=0.2, max_retries=1) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/slow")
    assert info.value.retryable and info.value.status is None
    assert "timed out" in str(info.value) and "/slow" in str(info.value)
    assert len(http_server.hits("/slow")) == 2


async def test_connection_refused_is_retried_then_raises() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sleeps = Sleeps()
    async with make_client(f"http://127.0.0.1:{port}", sleeps=sleeps, max_retries=2) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/x")
        assert client.requests == 3
    assert info.value.retryable and "could not connect" in str(info.value)
    assert sleeps == [0.5, 1.0]


async def test_post_is_not_retried_after_500_unless_idempotent(http_server: FakeServer) -> None:
    http_server.route("/revoke", Reply(500))
    async with make_client(http_server.url) as client:
        with pytest.raises(HttpError) as info:
            await client.request("POST", "/revoke")
        assert info.value.retryable and "not idempotent" in str(info.value)
        assert len(http_server.hits("/revoke")) == 1
        with pytest.raises(HttpError):
            await client.request("POST", "/revoke", idempotent=True)
    assert len(http_server.hits("/revoke")) == 1 + 5


async def test_malformed_json_is_a_provider_error_naming_the_path(http_server: FakeServer) -> None:
    http_server.route(
        "/api/v1/users", Reply(200, {"Content-Type": "application/json"}, b'{"id": "u1",')
    )
    async with make_client(http_server.url) as client:
        with pytest.raises(ProviderError) as info:
            await client.get_json("/api/v1/users")
    assert not isinstance(info.value, HttpError)
    assert "malformed JSON" in str(info.value) and "/api/v1/users" in str(info.value)


async def test_401_expired_token_fails_at_once_with_provider_text(http_server: FakeServer) -> None:
    okta_401 = {
        "errorCode": "E0000011",
        "errorSummary": "Invalid token provided",
        "errorLink": "E0000011",
        "errorId": "oaeXYZ",
        "errorCauses": [],
    }
    http_server.route("/api/v1/users", Reply(401, body=okta_401))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps, auth=ssws_auth(TOKEN)) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/api/v1/users")
    assert info.value.status == 401 and not info.value.retryable
    assert "Invalid token provided (E0000011)" in str(info.value)
    assert len(http_server.hits("/api/v1/users")) == 1 and sleeps == []


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "scimType": "invalidFilter",
                "detail": "bad filter",
                "status": "400",
            },
            "invalidFilter: bad filter",
        ),
        (
            {
                "errorCode": "E0000001",
                "errorSummary": "Api validation failed: login",
                "errorCauses": [{"errorSummary": "login: already exists"}],
            },
            "Api validation failed: login (E0000001): login: already exists",
        ),
        (
            {"message": "Not Found", "documentation_url": "https://docs.github.com/rest"},
            "Not Found (see https://docs.github.com/rest)",
        ),
        ("plain   text\nerror", "plain text error"),
        (b"<html><title>502 Gateway</title><body>...</body></html>", "502 Gateway"),
    ],
)
async def test_provider_message_is_extracted(
    http_server: FakeServer, body: Any, expected: str
) -> None:
    http_server.route("/x", Reply(400, body=body))
    async with make_client(http_server.url) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/x")
    assert info.value.detail == expected
    assert str(info.value).endswith(f"HTTP 400 Bad Request: {expected}")


# ---------------------------------------------------------------- rate limits


async def test_okta_remaining_zero_waits_until_reset_by_server_date(
    http_server: FakeServer,
) -> None:
    # The local clock is 1000 s off; the reset is measured against the server's Date.
    server_now = NOW
    exhausted = {
        "X-Rate-Limit-Limit": "600",
        "X-Rate-Limit-Remaining": "0",
        "X-Rate-Limit-Reset": str(int(server_now + 5)),
        "Date": formatdate(server_now, usegmt=True),
    }
    http_server.route("/api/v1/users", Reply(200, exhausted, body=[]), Reply(200, body=[]))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps, clock=lambda: NOW + 1000) as client:
        await client.get_json("/api/v1/users")
        assert sleeps == []  # the answer that spent the budget is not delayed
        await client.get_json("/api/v1/users")
        assert client.rate_limited_waits == 1
    assert sleeps == [5.0]


async def test_okta_429_without_retry_after_waits_for_reset(http_server: FakeServer) -> None:
    limited = {"X-Rate-Limit-Remaining": "0", "X-Rate-Limit-Reset": str(int(NOW + 12))}
    body = {"errorCode": "E0000047", "errorSummary": "API call exceeded rate limit"}
    http_server.route("/x", Reply(429, limited, body=body), Reply(200, body={}))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        await client.get_json("/x")
    assert sleeps == [12.0]


async def test_github_primary_limit_403_waits_for_reset(http_server: FakeServer) -> None:
    limited = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 7))}
    body = {"message": "API rate limit exceeded for user ID 1."}
    http_server.route("/orgs/acme/members", Reply(403, limited, body=body), Reply(200, body=[]))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        assert await client.get_json("/orgs/acme/members") == []
    assert sleeps == [7.0]


async def test_github_secondary_limit_retry_after(http_server: FakeServer) -> None:
    body = {"message": "You have exceeded a secondary rate limit."}
    http_server.route(
        "/x",
        Reply(403, {"retry-after": "3"}, body=body),
        Reply(429, body=body),
        Reply(200, body={}),
    )
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        await client.get_json("/x")
    # retry-after first; then a 429 with no hint falls back to jittered backoff (attempt 2).
    assert sleeps == [3.0, 1.0]


async def test_github_secondary_limit_without_headers_waits_a_minute(
    http_server: FakeServer,
) -> None:
    body = {"message": "You have exceeded a secondary rate limit. Please wait a few minutes."}
    http_server.route("/x", Reply(403, body=body), Reply(200, body={}))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        await client.get_json("/x")
    assert sleeps == [60.0]


async def test_github_permission_403_is_not_retried(http_server: FakeServer) -> None:
    body = {"message": "Resource not accessible by integration"}
    http_server.route("/x", Reply(403, {"x-ratelimit-remaining": "4999"}, body=body))
    async with make_client(http_server.url) as client:
        with pytest.raises(HttpError) as info:
            await client.get_json("/x")
    assert info.value.status == 403 and not info.value.retryable
    assert len(http_server.hits("/x")) == 1


async def test_wait_longer_than_cap_fails_fast_and_retryable(http_server: FakeServer) -> None:
    hourly = {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(int(NOW + 3600))}
    http_server.route("/x", Reply(200, hourly, body={}))
    sleeps = Sleeps()
    async with make_client(http_server.url, sleeps=sleeps) as client:
        await client.get_json("/x")
        with pytest.raises(HttpError) as info:
            await client.get_json("/x")
    assert info.value.retryable and "rate limited" in str(info.value)
    assert "rate_limit_max_wait_s" in str(info.value)
    assert len(http_server.hits("/x")) == 1 and sleeps == []


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", NOW) == 120.0
    assert parse_retry_after(formatdate(NOW + 30, usegmt=True), NOW) == 30.0
    assert parse_retry_after(formatdate(NOW - 30, usegmt=True), NOW) == 0.0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


# ---------------------------------------------------------------- pagination


def test_parse_link_header_is_robust() -> None:
    value = (
        '<https://a.example/x?page=1&q=a,b>; rel="prev"; title="a, \\"quoted\\"; thing", '
        "<https://a.example/x?page=3>;rel=next, "
        '<https://a.example/x?page=9>; REL="last first"'
    )
    links = parse_link_header(value)
    assert links == [
        ("https://a.example/x?page=1&q=a,b", {"rel": "prev", "title": 'a, "quoted"; thing'}),
        ("https://a.example/x?page=3", {"rel": "next"}),
        ("https://a.example/x?page=9", {"rel": "last first"}),
    ]
    assert parse_link_header("garbage, <unterminated") == []


async def test_link_pagination_over_three_pages(http_server: FakeServer) -> None:
    base = http_server.url

    def pages(request: Recorded) -> Reply:
        page = int(request.query.get("page", "1"))
        links = [f'<{base}/users?per_page=2&page=3>; rel="last"']
        if page < 3:
            # absolute on page 1, relative on page 2; with a comma in a quoted param
            target = f"{base}/users?per_page=2&page=2" if page == 1 else "/users?per_page=2&page=3"
            links.insert(0, f'<{target}>; rel="next"; title="page, next"')
        if page > 1:
            links.append(f'<{base}/users?per_page=2&page={page - 1}>; rel="prev"')
        items = [{"id": f"u{page}a"}, {"id": f"u{page}b"}][: 1 if page == 3 else 2]
        return Reply(200, {"Link": ", ".join(links)}, body=items)

    http_server.route("/users", handler=pages)
    async with make_client(base) as client:
        got = [page async for page in iter_link_pages(client, "/users", {"per_page": 2})]
    assert [item["id"] for page in got for item in page] == ["u1a", "u1b", "u2a", "u2b", "u3a"]
    assert [r.query for r in http_server.hits("/users")] == [
        {"per_page": "2"},
        {"per_page": "2", "page": "2"},
        {"per_page": "2", "page": "3"},
    ]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in http_server.requests)


async def test_link_to_another_origin_is_refused(http_server: FakeServer) -> None:
    # localhost is not 127.0.0.1: the token must not follow the link.
    evil = f"<http://localhost:{http_server.port}/users?page=2>; rel=next"
    http_server.route("/users", Reply(200, {"Link": evil}, body=[1]))
    async with make_client(http_server.url) as client:
        with pytest.raises(ProviderError, match="refusing"):
            _ = [page async for page in iter_link_pages(client, "/users")]
    assert len(http_server.requests) == 1


async def test_link_loop_is_detected(http_server: FakeServer) -> None:
    http_server.route("/users", Reply(200, {"Link": "</users>; rel=next"}, body=[1]))
    async with make_client(http_server.url) as client:
        with pytest.raises(ProviderError, match="already read"):
            _ = [page async for page in iter_link_pages(client, "/users")]


def scim_handler(total: int, *, cap: int | None = None, with_total: bool = True):
    def handle(request: Recorded) -> Reply:
        start = int(request.query["startIndex"])
        count = int(request.query["count"]) if cap is None else cap
        chunk = [{"id": f"r{i}"} for i in range(start, min(total, start + count - 1) + 1)]
        body: dict[str, Any] = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "Resources": chunk,
            "startIndex": start,
            "itemsPerPage": len(chunk),
        }
        if with_total:
            body["totalResults"] = total
        return Reply(200, {"Content-Type": "application/scim+json"}, body=body)

    return handle


async def test_scim_pagination_over_two_and_a_half_pages(http_server: FakeServer) -> None:
    http_server.route("/scim/v2/Users", handler=scim_handler(5))
    async with make_client(http_server.url + "/scim/v2") as client:
        pages = [p async for p in iter_scim_pages(client, "/Users", {"filter": "x"}, 2)]
    assert [[r["id"] for r in p["Resources"]] for p in pages] == [
        ["r1", "r2"],
        ["r3", "r4"],
        ["r5"],
    ]
    assert [r.query for r in http_server.hits("/scim/v2/Users")] == [
        {"filter": "x", "startIndex": "1", "count": "2"},
        {"filter": "x", "startIndex": "3", "count": "2"},
        {"filter": "x", "startIndex": "5", "count": "2"},
    ]


@pytest.mark.parametrize(
    ("cap", "with_total", "requests"),
    [
        (100, True, 1),  # ignores count, returns everything: stop, startIndex > total
        (1, True, 5),  # caps below count: advance by what was returned
        (2, False, 3),  # no totalResults: stop on the short page
    ],
)
async def test_scim_pagination_copes_with_servers_ignoring_count(
    http_server: FakeServer, cap: int, with_total: bool, requests: int
) -> None:
    http_server.route("/Users", handler=scim_handler(5, cap=cap, with_total=with_total))
    async with make_client(http_server.url) as client:
        pages = [p async for p in iter_scim_pages(client, "/Users", page_size=2)]
    assert [r["id"] for p in pages for r in p["Resources"]] == [f"r{i}" for i in range(1, 6)]
    assert len(http_server.hits("/Users")) == requests


async def test_scim_empty_page_stops_and_ignored_start_index_is_an_error(
    http_server: FakeServer,
) -> None:
    http_server.route("/Empty", Reply(200, body={"totalResults": 10, "Resources": []}))
    http_server.route(
        "/Stuck", Reply(200, body={"totalResults": 10, "startIndex": 1, "Resources": [{}, {}]})
    )
    async with make_client(http_server.url) as client:
        assert len([p async for p in iter_scim_pages(client, "/Empty", page_size=2)]) == 1
        with pytest.raises(ProviderError, match="startIndex"):
            _ = [p async for p in iter_scim_pages(client, "/Stuck", page_size=2)]
    assert len(http_server.hits("/Stuck")) == 2


# ---------------------------------------------------------------- concurrency and secrets


async def test_concurrency_is_bounded(http_server: FakeServer) -> None:
    http_server.route("/x", Reply(200, body={}, delay=0.1))
    async with make_client(http_server.url, max_concurrency=2) as client:
        await asyncio.gather(*(client.get_json("/x") for _ in range(10)))
        assert client.requests == 10
    assert http_server.max_in_flight == 2


async def test_secret_never_appears_in_exception_text(http_server: FakeServer) -> None:
    echo = {"message": f"token {TOKEN} is revoked", "documentation_url": "x"}
    http_server.route("/echo", Reply(400, body=echo))
    http_server.route("/401", Reply(401, body=f"bad credentials: Bearer {TOKEN}"))
    http_server.route("/500", Reply(500))
    http_server.route("/slow", Reply(200, delay=2.0))
    http_server.route("/bad-json", Reply(200, body=f"not json {TOKEN}"))
    errors: list[BaseException] = []
    async with make_client(http_server.url, timeout_s=0.2, max_retries=1) as client:
        for path in ("/echo", "/401", "/500", "/slow", "/bad-json"):
            with pytest.raises(ProviderError) as info:
                await client.get_json(path)
            errors.append(info.value)
    assert "[redacted]" in str(errors[0]) and "[redacted]" in str(errors[1])
    for exc in errors:
        text = all_text(exc)
        assert TOKEN not in text
        assert "Bearer s3" not in text and "authorization" not in text.lower()
    assert TOKEN not in repr(bearer_auth(TOKEN))


# ---------------------------------------------------------------- settings and TLS


def test_settings_defaults_and_extra_keys() -> None:
    settings, extra = http_settings(
        "corp-okta",
        {"base_url": "https://acme.okta.com", "token": {"keyring": "k"}},
        allowed_extra_keys={"token"},
    )
    assert extra == {"token": {"keyring": "k"}}
    assert settings == HttpSettings(
        base_url="https://acme.okta.com",
        timeout_s=10.0,
        max_retries=4,
        backoff_base_s=0.5,
        backoff_max_s=30.0,
        verify_tls=True,
        ca_bundle=None,
        proxy=None,
        user_agent="pamtui/0.1.0 (+provider corp-okta)",
        max_concurrency=8,
        rate_limit_max_wait_s=60.0,
    )


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({}, "base_url"),
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": "https://user:pw@x"}, "base_url"),
        ({"base_url": 42}, "base_url"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": "10"}, "timeout_s"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"backoff_base_s": -1}, "backoff_base_s"),
        ({"backoff_max_s": 0.1}, "backoff_max_s"),
        ({"verify_tls": "no"}, "verify_tls"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle"),
        ({"proxy": "gopher://p:1"}, "proxy"),
        ({"user_agent": "a\r\nX-Evil: 1"}, "user_agent"),
        ({"max_concurrency": 0}, "max_concurrency"),
        ({"max_concurrency": True}, "max_concurrency"),
        ({"rate_limit_max_wait_s": float("inf")}, "rate_limit_max_wait_s"),
        ({"tokn": "x"}, "tokn"),
    ],
)
def test_settings_errors_name_the_key(settings: dict[str, Any], key: str) -> None:
    raw = {"base_url": "https://x.example", **settings}
    if settings == {}:
        raw = {}
    with pytest.raises(ProviderConfigError) as info:
        http_settings("p", raw, allowed_extra_keys={"token"}, type_name="okta")
    assert repr(key) in str(info.value) and "provider 'p' (type okta)" in str(info.value)


def test_proxy_credentials_are_not_echoed() -> None:
    with pytest.raises(ProviderConfigError) as info:
        http_settings("p", {"base_url": "https://x", "proxy": "ftp://u:hunter2@p"})
    assert "hunter2" not in str(info.value)


def test_tls_and_proxy_options_reach_httpx() -> None:
    insecure, _ = http_settings("p", {"base_url": "https://x", "verify_tls": False})
    assert httpx_client_options("p", insecure)["verify"] is False

    custom, _ = http_settings("p", {"base_url": "https://x", "ca_bundle": certifi.where()})
    verify = httpx_client_options("p", custom)["verify"]
    assert isinstance(verify, ssl.SSLContext)
    assert verify.verify_mode == ssl.CERT_REQUIRED and verify.get_ca_certs()

    default, _ = http_settings("p", {"base_url": "https://x"})
    assert httpx_client_options("p", default)["verify"] is True

    proxied, _ = http_settings("p", {"base_url": "https://x", "proxy": "http://proxy:3128"})
    assert httpx_client_options("p", proxied)["proxy"] == "http://proxy:3128"

    with pytest.raises(ProviderConfigError, match="'ca_bundle'"):
        http_settings("p", {"base_url": "https://x", "verify_tls": False, "ca_bundle": __file__})


async def test_client_is_built_from_the_options() -> None:
    settings, _ = http_settings("p", {"base_url": "https://x/api", "timeout_s": 3})
    client = HttpClient("p", settings, auth=TokenAuth(TOKEN, "SSWS"))
    try:
        inner = client.httpx_client
        assert inner.timeout == httpx.Timeout(3.0)
        assert inner.follow_redirects is True
        assert str(client.url_for("/users")) == "https://x/api/users"
        assert str(client.url_for("https://x/other")) == "https://x/other"
        with pytest.raises(ProviderError, match="refusing"):
            client.url_for("https://elsewhere.example/users")
    finally:
        await client.aclose()


def test_token_auth_rejects_bad_tokens() -> None:
    with pytest.raises(ProviderConfigError):
        TokenAuth("")
    with pytest.raises(ProviderConfigError) as info:
        TokenAuth("abc\r\nX-Injected: 1")
    assert "abc" not in str(info.value)


@pytest.mark.parametrize("declared", [True, False])
async def test_body_size_cap_boundary(http_server: FakeServer, declared: bool) -> None:
    cap = 4096
    exact = b'"' + b"x" * (cap - 2) + b'"'  # a JSON string of exactly cap bytes
    headers = {"Content-Type": "application/json"}
    if declared:
        http_server.route("/exact", Reply(200, headers=headers, body=exact))
        http_server.route("/over", Reply(200, headers=headers, body=exact + b" "))
    else:  # no Content-Length: the body is only known to be too large while it is read
        http_server.route("/over", Reply(200, headers=headers, body=exact, stream_bytes=10**7))
    async with make_client(http_server.url, max_response_bytes=cap, max_retries=3) as client:
        if declared:
            assert await client.get_json("/exact") == "x" * (cap - 2)
        with pytest.raises(HttpError) as info:
            await client.get_json("/over")
    assert "larger than max_response_bytes (4,096 bytes)" in str(info.value)
    # The declared size is named; a streamed body has none to name (it once said "None").
    assert ("Content-Length 4,097;" if declared else "bytes); stopped") in str(info.value)
    assert not info.value.retryable and info.value.status == 200
    assert len(http_server.hits("/over")) == 1  # not retried: it would be as large again
