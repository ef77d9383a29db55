"""Token authentication: ``Authorization: <scheme> <token>``; the token is never shown."""

from __future__ import annotations

import re
from collections.abc import Generator

import httpx

from pamtui.providers.base import ProviderConfigError
from pamtui.providers.http.settings import has_crlf


class TokenAuth(httpx.Auth):
    """``Authorization: <scheme> <token>``: ``Bearer`` (SCIM, GitHub) or ``SSWS`` (Okta).

    The token is resolved elsewhere and handed in; it never appears in a repr
    or an error message.
    """

    def __init__(self, token: str, scheme: str = "Bearer") -> None:
        if not isinstance(token, str) or not token.strip():
            raise ProviderConfigError("the API token is empty")
        if has_crlf(token):
            raise ProviderConfigError("the API token contains a line break")
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*", scheme):
            raise ProviderConfigError(f"invalid authorization scheme {scheme!r}")
        self.scheme = scheme
        self._token = token.strip()

    @property
    def secret(self) -> str:
        return self._token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"{self.scheme} {self._token}"
        yield request

    def __repr__(self) -> str:
        return f"TokenAuth(scheme={self.scheme!r}, token=<redacted>)"


def token_auth(where: str, token: str, scheme: str = "Bearer", key: str = "token") -> TokenAuth:
    """:class:`TokenAuth` for the resolved secret of setting ``key``; errors name the key."""
    try:
        return TokenAuth(token, scheme)
    except ProviderConfigError as exc:
        raise ProviderConfigError(f"{where}: setting {key!r}: {exc}") from exc


def bearer_auth(token: str) -> TokenAuth:
    return TokenAuth(token, "Bearer")


def ssws_auth(token: str) -> TokenAuth:
    """Okta API tokens: ``Authorization: SSWS <token>``."""
    return TokenAuth(token, "SSWS")
