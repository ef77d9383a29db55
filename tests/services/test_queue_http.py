"""The queue and the shared HTTP layer together, against a real HTTP server.

A small token API provider (test-only, built on pamtui.providers.http) is
revoked through the real RevocationQueue: 429s are retried, a 403 fails at
once with the provider's message, a 5xx that outlives the retries fails as
retryable and a later retry verifies first, and a revocation the API accepted
but still reports active fails loudly.
"""

from __future__ import annotations

from typing import ClassVar

from pamtui.journal import Journal
from pamtui.model import (
    Capability,
    Credential,
    CredentialKind,
    CredentialStatus,
    QueueState,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)
from pamtui.providers.http import HttpClient, bearer_auth, http_settings
from pamtui.services.queue import RevocationQueue
from tests.fakes import http as http_fake
from tests.fakes.http import Reply

http_server = http_fake.http_server
TOKEN = "s3cr3t-api-token-for-tests-0001"


class TokenApi:
    """DELETE /tokens/{id} revokes (404: already gone); GET /tokens/{id} verifies."""

    type: ClassVar[str] = "token-api"
    capabilities = frozenset(Capability)

    def __init__(self, base_url: str) -> None:
        self.name = "api"
        settings, _ = http_settings(
            self.name,
            {"base_url": base_url, "max_retries": 2, "backoff_base_s": 0.01, "timeout_s": 2},
        )
        self.sleeps: list[float] = []

        async def record_sleep(seconds: float) -> None:
            self.sleeps.append(seconds)

        self.client = HttpClient(self.name, settings, auth=bearer_auth(TOKEN), sleep=record_sleep)

    def credential(self, token_id: str) -> Credential:
        return Credential(
            self.name,
            token_id,
            "u1",
            CredentialKind.API_TOKEN,
            CredentialStatus.ACTIVE,
            label=f"token {token_id}",
        )

    def revoke_actions(self, target):
        return [
            RevokeAction(
                self.name,
                "revoke_token",
                TargetKind.CREDENTIAL,
                target.id,
                target.account_id,
                f"Revoke token {target.id}",
                order=10,
            )
        ]

    async def revoke(self, action, idempotency_key):
        response = await self.client.request(
            "DELETE",
            f"/tokens/{action.target_id}",
            expect=(204, 404),
            headers={"Idempotency-Key": idempotency_key},
            idempotent=True,
        )
        return RevokeResult(
            ok=True,
            already_done=response.status_code == 404,
            provider_response={"status": response.status_code},
        )

    async def verify(self, action):
        body = await self.client.get_json(f"/tokens/{action.target_id}")
        return VerifyResult(gone=body.get("status") == "revoked", detail=str(body.get("status")))

    async def aclose(self):
        await self.client.aclose()


def _queue(db_path, provider) -> RevocationQueue:
    return RevocationQueue(Journal.open(db_path), {provider.name: provider}, "tester")


async def _stage_and_run(queue, provider, token_id: str):
    action = provider.revoke_actions(provider.credential(token_id))[0]
    (item,) = queue.stage([action], "leaked", approve=True)
    return item, await queue.execute(item.id)


async def test_429_is_retried_honouring_retry_after(http_server, db_path):
    provider = TokenApi(http_server.url)
    http_server.route(
        "/tokens/t1",
        handler=_scripted(
            {
                "DELETE": [Reply(429, {"Retry-After": "2"}), Reply(204)],
                "GET": [Reply(200, body={"status": "revoked"})],
            }
        ),
    )
    queue = _queue(db_path, provider)
    _, outcome = await _stage_and_run(queue, provider, "t1")
    assert outcome.ok and outcome.item.state is QueueState.VERIFIED
    assert [r.method for r in http_server.hits("/tokens/t1")] == ["DELETE", "DELETE", "GET"]
    assert any(1.9 <= s <= 2.0 for s in provider.sleeps), provider.sleeps  # Retry-After: 2
    await provider.aclose()


async def test_a_403_fails_at_once_with_the_providers_message(http_server, db_path):
    http_server.route(
        "/tokens/t2",
        handler=_scripted(
            {
                "DELETE": [
                    Reply(
                        403,
                        body={
                            "message": "Resource not accessible by integration",
                            "documentation_url": "https://docs.example/rest",
                        },
                    )
                ]
            }
        ),
    )
    provider = TokenApi(http_server.url)
    _, outcome = await _stage_and_run(_queue(db_path, provider), provider, "t2")
    assert outcome.item.state is QueueState.FAILED
    assert "Resource not accessible by integration" in outcome.item.last_error
    assert TOKEN not in outcome.item.last_error
    assert len(http_server.hits("/tokens/t2")) == 1  # no retry for a 4xx
    await provider.aclose()


async def test_5xx_outliving_retries_then_a_retry_verifies_first(http_server, db_path):
    script = {"DELETE": [Reply(503)], "GET": [Reply(200, body={"status": "active"})]}
    http_server.route("/tokens/t3", handler=_scripted(script))
    provider = TokenApi(http_server.url)
    queue = _queue(db_path, provider)
    item, outcome = await _stage_and_run(queue, provider, "t3")
    assert outcome.item.state is QueueState.FAILED
    assert [r.method for r in http_server.hits("/tokens/t3")] == ["DELETE"] * 3  # 1 + 2 retries
    # The API recovers; the operator retries. pamtui asks first, then revokes.
    script["DELETE"] = [Reply(204)]
    script["GET"] = [Reply(200, body={"status": "active"}), Reply(200, body={"status": "revoked"})]
    again = await queue.execute(item.id)
    assert again.ok and again.item.state is QueueState.VERIFIED
    assert [r.method for r in http_server.hits("/tokens/t3")][3:] == ["GET", "DELETE", "GET"]
    await provider.aclose()


async def test_accepted_but_still_active_fails_loudly(http_server, db_path):
    http_server.route(
        "/tokens/t4",
        handler=_scripted({"DELETE": [Reply(204)], "GET": [Reply(200, body={"status": "active"})]}),
    )
    provider = TokenApi(http_server.url)
    _, outcome = await _stage_and_run(_queue(db_path, provider), provider, "t4")
    assert outcome.item.state is QueueState.FAILED
    assert outcome.item.last_error.startswith("VERIFICATION FAILED")
    await provider.aclose()


def _scripted(by_method: dict[str, list[Reply]]):
    """A handler answering each method from its own list (the last reply repeats)."""

    def handle(request) -> Reply:
        replies = by_method.get(request.method) or [Reply(405)]
        return replies.pop(0) if len(replies) > 1 else replies[0]

    return handle
