"""Simulated access traffic for the demo organisation.

The traffic is a pure function of time: the events of every wall-clock second
are drawn from a ``Random`` seeded by (seed, systems, second). So a backfill can
be regenerated exactly, and a cursor (``demo1:<second>:<index>``) resumes
without duplicates. Only an event's *status* depends on the state file: a
request made with a credential revoked (or from an account disabled) before the
event's time is answered 401 (or 403).

Two planted incidents keep happening so an operator can watch revocations bite:
a departed employee's token used from a never-seen IP every 5–10 seconds since
03:00 (company time), and a service's access key listing every bucket every few
minutes.

Why one module of ~680 lines: the traffic model (rates, incident schedules,
the per-second seeded draws) and the cursor that replays it must agree to the
event; keeping them in one module keeps a change to one from silently
breaking the other's replay.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from pamtui.model import AccessEvent
from pamtui.providers.base import ProviderError
from pamtui.providers.demo.clock import Clock
from pamtui.providers.demo.constants import BUCKET_ENUMERATION, DEPARTED_TOKEN, TIMEZONE

CURSOR_PREFIX = "demo1"
HISTORY_SECONDS = 150
"""How much of the departed-employee incident's 03:00 start the backfill replays."""
INC1_WINDOW = 7.5
INC1_JITTER = 2.5  # one request per 7.5 s window, within its first 2.5 s: gaps of 5–10 s
BURST_PROBABILITY = 0.012
HUMAN_SHARE = 0.65
YIELD_EVERY = 200


@dataclass(frozen=True, slots=True)
class Actor:
    """A credential that takes part in ordinary traffic."""

    credential_id: str
    account_id: str
    system: str
    kind: str
    account_kind: str
    account_name: str
    ips: tuple[str, ...]
    user_agent: str
    home: str
    templates: tuple[tuple[str, str, int], ...]
    cum_weights: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RawEvent:
    ts: float
    account_id: str
    credential_id: str
    method: str
    path: str
    status: int
    source_ip: str
    user_agent: str
    incident: str = ""


Template = tuple[int, str, str, int]

