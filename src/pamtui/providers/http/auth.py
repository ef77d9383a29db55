"""Token authentication: ``Authorization: <scheme> <token>``; the token is never shown.

The auth objects of the HTTP providers (:class:`TokenAuth` here, Entra's and
Google's token sources) are created, and their secrets checked, as a session
opens, without importing httpx: they are not ``httpx.Auth`` subclasses but
*auth flows* (an ``async_auth_flow(request)`` generator, httpx's own protocol),
wrapped by :func:`httpx_auth` when the client is built on first use.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, Protocol

from pamtui.providers.base import ProviderConfigError
from pamtui.providers.http.settings import has_crlf

if TYPE_CHECKING:  # imported when the client is built (see the module's docstring)
    import httpx


class AuthFlow(Protocol):
    """What httpx calls ``Auth.async_auth_flow``: yield requests, receive their responses."""

    def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]: ...


def httpx_auth(auth: Any) -> httpx.Auth | None:
    """``auth`` as an ``httpx.Auth``: as is if it is one, else its flow, wrapped."""
    import httpx

    if auth is None or isinstance(auth, httpx.Auth):
        return auth
    return _flow_auth_class()(auth)


@functools.cache
def _flow_auth_class() -> Callable[[AuthFlow], httpx.Auth]:
    import httpx

    class FlowAuth(httpx.Auth):
        """An ``httpx.Auth`` that runs an :class:`AuthFlow`'s ``async_auth_flow``."""

        def __init__(self, flow: AuthFlow) -> None:
            self.flow = flow

        def sync_auth_flow(self, request: httpx.Request) -> Any:  # pragma: no cover
            raise RuntimeError(f"{self.flow!r} is async only")

        async def async_auth_flow(
            self, request: httpx.Request
        ) -> AsyncGenerator[httpx.Request, httpx.Response]:
            steps = self.flow.async_auth_flow(request)
            try:
                outgoing = await steps.__anext__()
                while True:
                    response = yield outgoing
                    try:
                        outgoing = await steps.asend(response)
                    except StopAsyncIteration:
                        return
            finally:
                await steps.aclose()

        def __repr__(self) -> str:
            return repr(self.flow)

    return FlowAuth


class TokenAuth:
    """``Authorization: <scheme> <token>``: ``Bearer`` (SCIM, GitHub) or ``SSWS`` (Okta).

    The token is resolved elsewhere and handed in; it never appears in a repr
    or an error message. An :class:`AuthFlow` (see the module's docstring).
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

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
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
