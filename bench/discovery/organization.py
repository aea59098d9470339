"""A synthetic AWS organization for the discovery benchmark, the same on both sides of the wire.

The simulated endpoint serves it and the benchmark checks what the engine found against it, so
both build it from the same arguments; it is deterministic for a given seed.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass, field, replace

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
ORGANIZATION_ID = "o-benchsim001"
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
    # REST only: a canary (a second deployment taking a share of the traffic), a WAF web ACL.
    canary_deployment_id: str | None = None
    canary_percent: float = 0.0
    web_acl_id: str | None = None


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
    # Operations added to the API after the organization was built (mutate), each a GET with no
    # authorization at /<path> (a WebSocket route key <path>), and the deployments made then,
    # in order: the nth new deployment serves the first n added operations.
    added_paths: tuple[str, ...] = ()
    new_deployments: tuple[str, ...] = ()


@dataclass(frozen=True)
class SimMapping:
    api_id: str
    stage: str | None  # None: a REST mapping without a stage (callers name it in the path)
    base_path: str  # "" for none, which AWS answers as "(none)"


@dataclass(frozen=True)
class SimRule:
    """A routing rule of a REST custom domain: its one action invokes a REST API stage."""

    rule_id: str
    priority: int
    api_id: str
    stage: str
    strip_base_path: bool
    base_path: str | None  # a matchBasePaths condition (its anyOf holds one)
    headers: tuple[tuple[str, str], ...]  # matchHeaders conditions: (header, value glob)

    @property
    def url_path(self) -> str:
        """The path the stage's root answers at: under the base path only when it is
        stripped (otherwise the stage receives the full path)."""
        return f"/{self.base_path}" if self.base_path and self.strip_base_path else ""


# v1 routing modes (apigateway DomainName.routingMode) and their v2 names.
BASE_PATH_MAPPING_ONLY = "BASE_PATH_MAPPING_ONLY"
ROUTING_RULE_ONLY = "ROUTING_RULE_ONLY"
ROUTING_RULE_THEN_BASE_PATH_MAPPING = "ROUTING_RULE_THEN_BASE_PATH_MAPPING"
V2_ROUTING_MODES = {
    BASE_PATH_MAPPING_ONLY: "API_MAPPING_ONLY",
    ROUTING_RULE_ONLY: "ROUTING_RULE_ONLY",
    ROUTING_RULE_THEN_BASE_PATH_MAPPING: "ROUTING_RULE_THEN_API_MAPPING",
}


@dataclass(frozen=True)
class SimDomain:
    domain_name: str
    v2: bool  # its mappings are to HTTP/WebSocket APIs (listed by apigatewayv2), else REST
    mappings: tuple[SimMapping, ...]
    routing_mode: str = BASE_PATH_MAPPING_ONLY  # as apigateway (v1) names it
    rules: tuple[SimRule, ...] = ()
    # A private custom domain (endpoint type PRIVATE) has an id besides its name, and AWS
    # answers 404 for its mappings or rules unless asked with it.
    domain_name_id: str | None = None

    @property
    def private(self) -> bool:
        return self.domain_name_id is not None

    @property
    def uses_rules(self) -> bool:
        return self.routing_mode != BASE_PATH_MAPPING_ONLY

    @property
    def uses_mappings(self) -> bool:
        return self.routing_mode != ROUTING_RULE_ONLY

    @property
    def listed_by_v1(self) -> bool:
        return not self.v2

    @property
    def listed_by_v2(self) -> bool:
        """apigatewayv2 lists the HTTP/WebSocket domains, and the public REST domains with
        routing rules too (it knows their routing mode; v2 has no private domains)."""
        return self.v2 or (self.uses_rules and not self.private)


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
    # The central role's account: the management account, or a delegated administrator.
    central_account_id: str = MANAGEMENT_ACCOUNT_ID

    @property
    def central_role_arn(self) -> str:
        return f"arn:aws:iam::{self.central_account_id}:role/{CENTRAL_ROLE_NAME}"

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
    stages = [
        SimStage(
            name=names[i],
            deployment_id="".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6)),
            created=created + i * 3600,
            updated=created + i * 3600 + 86_400,
        )
        for i in range(count)
    ]
    team = rng.choice(("payments", "catalog", "identity", "search", "ledger"))
    api_id = _api_id(rng)
    if protocol == "REST":
        stages = _rest_stage_extras(api_id, stages)
    return SimApi(
        api_id=api_id,
        name=f"{team}-service-{index}",
        protocol=protocol,
        endpoint_type=endpoint_type,
        vpc_endpoint_ids=vpces,
        created=created,
        tags=(("team", team), ("env", names[0])),
        stages=tuple(stages),
    )


# REST stages: how often a stage serves the deployment the stage before it serves (promoted
# as is), has a canary, and is protected by a WAF web ACL.
SHARED_DEPLOYMENT_SHARE = 0.3
CANARY_SHARE = 0.05
WEB_ACL_SHARE = 0.2
CANARY_PERCENTS = (5.0, 10.0, 25.0)


def _rest_stage_extras(api_id: str, stages: list[SimStage]) -> list[SimStage]:
    """Shared deployments, canaries and web ACLs, drawn from the API's id alone (so the
    organization's other draws, and the discovery benchmark, are as they were)."""
    rng = random.Random(f"stages:{api_id}")
    extended: list[SimStage] = []
    for index, stage in enumerate(stages):
        deployment_id = stage.deployment_id
        if index and rng.random() < SHARED_DEPLOYMENT_SHARE:
            deployment_id = extended[-1].deployment_id
        canary, percent = None, 0.0
        if rng.random() < CANARY_SHARE:
            canary, percent = _short_id(rng), rng.choice(CANARY_PERCENTS)
        web_acl = _short_id(rng) if rng.random() < WEB_ACL_SHARE else None
        extended.append(
            replace(
                stage,
                deployment_id=deployment_id,
                canary_deployment_id=canary,
                canary_percent=percent,
                web_acl_id=web_acl,
            )
        )
    return extended


