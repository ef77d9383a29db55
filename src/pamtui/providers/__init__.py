"""Provider protocol, entry-point registry and the built-in backends."""

from pamtui.providers.base import Provider, ProviderConfigError, ProviderContext, ProviderError

__all__ = ["Provider", "ProviderConfigError", "ProviderContext", "ProviderError"]