IDP_SESSION: tuple[Template, ...] = (
    (30, "GET", "/app/UserHome", 200),
    (20, "GET", "/api/v1/users/me", 200),
    (15, "GET", "/api/v1/users/me/appLinks", 200),
    (20, "GET", "/app/{app}/exk{oid}/sso/saml", 302),
    (8, "POST", "/api/v1/authn/factors/opf{oid}/verify", 200),
    (7, "GET", "/oauth2/v1/authorize?client_id=0oa{oid}&response_type=code&scope=openid", 302),
)
IDP_TOKEN: tuple[Template, ...] = (
    (25, "GET", "/api/v1/users?limit=200", 200),
    (15, "GET", "/api/v1/users/00u{oid}", 200),
    (15, "GET", "/api/v1/groups/00g{oid}/users?limit=200", 200),
    (10, "GET", "/api/v1/groups?q={group}", 200),
    (10, "GET", "/api/v1/logs?since={since}&limit=1000", 200),
    (8, "POST", "/api/v1/users?activate=true", 200),
    (8, "PUT", "/api/v1/groups/00g{oid}/users/00u{oid}", 204),
    (5, "GET", "/api/v1/apps?limit=20", 200),
    (4, "POST", "/api/v1/users/00u{oid}/lifecycle/suspend", 200),
)
GIT_PAT_HUMAN: tuple[Template, ...] = (
    (20, "GET", "/user", 200),
    (15, "GET", "/repos/acme-robotics/{repo}/pulls?state=open", 200),
    (12, "GET", "/repos/acme-robotics/{repo}/actions/runs?per_page=20", 200),
    (10, "POST", "/repos/acme-robotics/{repo}/issues/{n}/comments", 201),
    (10, "GET", "/notifications", 200),
    (10, "GET", "/repos/acme-robotics/{repo}/commits?sha=main", 200),
    (8, "GET", "/repos/acme-robotics/{repo}/pulls/{n}/files", 200),
    (5, "PATCH", "/repos/acme-robotics/{repo}/pulls/{n}", 200),
    (5, "GET", "/orgs/acme-robotics/teams", 200),
    (5, "GET", "/search/issues?q=repo:acme-robotics/{repo}+is:open", 200),
)
GIT_PAT_BOT: tuple[Template, ...] = (
    (20, "GET", "/repos/acme-robotics/{repo}/contents/{file}?ref={sha}", 200),
    (15, "POST", "/repos/acme-robotics/{repo}/statuses/{sha}", 201),
    (15, "POST", "/repos/acme-robotics/{repo}/check-runs", 201),
    (10, "GET", "/repos/acme-robotics/{repo}/git/refs/heads/main", 200),
    (10, "POST", "/repos/acme-robotics/{repo}/pulls", 201),
    (10, "GET", "/repos/acme-robotics/{repo}/dependabot/alerts?state=open", 200),
    (10, "GET", "/orgs/acme-robotics/packages/container/{repo}/versions", 200),
    (10, "POST", "/repos/acme-robotics/{repo}/releases", 201),
)
GIT_SSH_HUMAN: tuple[Template, ...] = (
    (65, "SSH", "git-upload-pack 'acme-robotics/{repo}.git'", 200),
    (35, "SSH", "git-receive-pack 'acme-robotics/{repo}.git'", 200),
)
GIT_SSH_BOT: tuple[Template, ...] = (
    (100, "SSH", "git-upload-pack 'acme-robotics/{repo}.git'", 200),
)
CLOUD_KEY_HUMAN: tuple[Template, ...] = (
    (20, "POST", "/sts/?Action=GetCallerIdentity", 200),
    (20, "POST", "/ec2/?Action=DescribeInstances", 200),
    (15, "GET", "/s3/{bucket}?list-type=2&prefix={prefix}", 200),
    (15, "GET", "/s3/{bucket}/{key}", 200),
    (10, "PUT", "/s3/{bucket}/{key}", 200),
    (10, "POST", "/logs/?Action=FilterLogEvents", 200),
    (5, "POST", "/ecr/?Action=GetAuthorizationToken", 200),
    (5, "POST", "/iam/?Action=ListUsers", 200),
)
CLOUD_KEY_SERVICE: tuple[Template, ...] = (
    (35, "GET", "/s3/{bucket}/{key}", 200),
    (25, "PUT", "/s3/{bucket}/{key}", 200),
    (15, "GET", "/s3/{bucket}?list-type=2&prefix={prefix}", 200),
    (10, "POST", "/sqs/?Action=ReceiveMessage", 200),
    (10, "POST", "/sts/?Action=AssumeRole", 200),
    (5, "POST", "/monitoring/?Action=PutMetricData", 200),
)
CLOUD_SESSION: tuple[Template, ...] = (
    (30, "GET", "/console/home?region=us-east-1", 200),
    (20, "GET", "/ec2/home?region=us-east-1#Instances:", 200),
    (20, "GET", "/s3/buckets/{bucket}?region=us-east-1", 200),
    (15, "GET", "/cloudwatch/home?region=us-east-1#logsV2:log-groups", 200),
    (15, "GET", "/iam/home#/users", 200),
)
SERVICE_EXTRA: dict[str, tuple[Template, ...]] = {
    "svc-billing-sync": ((40, "POST", "/ce/?Action=GetCostAndUsage", 200),),
    "svc-telemetry-ingest": ((60, "POST", "/kinesis/?Action=PutRecords", 200),),
    "svc-fleet-ota": ((40, "POST", "/iot/topics/fleet/ota/{n}?qos=1", 200),),
    "svc-log-shipper": ((80, "POST", "/logs/?Action=PutLogEvents", 200),),
    "svc-grafana": ((80, "POST", "/monitoring/?Action=GetMetricData", 200),),
    "svc-terraform": (
        (50, "POST", "/ec2/?Action=DescribeSecurityGroups", 200),
        (20, "POST", "/iam/?Action=GetRole", 200),
    ),
}

