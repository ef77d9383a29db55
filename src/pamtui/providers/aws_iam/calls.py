"""``BotoCalls``: boto3 calls in worker threads, AWS errors as provider errors.

boto3 is synchronous and optional (``pip install 'pamtui[aws]'``): it is
imported when a provider is created, and every call runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from pamtui.providers.base import ProviderError

BOTO3_MISSING = "the aws-iam provider needs boto3: pip install 'pamtui[aws]'"
LIST_PAGE = 100
"""``MaxItems`` of IAM list calls (AWS's own default and maximum is 1000)."""

_THROTTLING = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "ServiceFailure",
    }
)

_AUTH_FAILURES = frozenset(
    {
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "IncompleteSignature",
        "AuthFailure",
    }
)


class AwsApiError(ProviderError):
    """An AWS API answered with an error; ``code`` is AWS's (``NoSuchEntity``...)."""

    def __init__(self, message: str, *, code: str, status: int, retryable: bool) -> None:
        super().__init__(message, retryable=retryable)
        self.code = code
        self.status = status


class BotoCalls:
    """The provider's AWS calls (a mixin of :class:`AwsIamProvider`)."""

    name: str
    where: str
    iam: Any
    cloudtrail: Any
    _secrets: tuple[str, ...]

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _translate(self, client: Any, op: str, exc: Exception) -> Exception:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            PartialCredentialsError,
            ReadTimeoutError,
        )
        from botocore.parsers import ResponseParserError

        service = client.meta.service_model.service_name if client is not None else "aws"
        api = client.meta.method_to_api_mapping.get(op, op) if client is not None else op
        what = f"{self.where}: {service}:{api}"
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {}) or {}
            code = str(error.get("Code") or "Unknown")
            message = str(error.get("Message") or "").strip()
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            text = f"{what} failed: {code}" + (f": {message}" if message else "")
            text += f" (HTTP {status})" if status else ""
            if code.startswith("AccessDenied") or code == "UnauthorizedOperation":
                text += f"; the provider's AWS credentials need {service}:{api}"
            elif code in _AUTH_FAILURES:
                text += "; check the access key id and secret (or the profile) of this provider"
            retryable = code in _THROTTLING or status >= 500 or status == 429
            return AwsApiError(self._redact(text), code=code, status=status, retryable=retryable)
        if isinstance(exc, EndpointConnectionError | ConnectionClosedError):
            return ProviderError(self._redact(f"{what}: cannot connect: {exc}"), retryable=True)
        if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
            return ProviderError(self._redact(f"{what}: timed out: {exc}"), retryable=True)
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return ProviderError(
                f"{what}: no usable AWS credentials ({exc}); set access_key_id and "
                "secret_access_key, or profile"
            )
        if isinstance(exc, BotoCoreError):
            return ProviderError(self._redact(f"{what}: {exc}"))
        if isinstance(exc, ResponseParserError):  # not a BotoCoreError: a malformed answer
            first = " ".join(str(exc).split("\n", 1)[0].split())[:200]
            text = f"{what}: malformed response ({first})"
            return ProviderError(self._redact(text), retryable=True)
        return exc

    def _sync(self, client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        """One API call, in the current (worker) thread; errors translated."""
        try:
            return getattr(client, op)(**kwargs)
        except Exception as exc:
            raise self._translate(client, op, exc) from exc

    async def _call(self, client: Any, op: str, **kwargs: Any) -> dict[str, Any]:
        return await asyncio.to_thread(self._sync, client, op, **kwargs)

    def _pages(self, op: str, key: str, **kwargs: Any) -> list[Any]:
        """Every item of an IAM list call (``Marker``/``IsTruncated``), synchronously."""
        items: list[Any] = []
        marker: str | None = None
        while True:
            more = {"MaxItems": LIST_PAGE, **({"Marker": marker} if marker else {})}
            page = self._sync(self.iam, op, **kwargs, **more)
            items.extend(page.get(key) or [])
            marker = page.get("Marker")
            if not page.get("IsTruncated") or not marker:
                return items

    async def _users(self) -> AsyncIterator[dict[str, Any]]:
        marker: str | None = None
        while True:
            page = await self._call(
                self.iam, "list_users", MaxItems=LIST_PAGE, **({"Marker": marker} if marker else {})
            )
            for user in page.get("Users") or []:
                if isinstance(user, dict) and user.get("UserName"):
                    yield user
            marker = page.get("Marker")
            if not page.get("IsTruncated") or not marker:
                return
