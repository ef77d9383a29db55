"""``AwsIamProvider``: the provider, put together from its parts."""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from pamtui import __version__
from pamtui.model import Capability
from pamtui.providers.aws_iam.calls import BOTO3_MISSING
from pamtui.providers.aws_iam.cloudtrail import LOOKUP_MIN_INTERVAL_S, CloudTrailStream, Sleep
from pamtui.providers.aws_iam.inventory import USER_CONCURRENCY, Inventory
from pamtui.providers.aws_iam.revoke import Revocation
from pamtui.providers.aws_iam.settings import _SECRET_KEYS, SETTINGS, AwsSettings, credentials
from pamtui.providers.base import (
    ProviderConfigError,
    ProviderContext,
)
from pamtui.providers.base import where as kit_where
from pamtui.providers.kit.cursors import SavedCursor
from pamtui.providers.kit.provider import DeclaredProvider
from pamtui.providers.kit.settings import Settings


class AwsIamProvider(Inventory, CloudTrailStream, Revocation, DeclaredProvider):
    """IAM users and access keys of one AWS account; CloudTrail as the event stream."""

    type: ClassVar[str] = "aws-iam"
    SETTINGS: ClassVar[Settings] = SETTINGS
    SECRET_WHAT: ClassVar[str] = "secrets"
    REQUIRES: ClassVar[tuple[tuple[str, str], ...]] = (("boto3", "pamtui[aws]"),)
    """(module, what to install): ``pamtui providers`` and ``doctor`` check them."""

    def __init__(
        self,
        name: str,
        settings: AwsSettings,
        iam: Any,
        cloudtrail: Any,
        *,
        state_dir: Path | None = None,
        secrets: Iterable[str] = (),
        sleep: Sleep = asyncio.sleep,
        lookup_interval_s: float = LOOKUP_MIN_INTERVAL_S,
    ) -> None:
        self.name = name
        self.settings = settings
        self.iam = iam
        self.cloudtrail = cloudtrail
        self.state_dir = state_dir
        self._secrets = tuple(s for s in secrets if s)
        self._sleep = sleep
        self._lookup_interval_s = lookup_interval_s
        self._last_lookup = -math.inf
        self._lookup_lock = asyncio.Lock()
        self._privileged_names = frozenset(p.casefold() for p in settings.privileged_policies)
        caps = {Capability.ACCOUNTS, Capability.CREDENTIALS, Capability.REVOKE, Capability.VERIFY}
        if settings.stream:
            caps.add(Capability.EVENTS)
        self.capabilities = frozenset(caps)
        self.lookups = 0
        """LookupEvents calls made (pages read), for tests and diagnostics."""
        self._saved = SavedCursor(state_dir, "aws-iam", name)
        """The stream's position, used when a stream starts without a cursor."""

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> AwsIamProvider:
        where = kit_where(name, cls.type)
        parsed, keys = credentials(where, values)
        key_id, secret, token = (keys[k] for k in _SECRET_KEYS)

        try:
            import boto3
            import boto3.session
            from botocore.config import Config
            from botocore.exceptions import BotoCoreError, ProfileNotFound
        except ImportError as exc:
            raise ProviderConfigError(BOTO3_MISSING) from exc

        try:
            session = boto3.session.Session(
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                aws_session_token=token,
                region_name=parsed.region,
                profile_name=parsed.profile,
            )
        except ProfileNotFound as exc:
            raise ProviderConfigError(
                f"{where}: setting 'profile': no AWS profile {parsed.profile!r} "
                "in ~/.aws/config or ~/.aws/credentials"
            ) from exc
        except BotoCoreError as exc:
            raise ProviderConfigError(f"{where}: cannot create an AWS session: {exc}") from exc
        region = parsed.region or session.region_name or "us-east-1"
        if parsed.region is None:
            parsed = dataclasses.replace(parsed, region=region)
        config = Config(
            region_name=region,
            connect_timeout=parsed.timeout_s,
            read_timeout=parsed.timeout_s,
            retries={"total_max_attempts": parsed.max_retries + 1, "mode": parsed.retry_mode},
            user_agent_extra=f"pamtui/{__version__}",
            max_pool_connections=USER_CONCURRENCY + 2,
        )
        verify: Any = str(parsed.ca_bundle) if parsed.ca_bundle else None
        try:
            iam = session.client(
                "iam", endpoint_url=parsed.endpoint_url, config=config, verify=verify
            )
            cloudtrail = session.client(
                "cloudtrail",
                endpoint_url=parsed.cloudtrail_endpoint_url,
                config=config,
                verify=verify,
            )
        except BotoCoreError as exc:
            raise ProviderConfigError(f"{where}: cannot create the AWS clients: {exc}") from exc
        return cls(
            name,
            parsed,
            iam,
            cloudtrail,
            state_dir=context.state_dir,
            secrets=[s for s in (secret, token) if s],
            **options,
        )

    async def aclose(self) -> None:
        for client in (self.iam, self.cloudtrail):
            close = getattr(client, "close", None)
            if close is not None:
                await asyncio.to_thread(close)

    def __repr__(self) -> str:
        return (
            f"AwsIamProvider(name={self.name!r}, region={self.settings.region!r}, "
            f"endpoint_url={self.settings.endpoint_url!r})"
        )