ATTACKER_OPENING = (
    ("GET", "/user", 200),
    ("GET", "/user/orgs", 200),
    ("GET", "/orgs/acme-robotics/repos?per_page=100&page=1", 200),
    ("GET", "/orgs/acme-robotics/repos?per_page=100&page=2", 200),
)
ATTACKER_CYCLE = (
    ("GET", "/repos/acme-robotics/{repo}/zipball/main", 302),
    ("GET", "/repos/acme-robotics/{repo}/contents/.env", 404),
    ("GET", "/repos/acme-robotics/{repo}/git/trees/main?recursive=1", 200),
    ("GET", "/search/code?q=org:acme-robotics+AWS_SECRET_ACCESS_KEY", 200),
)

BROWSERS = {
    "iOS": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Android": "OktaVerify/9.10.0 (Android 14; Pixel 8)",
    "Firefox": "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Edge": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.51",
    "Chrome-Windows": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Chrome": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Safari": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
}
AGENTS = {
    ("idp", "human"): (
        "okta-sdk-python/2.9.5 python/3.11.9 Darwin/23.4.0",
        "curl/8.4.0",
        "Terraform/1.8.2 terraform-provider-okta/4.8.1",
    ),
    ("idp", "service"): (
        "okta-sdk-java/13.0.2 java/17.0.10 Linux/5.15",
        "okta-sdk-python/2.9.5 python/3.11.9 Linux/5.15",
        "Workday-SCIM-Connector/2.3",
    ),
    ("git", "human"): (
        "gh/2.47.0 (GitHub CLI)",
        "git/2.44.0",
        "octokit.js/20.1.0 Node.js/20",
        "python-requests/2.31.0",
        "Visual Studio Code/1.88 GitHub-PR/0.86",
    ),
    ("git", "bot"): ("octokit-rest.js/20.1.0", "Go-http-client/2.0", "python-requests/2.31.0"),
    ("git", "ssh"): ("SSH-2.0-OpenSSH_9.6", "SSH-2.0-OpenSSH_9.0", "SSH-2.0-OpenSSH_8.9p1 Ubuntu"),
    ("cloud", "human"): (
        "aws-cli/2.15.30 Python/3.11.8 Darwin/23.4.0 exe/x86_64 prompt/off",
        "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64 prompt/off",
        "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/macos#23.4.0 lang/python#3.11.9",
    ),
    ("cloud", "service"): (
        "Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.213 lang/python#3.11.9",
        "aws-sdk-go-v2/1.26.1 os/linux lang/go#1.22.2 md/GOOS#linux",
        "aws-sdk-java/2.25.31 Linux/5.10.213 OpenJDK_64-Bit_Server_VM/17.0.10",
    ),
}
NAMED_AGENTS = {
    "dependabot-acme": "dependabot-core/0.256.0",
    "ci-runner": "actions-runner/2.316.0",
    "renovate-acme": "Renovate/37.301.0",
    "terraform-github": "Terraform/1.8.2 terraform-provider-github/6.2.1",
    "terraform-okta": "Terraform/1.8.2 terraform-provider-okta/4.8.1",
    "svc-terraform": "Terraform/1.8.2 terraform-provider-aws/5.46.0",
}
APPS = ("slack", "salesforce", "github", "aws", "jira", "zendesk", "workday", "figma")
GROUPS = ("Everyone", "VPN-Users", "App-GitHub", "Dept-Engineering", "Dept-Sales")
FILES = (
    "package.json",
    "go.mod",
    "requirements.txt",
    "Cargo.toml",
    ".github/workflows/ci.yml",
    "Dockerfile",
)
KEY_PREFIXES = ("exports/", "raw/", "daily/", "snapshots/", "logs/", "artifacts/")
KEY_EXTS = ("json.gz", "parquet", "csv", "log.gz", "tar.zst")
_B62 = bytes(
    b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"[i % 62] for i in range(256)
)


def company_tz(name: str) -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except Exception:  # no tz database on this machine: a fixed US-Eastern offset
        return timezone(timedelta(hours=-5), "EST")


