"""``DeclaredProvider``: the base of a provider that declares its settings.

``from_config`` (the protocol's constructor) validates the raw settings
against the class's ``SETTINGS`` and hands the checked values to
``from_settings``, which a provider writes: so no provider re-implements the
"validate, then name the provider in every error" preamble. Built-in
providers and plugins use it alike; the protocol itself does not require it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pamtui.providers.base import ProviderContext, where
from pamtui.providers.kit.settings import Settings


class DeclaredProvider:
    type: ClassVar[str]
    SETTINGS: ClassVar[Settings]
    SECRET_WHAT: ClassVar[str] = "the token"
    """How errors about a plaintext secret in the config call it."""
    name: str

    @property
    def where(self) -> str:
        """How errors name this provider: ``provider 'corp' (type okta)``."""
        return where(self.name, self.type)

    @classmethod
    def from_config(
        cls, name: str, settings: Mapping[str, Any], context: ProviderContext, **options: Any
    ) -> Self:
        here = where(name, cls.type)
        values = cls.SETTINGS.parse(here, settings, context, secret_what=cls.SECRET_WHAT)
        return cls.from_settings(name, values, context, **options)

    @classmethod
    def from_settings(
        cls, name: str, values: dict[str, Any], context: ProviderContext, **options: Any
    ) -> Self:
        """Build the provider from validated ``values`` (every declared key, defaults in)."""
        raise NotImplementedError
