"""Declarative policies that stage revocations automatically (``pamtui sweep``).

A policy is one ``[[policies]]`` table of the config file::

    [[policies]]
    name = "stale-tokens"                 # required, unique, [a-z0-9-]+
    match = { credential_kind = "api_token", unused_days_over = 90 }
    action = "revoke_token"               # a revoke action name, or "plan"
    providers = ["corp-okta", "github"]   # optional; default: every provider
    enabled = true                        # optional; default true
    approve = false                       # optional; default false

    [[policies]]
    name = "terminated-owners"
    match = { owner_status = "terminated" }
    action = "plan"                       # the account's full de-provisioning plan
    approve = true

What a policy selects
---------------------

``action`` decides whether the policy acts on credentials or on accounts:

- a credential action (``revoke_token``, ``deactivate_access_key``,
  ``delete_access_key``, ``end_session``) selects **credentials**: every live
  credential that meets the conditions gets the provider's action of that
  name (among ``provider.revoke_actions(credential)``). ``stale-tokens``
  above proposes ``revoke_token`` for each active API token whose last use
  (or creation, if never used) is more than 90 days old.
- an account action (``deactivate_account``, ``suspend_account``,
  ``delete_account``, ``remove_member``, ``clear_sessions``,
  ``delete_login_profile``) selects **accounts** and proposes the provider's
  action of that name for the account.
- ``"plan"`` selects **accounts** and proposes the whole de-provisioning plan
  (:func:`pamtui.services.plans.plan_for_account`): every live credential is
  revoked first, then the account-level actions. ``terminated-owners`` above
  stages bob's token, bob's session and the deactivation of his account, as
  one plan in the queue.

A provider-specific action name that pamtui does not know needs
``target = "credential"`` or ``target = "account"`` next to it.

Conditions (``match``; every condition given must hold, AND; at least one)
--------------------------------------------------------------------------

Credential conditions:

- ``credential_kind``: a kind (``api_token``, ``access_key``,
  ``personal_access_token``, ``session``, ``ssh_key``) or a list of kinds.
- ``unused_days_over = N`` (positive integer): active, and last used (or
  created, if never used) more than N days ago.
- ``expired = true``: past its expiry date but still active (``false``: not
  past an expiry date).
- ``admin_scope = true``: holds an admin scope
  (:func:`pamtui.services.risk.has_admin_scope`); ``false``: holds none.

Account conditions:

- ``owner_status``: ``"terminated"`` (the owner left, per the HR roster),
  ``"employed"`` or ``"unknown"``.
- ``account_kind``: ``human``, ``service`` or ``bot``, or a list of them.
- ``privileged = true|false``: the account is privileged, or holds a live
  credential with an admin scope (the same rule as the PRIVILEGED risk flag).

For a credential policy, account conditions apply to the credential's
account. For an account policy, credential conditions mean "the account has
at least one live credential meeting all of them": ``match = { owner_status =
"terminated", admin_scope = true }`` with ``action = "plan"`` de-provisions
terminated owners who still hold an admin token (and the plan then revokes
all their live credentials, not only that one).

Nothing is ever proposed for a credential that is not active, nor for an
account (or any credential of an account) that is deactivated or deleted.

Drift: ``action = "review"``
---------------------------

A review policy reacts to what changed in this sync (``services/drift.py``)
by putting the accounts into an access review; it never revokes::

    [[policies]]
    name = "new-admins"
    match = { drift = ["new_privileged_account", "privilege_granted", "admin_scope_added"] }
    action = "review"

- ``drift`` is a list of change kinds, each one of ``drift.KINDS``.
- ``drift`` is only valid with ``action = "review"``, and a review policy
  may use no other condition (only ``providers`` and ``enabled`` besides);
  ``target`` and ``approve`` are errors there.
- :func:`evaluate` ignores review policies; :func:`evaluate_drift` matches
  them against the :class:`~pamtui.services.drift.SyncRecord` of this sync
  (a provider's first sync is a baseline without changes: nothing happens).
- :func:`review_drift` starts one campaign per policy per sweep, scope
  ``drift:NAME``, actor ``policy:NAME``, journalled like any campaign start.
  An account already in an *open* campaign of the same policy is reported as
  a duplicate and not added again. In a dry run nothing is written, and
  ``pamtui sweep --dry-run`` diffs against the stored snapshot without
  storing one (:func:`preview_drift`), so it does not consume the drift.

Staging
-------

:func:`evaluate` is pure: it reads views and asks providers only for their
``revoke_actions``. :func:`sweep` stages its proposals in the revocation
queue, attributed to the actor ``policy:NAME`` with the reason ``policy
NAME: why``; with ``approve = true`` the items are approved at once (``pamtui
queue run`` executes them), otherwise they wait for an operator. Four eyes
holds: a privileged account's items (``Proposal.privileged``) wait for an
operator's approval when ``four_eyes_for_privileged`` is recorded, whatever
``approve`` says. A target
that already has an item in the queue that is pending, executing, done or
failed-and-retryable is skipped, so running ``pamtui sweep`` from cron does
not stage duplicates (a *cancelled* item does not block: the policy proposes
it again, so fix the policy if it is wrong).

People: ``action = "offboard"``
-------------------------------

A person-level policy: ``match = { owner_status = "terminated",
terminated_days_over = 0 }`` selects leavers on the HR roster, and ``pamtui
sweep`` stages each one's whole offboarding plan across every provider
(``services/revoke.py``'s ``plan_person``): see ``policy/people.py``.

Movers and excess: ``action = "remove_excess"``
-----------------------------------------------

A person-level policy on role baselines (``services/baselines.py``):
``match = { access = ["mover", "excess"] }`` selects the grants a person holds
beyond their role, and ``pamtui sweep`` stages their removal, one step per
grant, as ``policy:NAME``: see ``policy/access.py``.

Modules
-------

- ``config``: the tables parsed and validated (:class:`Policy`, :class:`Match`).
- ``matching``: :func:`evaluate`, what the policies propose (pure).
- ``staging``: :func:`sweep`, the proposals staged in the queue.
- ``drift_review``: review policies (:func:`evaluate_drift`,
  :func:`preview_drift`, :func:`review_drift`).
- ``report``: :class:`SweepReport` and its entries.
- ``access``: remove_excess policies (:func:`evaluate_access`, :func:`access_sweep`).
- ``people``: offboard policies (:func:`evaluate_people`, :func:`sweep_people`,
  :func:`offboard_sweep`).

The modules are not named after the functions they hold (``evaluate``,
``sweep``): a submodule named like a function re-exported here would be
shadowed by it.
"""