def format_cursor(second: int, index: int) -> str:
    return f"{CURSOR_PREFIX}:{second}:{index}"


def parse_cursor(cursor: str) -> tuple[int, int]:
    prefix, _, rest = cursor.partition(":")
    second, _, index = rest.partition(":")
    try:
        if prefix != CURSOR_PREFIX:
            raise ValueError(prefix)
        return int(second), int(index)
    except ValueError:
        raise ProviderError(f"not a demo event cursor: {cursor!r}") from None


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


class _Fill(dict[str, str]):
    """Placeholder values for a path template, drawn on first use."""

    def __init__(self, model: EventModel, rng: random.Random, actor: Actor, ts: float) -> None:
        super().__init__()
        self.model, self.rng, self.actor, self.ts = model, rng, actor, ts

    def __missing__(self, key: str) -> str:
        value = self.model.fill(key, self.rng, self.actor, self.ts)
        self[key] = value
        return value


class EventModel:
    """The deterministic traffic of one demo provider instance."""

    def __init__(
        self,
        *,
        seed: int,
        systems: tuple[str, ...],
        rate: float,
        anchor: float,
        org: dict[str, Any],
        incidents: list[dict[str, Any]],
        actors: list[dict[str, Any]],
    ) -> None:
        self.seed = seed
        self.systems = systems
        self.rate = rate
        self.tz = company_tz(org.get("timezone", TIMEZONE))
        self.repos = tuple(org.get("repos") or ("acme-web",))
        self.buckets = tuple(sorted(org.get("buckets") or ("acme-data",)))
        self.restricted = frozenset(org.get("restricted_buckets") or ())
        self.open_buckets = tuple(b for b in self.buckets if b not in self.restricted)
        self._key = f"{seed}:{'+'.join(systems)}"
        self._factor_cache: dict[int, float] = {}
        # Rows are turned into Actors on first use: cheap to start at 300,000 credentials.
        self.humans = [a for a in actors if a["account_kind"] == "human"]
        self.services = [a for a in actors if a["account_kind"] != "human"]
        self.bursters = [a for a in self.services if a["kind"] != "session"]
        self._actors: dict[str, Actor] = {}
        by_id = {i["id"]: i for i in incidents if i.get("system") in systems}
        self.departed = by_id.get(DEPARTED_TOKEN)
        self.enumeration = by_id.get(BUCKET_ENUMERATION)
        self.inc1_start = self._last_local_3am(anchor) + random.Random(f"{seed}:inc1").uniform(
            5, 50
        )
        self.inc2_start = anchor - 7200 + random.Random(f"{seed}:inc2").uniform(0, 600)
        self.inc2_period = float((self.enumeration or {}).get("period_seconds", 180))
        self.inc2_length = 0.6 + 0.3 * len(self.buckets)

    # -- set-up -------------------------------------------------------------

    def _last_local_3am(self, ts: float) -> float:
        local = datetime.fromtimestamp(ts, self.tz)
        three = local.replace(hour=3, minute=0, second=0, microsecond=0)
        if three > local:
            three = (local - timedelta(days=1)).replace(hour=3, minute=0, second=0, microsecond=0)
        return three.timestamp()

    def actor(self, row: dict[str, Any]) -> Actor:
        actor = self._actors.get(row["credential_id"])
        if actor is None:
            actor = self._actors[row["credential_id"]] = self._make_actor(row)
        return actor

    def _make_actor(self, row: dict[str, Any]) -> Actor:
        system, kind, akind = row["system"], row["kind"], row["account_kind"]
        name = row["account_name"]
        human = akind == "human"
        r = random.Random(f"{self.seed}:ip:{row['account_id']}")
        if human:
            home_ip = (
                f"192.0.2.{r.randint(10, 199)}"
                if r.random() < 0.7
                else f"2001:db8:{r.getrandbits(16):x}:{r.getrandbits(16):x}::{r.getrandbits(16):x}"
            )
            ips: tuple[str, ...] = (
                f"198.51.100.{r.randint(10, 30)}",
                f"198.51.100.{r.randint(40, 60)}",
                home_ip,
            )
        else:
            net = {"idp": 10, "git": 30, "cloud": 20}[system]
            ips = tuple(
                f"10.{net}.{r.randint(0, 255)}.{r.randint(1, 254)}" for _ in range(r.randint(1, 2))
            )
        u = random.Random(f"{self.seed}:ua:{row['credential_id']}")
        if row.get("user_agent"):
            agent = row["user_agent"]
        elif kind == "session":
            label = row.get("label") or ""
            key = next((k for k in ("iOS", "Android", "Firefox", "Edge") if k in label), "")
            if not key:
                if "Chrome" in label:
                    key = "Chrome-Windows" if "Windows" in label else "Chrome"
                else:
                    key = "Safari"
            agent = BROWSERS[key]
        elif kind == "ssh_key":
            agent = u.choice(AGENTS["git", "ssh"])
        elif name in NAMED_AGENTS:
            agent = NAMED_AGENTS[name]
        else:
            agent = u.choice(
                AGENTS[system, "human" if human else ("bot" if system == "git" else "service")]
            )
        if system == "cloud" and not human:
            tokens = [t for t in name.split("-")[1:] if len(t) >= 4]
            home = next(
                (b for t in tokens for b in self.open_buckets if t in b),
                r.choice(self.open_buckets),
            )
        else:
            home = r.choice(self.repos)
        templates = self._templates(system, kind, human, name)
        return Actor(
            credential_id=row["credential_id"],
            account_id=row["account_id"],
            system=system,
            kind=kind,
            account_kind=akind,
            account_name=name,
            ips=ips,
            user_agent=agent,
            home=home,
            templates=tuple((m, p, s) for _, m, p, s in templates),
            cum_weights=tuple(float(w) for w in _accumulate(t[0] for t in templates)),
        )

    @staticmethod
    def _templates(system: str, kind: str, human: bool, name: str) -> tuple[Template, ...]:
        if system == "idp":
            return IDP_SESSION if kind == "session" else IDP_TOKEN
        if system == "git":
            if kind == "ssh_key":
                return GIT_SSH_HUMAN if human else GIT_SSH_BOT
            return GIT_PAT_HUMAN if human else GIT_PAT_BOT
        if kind == "session":
            return CLOUD_SESSION
        if human:
            return CLOUD_KEY_HUMAN
        return SERVICE_EXTRA.get(name, ()) + CLOUD_KEY_SERVICE

    # -- generation ---------------------------------------------------------

    def human_factor(self, t: float) -> float:
        """Share of peak human traffic at ``t`` (company time, office-hours rhythm)."""
        slot = int(t // 900)
        factor = self._factor_cache.get(slot)
        if factor is None:
            local = datetime.fromtimestamp(slot * 900, self.tz)
            hour = local.hour + local.minute / 60
            if local.weekday() >= 5:
                factor = 0.12
            elif 12 <= hour < 13:
                factor = 0.75
            elif 8 <= hour < 18:
                factor = 1.0
            elif 7 <= hour < 8 or 18 <= hour < 20:
                factor = 0.45
            else:
                factor = 0.06
            if len(self._factor_cache) > 4096:
                self._factor_cache.clear()
            self._factor_cache[slot] = factor
        return factor

    def fill(self, key: str, rng: random.Random, actor: Actor, ts: float) -> str:
        if key == "repo":
            return actor.home if rng.random() < 0.6 else rng.choice(self.repos)
        if key == "bucket":
            if actor.account_kind != "human" and rng.random() < 0.85:
                return actor.home
            return rng.choice(self.open_buckets)
        if key == "n":
            return str(rng.randint(1, 4200))
        if key == "sha":
            return f"{rng.getrandbits(160):040x}"
        if key == "oid":
            return rng.getrandbits(136).to_bytes(17, "big").translate(_B62).decode()
        if key == "key":
            return (
                f"{rng.choice(KEY_PREFIXES)}{time.strftime('%Y/%m/%d', time.gmtime(ts))}/"
                f"{rng.getrandbits(32):08x}.{rng.choice(KEY_EXTS)}"
            )
        if key == "prefix":
            return f"{rng.choice(KEY_PREFIXES)}{time.strftime('%Y/%m/', time.gmtime(ts))}"
        if key == "since":
            return datetime.fromtimestamp(ts - 300, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if key == "app":
            return rng.choice(APPS)
        if key == "group":
            return rng.choice(GROUPS)
        if key == "file":
            return rng.choice(FILES)
        raise KeyError(key)

    def _ordinary(self, rng: random.Random, ts: float, actor: Actor, office: bool) -> RawEvent:
        method, path, status = rng.choices(actor.templates, cum_weights=actor.cum_weights)[0]
        if "{" in path:
            path = path.format_map(_Fill(self, rng, actor, ts))
        r = rng.random()
        if r < 0.012:
            status = 404
        elif r < 0.02:
            status = 403
        elif r < 0.024:
            status = 500
        ips = actor.ips
        if len(ips) == 3:  # a person: office by day, VPN or home otherwise
            ip = ips[0] if office and rng.random() < 0.75 else ips[1 + (rng.random() < 0.6)]
        else:
            ip = ips[0] if len(ips) == 1 else ips[rng.random() < 0.5]
        return RawEvent(
            ts, actor.account_id, actor.credential_id, method, path, status, ip, actor.user_agent
        )

    def second(self, t: int) -> list[RawEvent]:
        """Every event whose timestamp falls in ``[t, t + 1)``, in time order."""
        rng = random.Random(f"{self._key}:{t}")
        factor = self.human_factor(t)
        office = factor >= 0.75
        lam_h = self.rate * HUMAN_SHARE * factor if self.humans else 0.0
        lam_s = self.rate * (1 - HUMAN_SHARE) if self.services else 0.0
        events: list[RawEvent] = []
        for _ in range(_poisson(rng, lam_h)):
            actor = self.actor(rng.choice(self.humans))
            events.append(self._ordinary(rng, t + rng.random(), actor, office))
        for _ in range(_poisson(rng, lam_s)):
            actor = self.actor(rng.choice(self.services))
            events.append(self._ordinary(rng, t + rng.random(), actor, office))
        if self.bursters and self.rate > 0 and rng.random() < BURST_PROBABILITY:
            actor = self.actor(rng.choice(self.bursters))
            for _ in range(rng.randint(8, 30)):
                events.append(self._ordinary(rng, t + rng.random(), actor, office))
        events.extend(self.incident_events(t))
        events.sort(key=lambda e: (e.ts, e.credential_id, e.path))
        return events

    def incident_events(self, t: int) -> list[RawEvent]:
        out: list[RawEvent] = []
        inc = self.departed
        if inc is not None and t + 1 > self.inc1_start:
            first = max(0, math.floor((t - self.inc1_start - INC1_JITTER) / INC1_WINDOW))
            last = math.floor((t + 1 - self.inc1_start) / INC1_WINDOW)
            for k in range(first, last + 1):
                u = random.Random(f"{self.seed}:inc1:{k}").random()
                ts = self.inc1_start + k * INC1_WINDOW + u * INC1_JITTER
                if t <= ts < t + 1:
                    if k < len(ATTACKER_OPENING):
                        method, path, status = ATTACKER_OPENING[k]
                    else:
                        j = k - len(ATTACKER_OPENING)
                        method, path, status = ATTACKER_CYCLE[j % len(ATTACKER_CYCLE)]
                        repo = self.repos[(j // len(ATTACKER_CYCLE)) % len(self.repos)]
                        path = path.replace("{repo}", repo)
                    out.append(
                        RawEvent(
                            ts,
                            inc["account_id"],
                            inc["credential_id"],
                            method,
                            path,
                            status,
                            inc["source_ip"],
                            inc["user_agent"],
                            inc["id"],
                        )
                    )
        inc = self.enumeration
        if inc is not None and t + 1 > self.inc2_start:
            period = self.inc2_period
            first = max(0, math.floor((t - self.inc2_start - self.inc2_length) / period))
            last = math.floor((t + 1 - self.inc2_start) / period)
            for k in range(first, last + 1):
                start = self.inc2_start + k * period
                requests = [(start, "/s3/", 200)]
                requests.extend(
                    (
                        start + 0.6 + 0.3 * j,
                        f"/s3/{bucket}?list-type=2",
                        403 if bucket in self.restricted else 200,
                    )
                    for j, bucket in enumerate(self.buckets)
                )
                for ts, path, status in requests:
                    if t <= ts < t + 1:
                        out.append(
                            RawEvent(
                                ts,
                                inc["account_id"],
                                inc["credential_id"],
                                "GET",
                                path,
                                status,
                                inc["source_ip"],
                                inc["user_agent"],
                                inc["id"],
                            )
                        )
        return out

    def history_seconds(self) -> list[int]:
        """Seconds the backfill replays (incident events only) before its regular window."""
        seconds: set[int] = set()
        if self.departed is not None:
            start = math.floor(self.inc1_start)
            seconds.update(range(start, start + HISTORY_SECONDS))
        if self.enumeration is not None:
            start = math.floor(self.inc2_start)
            seconds.update(range(start, math.ceil(self.inc2_start + self.inc2_length) + 1))
        return sorted(seconds)


def _accumulate(weights: Any) -> list[int]:
    total, out = 0, []
    for w in weights:
        total += w
        out.append(total)
    return out


RESUME_SLACK_SECONDS = 300
"""How much older than the backfill window a cursor may be and still resume exactly."""


async def stream(
    model: EventModel,
    *,
    provider: str,
    status: Callable[[RawEvent], int],
    refresh: Callable[[], None],
    since: str | None,
    backfill_seconds: float,
    clock: Clock,
    on_poll: Callable[[], None] | None = None,
) -> AsyncIterator[AccessEvent]:
    """Backfill (or resume after ``since``), then live events as their time comes, forever.

    ``on_poll``: called for each live second read (a real stream's poll of its API);
    the backfill counts as none (a real one is a page or two).
    """
    after = parse_cursor(since) if since is not None else None
    window_start = math.floor(clock.time() - backfill_seconds)

    def emit(ev: RawEvent, t: int, i: int) -> AccessEvent:
        return AccessEvent(
            provider=provider,
            ts=datetime.fromtimestamp(ev.ts, UTC),
            account_id=ev.account_id,
            credential_id=ev.credential_id,
            method=ev.method,
            path=ev.path,
            status=status(ev),
            source_ip=ev.source_ip,
            user_agent=ev.user_agent,
            cursor=format_cursor(t, i),
        )

    emitted = 0
    # A cursor a little older than the window (a restart takes a while) resumes
    # exactly; an older one replays only the incidents: the window is the demo's
    # retention, as a real log API has one.
    if after is None or after[0] < window_start - RESUME_SLACK_SECONDS:
        # The incidents' first moments, older than the regular window.
        for t in model.history_seconds():
            if t >= window_start:
                break
            if after is not None and t < after[0]:
                continue
            for i, ev in enumerate(model.second(t)):
                if not ev.incident or (after is not None and (t, i) <= after):
                    continue
                refresh()
                yield emit(ev, t, i)
                emitted += 1
                if emitted % YIELD_EVERY == 0:
                    await asyncio.sleep(0)
            # A replayed second yields only its few incident events, yet at a high
            # rate generating it takes milliseconds: a turn for the loop after each.
            await asyncio.sleep(0)
        t, skip = window_start, -1
    else:
        t, skip = after
    while True:
        wait = t - clock.time()
        if wait > 0:
            await clock.sleep(wait)
            if on_poll is not None:  # caught up: each second is a poll (a backfill is not)
                on_poll()
        for i, ev in enumerate(model.second(t)):
            if i <= skip:
                continue
            wait = ev.ts - clock.time()
            if wait > 0:
                await clock.sleep(wait)
            refresh()
            yield emit(ev, t, i)
            emitted += 1
            if emitted % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        t, skip = t + 1, -1
