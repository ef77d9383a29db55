"""``ScimProvider``: any SCIM 2.0 service provider (RFC 7643 / RFC 7644).

Settings (``[[providers]]`` with ``type = "scim"``):

- the HTTP settings of :func:`pamtui.providers.http.http_settings`
  (``base_url`` is the SCIM root, e.g. ``https://idp.example.com/scim/v2``);
- ``token``: a secret *reference* (``{ env = "VAR" }`` or ``{ keyring = "NAME" }``)
  for the bearer token; a token written into the config file is refused;
- ``privileged_groups``: group display names that make a member privileged;
- ``hr_attribute``: the attribute carrying employment status, either a full
  path (``urn:...:enterprise:2.0:User:employmentStatus``) or a name inside the
  enterprise extension (``employmentStatus``); default none (owner status unknown);
- ``roster``: also serve the users as an HR roster (``list_people``, see
  ``roster``; default ``false``);
- ``person_id_attribute``: the HR id, written like ``hr_attribute`` (default
  the enterprise extension's ``employeeNumber``). Accounts report it as their
  owner, so correlation links them by HR id; the roster uses it as the person id;
- ``page_size``: resources per ``GET /Users`` page (default 100).

Capabilities: accounts, revoke, verify (and people with ``roster = true``).
Plain SCIM has no notion of API credentials or access logs, so
``list_credentials`` yields nothing and ``stream_events`` ends at once.

The ``/ServiceProviderConfig`` is read on first use: when the server supports
ETags, PATCH and DELETE carry ``If-Match`` with the user's current version
(``meta.version`` or the ``ETag`` header); when it does not support PATCH,
deactivation falls back to a PUT of the whole resource (RFC 7644 §3.5.1).

The package's modules: ``settings``, ``values`` (reading User resources),
``roster`` (people) and ``provider``; the entry point
``pamtui.providers.scim:ScimProvider`` is re-exported here.
"""

from pamtui.providers.scim.provider import ScimProvider
from pamtui.providers.scim.settings import CORE_USER, ENTERPRISE_USER, PATCH_OP, SETTINGS

__all__ = ["CORE_USER", "ENTERPRISE_USER", "PATCH_OP", "SETTINGS", "ScimProvider"]
