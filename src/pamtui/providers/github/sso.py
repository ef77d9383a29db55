"""Classic PATs and SSH keys authorised for a SAML SSO organisation.

GitHub Enterprise Cloud organisations with SAML single sign-on list the
credentials their members authorised for the organisation,
``GET /orgs/{org}/credential-authorizations`` (``per_page``, ``page``,
``login``), and revoke one with
``DELETE /orgs/{org}/credential-authorizations/{credential_id}`` (204; 404
when it is not, or no longer, authorised). Items carry ``login``,
``credential_id``, ``credential_type`` (``personal access token``, ``SSH
key``...), ``token_last_eight``, ``fingerprint`` (SSH keys),
``credential_authorized_at``, ``credential_accessed_at``, ``scopes``,
``authorized_credential_title``/``_note``/``_expires_at``.

A credential's id here is ``sso-{credential_id}``, so it never collides with a
fine-grained PAT's numeric ``pat_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pamtui.model import Credential, CredentialKind, CredentialStatus
from pamtui.providers.base import text as _text
from pamtui.providers.github.values import _id, _timestamp

SSO_PREFIX = "sso-"


SSO_ID_RE = re.compile(r"sso-[1-9][0-9]{0,19}")


def sso_id(credential_id: str) -> str:
    return f"{SSO_PREFIX}{credential_id}"


def credential_id_of(target_id: str) -> str:
    """The GitHub ``credential_id`` of a ``sso-...`` credential id."""
    return target_id[len(SSO_PREFIX) :]


def _kind(credential_type: str) -> CredentialKind:
    lowered = credential_type.lower()
    if "ssh" in lowered:
        return CredentialKind.SSH_KEY
    if "personal access token" in lowered:
        return CredentialKind.PERSONAL_ACCESS_TOKEN
    return CredentialKind.API_TOKEN


def sso_credential(provider: str, item: Mapping[str, Any], account_id: str) -> Credential:
    """One credential authorization as a :class:`Credential` of ``account_id``."""
    credential_id = _id(item.get("credential_id"))
    ctype = _text(item.get("credential_type")) or "credential"
    last_eight = _text(item.get("token_last_eight"))
    fingerprint = _text(item.get("fingerprint"))
    title = _text(item.get("authorized_credential_title")) or _text(
        item.get("authorized_credential_note")
    )
    shown = fingerprint or (f"...{last_eight}" if last_eight else "")
    raw_scopes = item.get("scopes")
    scopes = tuple(_text(s) for s in raw_scopes if _text(s)) if isinstance(raw_scopes, list) else ()
    return Credential(
        provider=provider,
        id=sso_id(credential_id),
        account_id=account_id,
        kind=_kind(ctype),
        status=CredentialStatus.ACTIVE,
        label=title or f"SSO-authorised {ctype} {shown}".strip(),
        scopes=scopes,
        fingerprint=shown,
        created=_timestamp(item.get("credential_authorized_at")),
        expires=_timestamp(item.get("authorized_credential_expires_at")),
        last_used=_timestamp(item.get("credential_accessed_at")),
    )
