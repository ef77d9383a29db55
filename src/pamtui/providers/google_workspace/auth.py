"""Service-account auth with domain-wide delegation: a signed JWT exchanged for a token.

The JWT (RFC 7523 bearer grant: ``iss`` the service account, ``sub`` the admin
it acts as, ``scope``, ``aud`` the token endpoint) is signed by ``google-auth``
(``google.auth.crypt`` and ``google.auth.jwt``), imported only when a provider
is built so ``pamtui`` start-up does not pay for it. The exchange goes through
pamtui's own HTTP layer (timeouts, retries, size cap), not google-auth's
``requests`` transport. The access token is cached until a minute before it
expires; an API answering 401 makes :class:`DelegatedAuth` fetch a new token
once and resend, and a second 401 is left to the HTTP layer's error.

Nothing here ever puts the key, the assertion or an access token in a message:
the key's own parse errors are replaced by a fixed text.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pamtui.providers.base import ProviderConfigError, ProviderError
from pamtui.providers.http import HttpClient, HttpError, HttpSettings

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

REFRESH_MARGIN_S = 60.0
"""A token this close to its expiry is replaced before use."""
ASSERTION_LIFETIME_S = 3600
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(frozen=True)
class ServiceAccountKey:
    """The parts of a service account JSON key pamtui uses (``private_key`` stays inside)."""

    client_email: str
    private_key_id: str
    info: Mapping[str, Any]

    def __repr__(self) -> str:
        return f"ServiceAccountKey(client_email={self.client_email!r}, private_key=<redacted>)"


def load_key(where: str, key: str, text: str) -> ServiceAccountKey:
    """Parse a JSON key; errors name the setting, never echo the contents."""
    bad = f"{where}: setting {key!r}: not a service account JSON key"
    try:
        info = json.loads(text)
    except ValueError:
        raise ProviderConfigError(f"{bad} (not JSON)") from None
    if not isinstance(info, dict):
        raise ProviderConfigError(f"{bad} (not a JSON object)")
    missing = [k for k in ("client_email", "private_key") if not isinstance(info.get(k), str)]
    if missing:
        raise ProviderConfigError(f"{bad} (missing {', '.join(missing)})")
    if info.get("type", "service_account") != "service_account":
        raise ProviderConfigError(f"{bad} (type is not service_account)")
    return ServiceAccountKey(info["client_email"], str(info.get("private_key_id") or ""), info)


def read_key_file(where: str, path: Path) -> ServiceAccountKey:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise ProviderConfigError(
            f"{where}: setting 'credentials_file': cannot read {str(path)!r}: {reason}"
        ) from None
    return load_key(where, "credentials_file", text)


def make_signer(where: str, key: ServiceAccountKey) -> Any:
    """google-auth's RSA signer for the key (imported here, lazily)."""
    try:
        from google.auth import crypt
    except ImportError:  # pragma: no cover - a dependency of pamtui
        raise ProviderConfigError(
            f"{where}: the google-auth package is missing (pip install google-auth)"
        ) from None
    try:
        return crypt.RSASigner.from_service_account_info(dict(key.info))
    except Exception:  # the library's text may quote the key
        raise ProviderConfigError(
            f"{where}: the service account key's private_key is not a usable RSA key"
        ) from None