def build_organization(
    accounts: int = 200,
    regions: int = 17,
    *,
    seed: int = 7,
    denied_accounts: int = 0,
    delegated_admin: bool = False,
) -> SimOrganization:
    """`accounts` members plus the management account; most account-regions hold 0 to 2 APIs,
    one account in a hundred holds 100 APIs with 3 stages each in its first region. With
    `delegated_admin` the central role lives in the first active member account (a delegated
    administrator of the organization) rather than in the management account."""
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
    if delegated_admin and active:
        org.central_account_id = active[0]
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
            domains: list[SimDomain] = []
            if rng.random() < 0.2:
                api = apis[0]
                domains.append(
                    SimDomain(
                        domain_name=f"{api.name}.{member.name}.example.com",
                        v2=api.protocol != "REST",
                        mappings=(SimMapping(api.api_id, api.stages[0].name, "v1"),),
                    )
                )
            domains = _domain_extras(member, apis, domains)
            if domains:
                org.domains[(member.account_id, region)] = domains
    return org


# ------------------------------------------------------------------ custom domains (extras)
# Of the REST custom domains: how many route with rules (half of them by rules only), and how
# many of the others have a mapping without a stage. Of the account-regions with a private
# REST API: how many have a private custom domain mapping it.
ROUTING_RULE_SHARE = 0.35
STAGELESS_MAPPING_SHARE = 0.3
PRIVATE_DOMAIN_SHARE = 0.5
_RULE_HEADERS = (("x-version", "beta"), ("x-tenant", "acme-*"), ("accept", "application/v2*"))


