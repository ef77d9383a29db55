"""The demo's HR roster, made as untidy as a real one for correlation.

``generate.py`` builds a company where every account carries its holder's HR
id. Real systems do not: GitHub knows a login and maybe an email, AWS a tag.
:func:`add_realism` takes the generated organisation and, with its own random
stream (the generator's stream, and so every id, token and count of the
bundled seed, is untouched), plants the cases that make correlation worth
having:

- **alias-only accounts**: a few GitHub members whose email is a short form
  of their work address (``aquinn@``) listed as an alias on the roster, and
  whose SAML identity is not linked (the system does not report the HR id);
- **a contractor** (``worker_type = contractor``): the roster lists them under a
  contingent-worker number (``C`` + digits) that no system carries; their IdP
  login is their work email, their GitHub member shows no email at all (so it
  stays ``UNOWNED`` until an operator links it);
- **a mover**: an ordinary engineer who moved to Sales a few days ago (the
  roster shows the new department and title; ``role_history`` keeps the old
  one, as an HR system's job history does). Sales access was granted, but
  their Okta ``Dept-Engineering`` group and their GitHub teams were never
  removed: role baselines (``services/movers.py``) flag them ``MOVER``;
- **the departed employee** (the ``departed-employee-token`` incident's person,
  Lucía Castillo in the bundled seed) gets an AWS IAM user too, ``l.castillo``,
  owned through its ``owner`` tag, while ``lcastillo`` is another Castillo's
  GitHub login (people share surnames, and a login is no identity). She then
  has live access in all three systems.

The JSON keeps the ground truth (``owner`` is always the real HR id); an
account the system cannot attribute says ``"hr_id_known": false`` and the
demo provider then reports no owner for it, as the real system would.
"""

from __future__ import annotations

import json
import random
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pamtui import foreground
from pamtui.model import Person, PersonStatus
from pamtui.providers.demo.constants import DEPARTED_TOKEN, DOMAIN
from pamtui.providers.roster import PastRole

MINUTES_PER_DAY = 1440


def contractor_id(hr_id: str) -> str:
    """The roster id of a contractor: contingent workers are numbered apart."""
    return "C" + hr_id.lstrip("E")


def read_people(conn: sqlite3.Connection, *, extended: bool, source: str) -> list[Person]:
    """The whole roster from the state file (in a thread: it gives way to keystrokes)."""
    columns = "id, name, email, status, terminated, manager, department, title"
    if extended:
        columns += ", aliases, worker_type"
    rows = conn.execute(f"SELECT {columns} FROM people ORDER BY id").fetchall()
    return list(foreground.paced(people_from_rows(rows, extended=extended, source=source), 2000))


def people_from_rows(
    rows: Sequence[Sequence[Any]], *, extended: bool, source: str
) -> Iterator[Person]:
    """The roster's rows as Persons (``extended``: the rows carry aliases and worker type)."""
    contractors = {r[0] for r in rows if extended and r[9] == "contractor"}
    for row in rows:
        pid, name, email, status, terminated, manager, department, title = row[:8]
        contractor = pid in contractors
        yield Person(
            id=contractor_id(pid) if contractor else pid,
            name=name,
            email=email or "",
            aliases=tuple(json.loads(row[8])) if extended else (),
            status=PersonStatus.TERMINATED if status == "terminated" else PersonStatus.EMPLOYED,
            terminated=None if terminated is None else datetime.fromtimestamp(terminated, UTC),
            manager=contractor_id(manager) if manager in contractors else (manager or ""),
            department=department or "",
            title=title or "",
            worker_type="contractor" if contractor else "employee",
            source=source,
        )


def past_roles(meta: Mapping[str, str]) -> Iterator[PastRole]:
    """The state file's job history (``meta.role_history``, dated from its anchor)."""
    anchor = float(meta.get("anchor", "0"))
    for entry in json.loads(meta.get("role_history", "[]")):
        until = entry.get("until_days_ago")
        yield PastRole(
            person_id=entry["person"],
            role={"department": entry.get("department", ""), "title": entry.get("title", "")},
            until=None if until is None else datetime.fromtimestamp(anchor - until * 86400, UTC),
        )


def _ascii(text: str) -> str:
    import unicodedata

    return (
        unicodedata.normalize("NFKD", text)
        .encode("ascii", "ignore")
        .decode()
        .lower()
        .replace(" ", "")
    )


def _unaccented(text: str) -> str:
    import unicodedata

    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text


