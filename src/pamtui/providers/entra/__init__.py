"""``EntraProvider``: a Microsoft Entra ID tenant through Microsoft Graph v1.0.

Settings (``[[providers]]`` with ``type = "entra"``): the HTTP settings
(``base_url`` defaults to ``https://graph.microsoft.com/v1.0``), ``tenant_id``,
``client_id``, ``client_secret`` (a secret *reference*), ``authority``,
``scope``, ``privileged_roles``, ``account_actions``, ``page_size``,
``poll_seconds``, ``backfill_minutes``; see :mod:`.settings` and the README.

Authentication: OAuth 2.0 client credentials (:mod:`.auth`), the token cached
until it nearly expires, one refresh on a 401. Certificate credentials are not
supported yet.

What it reads (:mod:`.directory`):

- accounts: ``GET /users`` (``accountEnabled``, ``employeeId`` as the HR
  owner, ``mail``/``otherMails``, ``userPrincipalName``, ``signInActivity``
  when the tenant is licensed for it, else without), ``GET /servicePrincipals``
  and ``GET /applications`` (service accounts). Privileged: members of the
  activated directory roles named in ``privileged_roles``
  (``GET /directoryRoles``, ``GET /directoryRoles/{id}/members``).
- credentials: delegated ``oauth2PermissionGrants`` (on the consenting user,
  or on the client service principal for tenant-wide consent), each user's
  ``appRoleAssignments``, and the ``passwordCredentials`` (client secrets) and
  ``keyCredentials`` (certificates) of service principals and applications,
  with their end dates.
- events (:mod:`.events`): ``/auditLogs/signIns`` and
  ``/auditLogs/directoryAudits``, polled, resumable.

Revocation (:mod:`.revoke`): ``revoke_sessions``
(``POST /users/{id}/revokeSignInSessions``; verified by
``signInSessionsValidFromDateTime`` moving), ``disable_account``
(``PATCH /users/{id}`` ``accountEnabled: false``), ``remove_privileged_roles``
(``DELETE /directoryRoles/{id}/members/{user}/$ref``), ``delete_grant``
(``DELETE /oauth2PermissionGrants/{id}``), ``remove_app_role_assignment``
(``DELETE /users/{id}/appRoleAssignments/{id}``), ``remove_password``
(``POST /applications|servicePrincipals/{id}/removePassword``). Certificates
are listed but not removed: Graph's ``removeKey`` needs a proof-of-possession
token signed with the application's own private key, which pamtui never holds.
"""

from pamtui.providers.entra.provider import EntraProvider
from pamtui.providers.entra.settings import SETTINGS

__all__ = ["SETTINGS", "EntraProvider"]