def _domain_extras(
    member: SimAccount, apis: list[SimApi], domains: list[SimDomain]
) -> list[SimDomain]:
    """Routing rules, stage-less mappings and private domains, drawn from the account-region's
    first API id alone (so the organization's other draws are as they were)."""
    rng = random.Random(f"domains:{apis[0].api_id}")
    rest = [api for api in apis if api.protocol == "REST"]
    extended: list[SimDomain] = []
    for domain in domains:
        if domain.v2:
            extended.append(domain)
            continue
        roll = rng.random()
        if roll < ROUTING_RULE_SHARE:
            mode = ROUTING_RULE_ONLY if rng.random() < 0.5 else ROUTING_RULE_THEN_BASE_PATH_MAPPING
            rules = tuple(_rule(rng, rest, index) for index in range(rng.randint(1, 2)))
            extended.append(replace(domain, routing_mode=mode, rules=rules))
        elif roll < ROUTING_RULE_SHARE + (1 - ROUTING_RULE_SHARE) * STAGELESS_MAPPING_SHARE:
            mappings = tuple(replace(m, stage=None) for m in domain.mappings)
            extended.append(replace(domain, mappings=mappings))
        else:
            extended.append(domain)
    private = [api for api in rest if api.endpoint_type == "PRIVATE"]
    if private and rng.random() < PRIVATE_DOMAIN_SHARE:
        api = rng.choice(private)
        stage = None if rng.random() < STAGELESS_MAPPING_SHARE else api.stages[0].name
        extended.append(
            SimDomain(
                domain_name=f"{api.name}.internal.{member.name}.example.com",
                v2=False,
                mappings=(SimMapping(api.api_id, stage, rng.choice(("", "v1"))),),
                domain_name_id="".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=10)),
            )
        )
    return extended


def _rule(rng: random.Random, rest: list[SimApi], index: int) -> SimRule:
    """A rule to a stage of one of the region's REST APIs: a base path (stripped or not),
    headers, both, or (as a domain's last rule) no condition at all, a catch-all."""
    api = rng.choice(rest)
    kind = rng.choice(("base_path", "base_path_kept", "headers", "both", "catch_all"))
    base_path = None
    if kind in ("base_path", "base_path_kept", "both"):
        base_path = rng.choice(_WORDS)
    headers: tuple[tuple[str, str], ...] = ()
    if kind in ("headers", "both"):
        headers = tuple(rng.sample(_RULE_HEADERS, rng.randint(1, 2)))
    return SimRule(
        rule_id=_short_id(rng),
        # Catch-alls go last, as AWS advises; priorities leave room between them.
        priority=1_000_000 - index if kind == "catch_all" else (index + 1) * 100,
        api_id=api.api_id,
        stage=rng.choice(api.stages).name,
        strip_base_path=kind != "base_path_kept",
        base_path=base_path,
        headers=headers,
    )


# ------------------------------------------------------------------ what discovery finds
# A custom domain URL as discovery should report it for an API: (url, stage, the headers a
# caller must send as sorted (header, value glob) pairs, reachable_from).
DomainUrl = tuple[str, str | None, tuple[tuple[str, str], ...], str]


def domain_urls(org: SimOrganization, account_id: str, region: str) -> dict[str, set[DomainUrl]]:
    """By API id, the custom domain URLs of one account-region: a REST domain's routing rules
    (when its routing mode uses them) and its base path mappings (unless it routes by rules
    only; a mapping without a stage gives one URL per stage of the API), an HTTP or WebSocket
    domain's API mappings."""
    apis = {api.api_id: api for api in org.apis.get((account_id, region), [])}
    found: dict[str, set[DomainUrl]] = {}
    for domain in org.domains.get((account_id, region), []):
        reachable = "vpc_only" if domain.private else "internet"
        for rule in domain.rules if domain.uses_rules else ():
            url = f"https://{domain.domain_name}{rule.url_path}"
            headers = tuple(sorted(rule.headers))
            found.setdefault(rule.api_id, set()).add((url, rule.stage, headers, reachable))
        for mapping in domain.mappings if domain.uses_mappings else ():
            api = apis[mapping.api_id]
            scheme = "wss" if api.protocol == "WEBSOCKET" else "https"
            prefix = f"{scheme}://{domain.domain_name}"
            if mapping.base_path:
                prefix += f"/{mapping.base_path}"
            targets = (
                [(prefix, mapping.stage)]
                if mapping.stage
                else [(f"{prefix}/{stage.name}", stage.name) for stage in api.stages]
            )
            for url, stage in targets:
                found.setdefault(api.api_id, set()).add((url, stage, (), reachable))
    return found


