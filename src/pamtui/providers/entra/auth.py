"""OAuth 2.0 client credentials against the Microsoft identity platform.

``TokenSource`` asks ``{authority}/{tenant}/oauth2/v2.0/token`` for an app-only
token (``grant_type=client_credentials``, ``scope=.../.default``) and keeps it
until shortly before ``expires_in`` runs out. ``GraphAuth`` puts it on every
Graph request; a 401 from Graph gets one fresh token and one more try (a token
revoked or rotated early), after which the 401 goes to the caller.

The token endpoint takes a form body, which the shared client does not send,
so this module sends it with the shared client's own ``httpx.AsyncClient``
(same timeouts, TLS and proxy) and applies the same retry rules by hand:
transport errors, 429 and 5xx are retried ``max_retries`` times, honouring
``Retry-After`` up to ``rate_limit_max_wait_s``. Neither the client secret nor
a token ever appears in an error.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
import re
import time
import uuid
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING
from urllib.parse import quote

from pamtui.providers.base import ProviderConfigError
from pamtui.providers.http import HttpClient, HttpError, Sleep, parse_retry_after, provider_message
from pamtui.providers.http.errors import collapse

if TYPE_CHECKING:  # httpx is imported when the client is first used (http/client.py)
    import httpx

EARLY_S = 120.0
"""A cached token is renewed this long before it expires (clock skew, slow requests)."""

_RETRY = frozenset({429, 500, 502, 503, 504})


class TokenError(HttpError):
    """The token endpoint refused or failed: its message already says what to check."""


class CertificateCredential:
    """An app registration's certificate: signs the client assertion (RFC 7523).

    Microsoft's identity platform accepts, instead of a client secret, a JWT
    signed with the certificate's private key whose header names the
    certificate by its SHA-1 thumbprint (``x5t``), with ``aud`` the token
    endpoint and ``iss`` = ``sub`` = the client id. The PEM holds the private
    key and the certificate; it comes from a secret reference, never the config.
    """

    def __init__(self, key_pem: str, thumbprint: str) -> None:
        self._key_pem = key_pem
        self.thumbprint = thumbprint

    @classmethod
    def from_pem(cls, pem: str, where: str) -> CertificateCredential:
        blocks = re.findall(r"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", pem, re.S)
        keys = [(kind, body) for kind, body in blocks if kind.endswith("PRIVATE KEY")]
        certs = [body for kind, body in blocks if kind == "CERTIFICATE"]
        if len(keys) != 1 or len(certs) != 1:
            raise ProviderConfigError(
                f"{where}: setting 'client_certificate' must hold one private key and one "
                "certificate in PEM"
            )
        kind, body = keys[0]
        key_pem = f"-----BEGIN {kind}-----{body}-----END {kind}-----\n"
        der = base64.b64decode("".join(certs[0].split()))
        thumbprint = base64.urlsafe_b64encode(hashlib.sha1(der).digest()).decode().rstrip("=")
        return cls(key_pem, thumbprint)

    def assertion(self, client_id: str, audience: str, now: float) -> str:
        from google.auth import crypt, jwt  # the maintained signer, imported when used

        signer = crypt.RSASigner.from_string(self._key_pem)
        issued = int(now)
        payload = {
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid.uuid4().hex,
            "nbf": issued,
            "iat": issued,
            "exp": issued + 600,
        }
        token: bytes = jwt.encode(signer, payload, header={"x5t": self.thumbprint})
        return token.decode()

    def __repr__(self) -> str:
        return f"CertificateCredential(x5t={self.thumbprint!r})"


class TokenSource:
    """An app-only Graph token, fetched on demand and cached until it nearly expires."""

    def __init__(
        self,
        http: HttpClient,
        *,
        tenant_id: str,
        client_id: str,
        client_secret: str | None,
        scope: str,
        where: str,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
        client_certificate: str | None = None,
    ) -> None:
        self.http = http
        self.where = where
        self._path = f"{quote(tenant_id, safe='')}/oauth2/v2.0/token"
        self._client_id = client_id
        self._form: dict[str, str] = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "scope": scope,
        }
        if client_secret is not None:
            self._form["client_secret"] = client_secret
        self._certificate = (
            CertificateCredential.from_pem(client_certificate, where)
            if client_certificate is not None
            else None
        )
        self._secret = client_secret or client_certificate or ""
        self._sleep = sleep
        self._clock = clock
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()
        self.fetched = 0
        """Tokens fetched so far (a test sees the cache and the refresh)."""

    @property
    def current(self) -> str:
        return self._token

    def redact(self, text: str) -> str:
        for secret in (self._secret, self._token):
            if secret and len(secret) >= 4:
                text = text.replace(secret, "[redacted]")
        return text

    async def get(self, *, stale: str = "") -> str:
        """The cached token; a new one when it nearly expired or equals ``stale``."""
        async with self._lock:
            fresh = self._token and self._clock() < self._expires_at - EARLY_S
            if fresh and self._token != stale:
                return self._token
            self._token, lifetime = await self._fetch()
            self._expires_at = self._clock() + lifetime
            self.fetched += 1
            return self._token

    def _form_for(self, url: httpx.URL) -> dict[str, str]:
        """The token request's form: the client secret, or a fresh signed assertion."""
        if self._certificate is None:
            return self._form
        assertion = self._certificate.assertion(self._client_id, str(url), self._clock())
        return {
            **self._form,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }

    async def _fetch(self) -> tuple[str, float]:
        import httpx

        url = self.http.url_for(self._path)
        settings = self.http.settings
        attempts = settings.max_retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = await self.http.httpx_client.post(url, data=self._form_for(url))
            except httpx.TransportError as exc:
                if last:
                    raise TokenError(
                        f"{self.where}: the token endpoint {url.host} cannot be reached "
                        f"({type(exc).__name__}; gave up after {attempts} attempts)",
                        retryable=True,
                    ) from None
                await self._sleep(self._backoff(attempt))
                continue
            if len(response.content) > settings.max_response_bytes:
                raise TokenError(f"{self.where}: the token endpoint's answer is too large")
            status = response.status_code
            if status == 200:
                return self._parse(response)
            if status in _RETRY and not last:
                wait = parse_retry_after(response.headers.get("retry-after"), self._clock())
                if wait is not None and wait > settings.rate_limit_max_wait_s:
                    raise self._error(response, retryable=True)
                await self._sleep(wait if wait is not None else self._backoff(attempt))
                continue
            raise self._error(response, retryable=status in _RETRY)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        settings = self.http.settings
        return random.uniform(
            0.0, min(settings.backoff_max_s, settings.backoff_base_s * 2**attempt)
        )

    def _parse(self, response: httpx.Response) -> tuple[str, float]:
        try:
            data = response.json()
        except ValueError:
            data = None
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token.strip():
            raise TokenError(
                f"{self.where}: the token endpoint answered HTTP 200 without an access "
                "token (malformed JSON or an unexpected body)",
                retryable=True,
            )
        try:
            lifetime = float(data.get("expires_in", 3599))
        except (TypeError, ValueError):
            lifetime = 3599.0
        return token.strip(), max(0.0, lifetime)

    def _error(self, response: httpx.Response, *, retryable: bool) -> TokenError:
        status = response.status_code
        detail = self.redact(collapse(provider_message(response), 240))
        hint = ""
        if status in (400, 401):
            hint = "; check tenant_id, client_id and client_secret (it may have expired)"
        return TokenError(
            f"{self.where}: the token endpoint refused client-credentials sign-in "
            f"(HTTP {status}{': ' + detail if detail else ''}){hint}",
            status=status,
            retryable=retryable,
            method="POST",
            path=response.request.url.path,
        )


class GraphAuth:
    """``Authorization: Bearer <token>`` from a :class:`TokenSource`; one refresh on 401.

    An auth flow (http/auth.py), not an ``httpx.Auth``: no httpx until the first request.
    """

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    def sync_auth_flow(self, request: httpx.Request):  # pragma: no cover - async only
        raise RuntimeError("GraphAuth is async only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.tokens.get()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            fresh = await self.tokens.get(stale=token)
            request.headers["Authorization"] = f"Bearer {fresh}"
            yield request

    def __repr__(self) -> str:
        return "GraphAuth(token=<redacted>)"
