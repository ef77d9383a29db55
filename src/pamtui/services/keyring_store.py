"""The OS keyring as pamtui uses it: provider secrets, and (until migrated) TOTP secrets.

TOTP secrets now live in the server-held store (``services/totp_store.py``);
a secret still found here under service ``pamtui-totp`` is moved into that
store once (``services/mfa.py``, ``migrate_from_keyring``). Provider secrets
(``{ keyring = "NAME" }``) stay here. :meth:`KeyringStore.backend_warning`
says loudly when the active backend keeps secrets in plain text, or when
there is no backend at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keyring
import keyring.backend
import keyring.errors

from pamtui.services.mfa_errors import MfaError

SERVICE = "pamtui-totp"

# Fragments of a backend's module.Class name that mean "not a safe place for a secret".
_PLAINTEXT_MARKS = ("plaintext", "uncrypted", "unencrypted")
_NO_BACKEND_MARKS = ("fail", "null")

SAFER_CHOICES = (
    "Use a backend that encrypts: Secret Service (gnome-keyring or KWallet) on a desktop; "
    "on a headless server run pamtui under `dbus-run-session` after "
    "`gnome-keyring-daemon --unlock`, or install keyrings.cryptfile and protect it with "
    "a passphrase; macOS Keychain and Windows Credential Locker are used automatically. "
    "Select it with PYTHON_KEYRING_BACKEND or keyringrc.cfg "
    "(`python -m keyring diagnose` shows where that file goes)."
)


# -- the keyring -------------------------------------------------------------


def _backend_name(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _weakness(backend: keyring.backend.KeyringBackend) -> tuple[str, str] | None:
    """``("plaintext"|"none", name)`` for a backend unfit for a secret, else None."""
    chained = getattr(backend, "backends", None)
    if type(backend).__name__ == "ChainerBackend" and chained is not None:
        chained = list(chained)
        if not chained:
            return "none", _backend_name(backend)
        # Writes land in the first backend of the chain.
        return _weakness(chained[0])
    name = _backend_name(backend)
    lowered = name.lower()
    if any(mark in lowered for mark in _PLAINTEXT_MARKS):
        return "plaintext", name
    if any(mark in lowered for mark in _NO_BACKEND_MARKS):
        return "none", name
    return None


class KeyringStore:
    """The operator's TOTP secret in the OS keyring (service ``pamtui-totp``).

    ``backend`` defaults to keyring's configured backend, looked up at each
    call (``PYTHON_KEYRING_BACKEND``, keyringrc.cfg, or auto-detection).
    """

    def __init__(
        self,
        backend: keyring.backend.KeyringBackend | None = None,
        *,
        service: str = SERVICE,
    ) -> None:
        self._backend = backend
        self.service = service

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend if self._backend is not None else keyring.get_keyring()

    @property
    def backend_name(self) -> str:
        return _backend_name(self.backend)

    def backend_warning(self, what: str = "the TOTP secret") -> str | None:
        """A loud warning (starting ``WARNING:``) when ``what`` would be kept in plain text
        or nowhere: ``what`` names the secret (the TOTP secret, a provider's secret)."""
        try:
            weakness = _weakness(self.backend)
        except Exception as exc:
            return (
                f"WARNING: the keyring could not be initialised ({exc}): pamtui cannot "
                f"store {what}. {SAFER_CHOICES}"
            )
        if weakness is None:
            return None
        kind, name = weakness
        if kind == "plaintext":
            harm = "generate your step-up codes" if what == "the TOTP secret" else f"read {what}"
            return (
                f"WARNING: the keyring backend {name} stores secrets in PLAIN TEXT "
                f"(at best base64-encoded) in a file: anyone who can read it can {harm}. "
                f"{SAFER_CHOICES}"
            )
        return (
            f"WARNING: no usable keyring backend ({name}): pamtui cannot store {what}. "
            f"{SAFER_CHOICES}"
        )

    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except MfaError:
            raise
        except keyring.errors.NoKeyringError as exc:
            raise MfaError(
                f"cannot {what}: no keyring backend is available. {SAFER_CHOICES}"
            ) from exc
        except keyring.errors.KeyringLocked as exc:
            raise MfaError(f"cannot {what}: the keyring is locked ({exc}); unlock it") from exc
        except Exception as exc:
            raise MfaError(
                f"cannot {what} in the keyring ({self._safe_name()}): {type(exc).__name__}: {exc}"
            ) from exc

    def _safe_name(self) -> str:
        try:
            return self.backend_name
        except Exception:
            return "unknown backend"

    @staticmethod
    def _check_operator(operator: str) -> None:
        if not operator:
            raise MfaError("no operator login: cannot look up a TOTP secret")

    def get(self, operator: str) -> str | None:
        self._check_operator(operator)
        secret: str | None = self._call(
            "read the TOTP secret", lambda: self.backend.get_password(self.service, operator)
        )
        return secret

    def set(self, operator: str, secret: str) -> None:
        self._check_operator(operator)
        self._call(
            "store the TOTP secret",
            lambda: self.backend.set_password(self.service, operator, secret),
        )

    def delete(self, operator: str) -> bool:
        """Remove the secret; False if there was none."""
        self._check_operator(operator)
        if self.get(operator) is None:
            return False
        try:
            self._call(
                "delete the TOTP secret",
                lambda: self.backend.delete_password(self.service, operator),
            )
        except MfaError as exc:
            if isinstance(exc.__cause__, keyring.errors.PasswordDeleteError):
                return False
            raise
        return True