def discovery_calls(org: SimOrganization) -> Counter[str]:
    """The calls discovery makes over the whole organization with the central-role flow, by
    operation as the simulated endpoint names them: assume the central role, list the
    accounts (and read the organization once, for its management account), assume the child
    role in every active account, then in every region of each reachable account list the
    APIs, their stages, and (where there are APIs) the custom domains with their mappings
    and routing rules. Each listing fits one page here."""
    calls: Counter[str] = Counter()
    calls["sts:AssumeRole"] = 1 + sum(1 for a in org.accounts if a.status == "ACTIVE")
    calls["organizations:ListAccounts"] = math.ceil(len(org.accounts) / 20)
    calls["organizations:DescribeOrganization"] = 1
    for account in org.reachable_accounts():
        for region in org.regions:
            apis = org.apis.get((account.account_id, region), [])
            rest = sum(1 for api in apis if api.protocol == "REST")
            others = len(apis) - rest
            calls["apigateway:GetRestApis"] += 1
            calls["apigatewayv2:GetApis"] += 1
            calls["apigateway:GetStages"] += rest
            calls["apigatewayv2:GetStages"] += others
            domains = org.domains.get((account.account_id, region), [])
            if rest:
                calls["apigateway:GetDomainNames"] += 1
                for domain in domains:
                    if not domain.listed_by_v1:
                        continue
                    if domain.uses_rules:
                        calls["apigatewayv2:ListRoutingRules"] += max(
                            1, math.ceil(len(domain.rules) / 100)
                        )
                    if domain.uses_mappings:
                        calls["apigateway:GetBasePathMappings"] += 1
            if others:
                calls["apigatewayv2:GetDomainNames"] += 1
                calls["apigatewayv2:GetApiMappings"] += sum(
                    1 for d in domains if d.listed_by_v2 and d.uses_mappings
                )
    return +calls


def summary_calls(org: SimOrganization) -> Counter[str]:
    """The calls of "APIs by region" (GET /connections/{id}/api-summary) over the same
    organization: the accounts and roles as discovery, then only the two listings per region
    of each reachable account; no stages, no custom domains."""
    kept = {
        "sts:AssumeRole",
        "organizations:ListAccounts",
        "organizations:DescribeOrganization",
        "apigateway:GetRestApis",
        "apigatewayv2:GetApis",
    }
    return Counter({op: n for op, n in discovery_calls(org).items() if op in kept})


# ------------------------------------------------------------------ what onboarding reads
# An API's resources, methods, routes and authorizers are drawn from its own id, so adding them
# leaves every other draw (and the discovery benchmark's organization) as it was.
REST_METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "ANY")
_WORDS = ("orders", "items", "users", "carts", "payments", "invoices", "search", "health")
# One REST API in fifty is a monolith whose resources take more than one page (500) to list.
LARGE_API_SHARE = 0.02
LARGE_API_RESOURCES = (520, 700)


@dataclass(frozen=True)
class SimMethod:
    http_method: str
    authorization: str  # NONE | AWS_IAM | CUSTOM | COGNITO_USER_POOLS
    authorizer_id: str | None
    api_key_required: bool


@dataclass(frozen=True)
class SimResource:
    resource_id: str
    parent_id: str | None
    path_part: str
    path: str
    methods: tuple[SimMethod, ...]


@dataclass(frozen=True)
class SimAuthorizer:
    authorizer_id: str
    name: str
    type: str  # v1: TOKEN | REQUEST | COGNITO_USER_POOLS; v2: REQUEST | JWT


@dataclass(frozen=True)
class SimRoute:
    route_id: str
    route_key: str
    authorization: str  # NONE | AWS_IAM | CUSTOM | JWT
    authorizer_id: str | None
    api_key_required: bool


@dataclass(frozen=True)
class SimSurface:
    authorizers: tuple[SimAuthorizer, ...]
    resources: tuple[SimResource, ...] = ()  # REST
    routes: tuple[SimRoute, ...] = ()  # HTTP and WebSocket

    @property
    def operations(self) -> int:
        """How many operations onboarding should find: one per method, or per route."""
        return sum(len(r.methods) for r in self.resources) + len(self.routes)


