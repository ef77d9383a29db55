"""``GoogleWorkspaceProvider``: a Google Workspace domain through the Admin SDK.

Settings (``[[providers]]`` with ``type = "google-workspace"``): the HTTP
settings (``base_url`` defaults to ``https://admin.googleapis.com``), the
admin to act as (``subject``), the service account's JSON key as a secret
reference (``credentials``) or a file (``credentials_file``), ``token_uri``,
``customer``, ``read_only``, ``account_actions``, ``hr_id_type``,
``applications``, ``page_size``, ``poll_seconds``, ``backfill_minutes``; see
``pamtui providers --settings google-workspace``.

What it reads (Directory API ``admin/directory/v1`` and Reports API
``admin/reports/v1``, as their discovery documents describe them):

- accounts: ``users.list`` (``customer``, ``maxResults``, ``pageToken``);
  privileged from ``isAdmin``/``isDelegatedAdmin`` and ``roleAssignments.list``
  plus ``roles.list`` (role names become ``role:NAME`` groups); the HR id from
  ``externalIds`` (type ``hr_id_type``) becomes ``Account.owner``;
- credentials: ``tokens.list`` (OAuth grants to third-party apps, id
  ``oauth:USER:CLIENT``) and ``asps.list`` (app passwords, id ``asp:USER:CODE``)
  per user;
- events: ``activities.list`` for each of ``applications`` (see ``reports``).

Revocation, each idempotent (read first; already done is success) and verified
by reading back: ``revoke_token`` (``tokens.delete``; gone when ``tokens.get``
answers 404), ``delete_asp`` (``asps.delete``; ``asps.get`` 404),
``remove_admin_roles`` (``roleAssignments.delete`` of each of the user's
assignments, offered for privileged accounts; ``roleAssignments.list?userKey``
empty), ``sign_out`` (``users.signOut``; Google lists no sessions, so it is
verified by the accepted sign-out, kept in the state dir, and no
``login_success`` reported since, or by the user being suspended), ``suspend_account`` (``users.update`` with ``suspended: true``;
``users.get`` says suspended).

Auth: see ``auth`` (a JWT bearer grant signed with google-auth, domain-wide
delegation). Modules: ``settings``, ``auth``, ``provider``, ``revoke``,
``signouts``, ``reports``.
"""

from pamtui.providers.google_workspace.provider import GoogleWorkspaceProvider
from pamtui.providers.google_workspace.settings import (
    ACCOUNT_ACTIONS,
    CREDENTIAL_ACTIONS,
    READ_SCOPES,
    REVOKE_SCOPES,
    SETTINGS,
)

__all__ = [
    "ACCOUNT_ACTIONS",
    "CREDENTIAL_ACTIONS",
    "READ_SCOPES",
    "REVOKE_SCOPES",
    "SETTINGS",
    "GoogleWorkspaceProvider",
]
