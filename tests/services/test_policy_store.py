"""The session applies the recorded policy: what the revocation service and the queue get."""

from __future__ import annotations

import pytest

from pamtui.journal import Journal
from pamtui.model import Actor
from pamtui.services import policy_store
from pamtui.services.policy_store import PolicyError
from pamtui.services.queue import ReadOnlyError
from pamtui.services.session import Session

CAROL = Actor("carol", None, frozenset({"admin"}), "local")
PROVIDERS = '[[providers]]\nname = "demo-git"\ntype = "demo"\nsystem = "git"\nlatency_ms = 0\n'


def _config(path, body: str):
    path.write_text(f"[operator]\n{body}\n\n{PROVIDERS}")
    return str(path)


def test_the_session_hands_the_recorded_policy_to_the_revocation_service(tmp_path, db_path):
    journal = Journal.open(db_path)
    for key in ("four_eyes_for_privileged", "read_only"):
        policy_store.change(journal, key, True, actor=CAROL, source="test")
    journal.close()
    # This config asks for nothing: refused, naming the recorded policy.
    lax = _config(tmp_path / "lax.toml", "")
    with pytest.raises(PolicyError, match="four_eyes_for_privileged = true"):
        Session.open(config_path=lax, db_path=str(db_path))
    both = _config(tmp_path / "ok.toml", "four_eyes_for_privileged = true\nread_only = true")
    session = Session.open(config_path=both, db_path=str(db_path))
    try:
        assert session.read_only and session.queue.read_only
        assert session.revocations.read_only
        assert session.revocations.policy.four_eyes_for_privileged
        assert not session.revocations.step_up_required
        with pytest.raises(ReadOnlyError):
            session.revocations.step_up(None, what="anything")
    finally:
        session.journal.close()


def test_a_stricter_config_tightens_for_everyone_but_read_only_stays_its_own(tmp_path, db_path):
    strict = _config(tmp_path / "s.toml", "four_eyes_for_privileged = true\nread_only = true")
    session = Session.open(config_path=strict, db_path=str(db_path))
    session.journal.close()
    journal = Journal.open(db_path)
    recorded = policy_store.load(journal)
    journal.close()
    assert recorded.four_eyes_for_privileged and not recorded.read_only
    assert not recorded.require_totp
    # Another operator's config now needs four eyes too, and is not read-only.
    other = _config(tmp_path / "o.toml", "four_eyes_for_privileged = true")
    session = Session.open(config_path=other, db_path=str(db_path))
    try:
        assert not session.read_only
        assert session.revocations.policy.four_eyes_for_privileged
    finally:
        session.journal.close()


def test_an_untouched_database_records_nothing(tmp_path, db_path):
    session = Session.open(config_path=_config(tmp_path / "c.toml", ""), db_path=str(db_path))
    try:
        assert policy_store.load(session.journal) == policy_store.RecordedPolicy()
        assert not [e for e in session.journal.entries() if e.action == policy_store.ACTION]
    finally:
        session.journal.close()


def test_the_recorded_policy_survives_a_rotation_and_is_checked_in_its_archive(tmp_path, db_path):
    journal = Journal.open(db_path)
    policy_store.change(journal, "four_eyes_for_privileged", True, actor=CAROL, source="test")
    journal.append("carol", "something_else")
    _, _, archive = journal.rotate()
    assert policy_store.load(journal).four_eyes_for_privileged  # read from the archive
    journal.close()
    lax = _config(tmp_path / "lax.toml", "")
    with pytest.raises(PolicyError, match="four_eyes_for_privileged = true"):
        Session.open(config_path=lax, db_path=str(db_path))
    archive.rename(tmp_path / "moved-away.db")  # the entry can no longer be checked
    with pytest.raises(policy_store.PolicyTampered, match="does not match the journal"):
        Session.open(config_path=lax, db_path=str(db_path))


def test_a_read_only_session_meets_a_recorded_read_only(tmp_path, db_path):
    journal = Journal.open(db_path)
    policy_store.change(journal, "read_only", True, actor=CAROL, source="test")
    journal.close()
    plain = _config(tmp_path / "plain.toml", "")
    with pytest.raises(PolicyError, match=r"operator\.read_only = false"):
        Session.open(config_path=plain, db_path=str(db_path))
    session = Session.open(config_path=plain, db_path=str(db_path), read_only=True)  # --read-only
    try:
        assert session.read_only and session.queue.read_only
    finally:
        session.journal.close()
