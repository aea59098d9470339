"""A synthetic AWS organization for the discovery benchmark, the same on both sides of the wire.

The simulated endpoint serves it and the benchmark checks what the engine found against it, so
both build it from the same arguments; it is deterministic for a given seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# The regions every account has enabled by default (no opt-in needed).
DEFAULT_REGIONS: tuple[str, ...] = (
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-south-1",
    "sa-east-1",
)
MANAGEMENT_ACCOUNT_ID = "100000000000"
CENTRAL_ROLE_NAME = "APIsecCentralRole"
CHILD_ROLE_NAME = "APIsecChildRole"
BIG_ACCOUNT_APIS = 100
BIG_ACCOUNT_STAGES = 3
EPOCH_2024 = 1_704_067_200  # 2024-01-01T00:00:00Z


@dataclass(frozen=True)
class SimStage:
    name: str
    deployment_id: str
    created: int
    updated: int


@dataclass(frozen=True)
class SimApi:
    api_id: str
    name: str
    protocol: str  # REST | HTTP | WEBSOCKET
    endpoint_type: str  # EDGE | REGIONAL | PRIVATE
    vpc_endpoint_ids: tuple[str, ...]
    created: int
    tags: tuple[tuple[str, str], ...]
    stages: tuple[SimStage, ...]


@dataclass(frozen=True)
class SimMapping:
    api_id: str
    stage: str
    base_path: str


@dataclass(frozen=True)
class SimDomain:
    domain_name: str
    v2: bool  # listed by apigatewayv2 (HTTP/WebSocket mappings) rather than apigateway
    mappings: tuple[SimMapping, ...]


@dataclass(frozen=True)
class SimAccount:
    account_id: str
    name: str
    status: str  # ACTIVE | SUSPENDED


@dataclass
class SimOrganization:
    regions: tuple[str, ...]
    accounts: list[SimAccount]
    apis: dict[tuple[str, str], list[SimApi]] = field(default_factory=dict)
    domains: dict[tuple[str, str], list[SimDomain]] = field(default_factory=dict)
    # Accounts whose child role refuses the central role (the StackSet missed them).
    denied_accounts: frozenset[str] = frozenset()
    management_account_id: str = MANAGEMENT_ACCOUNT_ID

    @property
    def central_role_arn(self) -> str:
        return f"arn:aws:iam::{self.management_account_id}:role/{CENTRAL_ROLE_NAME}"

    def api_count(self) -> int:
        return sum(len(apis) for apis in self.apis.values())

    def reachable_accounts(self) -> list[SimAccount]:
        return [
            account
            for account in self.accounts
            if account.status == "ACTIVE"
            and account.account_id not in self.denied_accounts
            and account.account_id != self.management_account_id
        ]


def _api_id(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10))


def _api(rng: random.Random, index: int, stage_count: int | None = None) -> SimApi:
    roll = rng.random()
    protocol = "REST" if roll < 0.6 else "HTTP" if roll < 0.9 else "WEBSOCKET"
    endpoint_type = "REGIONAL"
    vpces: tuple[str, ...] = ()
    if protocol == "REST":
        roll = rng.random()
        if roll < 0.35:
            endpoint_type = "EDGE"
        elif roll > 0.85:
            endpoint_type = "PRIVATE"
            vpces = tuple(
                "vpce-" + "".join(rng.choices("0123456789abcdef", k=17))
                for _ in range(rng.randint(1, 2))
            )
    created = EPOCH_2024 + rng.randint(0, 900) * 86_400
    names = ("prod", "staging", "dev") if protocol != "HTTP" else ("$default", "v1", "v2")
    count = stage_count or rng.randint(1, 3)
    stages = tuple(
        SimStage(
            name=names[i],
            deployment_id="".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6)),
            created=created + i * 3600,
            updated=created + i * 3600 + 86_400,
        )
        for i in range(count)
    )
    team = rng.choice(("payments", "catalog", "identity", "search", "ledger"))
    return SimApi(
        api_id=_api_id(rng),
        name=f"{team}-service-{index}",
        protocol=protocol,
        endpoint_type=endpoint_type,
        vpc_endpoint_ids=vpces,
        created=created,
        tags=(("team", team), ("env", names[0])),
        stages=stages,
    )


def build_organization(
    accounts: int = 200,
    regions: int = 17,
    *,
    seed: int = 7,
    denied_accounts: int = 0,
) -> SimOrganization:
    """`accounts` members plus the management account; most account-regions hold 0 to 2 APIs,
    one account in a hundred holds 100 APIs with 3 stages each in its first region."""
    rng = random.Random(seed)
    region_names = DEFAULT_REGIONS[:regions]
    members = [
        SimAccount(
            account_id=str(200_000_000_000 + i),
            name=f"workload-{i:04d}",
            status="SUSPENDED" if i % 97 == 96 else "ACTIVE",
        )
        for i in range(accounts)
    ]
    management = SimAccount(MANAGEMENT_ACCOUNT_ID, "management", "ACTIVE")
    org = SimOrganization(regions=region_names, accounts=[management, *members])
    active = [m.account_id for m in members if m.status == "ACTIVE"]
    org.denied_accounts = frozenset(active[1 : 1 + denied_accounts * 7 : 7])
    for i, member in enumerate(members):
        big = i % 100 == 50
        for r, region in enumerate(region_names):
            if big and r == 0:
                apis = [_api(rng, n, BIG_ACCOUNT_STAGES) for n in range(BIG_ACCOUNT_APIS)]
            else:
                roll = rng.random()
                count = 0 if roll < 0.75 else 1 if roll < 0.92 else 2
                apis = [_api(rng, n) for n in range(count)]
            if not apis:
                continue
            org.apis[(member.account_id, region)] = apis
            if rng.random() < 0.2:
                api = apis[0]
                org.domains[(member.account_id, region)] = [
                    SimDomain(
                        domain_name=f"{api.name}.{member.name}.example.com",
                        v2=api.protocol != "REST",
                        mappings=(SimMapping(api.api_id, api.stages[0].name, "v1"),),
                    )
                ]
    return org
