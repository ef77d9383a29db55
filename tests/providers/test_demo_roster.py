"""The demo's HR roster: served once (by the idp instance), readable from older state files."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pamtui.model import PersonStatus
from pamtui.providers.base import ProviderContext
from pamtui.providers.demo import DemoProvider
from pamtui.providers.roster import roster_sources


def demo(tmp_path: Path, system: str) -> DemoProvider:
    return DemoProvider.from_config(
        f"demo-{system}", {"system": system, "latency_ms": 0}, ProviderContext(state_dir=tmp_path)
    )


async def test_only_the_idp_instance_serves_the_roster(tmp_path: Path) -> None:
    providers = {s: demo(tmp_path, s) for s in ("idp", "git", "cloud")}
    try:
        assert roster_sources(providers) == [providers["idp"]]
        people = {p.id: p async for p in providers["idp"].list_people()}
        lucia = people["E1111"]
        assert lucia.status is PersonStatus.TERMINATED and lucia.terminated is not None
        assert lucia.source == "demo-idp" and lucia.name == "Lucía Castillo"
        contractors = [p for p in people.values() if p.worker_type == "contractor"]
        assert len(contractors) == 1 and contractors[0].id.startswith("C")
        assert any(p.aliases for p in people.values())
        # An account its system cannot attribute is reported without an owner.
        git = [a async for a in providers["git"].list_accounts()]
        unattributed = [a for a in git if a.kind == "human" and not a.owner]
        assert unattributed and all(str(a.owner_status) == "unknown" for a in unattributed)
    finally:
        for p in providers.values():
            await p.aclose()


async def test_a_state_file_from_before_the_roster_still_reads(tmp_path: Path) -> None:
    idp = demo(tmp_path, "idp")
    first = [a async for a in idp.list_accounts()]
    await idp.aclose()
    conn = sqlite3.connect(idp.state_file)
    for table, column in (
        ("accounts", "hr_id_known"),
        ("people", "aliases"),
        ("people", "worker_type"),
    ):
        conn.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    conn.commit()
    conn.close()
    idp = demo(tmp_path, "idp")
    try:
        again = [a async for a in idp.list_accounts()]
        assert [a.id for a in again] == [a.id for a in first]
        people = [p async for p in idp.list_people()]
        assert people and all(p.aliases == () and p.worker_type == "employee" for p in people)
    finally:
        await idp.aclose()
