"""``OktaProvider``: an Okta org through its documented Management API.

Settings (``[[providers]]`` with ``type = "okta"``):

- the HTTP settings of :func:`pamtui.providers.http.http_settings`
  (``base_url`` is the org URL, e.g. ``https://acme.okta.com``);
- ``token``: a secret *reference* (``{ env = "VAR" }`` or ``{ keyring = "NAME" }``)
  for an Okta API token, sent as ``Authorization: SSWS <token>``; a token
  written into the config file is refused;
- ``search``: an Okta ``search`` expression for ``GET /api/v1/users`` (e.g.
  ``'status eq "ACTIVE" or status eq "SUSPENDED"'``); default none, and then
  Okta lists every user that is not ``DEPROVISIONED``;
- ``privileged_roles``: admin role types (``SUPER_ADMIN``, ``ORG_ADMIN``, ...)
  that make an account privileged; default: any admin role assignment does;
- ``hr_attribute``: the Okta profile attribute carrying employment status
  (e.g. ``employmentStatus``); default none (owner status unknown);
- ``account_actions``: the account-level actions offered (and so part of a
  de-provisioning plan): any of ``clear_sessions``, ``suspend_account``,
  ``deactivate_account``, ``delete_account``; default
  ``["clear_sessions", "deactivate_account"]``;
- ``forget_devices``: ``clear_sessions`` also forgets remembered devices
  (default ``true``, sent explicitly either way);
- ``roster``: also serve the users as an HR roster (``list_people``, see
  ``roster``; default ``false``), with ``person_id_attribute`` (default
  ``employeeNumber``) as the HR id;
- ``page_size``: objects per page (``limit``; default 200, at most 200);
- ``poll_seconds``: how long the System Log stream waits once caught up
  (default 15);
- ``backfill_minutes``: how far back ``stream_events(None)`` starts (default 60).

What it reads (requests per listing):

- accounts: ``GET /api/v1/users`` (``search``, ``limit``, ``Link: rel="next"``
  pages). Privileged accounts come from ``GET /api/v1/iam/assignees/users``
  (every user holding an admin role, one paginated listing) and then
  ``GET /api/v1/users/{id}/roles`` for those users only: ``pages + admins``
  requests, never one per user. An org without the assignees listing (404)
  falls back to one roles request per user.
- credentials: ``GET /api/v1/api-tokens`` (SSWS API tokens), each attached to
  its owner (``userId``). OAuth tokens and sessions are not listed (Okta has no
  admin listing of a user's sessions); they are ended by ``clear_sessions``.
- events: the System Log, ``GET /api/v1/logs`` as a polling query
  (``since``, ``sortOrder=ASCENDING``, then the ``rel="next"`` link, which Okta
  returns even on an empty page). ``outcome.result`` maps to a status:
  SUCCESS/ALLOW 200, SKIPPED 204, CHALLENGE 401, FAILURE/DENY 403, anything
  else 0. ``method`` is ``EVENT`` (the log has no HTTP method); ``path`` is the
  ``eventType`` and the targets; ``credential_id`` is the API token that made
  the request (``transaction.detail.requestApiTokenId``) when there is one.
  A cursor names the event's ``published`` time and the uuids already seen at
  that time, plus the next link for the last event of a page, so resuming
  after it repeats nothing and skips nothing. (Resuming from an event in the
  middle of a page queries by time: an event Okta stored late, with an
  earlier ``published`` than the cursor's, is then not delivered.)

Revocation (Okta has no idempotency keys: each action reads first and treats
"already in that state" as already done):

- ``revoke_token`` (API token): ``DELETE /api/v1/api-tokens/{id}``; verified by
  ``GET /api/v1/api-tokens/{id}`` answering 404.
- ``clear_sessions``: ``DELETE /api/v1/users/{id}/sessions?oauthTokens=true&forgetDevices=...``
  (Okta sessions plus OAuth/OIDC access and refresh tokens; ``forgetDevices``
  is always sent, from the ``forget_devices`` setting, default ``true``, since
  its default differs between Identity Engine and Classic Engine orgs). Okta has no admin
  API listing a user's sessions, so it cannot be verified by reading them back:
  it is verified by the System Log's ``user.session.clear`` record for the
  user (SUCCESS) since the clear this process sent (or the last hour, after a
  restart). That proves Okta cleared them, not that the user has not signed
  in again since.
- ``suspend_account`` (reversible): ``POST .../lifecycle/suspend`` (only from
  ACTIVE); verified by status SUSPENDED or DEPROVISIONED.
- ``deactivate_account``: ``POST .../lifecycle/deactivate?sendEmail=false``;
  verified by status DEPROVISIONED.
- ``delete_account``: ``DELETE /api/v1/users/{id}``, twice when the user is
  not yet DEPROVISIONED (Okta's first delete only deactivates); verified by 404.

The package's modules: ``settings``, ``values``, ``systemlog`` (the stream), ``revoke``
(revoke and verify) and ``provider``; the entry point
``pamtui.providers.okta:OktaProvider`` is re-exported here.
"""

from pamtui.providers.okta.provider import OktaProvider
from pamtui.providers.okta.settings import (
    ACCOUNT_ACTIONS,
    CREDENTIAL_ACTIONS,
    DEFAULT_ACCOUNT_ACTIONS,
    MAX_PAGE_SIZE,
    SETTINGS,
)

__all__ = [
    "ACCOUNT_ACTIONS",
    "CREDENTIAL_ACTIONS",
    "DEFAULT_ACCOUNT_ACTIONS",
    "MAX_PAGE_SIZE",
    "SETTINGS",
    "OktaProvider",
]
