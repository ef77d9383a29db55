"""Real servers the provider tests share: one ``scim2-server`` and one moto.

Both start once per test session on 127.0.0.1 and stop at its end
(registered as a pytest plugin in ``tests/conftest.py``). Tests stay apart
by tenant: each SCIM test gets its own ``/<tenant>/v2`` (``--dynamic-tenants``),
and each AWS test resets moto (``/moto-api/reset``) before it seeds.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pamtui.providers.scim import ENTERPRISE_USER

SCIM_TOKEN = "scim-test-token-7f3a9c"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _scim2_server_command() -> list[str]:
    exe = Path(sys.executable).with_name("scim2-server")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("scim2-server")
    if found:
        return [found]
    pytest.skip("scim2-server is not installed (pip install scim2-server)")
    raise AssertionError  # unreachable


def _wait_for_scim(proc: subprocess.Popen[bytes], root: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            pytest.fail(f"scim2-server exited with {proc.returncode}: {err[-2000:]}")
        try:
            r = httpx.get(
                f"{root}/probe/v2/ServiceProviderConfig",
                headers={"Authorization": f"Bearer {SCIM_TOKEN}"},
                timeout=1,
            )
            if r.status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail("scim2-server did not answer within 20 s")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def scim_root() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of one running scim2-server with dynamic tenants."""
    port = free_port()
    proc = subprocess.Popen(
        [
            *_scim2_server_command(),
            "--hostname",
            "127.0.0.1",
            "--port",
            str(port),
            "--bearer-token",
            SCIM_TOKEN,
            "--dynamic-tenants",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    root = f"http://127.0.0.1:{port}"
    try:
        _wait_for_scim(proc, root)
        yield root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr:
            proc.stderr.close()


@dataclass
class Tenant:
    """One test's own SCIM tenant on the shared server, with an admin client."""

    base_url: str
    client: httpx.Client

    def add_user(self, user_name: str, **attrs: Any) -> str:
        body = {"schemas": [USER_SCHEMA], "userName": user_name, "active": True, **attrs}
        if ENTERPRISE_USER in attrs:
            body["schemas"] = [USER_SCHEMA, ENTERPRISE_USER]
        r = self.client.post("Users", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def add_group(self, display: str, members: list[str]) -> str:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display,
            "members": [{"value": m} for m in members],
        }
        r = self.client.post("Groups", json=body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def get_user(self, user_id: str) -> httpx.Response:
        return self.client.get(f"Users/{user_id}")


@pytest.fixture
def tenant(scim_root: str) -> Iterator[Tenant]:
    base_url = f"{scim_root}/t{uuid.uuid4().hex[:12]}/v2"
    with httpx.Client(
        base_url=base_url + "/",
        headers={
            "Authorization": f"Bearer {SCIM_TOKEN}",
            "Content-Type": "application/scim+json",
        },
        timeout=5,
    ) as client:
        yield Tenant(base_url, client)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of one moto server (AWS IAM) for the session."""
    pytest.importorskip("moto")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