from __future__ import annotations

from pamtui.services.policy.access import AccessProposal, access_sweep, evaluate_access
from pamtui.services.policy.config import (
    ACCOUNT_ACTIONS,
    CREDENTIAL_ACTIONS,
    OFFBOARD,
    PLAN,
    REMOVE_EXCESS,
    REVIEW,
    Match,
    Policy,
    parse_policies,
)
from pamtui.services.policy.drift_review import (
    ReviewProposal,
    evaluate_drift,
    preview_drift,
    review_drift,
)
from pamtui.services.policy.matching import Proposal, Proposals, Skip, evaluate
from pamtui.services.policy.people import (
    PersonProposal,
    evaluate_people,
    offboard_sweep,
    sweep_people,
)
from pamtui.services.policy.report import (
    DUPLICATE,
    FAILED,
    REVIEWED,
    STAGED,
    UNSUPPORTED,
    ReviewEntry,
    SweepEntry,
    SweepReport,
)
from pamtui.services.policy.staging import BLOCKING_STATES, sweep

__all__ = [
    "ACCOUNT_ACTIONS",
    "BLOCKING_STATES",
    "CREDENTIAL_ACTIONS",
    "DUPLICATE",
    "FAILED",
    "OFFBOARD",
    "PLAN",
    "REMOVE_EXCESS",
    "REVIEW",
    "REVIEWED",
    "STAGED",
    "UNSUPPORTED",
    "AccessProposal",
    "Match",
    "PersonProposal",
    "Policy",
    "Proposal",
    "Proposals",
    "ReviewEntry",
    "ReviewProposal",
    "Skip",
    "SweepEntry",
    "SweepReport",
    "access_sweep",
    "evaluate",
    "evaluate_access",
    "evaluate_drift",
    "evaluate_people",
    "offboard_sweep",
    "parse_policies",
    "preview_drift",
    "review_drift",
    "sweep",
    "sweep_people",
]
