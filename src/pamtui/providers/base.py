"""The provider protocol: what every backend (built-in or plugin) implements.

A provider knows nothing about the UI, the queue or the journal. It reports
accounts, credentials and access events, proposes the revoke actions that
apply to a target, performs them idempotently and verifies them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol, runtime_checkable

from pamtui.errors import EXIT_USAGE, PamtuiError
from pamtui.model import (
    AccessEvent,
    Account,
    Capability,
    Credential,
    RevokeAction,
    RevokeResult,
    TargetKind,
    VerifyResult,
)


class ProviderError(PamtuiError):
    """A provider could not do what was asked; the message is for operators."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class ProviderConfigError(ProviderError):
    """The provider's settings are wrong (a key is missing or of the wrong type)."""

    exit_code = EXIT_USAGE
    label = "config"


@dataclass(frozen=True)
class ProviderContext:
    """What pamtui hands a provider when it is created.

    ``state_dir`` is where a provider may keep files of its own (cursors, the
    demo's state). ``resolve_secret`` turns a config reference such as
    ``{keyring = "corp-scim"}`` into the secret.
    """

    state_dir: Path
    resolve_secret: Callable[[Any], str] = field(default=lambda ref: str(ref))


def where(name: str, type_name: str) -> str:
    """How errors name a provider: ``provider 'corp-okta' (type okta)``."""
    return f"provider {name!r} (type {type_name})"


def text(value: Any) -> str:
    """A provider's string field, stripped; '' for anything that is not a string."""
    return value.strip() if isinstance(value, str) else ""


def iso_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp with a zone (``Z`` or an offset) as UTC; None for anything else.

    Providers answer timestamps as text; one without a zone is ambiguous and
    is not guessed at.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else None


def check_action(
    provider: Any, action: RevokeAction, known: Mapping[str, TargetKind | None]
) -> None:
    """Refuse an action meant for another provider, or one ``provider`` does not know.

    ``known`` maps each action name to the target kind it takes (None: either).
    Every provider checks this before touching its API; the id checks that
    follow are the provider's own (ids differ per API).
    """
    if action.provider != provider.name:
        raise ProviderError(
            f"action for provider {action.provider!r} sent to {provider.type} provider "
            f"{provider.name!r}"
        )
    here = where(provider.name, provider.type)
    if action.name not in known:
        raise ProviderError(f"{here}: unknown action {action.name!r}")
    kind = known[action.name]
    if kind is not None and action.target_kind is not kind:
        raise ProviderError(
            f"{here}: unknown action {action.name!r} for a {action.target_kind} target "
            f"(it needs a {kind} target)"
        )


def secret_setting(
    where: str, key: str, ref: Any, context: ProviderContext, *, what: str = "the token"
) -> str:
    """Resolve the secret reference in setting ``key``; a plaintext value is refused.

    Config holds ``{ env = "VAR" }`` or ``{ keyring = "NAME" }``, never the secret:
    the error for anything else does not echo the value, which may be the secret.
    """
    if ref is None:
        raise ProviderConfigError(
            f'{where}: setting {key!r} is required (use {{ env = "VAR" }} '
            f'or {{ keyring = "NAME" }})'
        )
    if not isinstance(ref, Mapping):
        raise ProviderConfigError(
            f"{where}: setting {key!r} must be a secret reference, not a "
            f"{type(ref).__name__}; do not write {what} into the config, "
            f'use {{ env = "VAR" }} or {{ keyring = "NAME" }}'
        )
    try:
        value = context.resolve_secret(ref)
    except ProviderConfigError:
        raise
    except Exception as exc:  # the resolver's own error type (config, keyring)
        raise ProviderConfigError(f"{where}: setting {key!r}: {exc}") from exc
    if not isinstance(value, str) or not value.strip():
        raise ProviderConfigError(f"{where}: setting {key!r}: the secret is empty")
    return value


@runtime_checkable
class GrantRevoker(Protocol):
    """A provider that can remove one group, team or role from an account (optional).

    Movers and excess access (``services/movers.py``) end single grants, not
    whole accounts. A provider that cannot (it does not implement this, or
    answers None for a grant) has the step listed as manual, never faked.
    The action it returns is performed and verified like any other
    (``revoke``/``verify``): ``verify`` must ask whether the grant is gone.
    """

    def grant_action(self, account: Account, grant: str) -> RevokeAction | None: ...


@runtime_checkable
class Provider(Protocol):
    type: ClassVar[str]
    name: str
    capabilities: frozenset[Capability]

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], context: ProviderContext
    ) -> Provider: ...

    def list_accounts(self) -> AsyncIterator[Account]: ...

    def list_credentials(self, account: Account | None = None) -> AsyncIterator[Credential]:
        """Credentials of one account, or of every account when ``account`` is None."""
        ...

    def stream_events(self, since: str | None = None) -> AsyncIterator[AccessEvent]:
        """Events after the cursor ``since`` (None: a provider-chosen backfill), forever."""
        ...

    def revoke_actions(self, target: Account | Credential) -> list[RevokeAction]: ...

    async def revoke(self, action: RevokeAction, idempotency_key: str) -> RevokeResult: ...

    async def verify(self, action: RevokeAction) -> VerifyResult: ...

    async def aclose(self) -> None: ...