def _short_id(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6))


def _authorization(
    rng: random.Random, authorizers: tuple[SimAuthorizer, ...], v2: bool
) -> tuple[str, str | None]:
    roll = rng.random()
    if roll < 0.1:
        return "AWS_IAM", None
    if roll < 0.5 or not authorizers:
        return "NONE", None
    authorizer = rng.choice(authorizers)
    if v2:
        return ("JWT" if authorizer.type == "JWT" else "CUSTOM"), authorizer.authorizer_id
    kind = "COGNITO_USER_POOLS" if authorizer.type == "COGNITO_USER_POOLS" else "CUSTOM"
    return kind, authorizer.authorizer_id


def _rest_surface(
    rng: random.Random, root_id: str, authorizers: tuple[SimAuthorizer, ...]
) -> SimSurface:
    large = rng.random() < LARGE_API_SHARE
    count = rng.randint(*LARGE_API_RESOURCES) if large else rng.randint(3, 30)
    resources: list[SimResource] = []
    paths = {"/"}
    parents: list[tuple[str, str]] = [(root_id, "/")]
    for index in range(count):
        parent_id, parent_path = rng.choice(parents)
        part = rng.choice(_WORDS) + (str(index) if large else "")
        if rng.random() < 0.3 and not parent_path.endswith("}"):
            name = rng.choice(("id", "name", "proxy+"))
            if "{" + name + "}" in parent_path:
                # API Gateway refuses a path with two parameters of one name.
                name += str(parent_path.count("{") + 1)
            part = "{" + name + "}"
        path = f"{parent_path.rstrip('/')}/{part}"
        if path in paths:
            continue
        paths.add(path)
        resource_id = _short_id(rng)
        names = rng.sample(REST_METHODS, rng.randint(0 if large else 1, 3))
        methods = []
        for name in sorted(names):
            authorization, authorizer_id = _authorization(rng, authorizers, v2=False)
            methods.append(SimMethod(name, authorization, authorizer_id, rng.random() < 0.15))
        resources.append(SimResource(resource_id, parent_id, part, path, tuple(methods)))
        if not part.endswith("+}"):
            parents.append((resource_id, path))
    root_methods = (SimMethod("GET", "NONE", None, False),) if rng.random() < 0.3 else ()
    root = SimResource(root_id, None, "", "/", root_methods)
    return SimSurface(authorizers=authorizers, resources=(root, *resources))


def _v2_surface(
    rng: random.Random, protocol: str, authorizers: tuple[SimAuthorizer, ...]
) -> SimSurface:
    if protocol == "WEBSOCKET":
        custom = rng.sample(["sendMessage", "join", "leave", "typing"], rng.randint(0, 3))
        keys = ["$connect", "$disconnect", "$default", *custom]
    else:
        keys = []
        for _ in range(rng.randint(2, 20)):
            method = rng.choice(("GET", "POST", "PUT", "DELETE", "ANY"))
            path = "/" + rng.choice(_WORDS) + rng.choice(("", "/{id}", "/{proxy+}"))
            keys.append(f"{method} {path}")
        if rng.random() < 0.1:
            keys.append("$default")
    routes = []
    for key in dict.fromkeys(keys):
        authorization, authorizer_id = _authorization(rng, authorizers, v2=True)
        routes.append(
            SimRoute(_short_id(rng), key, authorization, authorizer_id, rng.random() < 0.1)
        )
    return SimSurface(authorizers=authorizers, routes=tuple(routes))


def surface_of(api: SimApi) -> SimSurface:
    """The API's resources and methods (REST) or routes (HTTP, WebSocket), and authorizers."""
    rng = random.Random(api.api_id)
    if api.protocol == "REST":
        types: tuple[str, ...] = ("TOKEN", "REQUEST", "COGNITO_USER_POOLS")
    elif api.protocol == "HTTP":
        types = ("JWT", "REQUEST")
    else:
        types = ("REQUEST",)
    authorizers = tuple(
        SimAuthorizer(_short_id(rng), f"authorizer-{n}", rng.choice(types))
        for n in range(rng.choice((0, 0, 1, 1, 2)))
    )
    if api.protocol == "REST":
        surface = _rest_surface(rng, api.api_id[:6], authorizers)
    else:
        surface = _v2_surface(rng, api.protocol, authorizers)
    return _with_added(api, surface) if api.added_paths else surface


