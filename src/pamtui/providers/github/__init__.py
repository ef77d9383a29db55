"""``GitHubProvider``: one GitHub organisation (github.com, GHE.com or GitHub Enterprise Server).

Everything comes from GitHub's documented REST API (``Accept:
application/vnd.github+json``, ``X-GitHub-Api-Version: 2022-11-28``):

- accounts: the organisation's members, ``GET /orgs/{org}/members``; owners
  from ``?role=admin`` (privileged), members without two-factor
  authentication from ``?filter=2fa_disabled`` (answered to owners only; when
  GitHub refuses it the 2FA state is simply not reported). An account's id is
  the user's numeric id (stable across renames), its name the login; its
  ``groups`` carry ``role:admin`` or ``role:member`` and, when known,
  ``2fa:disabled`` or ``2fa:enabled``.
- credentials: fine-grained personal access tokens granted to the
  organisation, ``GET /orgs/{org}/personal-access-tokens``. A credential's id
  is the grant's ``id`` (the ``pat_id`` GitHub revokes by); it belongs to the
  account of ``owner.id``. ``scopes`` are ``"{organization|repository|other}.
  {permission}:{read|write|admin}"`` plus ``repositories:{all|subset|none}``.
- credentials, too: with SAML single sign-on, the classic PATs and SSH keys
  authorised for the org (``GET /orgs/{org}/credential-authorizations``), id
  ``sso-{credential_id}``, revoked by ``revoke_sso_authorization`` (order 10,
  ``DELETE /orgs/{org}/credential-authorizations/{credential_id}``) and
  verified by listing again.
- revoke actions:

  ===================== ====== ==============================================
  ``revoke_all_tokens`` 5      one bulk ``POST /orgs/{org}/personal-access-tokens``
                               (``{"action": "revoke", "pat_ids": [...]}``) with
                               every token the account holds at run time
  ``revoke_token``      10     ``POST /orgs/{org}/personal-access-tokens/{pat_id}``
                               (``{"action": "revoke"}``)
  ``remove_member``     90     ``DELETE /orgs/{org}/memberships/{login}``
  ===================== ====== ==============================================

  An account's de-provisioning plan (``plan_for_account``) therefore runs the
  bulk revocation first: all of the account's tokens lose access in one
  request, including tokens granted after the plan was made. The per-token
  steps the planner adds for each listed token then find their token gone and
  report ``already_done`` (each token still gets its own journal entry and
  verification). The member is removed last. A per-credential plan is the
  single-token revocation.
- verify: the organisation's token list is read again (the token, or every
  token of the account, no longer appears); for a member, the members list no
  longer holds the user's id.
- events: the organisation audit log, ``GET /orgs/{org}/audit-log`` (GitHub
  Enterprise Cloud), polled every ``poll_seconds`` with
  ``phrase=created:>=<second>`` and ``order=asc``, following the ``after``
  cursors of its ``Link`` headers within a poll. Each event's ``cursor`` is
  ``[@timestamp_ms, [_document_id, ...]]`` (JSON): the timestamp of the last
  event delivered and the ids of the events delivered at that millisecond, so
  ``stream_events(since=cursor)`` resumes with no gap and no duplicate, also
  in a new process. Without a cursor the stream starts ``backfill_hours`` ago.

  Audit entries are not HTTP requests; they are mapped to ``AccessEvent`` so:
  ``account_id`` is ``actor_id`` (or the actor's login when the entry has no
  id and the login was not seen in ``list_accounts``); ``credential_id`` is
  the pat id of the entry's ``token_id`` when ``list_credentials`` has seen
  it, else empty; ``path`` is the action plus its target
  (``"org.remove_member alice"``, ``"git.clone acme/app"``); ``method`` comes
  from the action's verb (create/add/invite/grant/push -> ``POST``,
  update/change/rename/enable/disable/... -> ``PATCH``,
  remove/destroy/delete/revoke -> ``DELETE``, clone/fetch/view/download/access
  -> ``GET``, anything else ``POST``); ``status`` is ``403`` when the action
  says access was denied, rejected, blocked or failed
  (``personal_access_token.request_denied``, ``org.sso_response`` with
  ``failure``...), else ``200``.

Settings (``[[providers]]`` with ``type = "github"``):

- ``org``: the organisation's login (required);
- ``token``: a secret reference (``{ env = "VAR" }`` or ``{ keyring = "NAME" }``)
  for the bearer token; a token written into the config file is refused;
- ``base_url``: default ``https://api.github.com``; for GitHub Enterprise
  Server ``https://HOST/api/v3``;
- the other HTTP settings of :func:`pamtui.providers.http.http_settings`
  (``ca_bundle``, ``proxy``, ``timeout_s``, ``max_retries``, ...);
- ``page_size``: ``per_page`` of every listing, 1..100 (default 100);
- ``poll_seconds``: audit-log poll interval (default 60);
- ``backfill_hours``: how far back a stream without a cursor starts (default 24);
- ``audit_log``: ``false`` for organisations without the audit-log API
  (not on Enterprise Cloud): no event stream (default ``true``);
- ``sso_credentials``: list and revoke the classic PATs and SSH keys authorised
  for the org's SAML SSO (``sso`` module; default ``true``, nothing is listed
  when the org has no SAML SSO);
- ``identity_domains``: email domains; a member whose public (GitHub-verified)
  profile email is in one is linked to the person with that email
  (``account_identities``; default none, no per-member lookups);
- ``saml_identities``: read the org's SAML SSO external identities through
  GraphQL (``saml`` and ``graphql`` modules; default ``false``) and give each
  member's SAML NameID (``Identity`` kind ``name_id``) and SAML emails to
  ``account_identities``; an org without SAML SSO links nothing and is noted
  once (``saml_note``), not an error;
- ``audit_include``: the audit log's ``include``: ``web``, ``git`` (clone,
  fetch, push: kept 7 days by GitHub) or ``all`` (default).

The last delivered cursor is also kept in ``state_dir/github-{name}.cursor``
(mode 0600) after every poll, so a stream started without a cursor resumes
where the previous run stopped (for the same organisation and API host)
instead of backfilling again.

The package's modules: ``settings``, ``values``, ``auditlog`` (the stream and its
cursor), ``revoke`` (revoke and verify), ``sso``, ``graphql`` (``POST /graphql``),
``saml`` (external identities) and ``provider``; the entry point
``pamtui.providers.github:GitHubProvider`` is re-exported here.
"""

from pamtui.providers.github.auditlog import decode_cursor, encode_cursor
from pamtui.providers.github.provider import GitHubProvider
from pamtui.providers.github.revoke import (
    REMOVE_MEMBER,
    REVOKE_ALL_TOKENS,
    REVOKE_SSO_AUTHORIZATION,
    REVOKE_TOKEN,
)
from pamtui.providers.github.settings import API_VERSION, DEFAULT_BASE_URL, SETTINGS

__all__ = [
    "API_VERSION",
    "DEFAULT_BASE_URL",
    "REMOVE_MEMBER",
    "REVOKE_ALL_TOKENS",
    "REVOKE_SSO_AUTHORIZATION",
    "REVOKE_TOKEN",
    "SETTINGS",
    "GitHubProvider",
    "decode_cursor",
    "encode_cursor",
]