def add_realism(
    seed: int,
    people: list[dict[str, Any]],
    accounts: list[dict[str, Any]],
    credentials: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Plant alias-only accounts, a contractor, a mover and the departed employee's cloud user.

    Changes the lists in place; returns the roster's role history (the mover's old role).
    """
    rng = random.Random(seed * 7919 + 18)
    by_id = {p["id"]: p for p in people}
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for a in accounts:
        by_owner.setdefault(a["owner"], []).append(a)
    managers = {p["manager"] for p in people}
    owns_services = {a["owner"] for a in accounts if a["kind"] != "human"}
    departed = next((i["person"] for i in incidents if i["id"] == DEPARTED_TOKEN), "")
    taken_emails = {p["email"].lower() for p in people}
    used: set[str] = {departed}

    def plain(pid: str) -> bool:
        """An ordinary employed person: no reports, no services, nothing privileged."""
        p = by_id[pid]
        return (
            p["status"] == "employed"
            and pid not in managers
            and pid not in owns_services
            and pid not in used
            and p["manager"] != ""
            and not any(a.get("privileged") for a in by_owner.get(pid, ()))
        )

    # Alias-only GitHub members.
    git_humans = sorted(
        (a for a in accounts if a["system"] == "git" and a["kind"] == "human"),
        key=lambda a: a["id"],
    )
    wanted = max(2, round(len(people) * 0.02))
    for acct in rng.sample(git_humans, len(git_humans)):
        if wanted == 0:
            break
        pid = acct["owner"]
        if not plain(pid) or acct["status"] != "active":
            continue
        first, _, last = by_id[pid]["name"].partition(" ")
        f, l_ = _ascii(first), _ascii(last)
        for local in (f"{f[0]}{l_}", f"{f}{l_[0]}", f"{f}_{l_}"):
            alias = f"{local}@{DOMAIN}"
            if alias not in taken_emails:
                break
        else:
            continue
        taken_emails.add(alias)
        by_id[pid]["aliases"] = [alias]
        acct["email"] = alias
        acct["hr_id_known"] = False
        used.add(pid)
        wanted -= 1

    # Contractors: an IdP user (work email) and a GitHub member with no public email.
    wanted = max(1, round(len(people) / 200))
    candidates = sorted(
        pid
        for pid, accts in by_owner.items()
        if pid in by_id and {"idp", "git"} <= {a["system"] for a in accts if a["kind"] == "human"}
    )
    for pid in rng.sample(candidates, len(candidates)):
        if wanted == 0:
            break
        if not plain(pid):
            continue
        by_id[pid]["worker_type"] = "contractor"
        for acct in by_owner[pid]:
            acct["hr_id_known"] = False
            if acct["system"] == "git":
                acct["email"] = ""
        used.add(pid)
        wanted -= 1

    history = _mover(people, by_owner, plain)
    for entry in history:
        used.add(entry["person"])
    if departed:
        _departed_cloud_user(rng, by_id[departed], accounts, credentials, by_owner, plain)
    return history


MOVER_FROM, MOVER_TO = "Engineering", ("Sales", "Sales Engineer")
MOVER_DAYS_AGO = 12


def _mover(
    people: list[dict[str, Any]], by_owner: dict[str, list[dict[str, Any]]], plain: Any
) -> list[dict[str, Any]]:
    """The first ordinary engineer with an Okta user and a GitHub team moves to Sales."""
    for p in sorted(people, key=lambda p: p["id"]):
        if p["department"] != MOVER_FROM or not plain(p["id"]):
            continue
        humans = {
            a["system"]: a
            for a in by_owner.get(p["id"], ())
            if a["kind"] == "human" and a["status"] == "active"
        }
        idp, git = humans.get("idp"), humans.get("git")
        if idp is None or git is None or not git.get("groups"):
            continue
        old = {"department": p["department"], "title": p["title"]}
        p["department"], p["title"] = MOVER_TO
        # Sales access granted on the move; the engineering access never removed.
        for group in ("Dept-Sales", "App-Salesforce"):
            if group not in idp["groups"]:
                idp["groups"].append(group)
        return [{"person": p["id"], **old, "until_days_ago": MOVER_DAYS_AGO}]
    return []


def _departed_cloud_user(
    rng: random.Random,
    person: dict[str, Any],
    accounts: list[dict[str, Any]],
    credentials: list[dict[str, Any]],
    by_owner: dict[str, list[dict[str, Any]]],
    plain: Any,
) -> None:
    """Hand one ordinary IAM user (with a live access key) to the departed employee."""
    if any(a["system"] == "cloud" for a in by_owner.get(person["id"], ())):
        return
    live_keys = {
        c["account_id"]
        for c in credentials
        if c["kind"] == "access_key" and c["status"] == "active"
    }
    donors = sorted(
        (
            a
            for a in accounts
            if a["system"] == "cloud"
            and a["kind"] == "human"
            and a["status"] == "active"
            and a["id"] in live_keys
            and plain(a["owner"])
            and len(by_owner.get(a["owner"], ())) > 1
        ),
        key=lambda a: a["id"],
    )
    if not donors:
        return
    acct = rng.choice(donors)
    first, _, last = person["name"].partition(" ")
    f, l_ = _ascii(first), _ascii(last)
    logins = {a["name"] for a in accounts}  # unique across systems: names are searched for
    name = next(
        (n for n in (f"{f[0]}{l_}", f"{f[0]}.{l_}", f"{f}.{l_}") if n not in logins),
        f"{f}.{l_}.iam",
    )
    gone = person["terminated_days_ago"] * MINUTES_PER_DAY
    acct.update(
        {
            "name": name,
            "display_name": f"{_unaccented(first)} {_unaccented(last)}",
            "email": "",
            "owner": person["id"],
            "created_days_ago": min(acct["created_days_ago"], person["hired_days_ago"]),
            "last_active_minutes_ago": gone + rng.randint(0, 5 * MINUTES_PER_DAY),
        }
    )
    acct["_dept"] = person["department"]
    for cred in credentials:
        if cred["account_id"] != acct["id"]:
            continue
        if (cred.get("created_minutes_ago") or 0) < gone:
            cred["created_minutes_ago"] = gone + rng.randint(30, 400) * MINUTES_PER_DAY
        last_used = cred.get("last_used_minutes_ago")
        if last_used is not None and last_used < gone:
            cred["last_used_minutes_ago"] = gone + rng.randint(0, 20 * MINUTES_PER_DAY)
        if cred["kind"] == "session":
            cred["status"] = "expired"