ADDED_METHOD = SimMethod("GET", "NONE", None, False)


def _with_added(api: SimApi, surface: SimSurface) -> SimSurface:
    """The draft with the operations added since the organization was built, last."""
    if api.protocol == "REST":
        root = api.api_id[:6]
        added = tuple(
            SimResource(f"ad{index:04d}", root, path, f"/{path}", (ADDED_METHOD,))
            for index, path in enumerate(api.added_paths)
        )
        return replace(surface, resources=(*surface.resources, *added))
    routes = tuple(
        SimRoute(
            f"ad{index:04d}",
            path if api.protocol == "WEBSOCKET" else f"GET /{path}",
            "NONE",
            None,
            False,
        )
        for index, path in enumerate(api.added_paths)
    )
    return replace(surface, routes=(*surface.routes, *routes))


def _added_served(api: SimApi, deployment_id: str) -> int:
    """How many of the added operations a deployment serves (0 for the original ones)."""
    if deployment_id in api.new_deployments:
        return api.new_deployments.index(deployment_id) + 1
    return 0


def deployed_routes(api: SimApi, surface: SimSurface, deployment_id: str) -> list[SimRoute]:
    """The routes of one deployment of an HTTP or WebSocket API (a stage's export): the
    draft's, less the added ones it was made before."""
    served = _added_served(api, deployment_id)
    original = len(surface.routes) - len(api.added_paths)
    return list(surface.routes[: original + served])


# ------------------------------------------------------------------ deployments (REST)
# The share of REST APIs whose GetDeployment answers carry no apiSummary (onboarding then reads
# the draft: GetAuthorizers and GetResources).
NO_SUMMARY_SHARE = 0.25
# How often a stage's deployment is behind the draft (made before its last methods were).
BEHIND_DRAFT_SHARE = 0.3


def has_api_summary(api: SimApi, no_summary_share: float = NO_SUMMARY_SHARE) -> bool:
    """Whether the REST API's deployments answer with apiSummary (a choice per API)."""
    return random.Random(f"summary:{api.api_id}").random() >= no_summary_share


def deployment_ids(api: SimApi) -> list[str]:
    """The API's deployments its stages serve (each once), canaries included, in stage order."""
    found: dict[str, None] = {}
    for stage in api.stages:
        found[stage.deployment_id] = None
        if stage.canary_deployment_id:
            found[stage.canary_deployment_id] = None
    return list(found)


def deployed_methods(
    api: SimApi, surface: SimSurface, deployment_id: str
) -> list[tuple[str, SimMethod]]:
    """(resource path, method) of one deployment: the draft's, less the last methods added
    when the deployment is behind it. A canary's deployment is the draft itself (as the
    organization was built). A deployment made by `mutate` serves the draft of then: the
    original operations and the added ones up to its own."""
    original = len(surface.resources) - len(api.added_paths)
    methods = [(r.path, m) for r in surface.resources[:original] for m in r.methods]
    served = _added_served(api, deployment_id)
    if served:
        added = surface.resources[original : original + served]
        return methods + [(r.path, m) for r in added for m in r.methods]
    if any(stage.canary_deployment_id == deployment_id for stage in api.stages):
        return methods
    rng = random.Random(f"deployment:{api.api_id}:{deployment_id}")
    if methods and rng.random() < BEHIND_DRAFT_SHARE:
        return methods[: -min(len(methods), rng.randint(1, 3))]
    return methods


# ------------------------------------------------------------------ resource policies (REST)
RESTRICTING_POLICY_SHARE = 0.1
OPEN_POLICY_SHARE = 0.05


