"""Huge, endless or malformed provider answers (issue 17): an error, never memory or "0 accounts".

A SCIM endpoint that streamed 600 MB took ``pamtui accounts`` to 3 GB RSS and
exited 0. The shared HTTP layer now reads bodies streamed and stops at
``max_response_bytes``; an answer that is not the protocol's shape is an error.
These tests run the real CLI in a subprocess against a real server on
127.0.0.1, and read the child's peak RSS from ``getrusage(RUSAGE_CHILDREN)`` in
a wrapper process whose only child is pamtui (so no other test's child counts).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fakes import http as http_fake
from tests.fakes.http import FakeServer, Reply

http_server = http_fake.http_server

STREAMED = 300 * 1024 * 1024
"""What the server would send at most: ten times the default cap, and bounded."""
DEFAULT_CAP = 32 * 1024 * 1024

WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True, timeout=120)
print(json.dumps({
    "code": done.returncode,
    "stdout": done.stdout,
    "stderr": done.stderr,
    "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
}))
"""


def accounts(tmp_path: Path, url: str, extra: str = "") -> dict:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[providers]]\nname = "corp-scim"\ntype = "scim"\nbase_url = "{url}/scim/v2"\n'
        f'token = {{ env = "SCIM_TOKEN" }}\nmax_retries = 0\n{extra}'
    )
    env = {**os.environ, "SCIM_TOKEN": "scim-secret-token-123"}
    argv = [sys.executable, "-m", "pamtui", "accounts", "--config", str(config)]
    argv += ["--db", str(tmp_path / "pamtui.db")]
    result = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def scim_routes(server: FakeServer, users: Reply) -> None:
    server.route("/scim/v2/ServiceProviderConfig", Reply(404, body={"detail": "none"}))
    server.route("/scim/v2/Groups", Reply(404, body={"detail": "none"}))
    server.route("/scim/v2/Users", users)


@pytest.mark.parametrize("declared_length", [False, True])
def test_a_huge_body_fails_the_call_and_memory_stays_bounded(
    tmp_path: Path, http_server: FakeServer, declared_length: bool
) -> None:
    headers = {"Content-Type": "application/scim+json"}
    if declared_length:
        headers["Content-Length"] = str(STREAMED)  # an honest server says so up front
    prefix = b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "x": "'
    scim_routes(http_server, Reply(200, headers=headers, body=prefix, stream_bytes=STREAMED))

    run = accounts(tmp_path, http_server.url)

    assert run["code"] == 1, run
    assert "Traceback" not in run["stderr"]
    assert "larger than max_response_bytes (33,554,432 bytes)" in run["stderr"]
    assert "corp-scim" in run["stderr"] and "GET /scim/v2/Users" in run["stderr"]
    assert "scim-secret-token-123" not in run["stderr"] + run["stdout"]
    assert http_server.streamed < STREAMED  # the client hung up instead of reading it all
    peak = run["maxrss_kib"] * 1024
    assert peak < 4 * DEFAULT_CAP + 120 * 1024 * 1024, f"peak RSS {peak:,} bytes"


def test_the_cap_is_a_declared_setting(tmp_path: Path, http_server: FakeServer) -> None:
    body = {"totalResults": 1, "Resources": [{"id": "u1", "userName": "x" * 4000}]}
    scim_routes(http_server, Reply(200, body=body))
    small = accounts(tmp_path, http_server.url, "max_response_bytes = 2048\n")
    assert small["code"] == 1 and "max_response_bytes (2,048 bytes)" in small["stderr"]

    fine = accounts(tmp_path, http_server.url)
    assert fine["code"] == 0, fine["stderr"]
    assert "x" * 40 in fine["stdout"]

    bad = accounts(tmp_path, http_server.url, "max_response_bytes = 10\n")
    assert bad["code"] == 2
    assert (
        "setting 'max_response_bytes' must be an integer of bytes between 1024" in (bad["stderr"])
    )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            Reply(200, body={"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]}),
            "did not return a SCIM ListResponse (no 'Resources' list",
        ),
        (Reply(200, body={"totalResults": 3}), "did not return a SCIM ListResponse"),
        (
            Reply(200, headers={"Content-Type": "text/html"}, body="<html>login</html>"),
            "malformed JSON",
        ),
        (Reply(200, body=["not", "a", "list", "response"]), "did not return a SCIM ListResponse"),
        (Reply(200, body={"Resources": "nope"}), "'Resources' is not a list"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_an_error_not_zero_accounts(
    tmp_path: Path, http_server: FakeServer, reply: Reply, message: str
) -> None:
    scim_routes(http_server, reply)
    run = accounts(tmp_path, http_server.url)
    assert run["code"] == 1, run
    assert message in run["stderr"] and "Traceback" not in run["stderr"]


def test_an_empty_list_response_is_zero_accounts(tmp_path: Path, http_server: FakeServer) -> None:
    scim_routes(http_server, Reply(200, body={"totalResults": 0}))  # Resources may be left out
    run = accounts(tmp_path, http_server.url)
    assert run["code"] == 0, run["stderr"]
