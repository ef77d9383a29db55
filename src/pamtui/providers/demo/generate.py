"""Deterministic generator for the demo organisation, "Acme Robotics".

``generate(seed, accounts)`` returns a plain JSON-able dict: an HR roster,
accounts in three simulated systems (``idp``: an Okta-like SSO, ``git``: a
GitHub-like org, ``cloud``: an AWS-IAM-like account), their credentials and the
planted incidents. All dates are relative (``*_days_ago``, ``*_minutes_ago``,
``expires_in_minutes``); the state file anchors them to "now" when it is
created. No secret is ever produced: a credential carries only a fingerprint
(the last four characters of a throwaway fake secret and a short hash of it).

Generation is a single pass with one seeded ``random.Random`` and is linear in
``accounts`` (100,000 accounts take a few seconds).

Why one module of ~1,500 lines: the demo *is* the order of the random draws.
Every test, the README tour and the tmux end-to-end test name accounts and
token ids (``lucia-castillo-acme``, ``716008953``) that exist only because
each draw happens where it does; splitting the pass across modules invites
reordering it, which silently re-deals the whole organisation. It is data
construction, with no I/O and no logic other modules call.

    python -m pamtui.providers.demo.generate --out sample_data/demo-org.json
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import random
import sys
import unicodedata
from collections.abc import Iterable
from itertools import accumulate
from pathlib import Path
from typing import Any

from pamtui.providers.demo.constants import (
    AWS_ACCOUNT_ID,
    BUCKET_ENUMERATION,
    DEFAULT_SEED,
    DEPARTED_TOKEN,
    DOMAIN,
    FORMAT,
    GITHUB_ORG,
    MIN_ACCOUNTS,
    ORG_NAME,
    SYSTEMS,
    TIMEZONE,
)
from pamtui.providers.demo.people import add_realism

DEFAULT_ACCOUNTS = 250

ATTACKER_IP = "203.0.113.66"
ENUMERATION_IP = "203.0.113.23"
HOSTILE_BOT = "build-helper"
HOSTILE_DISPLAY_NAME = "Build Helper [@click=app.quit]x[/]"
HOSTILE_USER_AGENT = "release-tool/1.2 \x1b]0;pwned\x07"

MINUTES_PER_DAY = 1440
STALE_DAYS = 90

FIRST_NAMES = (
    "Aaliyah",
    "Aaron",
    "Abigail",
    "Adrian",
    "Aisha",
    "Alejandro",
    "Alex",
    "Amara",
    "Amelia",
    "Ana",
    "Andre",
    "Andrea",
    "Anika",
    "Arjun",
    "Ava",
    "Benjamin",
    "Bianca",
    "Brandon",
    "Camila",
    "Carlos",
    "Carmen",
    "Chen",
    "Chloe",
    "Daniel",
    "Darius",
    "David",
    "Deepa",
    "Diego",
    "Dmitri",
    "Elena",
    "Eli",
    "Elif",
    "Emeka",
    "Emily",
    "Emma",
    "Ethan",
    "Fatima",
    "Felix",
    "Gabriel",
    "Grace",
    "Hannah",
    "Hiro",
    "Ibrahim",
    "Isabel",
    "Ivan",
    "Jack",
    "Jamal",
    "James",
    "Jasmine",
    "Javier",
    "Jia",
    "Joon",
    "José",
    "Julia",
    "Kai",
    "Karen",
    "Kenji",
    "Kevin",
    "Kwame",
    "Laila",
    "Lars",
    "Laura",
    "Leah",
    "Leo",
    "Li",
    "Liam",
    "Lucas",
    "Lucía",
    "Maya",
    "Marcus",
    "Maria",
    "Mateo",
    "Mei",
    "Mohammed",
    "Nadia",
    "Naomi",
    "Nathan",
    "Nia",
    "Nikolai",
    "Noah",
    "Olivia",
    "Omar",
    "Oscar",
    "Priya",
    "Rafael",
    "Rahul",
    "Rebecca",
    "Ren",
    "Rosa",
    "Ryan",
    "Samir",
    "Sara",
    "Sean",
    "Sofia",
    "Stefan",
    "Sunita",
    "Tariq",
    "Thomas",
    "Tomás",
    "Uma",
    "Valentina",
    "Victor",
    "Wei",
    "Xavier",
    "Yara",
    "Yusuf",
    "Zara",
    "Zoë",
)
LAST_NAMES = (
    "Abbott",
    "Adeyemi",
    "Alvarez",
    "Anderson",
    "Bauer",
    "Becker",
    "Bennett",
    "Brooks",
    "Castillo",
    "Chandra",
    "Chen",
    "Cohen",
    "Costa",
    "Da Silva",
    "Dubois",
    "Edwards",
    "Eriksson",
    "Fernández",
    "Fischer",
    "Foster",
    "García",
    "Goldberg",
    "Gupta",
    "Hall",
    "Hansen",
    "Hayes",
    "Hernández",
    "Hoffmann",
    "Hughes",
    "Ibrahim",
    "Ivanova",
    "Jackson",
    "Jensen",
    "Johnson",
    "Kaplan",
    "Kato",
    "Kaur",
    "Khan",
    "Kim",
    "Kowalski",
    "Kumar",
    "Larsen",
    "Lee",
    "Lewis",
    "Lin",
    "Lopez",
    "Martin",
    "Mehta",
    "Meyer",
    "Miller",
    "Moreau",
    "Murphy",
    "Nakamura",
    "Nguyen",
    "Novak",
    "O'Brien",
    "Okafor",
    "Olsen",
    "Ortiz",
    "Park",
    "Patel",
    "Perez",
    "Petrov",
    "Quinn",
    "Rahman",
    "Ramirez",
    "Reddy",
    "Reyes",
    "Richter",
    "Rossi",
    "Sato",
    "Schmidt",
    "Shah",
    "Silva",
    "Singh",
    "Sokolov",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Thompson",
    "Torres",
    "Tran",
    "Turner",
    "Usman",
    "Vargas",
    "Volkov",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "Williams",
    "Wong",
    "Wu",
    "Yamamoto",
    "Yilmaz",
    "Young",
    "Zhang",
    "Zhou",
)

# name, weight, P(idp) , P(git), P(cloud), head title, titles
DEPARTMENTS: tuple[tuple[str, int, float, float, float, str, tuple[str, ...]], ...] = (
    (
        "Executive",
        2,
        1.0,
        0.05,
        0.0,
        "Chief Executive Officer",
        ("Chief Operating Officer", "Chief Financial Officer", "Executive Assistant"),
    ),
    (
        "Engineering",
        22,
        1.0,
        0.92,
        0.14,
        "VP Engineering",
        (
            "Software Engineer",
            "Senior Software Engineer",
            "Staff Engineer",
            "Platform Engineer",
            "Site Reliability Engineer",
            "Firmware Engineer",
            "Senior Firmware Engineer",
            "QA Engineer",
            "Engineering Manager",
        ),
    ),
    (
        "Robotics R&D",
        11,
        1.0,
        0.85,
        0.08,
        "Director of Robotics Research",
        (
            "Robotics Engineer",
            "Perception Engineer",
            "Controls Engineer",
            "Research Scientist",
            "Mechanical Engineer",
            "Simulation Engineer",
        ),
    ),
    (
        "Manufacturing",
        25,
        0.2,
        0.02,
        0.0,
        "VP Manufacturing",
        (
            "Assembly Technician",
            "Production Supervisor",
            "Quality Inspector",
            "Manufacturing Engineer",
            "Supply Chain Planner",
            "Warehouse Associate",
        ),
    ),
    (
        "IT",
        5,
        1.0,
        0.6,
        0.7,
        "Head of IT",
        ("IT Administrator", "Systems Engineer", "Helpdesk Analyst", "Identity Engineer"),
    ),
    (
        "Security",
        3,
        1.0,
        0.8,
        0.6,
        "CISO",
        ("Security Engineer", "Security Analyst", "GRC Analyst"),
    ),
    (
        "Sales",
        10,
        1.0,
        0.0,
        0.0,
        "VP Sales",
        ("Account Executive", "Sales Engineer", "Sales Development Rep", "Sales Manager"),
    ),
    (
        "Marketing",
        5,
        1.0,
        0.05,
        0.0,
        "VP Marketing",
        ("Product Marketing Manager", "Content Strategist", "Marketing Ops Specialist"),
    ),
    (
        "Customer Success",
        7,
        1.0,
        0.08,
        0.02,
        "VP Customer Success",
        ("Customer Success Manager", "Field Service Engineer", "Support Engineer"),
    ),
    (
        "Finance",
        5,
        1.0,
        0.0,
        0.06,
        "Controller",
        ("Financial Analyst", "Accountant", "FP&A Manager"),
    ),
    (
        "People",
        3,
        1.0,
        0.0,
        0.0,
        "VP People",
        ("HR Business Partner", "Recruiter", "People Ops Specialist"),
    ),
    ("Legal", 2, 1.0, 0.0, 0.0, "General Counsel", ("Counsel", "Paralegal")),
)
TECH_DEPARTMENTS = ("Engineering", "Robotics R&D", "IT", "Security")
LOCATIONS = (
    ("Pittsburgh, PA", 50),
    ("Austin, TX", 15),
    ("Monterrey, MX", 12),
    ("Remote (US)", 18),
    ("Berlin, DE", 5),
)

IDP_DEPT_GROUPS = {
    "Engineering": ("App-GitHub", "App-AWS", "App-Jira", "VPN-Users"),
    "Robotics R&D": ("App-GitHub", "App-Jira", "App-Onshape", "VPN-Users"),
    "IT": ("App-GitHub", "App-AWS", "App-Jamf", "VPN-Users"),
    "Security": ("App-GitHub", "App-AWS", "App-CrowdStrike", "VPN-Users"),
    "Sales": ("App-Salesforce", "App-Gong"),
    "Marketing": ("App-HubSpot", "App-Figma"),
    "Customer Success": ("App-Zendesk", "App-Salesforce"),
    "Finance": ("App-NetSuite", "App-Expensify"),
    "People": ("App-Workday", "App-Greenhouse"),
    "Legal": ("App-Ironclad",),
    "Manufacturing": ("App-MES",),
    "Executive": ("App-Salesforce", "App-NetSuite"),
}
GIT_TEAMS = {
    "Engineering": ("platform", "firmware", "web", "fleet", "qa"),
    "Robotics R&D": ("perception", "motion-planning", "simulation", "controls"),
    "IT": ("it-automation",),
    "Security": ("security", "appsec"),
}
CLOUD_GROUPS = {
    "Engineering": (("Developers", 6), ("OnCall", 2), ("ReadOnly", 1)),
    "Robotics R&D": (("DataScience", 3), ("Developers", 1)),
    "IT": (("OnCall", 2), ("ReadOnly", 1)),
    "Security": (("SecurityAudit", 2), ("ReadOnly", 1)),
    "Finance": (("Billing", 1),),
}
CLOUD_GROUP_POLICIES = {
    "Developers": (
        "AmazonEC2ReadOnlyAccess",
        "AmazonS3ReadOnlyAccess",
        "CloudWatchLogsReadOnlyAccess",
    ),
    "OnCall": ("ReadOnlyAccess", "AmazonEC2FullAccess", "CloudWatchLogsFullAccess"),
    "ReadOnly": ("ReadOnlyAccess",),
    "DataScience": ("AmazonS3FullAccess", "AmazonSageMakerFullAccess"),
    "SecurityAudit": ("SecurityAudit", "s3:ListAllMyBuckets"),
    "Billing": ("AWSBillingReadOnlyAccess", "ce:GetCostAndUsage"),
    "Administrators": ("AdministratorAccess",),
}

IDP_SERVICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("svc-scim-sync", "SCIM provisioning (Workday)", ("okta.users.manage", "okta.groups.manage")),
    ("svc-hr-import", "HR import job", ("okta.users.manage", "okta.users.read")),
    (
        "terraform-okta",
        "Terraform (Okta provider)",
        (
            "okta.apps.manage",
            "okta.groups.manage",
            "okta.policies.manage",
            "okta.authorizationServers.manage",
        ),
    ),
    ("svc-jamf-connector", "Jamf Connect", ("okta.users.read", "okta.devices.read")),
    ("svc-slack-provisioning", "Slack provisioning", ("okta.users.read", "okta.groups.read")),
    ("svc-audit-export", "Audit log export to SIEM", ("okta.logs.read",)),
    ("svc-zendesk-sso", "Zendesk SSO sync", ("okta.users.read", "okta.apps.read")),
)
GIT_BOTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("dependabot-acme", "Dependabot (Acme)", ("repo", "security_events", "read:packages")),
    ("ci-runner", "CI runner", ("repo", "workflow", "write:packages", "read:org")),
    (HOSTILE_BOT, HOSTILE_DISPLAY_NAME, ("repo", "workflow")),
    ("release-bot", "Release bot", ("repo", "write:packages")),
    ("renovate-acme", "Renovate", ("repo", "workflow", "read:org")),
    ("docs-publisher", "Docs publisher", ("repo",)),
    ("sbom-scanner", "SBOM scanner", ("repo", "read:org", "security_events")),
    ("terraform-github", "Terraform (GitHub provider)", ("admin:org", "repo", "workflow")),
    ("merge-queue-bot", "Merge queue", ("repo", "workflow")),
    ("firmware-signer", "Firmware signer", ("repo", "read:packages")),
)
CLOUD_SERVICES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "svc-billing-sync",
        "Billing sync (cost reports)",
        ("AmazonS3ReadOnlyAccess", "s3:ListAllMyBuckets", "ce:GetCostAndUsage"),
    ),
    ("svc-terraform", "Terraform deployer", ("AdministratorAccess",)),
    ("svc-telemetry-ingest", "Robot telemetry ingest", ("AmazonKinesisFullAccess", "s3:PutObject")),
    ("svc-fleet-ota", "Fleet OTA updates", ("s3:GetObject", "s3:PutObject", "iot:Publish")),
    ("svc-backup", "Nightly backups", ("AWSBackupFullAccess", "AmazonS3FullAccess")),
    (
        "svc-ml-training",
        "ML training jobs",
        ("AmazonSageMakerFullAccess", "AmazonS3ReadOnlyAccess"),
    ),
    ("svc-log-shipper", "Log shipper", ("CloudWatchLogsFullAccess",)),
    ("svc-grafana", "Grafana data source", ("CloudWatchReadOnlyAccess",)),
    ("svc-datadog-integration", "Datadog integration", ("ReadOnlyAccess",)),
    ("svc-s3-replication", "Cross-region replication", ("AmazonS3FullAccess",)),
    ("svc-warehouse-etl", "Warehouse ETL", ("AmazonRedshiftFullAccess", "AmazonS3ReadOnlyAccess")),
    ("svc-map-tiles", "Warehouse map tiles", ("s3:GetObject", "s3:PutObject")),
)
SERVICE_NOUNS = (
    "inventory",
    "fleet",
    "firmware",
    "telemetry",
    "orders",
    "payroll",
    "crm",
    "metrics",
    "support",
    "maps",
    "vision",
    "sensor",
    "parts",
    "shipping",
    "quality",
    "forecast",
    "pricing",
    "audit",
    "reports",
    "search",
)
SERVICE_VERBS = (
    "sync",
    "ingest",
    "export",
    "backup",
    "worker",
    "scanner",
    "api",
    "etl",
    "replicator",
    "notifier",
)

IDP_ADMIN_SCOPES = (
    "okta.users.manage",
    "okta.groups.manage",
    "okta.apps.manage",
    "okta.policies.manage",
    "okta.logs.read",
    "okta.roles.manage",
)
IDP_IT_SCOPES = (
    ("okta.users.read", "okta.groups.read", "okta.logs.read"),
    ("okta.users.manage", "okta.groups.read"),
    ("okta.apps.read", "okta.users.read"),
)
IDP_TOKEN_LABELS = (
    "Offboarding script",
    "Personal admin token",
    "Terraform (local)",
    "Log export",
    "Group sync script",
    "Helpdesk tooling",
)
SESSION_LABELS = (
    "Chrome 124 · macOS 14.4",
    "Safari 17.4 · iOS 17.4",
    "Firefox 125 · Ubuntu 22.04",
    "Edge 124 · Windows 11",
    "Okta Verify · Android 14",
    "Chrome 124 · Windows 11",
    "Safari 17.4 · macOS 14.4",
)
PAT_LABELS = (
    "gh cli",
    "local dev",
    "homebrew",
    "terraform",
    "renovate test",
    "jira integration",
    "ci debugging",
    "package publishing",
    "vscode",
    "scripts",
)
PAT_SCOPES = (
    ("repo", "read:org"),
    ("repo", "workflow"),
    ("read:packages",),
    ("repo", "read:org", "workflow", "write:packages"),
    ("gist",),
    ("repo",),
    ("repo", "read:org", "read:packages"),
)
PAT_ADMIN_SCOPES = ("admin:org", "repo", "delete_repo", "admin:repo_hook", "workflow")
SSH_LABELS = (
    "MacBook Pro (work)",
    "thinkpad-x1",
    "build-box",
    "YubiKey 5C",
    "home desktop",
    "lab workstation",
    "jetson-devkit",
    "MacBook Air",
)
ACCESS_KEY_LABELS = (
    "laptop cli",
    "terraform local",
    "jupyter",
    "backup script",
    "data export",
    "cli",
)

BUCKETS = (
    "acme-billing-exports",
    "acme-cad-archive",
    "acme-cloudtrail-logs",
    "acme-customer-uploads",
    "acme-data-lake-raw",
    "acme-data-lake-curated",
    "acme-firmware-releases",
    "acme-firmware-signing",
    "acme-fleet-telemetry",
    "acme-hr-documents",
    "acme-legal-contracts",
    "acme-map-tiles",
    "acme-ml-datasets",
    "acme-ml-models",
    "acme-payroll-exports",
    "acme-prod-backups",
    "acme-sales-forecasts",
    "acme-sim-scenarios",
    "acme-static-website",
    "acme-support-attachments",
    "acme-terraform-state",
    "acme-vpc-flow-logs",
    "acme-warehouse-etl",
    "acme-qa-artifacts",
    "acme-build-cache",
    "acme-ota-manifests",
    "acme-security-findings",
    "acme-grafana-snapshots",
    "acme-robot-logs",
    "acme-replica-eu",
    "acme-marketing-assets",
    "acme-partner-portal",
    "acme-calibration-data",
    "acme-test-results",
    "acme-dev-sandbox",
    "acme-athena-results",
)
RESTRICTED_BUCKETS = ("acme-hr-documents", "acme-payroll-exports", "acme-legal-contracts")
REPOS = (
    "firmware-controller",
    "motion-planner",
    "perception-stack",
    "fleet-dashboard",
    "ota-server",
    "acme-web",
    "infra-terraform",
    "docs",
    "sim-env",
    "arm-kinematics",
    "gripper-driver",
    "hr-tools",
    "ci-templates",
    "telemetry-pipeline",
    "mobile-app",
    "robot-sdk",
    "calibration-tools",
    "warehouse-maps",
    "safety-monitor",
    "vision-models",
    "build-images",
    "okta-config",
    "security-policies",
    "release-notes",
    "test-harness",
    "data-platform",
)

_B62 = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_B32 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B62_TABLE = bytes(_B62[i % 62] for i in range(256))
_B32_TABLE = bytes(_B32[i % 32] for i in range(256))
_HEX_TABLE = bytes(b"0123456789abcdef"[i % 16] for i in range(256))


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.ids: set[str] = set()
        self.emails: set[str] = set()
        self.logins: dict[str, set[str]] = {s: set() for s in SYSTEMS}

    # -- primitives ---------------------------------------------------------

    def _chars(self, n: int, table: bytes) -> str:
        raw = self.rng.getrandbits(8 * n).to_bytes(n, "big")
        return raw.translate(table).decode()

    def uid(self, make: Any) -> str:
        while True:
            value = make()
            if value not in self.ids:
                self.ids.add(value)
                return value

    def okta_id(self, prefix: str, n: int = 17) -> str:
        return self.uid(lambda: prefix + self._chars(n, _B62_TABLE))

    def numeric_id(self, lo: int, hi: int) -> str:
        return self.uid(lambda: str(self.rng.randrange(lo, hi)))

    def aws_id(self, prefix: str, n: int) -> str:
        return self.uid(lambda: prefix + self._chars(n, _B32_TABLE))

    def fingerprint(self, prefix: str, n: int) -> str:
        fake_secret = prefix + self._chars(n, _B62_TABLE)  # thrown away, never stored
        digest = hashlib.sha256(fake_secret.encode()).hexdigest()[:8]
        return f"…{fake_secret[-4:]} sha256:{digest}"

    def weighted(self, options: tuple[tuple[Any, int], ...]) -> Any:
        return self.rng.choices([o for o, _ in options], [w for _, w in options])[0]

    def unique_login(self, system: str, candidates: Iterable[str]) -> str:
        taken = self.logins[system]
        first = ""
        for cand in candidates:
            first = first or cand
            if cand not in taken:
                taken.add(cand)
                return cand
        n = 2
        while f"{first}{n}" in taken:
            n += 1
        taken.add(f"{first}{n}")
        return f"{first}{n}"

    # -- the organisation ---------------------------------------------------

    def run(self, accounts: int, credentials: int | None) -> dict[str, Any]:
        n_people = max(30, round(accounts * 0.8))
        n_nonhuman = max(6, round(accounts * 0.1))
        n_orphans = max(3, round(accounts * 0.05))
        n_clean = max(2, round(accounts * 0.06))
        n_priv = max(4, round(accounts * 0.04))

        people = self.people(n_people)
        orphan_ids, clean_ids, departed = self.terminations(people, n_orphans, n_clean)
        by_id = {p["id"]: p for p in people}

        specs = self.assign_human_accounts(
            people, orphan_ids, clean_ids, departed, accounts - n_nonhuman
        )
        accts: list[dict[str, Any]] = [
            self.human_account(by_id[pid], system, status) for pid, system, status in specs
        ]
        accts.extend(self.nonhuman_accounts(n_nonhuman, people, orphan_ids, clean_ids))
        admin_orphan = next((p for p in people if p.get("_admin_orphan")), None)
        self.privileges(accts, by_id, n_priv, admin_orphan)

        creds: list[dict[str, Any]] = []
        for acct in accts:
            creds.extend(self.credentials_for(acct, by_id))
        incidents = self.incidents(accts, creds, by_id, departed)
        if credentials is not None:
            creds = self.fit_credentials(creds, accts, by_id, credentials, incidents)

        # Its own random stream: the ids, tokens and counts above stay those of the seed.
        role_history = add_realism(self.seed, people, accts, creds, incidents)
        order = {s: i for i, s in enumerate(SYSTEMS)}
        accts.sort(key=lambda a: (order[a["system"]], a["name"]))
        account_order = {a["id"]: i for i, a in enumerate(accts)}
        creds.sort(key=lambda c: (account_order[c["account_id"]], c["id"]))
        for p in people:
            p.pop("_admin_orphan", None)
        for a in accts:
            a.pop("_dept", None)
            a.pop("_scopes", None)
        return {
            "format": FORMAT,
            "seed": self.seed,
            "org": {
                "name": ORG_NAME,
                "domain": DOMAIN,
                "timezone": TIMEZONE,
                "github_org": GITHUB_ORG,
                "aws_account_id": AWS_ACCOUNT_ID,
                "buckets": list(BUCKETS),
                "restricted_buckets": list(RESTRICTED_BUCKETS),
                "repos": list(REPOS),
            },
            "incidents": incidents,
            "role_history": role_history,
            "people": people,
            "accounts": accts,
            "credentials": creds,
        }

    def people(self, n: int) -> list[dict[str, Any]]:
        rng = self.rng
        depts = [d[0] for d in DEPARTMENTS]
        cum = list(accumulate(d[1] for d in DEPARTMENTS))
        titles = {d[0]: d[6] for d in DEPARTMENTS}
        heads = {d[0]: d[5] for d in DEPARTMENTS}
        loc_cum = list(accumulate(w for _, w in LOCATIONS))
        leads: dict[str, list[str]] = {}
        members: dict[str, int] = {}
        people = []
        for i in range(n):
            emp = f"E{1000 + i}"
            if i < len(depts):
                dept = depts[i]
            else:
                dept = depts[bisect.bisect_right(cum, rng.random() * cum[-1])]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            base = f"{_ascii(first)}.{_ascii(last)}"
            local, k = base, 2
            while local in self.emails:
                local, k = f"{base}{k}", k + 1
            self.emails.add(local)
            count = members.get(dept, 0)
            members[dept] = count + 1
            if count == 0:
                title = heads[dept]
                manager = "" if i == 0 else "E1000"
                leads[dept] = [emp]
                hired = rng.randint(700, 3650)
            else:
                manager = leads[dept][-1]
                if count % 8 == 0:
                    title = f"{dept} Manager" if dept != "Engineering" else "Engineering Manager"
                    leads[dept].append(emp)
                else:
                    title = rng.choice(titles[dept])
                hired = rng.randint(20, 3400)
            if dept == "Manufacturing":
                location = "Monterrey, MX" if rng.random() < 0.45 else "Pittsburgh, PA"
            else:
                location = LOCATIONS[bisect.bisect_right(loc_cum, rng.random() * loc_cum[-1])][0]
            people.append(
                {
                    "id": emp,
                    "name": f"{first} {last}",
                    "email": f"{local}@{DOMAIN}",
                    "department": dept,
                    "title": title,
                    "manager": manager,
                    "location": location,
                    "status": "employed",
                    "hired_days_ago": hired,
                    "terminated_days_ago": None,
                }
            )
        return people

    def terminations(
        self, people: list[dict[str, Any]], n_orphans: int, n_clean: int
    ) -> tuple[list[str], list[str], str]:
        """Pick who left: ``orphans`` keep active accounts, ``clean`` were offboarded."""
        rng = self.rng
        first = len(DEPARTMENTS)  # department heads stay
        cands = list(range(first, len(people)))
        rng.shuffle(cands)
        eng = [i for i in cands if people[i]["department"] in ("Engineering", "Robotics R&D")]
        it = [i for i in cands if people[i]["department"] == "IT"]
        tech = [i for i in cands if people[i]["department"] in TECH_DEPARTMENTS]
        chosen: list[int] = []
        departed = eng[0] if eng else cands[0]
        chosen.append(departed)
        if it and it[0] != departed:
            chosen.append(it[0])
            people[it[0]]["_admin_orphan"] = True
        n_tech = round(n_orphans * 0.7)
        for pool in (tech[: n_tech + 2], cands):
            for i in pool:
                if len(chosen) >= n_orphans:
                    break
                if i not in chosen:
                    chosen.append(i)
        picked = set(chosen)
        clean = [i for i in cands if i not in picked][:n_clean]
        for i in chosen:
            people[i]["status"] = "terminated"
            days = rng.randint(20, 60) if i == departed else rng.randint(8, 150)
            people[i]["terminated_days_ago"] = days
            people[i]["hired_days_ago"] = max(people[i]["hired_days_ago"], days + 90)
        for i in clean:
            people[i]["status"] = "terminated"
            days = rng.randint(5, 400)
            people[i]["terminated_days_ago"] = days
            people[i]["hired_days_ago"] = max(people[i]["hired_days_ago"], days + 60)
        return (
            [people[i]["id"] for i in chosen],
            [people[i]["id"] for i in clean],
            people[departed]["id"],
        )

    def assign_human_accounts(
        self,
        people: list[dict[str, Any]],
        orphans: list[str],
        clean: list[str],
        departed: str,
        target: int,
    ) -> list[tuple[str, str, str]]:
        rng = self.rng
        probs = {d[0]: d[2:5] for d in DEPARTMENTS}
        orphan_set, clean_set = set(orphans), set(clean)
        specs: list[tuple[str, str, str]] = []
        protected: set[int] = set()
        for p in people:
            pid, dept = p["id"], p["department"]
            if pid in clean_set:
                if rng.random() < 0.5:
                    protected.add(len(specs))
                    specs.append((pid, "idp", "deactivated"))
                continue
            p_idp, p_git, p_cloud = probs[dept]
            systems = [
                s
                for s, pr in (("idp", p_idp), ("git", p_git), ("cloud", p_cloud))
                if rng.random() < pr
            ]
            if pid in orphan_set:
                if pid == departed and "git" not in systems:
                    systems.append("git")
                if p.get("_admin_orphan") and "idp" not in systems:
                    systems.insert(0, "idp")
                if not systems:
                    systems.append("idp")
            for system in systems:
                if pid in orphan_set or p.get("title") == "Chief Executive Officer":
                    protected.add(len(specs))
                specs.append((pid, system, "active"))
        excess = len(specs) - target
        if excess > 0:
            removable = [i for i in range(len(specs)) if i not in protected]
            drop = set(rng.sample(removable, min(excess, len(removable))))
            specs = [s for i, s in enumerate(specs) if i not in drop]
        elif excess < 0:
            have = {(pid, system) for pid, system, _ in specs}
            employed = [p for p in people if p["status"] == "employed"]
            order = list(range(len(employed)))
            rng.shuffle(order)
            for system in SYSTEMS:
                for i in order:
                    if len(specs) >= target:
                        break
                    pid = employed[i]["id"]
                    if (pid, system) not in have:
                        have.add((pid, system))
                        specs.append((pid, system, "active"))
        return specs

    def human_account(self, p: dict[str, Any], system: str, status: str) -> dict[str, Any]:
        rng = self.rng
        first, _, last = p["name"].partition(" ")
        f, l_ = _ascii(first), _ascii(last)
        local = p["email"].split("@")[0]
        created = max(0, p["hired_days_ago"] - rng.randint(0, 3))
        dept = p["department"]
        if p["status"] == "terminated":
            left = p["terminated_days_ago"]
            last_active = left * MINUTES_PER_DAY + rng.randint(0, 20 * MINUTES_PER_DAY)
        elif rng.random() < 0.85:
            last_active = min(int(rng.expovariate(1 / 900)), 6 * MINUTES_PER_DAY)
        else:
            last_active = rng.randint(6 * MINUTES_PER_DAY, 40 * MINUTES_PER_DAY)
        last_active = min(last_active, created * MINUTES_PER_DAY)
        acct: dict[str, Any] = {"system": system, "kind": "human"}
        if system == "idp":
            acct["id"] = self.okta_id("00u")
            acct["name"] = self.unique_login("idp", [p["email"]])
            groups = ["Everyone", f"Dept-{dept.replace(' ', '-')}", *IDP_DEPT_GROUPS[dept]]
        elif system == "git":
            acct["id"] = self.numeric_id(1_000_000, 160_000_000)
            style = rng.randrange(5)
            cands = [
                (f"{f}{l_}", f"{f[0]}{l_}", f"{f}-{l_}", f"{f}{l_[0]}-acme", f"{f}-{l_}-acme")[
                    style
                ],
                f"{f}-{l_}",
                f"{f}{l_}-ar",
            ]
            acct["name"] = self.unique_login("git", cands)
            teams = GIT_TEAMS.get(dept, ("contributors",))
            groups = sorted(set(rng.sample(teams, min(len(teams), rng.randint(1, 2)))))
        else:
            acct["id"] = self.aws_id("AIDA", 17)
            acct["name"] = self.unique_login("cloud", [local, f"{f[0]}{l_}"])
            options = CLOUD_GROUPS.get(dept, (("ReadOnly", 1),))
            groups = [self.weighted(options)]
        acct.update(
            {
                "display_name": p["name"],
                "email": p["email"],
                "status": status,
                "groups": groups,
                "owner": p["id"],
                "created_days_ago": created,
                "last_active_minutes_ago": last_active,
            }
        )
        if system == "cloud":
            acct["console"] = rng.random() < 0.7
        acct["_dept"] = dept
        return acct

    def nonhuman_accounts(
        self, n: int, people: list[dict[str, Any]], orphans: list[str], clean: list[str]
    ) -> list[dict[str, Any]]:
        rng = self.rng
        n_idp = max(1, round(n * 0.2))
        n_git = max(3, round(n * 0.35))
        n_cloud = max(2, n - n_idp - n_git)
        owners = [
            p for p in people if p["status"] == "employed" and p["department"] in TECH_DEPARTMENTS
        ]
        finance = [p for p in people if p["status"] == "employed" and p["department"] == "Finance"]
        departed_owners = [pid for pid in orphans[2:] + clean]
        out = []
        for system, count, curated in (
            ("idp", n_idp, IDP_SERVICES),
            ("git", n_git, GIT_BOTS),
            ("cloud", n_cloud, CLOUD_SERVICES),
        ):
            for i in range(count):
                if i < len(curated):
                    name, display, scopes = curated[i]
                else:
                    noun, verb = rng.choice(SERVICE_NOUNS), rng.choice(SERVICE_VERBS)
                    name = f"svc-{noun}-{verb}" if system != "git" else f"{noun}-{verb}-bot"
                    display = f"{noun.title()} {verb} ({'bot' if system == 'git' else 'service'})"
                    scopes = ()
                name = self.unique_login(system, [name])
                if name == "svc-billing-sync" and finance:
                    owner = rng.choice(finance)["id"]
                elif departed_owners and i >= 3 and rng.random() < 0.3:
                    owner = rng.choice(departed_owners)
                else:
                    owner = rng.choice(owners)["id"]
                created = rng.randint(60, 2000)
                acct: dict[str, Any] = {"system": system}
                if system == "idp":
                    acct["id"] = self.okta_id("00u")
                    kind, email, groups = "service", f"{name}@{DOMAIN}", ["Service Accounts"]
                elif system == "git":
                    acct["id"] = self.numeric_id(160_000_000, 190_000_000)
                    kind, email, groups = "bot", f"eng-bots+{name}@{DOMAIN}", ["bots"]
                else:
                    acct["id"] = self.aws_id("AIDA", 17)
                    kind, email, groups = "service", "", ["ServiceAccounts"]
                acct.update(
                    {
                        "kind": kind,
                        "name": name,
                        "display_name": display,
                        "email": email,
                        "status": "active",
                        "groups": groups,
                        "owner": owner,
                        "created_days_ago": created,
                        "last_active_minutes_ago": rng.randint(0, 30),
                        "_scopes": list(scopes),
                    }
                )
                out.append(acct)
        return out

    def privileges(
        self,
        accts: list[dict[str, Any]],
        by_id: dict[str, dict[str, Any]],
        n_priv: int,
        admin_orphan: dict[str, Any] | None,
    ) -> None:
        rng = self.rng
        admin_groups = {"idp": "Okta Super Admins", "git": "owners", "cloud": "Administrators"}
        count = 0

        def grant(acct: dict[str, Any]) -> None:
            nonlocal count
            acct["privileged"] = True
            group = admin_groups[acct["system"]]
            if group not in acct["groups"]:
                acct["groups"] = [*acct["groups"], group]
            count += 1

        if admin_orphan is not None:
            for a in accts:
                if (
                    a["owner"] == admin_orphan["id"]
                    and a["system"] == "idp"
                    and a["kind"] == "human"
                ):
                    grant(a)
                    break
        for a in accts:
            if a["name"] in ("svc-terraform", "terraform-github"):
                grant(a)
        pools: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
        backup: dict[str, list[dict[str, Any]]] = {s: [] for s in SYSTEMS}
        for a in accts:
            if a["kind"] != "human" or a["status"] != "active" or a.get("privileged"):
                continue
            if by_id[a["owner"]]["status"] != "employed":
                continue
            dept = a["_dept"]
            if dept in ("IT", "Security"):
                pools[a["system"]].append(a)
            elif dept == "Engineering":
                backup[a["system"]].append(a)
        for s in SYSTEMS:
            rng.shuffle(pools[s])
            rng.shuffle(backup[s])
            pools[s].extend(backup[s])
        cycle = ("cloud", "idp", "git")
        i = 0
        while count < n_priv and any(pools.values()):
            s = cycle[i % 3]
            i += 1
            if pools[s]:
                grant(pools[s].pop(0))

    # -- credentials --------------------------------------------------------

    def _usage(self, age_limit: int, *, stale_p: float) -> tuple[int, int | None]:
        """(created_minutes_ago, last_used_minutes_ago) for a long-lived credential."""
        rng = self.rng
        age_limit = max(age_limit, 60)
        if rng.random() < stale_p:
            if rng.random() < 0.4 or age_limit < (STALE_DAYS + 2) * MINUTES_PER_DAY:
                created = rng.randint(min(age_limit, 30 * MINUTES_PER_DAY), age_limit)
                return created, None
            created = rng.randint((STALE_DAYS + 2) * MINUTES_PER_DAY, age_limit)
            return created, rng.randint((STALE_DAYS + 1) * MINUTES_PER_DAY, created)
        if rng.random() < 0.88:
            last = int(rng.expovariate(1 / 400)) % (6 * MINUTES_PER_DAY)
        else:
            last = rng.randint(7 * MINUTES_PER_DAY, 60 * MINUTES_PER_DAY)
        last = min(last, age_limit)
        created = rng.randint(last, max(last, age_limit))
        return created, last

    def _cred(
        self,
        acct: dict[str, Any],
        kind: str,
        cred_id: str,
        label: str,
        scopes: Iterable[str],
        created: int,
        last_used: int | None,
        expires_in: int | None,
        fingerprint: str,
        status: str = "active",
    ) -> dict[str, Any]:
        return {
            "id": cred_id,
            "account_id": acct["id"],
            "kind": kind,
            "status": status,
            "label": label,
            "scopes": list(scopes),
            "fingerprint": fingerprint,
            "created_minutes_ago": created,
            "expires_in_minutes": expires_in,
            "last_used_minutes_ago": last_used,
        }

    def _expiry(self, created: int, *, p_expiring: float, lifetimes: tuple[int, ...]) -> int | None:
        rng = self.rng
        if rng.random() >= p_expiring:
            return None
        if rng.random() < 0.08:  # expired, but the system never disabled it
            return -rng.randint(1, 60) * MINUTES_PER_DAY
        life = rng.choice(lifetimes) * MINUTES_PER_DAY
        while life <= created:
            life += lifetimes[-1] * MINUTES_PER_DAY  # rotated: a fresh lifetime
        return life - created

    def credentials_for(
        self, acct: dict[str, Any], by_id: dict[str, dict[str, Any]]
    ) -> list[dict[str, Any]]:
        rng = self.rng
        person = by_id.get(acct["owner"], {})
        system, kind = acct["system"], acct["kind"]
        human = kind == "human"
        active_person = person.get("status") == "employed" or not human
        if acct["status"] != "active":
            return []
        age_limit = acct["created_days_ago"] * MINUTES_PER_DAY
        stale_p = 0.36
        if human and not active_person:
            # The person left: nothing was used after their last day.
            gone = person["terminated_days_ago"] * MINUTES_PER_DAY
            stale_p = 0.0
        else:
            gone = 0
        out: list[dict[str, Any]] = []

        def usage() -> tuple[int, int | None]:
            created, last = self._usage(age_limit - gone, stale_p=stale_p)
            return created + gone, (None if last is None else last + gone)

        if system == "idp":
            if human and active_person:
                for _ in range(self.weighted(((0, 8), (1, 15), (2, 27), (3, 25), (4, 17), (5, 8)))):
                    created = rng.randint(5, 7 * MINUTES_PER_DAY - 30)
                    expires = 7 * MINUTES_PER_DAY - created
                    if rng.random() < 0.03:
                        expires = -rng.randint(10, 600)
                    out.append(
                        self._cred(
                            acct,
                            "session",
                            self.okta_id("102", 22),
                            rng.choice(SESSION_LABELS),
                            (),
                            created,
                            rng.randint(0, min(created, 600)),
                            expires,
                            self.fingerprint("", 40),
                        )
                    )
            n_tokens = 0
            it_staff = acct.get("_dept") == "IT"
            if not human or acct.get("privileged") or (it_staff and rng.random() < 0.3):
                n_tokens = self.weighted(((1, 6), (2, 4)))
            for j in range(n_tokens):
                if human:
                    scopes: Iterable[str] = (
                        IDP_ADMIN_SCOPES if acct.get("privileged") else rng.choice(IDP_IT_SCOPES)
                    )
                    label = rng.choice(IDP_TOKEN_LABELS)
                else:
                    scopes = acct["_scopes"] or rng.choice(IDP_IT_SCOPES)
                    label = f"{acct['display_name']}" + (f" #{j + 1}" if j else "")
                created, last = usage()
                out.append(
                    self._cred(
                        acct,
                        "api_token",
                        self.okta_id("00T"),
                        label,
                        scopes,
                        created,
                        last,
                        self._expiry(created, p_expiring=0.3, lifetimes=(30, 90)),
                        self.fingerprint("00", 40),
                    )
                )
        elif system == "git":
            if human:
                n_ssh = self.weighted(((1, 55), (2, 40), (3, 5)))
                n_pat = self.weighted(((0, 15), (1, 30), (2, 35), (3, 15), (4, 5)))
            else:
                n_ssh = self.weighted(((0, 6), (1, 4)))
                n_pat = self.weighted(((1, 6), (2, 4)))
            for _ in range(n_ssh):
                created, last = usage()
                if human:
                    label, scopes = rng.choice(SSH_LABELS), ("git:read", "git:write")
                else:
                    label, scopes = f"deploy key ({rng.choice(REPOS)})", ("git:read",)
                out.append(
                    self._cred(
                        acct,
                        "ssh_key",
                        self.numeric_id(10_000_000, 99_000_000),
                        label,
                        scopes,
                        created,
                        last,
                        None,
                        self.fingerprint("ssh-ed25519 AAAAC3Nz", 48),
                    )
                )
            for j in range(n_pat):
                created, last = usage()
                if not human:
                    scopes = acct["_scopes"] or ["repo"]
                    label = f"{acct['name']} token" + (f" #{j + 1}" if j else "")
                elif acct.get("privileged") and j == 0:
                    scopes, label = PAT_ADMIN_SCOPES, "org admin automation"
                else:
                    scopes, label = rng.choice(PAT_SCOPES), rng.choice(PAT_LABELS)
                status = "active" if rng.random() > 0.03 else "expired"
                out.append(
                    self._cred(
                        acct,
                        "personal_access_token",
                        self.numeric_id(100_000_000, 999_000_000),
                        label,
                        scopes,
                        created,
                        last,
                        self._expiry(created, p_expiring=0.6, lifetimes=(30, 60, 90)),
                        self.fingerprint("github_pat_", 82),
                        status,
                    )
                )
                if acct["name"] == HOSTILE_BOT:
                    out[-1]["status"] = "active"
                    out[-1]["last_used_minutes_ago"] = rng.randint(0, 30)
                    out[-1]["user_agent"] = HOSTILE_USER_AGENT
        else:
            if human:
                policies: list[str] = []
                for g in acct["groups"]:
                    policies.extend(CLOUD_GROUP_POLICIES.get(g, ()))
                n_keys = self.weighted(((0, 25), (1, 50), (2, 25)))
            else:
                policies = list(acct["_scopes"]) or ["AmazonS3ReadOnlyAccess"]
                n_keys = self.weighted(((1, 6), (2, 4)))
            for j in range(n_keys):
                created, last = usage()
                status = "inactive" if (j == 1 and rng.random() < 0.4) else "active"
                label = rng.choice(ACCESS_KEY_LABELS) if human else f"{acct['name']} key {j + 1}"
                out.append(
                    self._cred(
                        acct,
                        "access_key",
                        self.aws_id("AKIA", 16),
                        label,
                        policies,
                        created,
                        last,
                        None,
                        self.fingerprint("", 40),
                        status,
                    )
                )
            if human and acct.get("console") and active_person and rng.random() < 0.5:
                created = rng.randint(5, 700)
                out.append(
                    self._cred(
                        acct,
                        "session",
                        self.aws_id("ASIA", 16),
                        "AWS console · us-east-1",
                        policies,
                        created,
                        rng.randint(0, created),
                        720 - created,
                        self.fingerprint("", 40),
                    )
                )
        return out

    def fit_credentials(
        self,
        creds: list[dict[str, Any]],
        accts: list[dict[str, Any]],
        by_id: dict[str, dict[str, Any]],
        target: int,
        incidents: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Grow or shrink the credential list to exactly ``target`` (for benchmarks)."""
        rng = self.rng
        keep = {i["credential_id"] for i in incidents}
        if len(creds) > target:
            removable = [i for i, c in enumerate(creds) if c["id"] not in keep]
            drop = set(rng.sample(removable, min(len(creds) - target, len(removable))))
            return [c for i, c in enumerate(creds) if i not in drop]
        active = [a for a in accts if a["status"] == "active"]
        while len(creds) < target and active:
            extra = self.credentials_for(rng.choice(active), by_id)
            creds.extend(extra[: target - len(creds)])
        return creds

    def incidents(
        self,
        accts: list[dict[str, Any]],
        creds: list[dict[str, Any]],
        by_id: dict[str, dict[str, Any]],
        departed: str,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        git_acct = next(a for a in accts if a["owner"] == departed and a["system"] == "git")
        person = by_id[departed]
        gone = person["terminated_days_ago"] * MINUTES_PER_DAY
        created = rng.randint(gone + 30 * MINUTES_PER_DAY, gone + 400 * MINUTES_PER_DAY)
        created = min(created, git_acct["created_days_ago"] * MINUTES_PER_DAY)
        token = self._cred(
            git_acct,
            "personal_access_token",
            self.numeric_id(100_000_000, 999_000_000),
            "local dev",
            ("repo", "read:org", "workflow"),
            max(created, gone + 1),
            gone + rng.randint(1, 4) * MINUTES_PER_DAY,
            None,
            self.fingerprint("ghp_", 36),
        )
        creds.append(token)
        svc = next(a for a in accts if a["name"] == "svc-billing-sync")
        key = next(c for c in creds if c["account_id"] == svc["id"] and c["kind"] == "access_key")
        key["status"] = "active"
        key["last_used_minutes_ago"] = rng.randint(0, 5)
        return [
            {
                "id": DEPARTED_TOKEN,
                "title": "Departed employee's token used at 03:00 from a never-seen IP",
                "system": "git",
                "person": departed,
                "account_id": git_acct["id"],
                "credential_id": token["id"],
                "source_ip": ATTACKER_IP,
                "user_agent": "python-requests/2.31.0",
                "first_seen_local": "03:00",
                "interval_seconds": [5, 10],
            },
            {
                "id": BUCKET_ENUMERATION,
                "title": "Service access key suddenly listing every bucket",
                "system": "cloud",
                "person": svc["owner"],
                "account_id": svc["id"],
                "credential_id": key["id"],
                "source_ip": ENUMERATION_IP,
                "user_agent": "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64 "
                "prompt/off command/s3api.list-objects-v2",
                "period_seconds": 180,
            },
        ]


def generate(
    seed: int = DEFAULT_SEED, accounts: int = DEFAULT_ACCOUNTS, credentials: int | None = None
) -> dict[str, Any]:
    """Build the demo organisation: deterministic for a ``seed``, linear in ``accounts``.

    ``credentials`` forces an exact credential count (benchmarks); by default
    there are about 2.4 per account.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError("seed must be an int")
    if accounts < MIN_ACCOUNTS:
        raise ValueError(f"accounts must be at least {MIN_ACCOUNTS}")
    return _Gen(seed).run(accounts, credentials)


def dumps(org: dict[str, Any]) -> str:
    """JSON with one record per line: compact, yet diffable."""

    def line(obj: Any) -> str:
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))

    parts = ["{"]
    keys = list(org)
    for n, key in enumerate(keys):
        value = org[key]
        comma = "," if n < len(keys) - 1 else ""
        if isinstance(value, list) and value and isinstance(value[0], dict):
            parts.append(f"{json.dumps(key)}:[")
            parts.extend(
                line(item) + ("," if i < len(value) - 1 else "") for i, item in enumerate(value)
            )
            parts.append("]" + comma)
        else:
            parts.append(f"{json.dumps(key)}:{line(value)}{comma}")
    parts.append("}")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pamtui.providers.demo.generate",
        description="Generate the Acme Robotics demo organisation as JSON.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--accounts", type=int, default=DEFAULT_ACCOUNTS)
    parser.add_argument(
        "--credentials",
        type=int,
        default=None,
        help="exact number of credentials (default: about 2.4 per account)",
    )
    parser.add_argument("--out", type=Path, default=None, help="output file (default: stdout)")
    args = parser.parse_args(argv)
    text = dumps(generate(seed=args.seed, accounts=args.accounts, credentials=args.credentials))
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