def resource_policy(api: SimApi) -> dict[str, object] | None:
    """The REST API's resource policy: a private API's lets its VPC endpoints in; of the
    others, a few let only some addresses in and a few let anyone in; most have none."""
    if api.protocol != "REST":
        return None
    resource = "execute-api:/*"
    allow: dict[str, object] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "execute-api:Invoke",
        "Resource": resource,
    }
    if api.endpoint_type == "PRIVATE":
        condition: dict[str, object] = {
            "StringEquals": {"aws:SourceVpce": list(api.vpc_endpoint_ids)}
        }
        return {"Version": "2012-10-17", "Statement": [{**allow, "Condition": condition}]}
    roll = random.Random(f"policy:{api.api_id}").random()
    if roll < RESTRICTING_POLICY_SHARE:
        condition = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.0/24"]}}
        return {"Version": "2012-10-17", "Statement": [{**allow, "Condition": condition}]}
    if roll < RESTRICTING_POLICY_SHARE + OPEN_POLICY_SHARE:
        return {"Version": "2012-10-17", "Statement": [allow]}
    return None


# ------------------------------------------------------------------ the organization changes
# Between two runs (the auto-onboard benchmark's run 3): of the reachable accounts' APIs, this
# share gets a new deployment on one of its stages, serving one more operation, and this share
# is deleted (only APIs no custom domain maps or routes to: AWS refuses to delete those).
CHANGED_SHARE = 0.05
DELETED_SHARE = 0.01
ApiKey = tuple[str, str, str]  # account, region, API id


@dataclass(frozen=True)
class Mutation:
    organization: SimOrganization  # as it is afterwards
    changed: dict[ApiKey, tuple[str, str]]  # the stage given a new deployment, and its id
    deleted: frozenset[ApiKey]


def mutate(
    org: SimOrganization,
    seed: int = 7,
    *,
    changed_share: float = CHANGED_SHARE,
    deleted_share: float = DELETED_SHARE,
) -> Mutation:
    """The organization after some of its APIs were redeployed or deleted; deterministic.
    `changed_share` and `deleted_share` of its listed APIs (at least one each, unless 0)."""
    rng = random.Random(f"mutation:{seed}")
    reachable = {account.account_id for account in org.reachable_accounts()}
    listed = [
        ((account, region, api.api_id), api)
        for (account, region), apis in org.apis.items()
        if account in reachable
        for api in apis
    ]
    mapped = {
        (account, region, target)
        for (account, region), domains in org.domains.items()
        for domain in domains
        for target in [m.api_id for m in domain.mappings] + [r.api_id for r in domain.rules]
    }
    deletable = [key for key, _ in listed if key not in mapped]
    deleted = frozenset(
        rng.sample(
            deletable,
            min(len(deletable), max(1 if deleted_share else 0, round(deleted_share * len(listed)))),
        )
        if listed
        else ()
    )
    kept = [(key, api) for key, api in listed if key not in deleted]
    count = (
        min(len(kept), max(1 if changed_share else 0, round(changed_share * len(listed))))
        if kept
        else 0
    )
    changed: dict[ApiKey, tuple[str, str]] = {}
    replaced: dict[ApiKey, SimApi] = {}
    for key, api in rng.sample(kept, count):
        index = rng.randrange(len(api.stages))
        stage = api.stages[index]
        taken = set(deployment_ids(api))
        deployment_id = _short_id(rng)
        while deployment_id in taken:
            deployment_id = _short_id(rng)
        stages = list(api.stages)
        stages[index] = replace(
            stage, deployment_id=deployment_id, updated=stage.updated + 30 * 86_400
        )
        replaced[key] = replace(
            api,
            stages=tuple(stages),
            added_paths=(*api.added_paths, f"added-{len(api.added_paths)}"),
            new_deployments=(*api.new_deployments, deployment_id),
        )
        changed[key] = (stage.name, deployment_id)
    apis = {
        (account, region): [
            replaced.get((account, region, api.api_id), api)
            for api in apis
            if (account, region, api.api_id) not in deleted
        ]
        for (account, region), apis in org.apis.items()
    }
    return Mutation(replace(org, apis=apis), changed, deleted)
