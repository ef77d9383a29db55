"""The admin rule and the admin verbs, on a real database and TOTP store."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pyotp
import pytest

from pamtui.journal import EntryFilter, Journal
from pamtui.model import ROLES, Actor
from pamtui.services import operators
from pamtui.services.mfa import StepUpError
from pamtui.services.totp_store import Lockout, TotpStore
from tests.support.totp import enrol

ROLES_ALL = frozenset(ROLES)


def _me() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _actor(name: str, roles: frozenset[str] = ROLES_ALL, via: str = "local") -> Actor:
    return Actor(name, None, roles, via)


def test_the_admin_has_the_admin_role_and_locally_owns_the_database(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = _me()
    assert operators.is_admin(_actor(owner), journal.path)
    assert not operators.is_admin(_actor(owner, frozenset({"operator"})), journal.path)
    assert not operators.is_admin(_actor(owner), journal.path.with_name("absent.db"))
    assert operators.is_admin(_actor("carol", frozenset({"admin"}), "ssh"), journal.path)
    # Another local account, whatever it calls itself, is not the database's admin.
    monkeypatch.setattr(os, "getuid", lambda: 54321)
    assert not operators.is_admin(_actor(owner), journal.path)
    assert not operators.is_admin(_actor("root"), journal.path)


def test_reset_by_a_non_admin_is_refused_and_journalled(journal: Journal) -> None:
    alice = enrol(journal.path, "alice")
    with pytest.raises(operators.NotAdmin, match="mallory is not an admin"):
        operators.reset_totp(
            journal, _actor("mallory", frozenset({"operator"})), "alice", code=alice.now()
        )
    store = TotpStore.beside(journal.path)
    try:
        assert store.enrolment("alice") is not None
    finally:
        store.close()
    [refused] = journal.entries(EntryFilter(action="operators_refused"))
    assert refused.actor == "mallory" and refused.detail == {
        "verb": "reset-totp",
        "result": "not_admin",
    }


def test_a_reset_needs_the_admins_own_code_and_leaves_an_allowance(journal: Journal) -> None:
    admin = _me()
    enrol(journal.path, "alice")
    mine = enrol(journal.path, admin)
    bob = pyotp.TOTP(pyotp.random_base32())
    with pytest.raises(StepUpError, match="wrong code"):
        operators.reset_totp(
            journal, _actor(admin), "alice", code=bob.now()
        )  # not the admin's code
    assert operators.reset_totp(journal, _actor(admin), "alice", code=mine.now()) is True
    store = TotpStore.beside(journal.path)
    try:
        assert store.enrolment("alice") is None
        allowance = store.allowance("alice")
        assert allowance is not None and allowance.allowed_by == admin
        assert store.keyring_checked("alice")  # an old keyring copy never comes back
    finally:
        store.close()


def test_list_operators_shows_enrolment_allowance_and_lockout(journal: Journal) -> None:
    enrol(journal.path, "alice")
    store = TotpStore.beside(journal.path)
    try:
        with store.transaction() as tx:
            TotpStore.put_allowance(tx, "bob", "root", at=0.0)
            TotpStore.put_lockout(tx, "carol", "uid:7", Lockout(5, 4_102_444_800.0))
        states = {s.name: s for s in operators.list_operators(store)}
    finally:
        store.close()
    assert states["alice"].enrolled and not states["alice"].allowed
    assert states["bob"].allowed and states["bob"].allowed_by == "root"
    assert states["carol"].failures == 5 and states["carol"].locked_until == 4_102_444_800.0
    assert set(states["alice"].as_dict()) >= {
        "name",
        "enrolled",
        "allowed_to_enrol",
        "locked_until",
    }


def test_names_are_checked(journal: Journal) -> None:
    for bad in ("", " alice", "a\x1bb", "x" * 65):
        with pytest.raises(operators.BadOperatorName):
            operators.check_name(bad)
    assert Path(journal.path).exists()
