"""Entries written for an SSH operator carry the key's fingerprint; the chain is unchanged."""

from __future__ import annotations

from pamtui.journal import Journal


def test_an_operators_entries_carry_the_key_and_still_verify(db_path):
    journal = Journal.open(db_path)
    journal.actor_keys["alice"] = "SHA256:alice"
    journal.append("alice", "stage", subject="queue:1", detail={"item": 1})
    journal.append("system", "approval_expired", detail={"item": 2})
    journal.append("alice", "stage", detail={"key": "SHA256:given"})  # an explicit key stays
    journal.append_many(
        [("alice", "execute", "", "queue:1", {"item": 1}), ("bob", "x", "", "", {})]
    )
    entries = journal.entries(newest_first=False)
    assert [e.detail.get("key") for e in entries] == [
        "SHA256:alice",
        None,
        "SHA256:given",
        "SHA256:alice",
        None,
    ]
    journal.close()
    again = Journal.open(db_path, read_only=True)
    assert again.verify().ok
    again.close()