class _FormClient(HttpClient):
    """The token endpoint's client: the grant is a form (``application/x-www-form-urlencoded``)."""

    hidden: list[str]

    def redact(self, text: str) -> str:
        for secret in getattr(self, "hidden", ()):
            text = text.replace(secret, "[redacted]")
        return super().redact(text)

    async def _send(
        self,
        method: str,
        url: httpx.URL,
        params: Mapping[str, Any] | None,
        json: Any,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        if not isinstance(json, _Form):
            return await super()._send(method, url, params, json, headers)
        request = self._client.build_request(method, url, data=json.fields, headers=headers)
        response = await self._client.send(request, stream=True)
        cap = self.settings.max_response_bytes
        try:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > cap:
                    raise self._too_large(method, url.path, response, None)
            response._content = bytes(body)
        finally:
            await response.aclose()
        return response


class _Form:
    def __init__(self, fields: dict[str, str]) -> None:
        self.fields = fields

    def __repr__(self) -> str:
        return "_Form(<redacted>)"


class TokenSource:
    """Access tokens for ``subject`` with ``scopes``, cached until shortly before expiry."""

    def __init__(
        self,
        name: str,
        where: str,
        key: ServiceAccountKey,
        signer: Any,
        *,
        subject: str,
        scopes: Collection[str],
        token_uri: str,
        http: HttpSettings,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.where = where
        self.key = key
        self.subject = subject
        self.scopes = tuple(scopes)
        self.token_uri = token_uri
        self._signer = signer
        self._clock = clock
        settings = HttpSettings(**{**http.__dict__, "base_url": token_uri})
        self._http = _FormClient(name, settings, clock=clock, transport=transport)
        self._http.hidden = []
        self._token = ""
        self._expires_at = 0.0
        self._lock: asyncio.Lock | None = None
        self.seen: list[str] = []
        """Every access token received (for redaction; never shown)."""
        self.fetched = 0

    def redact(self, text: str) -> str:
        for token in self.seen:
            text = text.replace(token, "[redacted]")
        return self._http.redact(text)

    def assertion(self) -> str:
        from google.auth import jwt

        now = int(self._clock())
        payload = {
            "iss": self.key.client_email,
            "sub": self.subject,
            "scope": " ".join(self.scopes),
            "aud": self.token_uri,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME_S,
        }
        signed = jwt.encode(self._signer, payload, key_id=self.key.private_key_id or None)
        return signed.decode("ascii") if isinstance(signed, bytes) else str(signed)

    async def token(self, *, stale: str = "") -> str:
        """A valid access token; ``stale``: the one the API refused (fetch a new one)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            fresh = self._token and self._clock() < self._expires_at - REFRESH_MARGIN_S
            if fresh and self._token != stale:
                return self._token
            assertion = self.assertion()
            self._http.hidden.append(assertion)
            try:
                response = await self._http.request(
                    "POST",
                    self.token_uri,
                    json=_Form({"grant_type": GRANT_TYPE, "assertion": assertion}),
                    expect=(200,),
                    idempotent=True,
                )
                data = self._http.parse_json(response)
            except ProviderError as exc:
                raise ProviderError(
                    f"{self.redact(str(exc))} (token endpoint: check the service account key, "
                    f"its domain-wide delegation for the scopes and the subject {self.subject})",
                    retryable=exc.retryable,
                ) from None
            token = data.get("access_token") if isinstance(data, dict) else None
            expires = data.get("expires_in", 3600) if isinstance(data, dict) else 0
            if not isinstance(token, str) or not token.strip():
                raise ProviderError(f"{self.where}: the token endpoint answered no access_token")
            if isinstance(expires, bool) or not isinstance(expires, int | float):
                expires = 3600
            self.fetched += 1
            self._token = token.strip()
            self.seen.append(self._token)
            self._expires_at = self._clock() + float(expires)
            return self._token

    async def aclose(self) -> None:
        await self._http.aclose()


class DelegatedAuth:
    """``Authorization: Bearer <token>``; a 401 fetches a new token once and resends.

    An auth flow (http/auth.py), not an ``httpx.Auth``: no httpx until the first request.
    """

    def __init__(self, source: TokenSource) -> None:
        self.source = source

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.source.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:  # httpx reads and closes the refused response
            token = await self.source.token(stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request

    def sync_auth_flow(self, request: httpx.Request) -> Any:  # pragma: no cover
        raise RuntimeError("the google-workspace provider is async only")

    def __repr__(self) -> str:
        return "DelegatedAuth(token=<redacted>)"


class GoogleHttpClient(HttpClient):
    """The API client; its errors also hide every access token the source handed out,
    and a 401 or 403 says what to check (the refresh already happened)."""

    source: TokenSource

    def redact(self, text: str) -> str:
        return self.source.redact(super().redact(text))

    def _status_error(
        self, method: str, path: str, response: httpx.Response, **options: Any
    ) -> HttpError:
        status = response.status_code
        if not options.get("note") and status in (401, 403):
            subject = self.source.subject
            options["note"] = (
                "refused again with a new access token: check the service account's "
                f"domain-wide delegation and that {subject} is an active admin"
                if status == 401
                else f"check that {subject} holds an admin role allowing this and that the "
                "delegation grants the scope"
            )
        return super()._status_error(method, path, response, **options)
