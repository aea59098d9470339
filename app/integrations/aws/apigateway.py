"""What API Gateway holds in one account and region: REST APIs (v1), HTTP and WebSocket APIs (v2).

Every request goes through a `Call` that the discovery engine provides (it applies the
per-account-and-region quota and the retries), and every listing is followed to its last page
with the largest page size AWS accepts. The order of requests is fixed, so a test can script
them with botocore's Stubber.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import botocore.loaders

from app.integrations.aws.errors import AwsError, AwsFailure

logger = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")
ClientFor = Callable[[str], Any]
# Operations with a quota of their own besides the control plane's: AWS's fixed quota for
# GetResources is 5 requests every 2 seconds per account.
GET_RESOURCES = "GetResources"


class Each(Protocol):
    """Applies `function` to every item and returns the results in the items' order, one
    after the other or several at once (discovery spreads a large region's stage listings
    over idle workers); the first exception raised is raised."""

    def __call__(self, function: Callable[[T], U], items: list[T], /) -> list[U]: ...


def one_by_one(function: Callable[[T], U], items: list[T], /) -> list[U]:
    return [function(item) for item in items]


class Call(Protocol):
    """Makes one AWS request under discovery's quotas and retries; `quota` names an
    operation's own quota where AWS has one (GET_RESOURCES)."""

    def __call__(
        self, fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None
    ) -> dict[str, Any]: ...


# GetRestApis, GetDomainNames, GetBasePathMappings: "the maximum value is 500".
V1_PAGE_SIZE = 500
# apigatewayv2 documents no maximum for MaxResults (a string); 500 matches v1.
V2_PAGE_SIZE = "500"
# ListRoutingRules takes MaxResults as an integer, at most 100 (botocore's service model).
ROUTING_RULES_PAGE_SIZE = 100

# A domain's routingMode (v1) / RoutingMode (v2); absent means mappings only.
ROUTING_RULE_ONLY = "ROUTING_RULE_ONLY"


@dataclass
class CustomDomain:
    url: str  # where the stage's root answers on this domain
    domain_name: str
    base_path: str  # the mapping's base path, or the routing rule's base path condition
    stage: str | None
    # The domain asks callers for a client certificate (mutualTlsAuthentication).
    mutual_tls: bool = False
    # vpc_only: a private custom domain, answered only through the customer's VPC endpoints.
    reachable_from: str = "internet"
    # Set when a routing rule (not a mapping) sends this URL to the stage.
    routing_rule_id: str | None = None
    priority: int | None = None
    # Header -> value glob a caller must send for the rule to reach the stage.
    required_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class DiscoveredStage:
    name: str
    deployment_id: str | None
    created_at: datetime | None
    updated_at: datetime | None
    instance_urls: list[str] = field(default_factory=list)
    web_acl_arn: str | None = None  # REST stages only: the WAF web ACL in front of it
    # A canary serves part of the stage's traffic from another deployment (REST only).
    canary_deployment_id: str | None = None
    canary_percent_traffic: float | None = None


@dataclass
class DiscoveredApi:
    account_id: str
    region: str
    api_id: str
    name: str
    description: str | None
    protocol: str  # REST | HTTP | WEBSOCKET
    endpoint_type: str  # EDGE | REGIONAL | PRIVATE
    vpc_endpoint_ids: list[str]
    created_at: datetime | None
    tags: dict[str, str]
    api_endpoint: str
    execute_api_endpoint_disabled: bool = False
    stages: list[DiscoveredStage] = field(default_factory=list)
    custom_domains: list[CustomDomain] = field(default_factory=list)
    policy: str | None = None  # a REST API's resource policy, as AWS holds it (JSON text)
    # Why a schedule's scope leaves it out (its tags): listed, its stages not asked for.
    excluded_by_scope: str | None = None

    @property
    def reachable_from(self) -> str:
        """Private APIs answer only inside the customer's VPCs (through an interface endpoint):
        a scanner outside them cannot reach any of their URLs."""
        return "vpc_only" if self.endpoint_type == "PRIVATE" else "internet"

    @property
    def custom_domain_urls(self) -> list[str]:
        # Routing rules can send one URL to several stages (by header): each URL once.
        return list(dict.fromkeys(domain.url for domain in self.custom_domains))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.api_id)


@functools.cache
def _partitions() -> list[dict[str, Any]]:
    partitions: list[dict[str, Any]] = botocore.loaders.Loader().load_data("endpoints")[
        "partitions"
    ]
    return partitions


@functools.cache
def dns_suffix(region: str) -> str:
    """The DNS suffix of the region's partition (aws-cn: amazonaws.com.cn, aws-iso: c2s.ic.gov,
    ...), from botocore's endpoint data; amazonaws.com for a region botocore does not know."""
    partitions = _partitions()
    for partition in partitions:
        if region in (partition.get("regions") or {}):
            return str(partition["dnsSuffix"])
    for partition in partitions:
        if re.match(partition.get("regionRegex") or r"(?!)", region):
            return str(partition["dnsSuffix"])
    return "amazonaws.com"


def execute_api_host(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.{dns_suffix(region)}"


def _as_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def all_pages(
    call: Call,
    fetch: Callable[..., dict[str, Any]],
    *,
    items: str,
    next_key: str,
    request_key: str,
    quota: str | None = None,
    **params: Any,
) -> list[dict[str, Any]]:
    """Every item of a listing, page after page, each page one quota-checked request."""
    collected: list[dict[str, Any]] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        arguments = dict(params)
        if token:
            arguments[request_key] = token
        page = call(lambda arguments=arguments: fetch(**arguments), quota=quota)  # type: ignore[misc]
        collected.extend(page.get(items, []))
        token = page.get(next_key)
        if not token or token in seen:
            return collected
        seen.add(token)


def _v1_pages(
    call: Call, fetch: Callable[..., dict[str, Any]], *, quota: str | None = None, **params: Any
) -> list[dict[str, Any]]:
    """apigateway listings: `items`, paged by `position`, at most 500 a page."""
    return all_pages(
        call,
        fetch,
        items="items",
        next_key="position",
        request_key="position",
        quota=quota,
        limit=V1_PAGE_SIZE,
        **params,
    )


def _v2_pages(
    call: Call, fetch: Callable[..., dict[str, Any]], **params: Any
) -> list[dict[str, Any]]:
    """apigatewayv2 listings: `Items`, paged by `NextToken`."""
    return all_pages(
        call,
        fetch,
        items="Items",
        next_key="NextToken",
        request_key="NextToken",
        MaxResults=V2_PAGE_SIZE,
        **params,
    )


# ------------------------------------------------------------------------------ REST (v1)
def _rest_api(item: dict[str, Any], account_id: str, region: str) -> DiscoveredApi:
    configuration = item.get("endpointConfiguration") or {}
    types = configuration.get("types") or ["EDGE"]
    api_id = item["id"]
    return DiscoveredApi(
        account_id=account_id,
        region=region,
        api_id=api_id,
        name=item.get("name") or api_id,
        description=item.get("description"),
        protocol="REST",
        endpoint_type=types[0],
        vpc_endpoint_ids=list(configuration.get("vpcEndpointIds") or []),
        created_at=_as_datetime(item.get("createdDate")),
        tags=dict(item.get("tags") or {}),
        api_endpoint=f"https://{execute_api_host(api_id, region)}",
        execute_api_endpoint_disabled=bool(item.get("disableExecuteApiEndpoint")),
        policy=item.get("policy") or None,
    )


def _rest_stage_urls(api: DiscoveredApi, stage: str) -> list[str]:
    if api.execute_api_endpoint_disabled:
        return []
    urls = [f"{api.api_endpoint}/{stage}"]
    if api.endpoint_type == "PRIVATE":
        suffix = f"execute-api.{api.region}.{dns_suffix(api.region)}"
        urls += [f"https://{api.api_id}-{vpce}.{suffix}/{stage}" for vpce in api.vpc_endpoint_ids]
    return urls


def _rest_stages(call: Call, client: Any, api: DiscoveredApi) -> list[DiscoveredStage]:
    # GetStages is not paged: one answer holds every stage.
    response = call(lambda: client.get_stages(restApiId=api.api_id))
    stages = sorted(response.get("item", []), key=lambda s: s.get("stageName", ""))
    return [
        DiscoveredStage(
            name=stage["stageName"],
            deployment_id=stage.get("deploymentId"),
            created_at=_as_datetime(stage.get("createdDate")),
            updated_at=_as_datetime(stage.get("lastUpdatedDate")),
            instance_urls=_rest_stage_urls(api, stage["stageName"]),
            web_acl_arn=stage.get("webAclArn") or None,
            canary_deployment_id=(stage.get("canarySettings") or {}).get("deploymentId"),
            canary_percent_traffic=(stage.get("canarySettings") or {}).get("percentTraffic"),
        )
        for stage in stages
    ]


def _domain_problem(name: str, exc: AwsError, problems: list[AwsFailure] | None) -> None:
    """One custom domain could not be read: it is left out, the region's APIs still list."""
    if exc.failure.code == "aws_timeout":
        raise exc  # the region's deadline has passed: nothing more can be read
    logger.info("Custom domain %s could not be read: %s", name, exc.failure.code)
    if problems is not None:
        problems.append(
            AwsFailure(
                code=exc.failure.code,
                message=f"The custom domain {name} could not be read: {exc.failure.message}",
                hint=exc.failure.hint,
            )
        )


def _uses_rules(mode: str) -> bool:
    return mode.startswith("ROUTING_RULE")


def _rest_domains(
    call: Call,
    v1: Any,
    v2: Any,
    apis: dict[str, DiscoveredApi],
    problems: list[AwsFailure] | None,
) -> None:
    domains = _v1_pages(call, v1.get_domain_names)
    for domain in domains:
        name = domain["domainName"]
        try:
            found = _rest_domain(call, v1, v2, domain, apis)
        except AwsError as exc:
            _domain_problem(name, exc, problems)
            continue
        for api, custom_domain in found:
            _add_domain(api, custom_domain)


def _rest_domain(
    call: Call, v1: Any, v2: Any, domain: dict[str, Any], apis: dict[str, DiscoveredApi]
) -> list[tuple[DiscoveredApi, CustomDomain]]:
    """What one domain sends to the listed REST APIs: its routing rules (evaluated first by
    AWS), then its base path mappings, as its routing mode has them."""
    name = domain["domainName"]
    # A private custom domain is named by domainName and domainNameId together; without the
    # id AWS answers 404 for it.
    domain_id = domain.get("domainNameId")
    types = (domain.get("endpointConfiguration") or {}).get("types") or []
    shared: dict[str, Any] = {
        "domain_name": name,
        "mutual_tls": bool((domain.get("mutualTlsAuthentication") or {}).get("truststoreUri")),
        "reachable_from": "vpc_only" if "PRIVATE" in types else "internet",
    }
    mode = domain.get("routingMode") or "BASE_PATH_MAPPING_ONLY"
    found: list[tuple[DiscoveredApi, CustomDomain]] = []
    if _uses_rules(mode):
        rules = all_pages(
            call,
            v2.list_routing_rules,
            items="RoutingRules",
            next_key="NextToken",
            request_key="NextToken",
            MaxResults=ROUTING_RULES_PAGE_SIZE,
            DomainName=name,
            **({"DomainNameId": domain_id} if domain_id else {}),
        )
        for rule in sorted(rules, key=lambda r: r.get("Priority") or 0):
            found.extend(_rule_domain(rule, apis, shared))
    if mode == ROUTING_RULE_ONLY:
        return found  # AWS ignores the domain's mappings in this mode
    mappings = _v1_pages(
        call,
        v1.get_base_path_mappings,
        domainName=name,
        **({"domainNameId": domain_id} if domain_id else {}),
    )
    for mapping in mappings:
        api = apis.get(mapping.get("restApiId", ""))
        if api is None:
            continue
        base_path = mapping.get("basePath") or ""
        base_path = "" if base_path == "(none)" else base_path
        prefix = f"https://{name}/{base_path}" if base_path else f"https://{name}"
        stage = mapping.get("stage")
        # No stage in the mapping: callers name the stage after the base path.
        targets = (
            [(prefix, stage)] if stage else [(f"{prefix}/{s.name}", s.name) for s in api.stages]
        )
        found.extend(
            (api, CustomDomain(url=url, base_path=base_path, stage=target, **shared))
            for url, target in targets
        )
    return found


def _rule_domain(
    rule: dict[str, Any], apis: dict[str, DiscoveredApi], shared: dict[str, Any]
) -> list[tuple[DiscoveredApi, CustomDomain]]:
    """A routing rule's one action invokes a REST API stage; its conditions say which requests
    reach it: a base path (AnyOf holds one) and headers (any one of a condition's AnyOf)."""
    actions = rule.get("Actions") or []
    invoke = (actions[0].get("InvokeApi") or {}) if actions else {}
    api = apis.get(invoke.get("ApiId", ""))
    if api is None or not invoke.get("Stage"):
        return []
    base_path = ""
    headers: dict[str, str] = {}
    for condition in rule.get("Conditions") or []:
        paths = (condition.get("MatchBasePaths") or {}).get("AnyOf") or []
        if paths:
            base_path = paths[0]
        matches = (condition.get("MatchHeaders") or {}).get("AnyOf") or []
        if matches:
            headers[matches[0]["Header"]] = matches[0]["ValueGlob"]
    name = shared["domain_name"]
    # With StripBasePath the stage's root is under the base path; without it the stage gets
    # the full path, so its root is the domain's.
    stripped = base_path and invoke.get("StripBasePath")
    url = f"https://{name}/{base_path}" if stripped else f"https://{name}"
    return [
        (
            api,
            CustomDomain(
                url=url,
                base_path=base_path,
                stage=invoke["Stage"],
                routing_rule_id=rule.get("RoutingRuleId"),
                priority=rule.get("Priority"),
                required_headers=headers,
                **shared,
            ),
        )
    ]


# ---------------------------------------------------------------- HTTP and WebSocket (v2)
def _v2_api(item: dict[str, Any], account_id: str, region: str) -> DiscoveredApi:
    api_id = item["ApiId"]
    protocol = item.get("ProtocolType", "HTTP")
    endpoint = item.get("ApiEndpoint") or f"https://{execute_api_host(api_id, region)}"
    if protocol == "WEBSOCKET":
        # AWS answers wss://; some emulators answer https:// for the same host.
        endpoint = "wss://" + endpoint.split("://", 1)[-1]
    return DiscoveredApi(
        account_id=account_id,
        region=region,
        api_id=api_id,
        name=item.get("Name") or api_id,
        description=item.get("Description"),
        protocol=protocol,
        endpoint_type="REGIONAL",
        vpc_endpoint_ids=[],
        created_at=_as_datetime(item.get("CreatedDate")),
        tags=dict(item.get("Tags") or {}),
        api_endpoint=endpoint,
        execute_api_endpoint_disabled=bool(item.get("DisableExecuteApiEndpoint")),
    )


def _v2_stages(call: Call, client: Any, api: DiscoveredApi) -> list[DiscoveredStage]:
    stages = _v2_pages(call, client.get_stages, ApiId=api.api_id)
    found = []
    for stage in sorted(stages, key=lambda s: s.get("StageName", "")):
        name = stage["StageName"]
        urls: list[str] = []
        if not api.execute_api_endpoint_disabled:
            urls.append(api.api_endpoint if name == "$default" else f"{api.api_endpoint}/{name}")
        found.append(
            DiscoveredStage(
                name=name,
                deployment_id=stage.get("DeploymentId"),
                created_at=_as_datetime(stage.get("CreatedDate")),
                updated_at=_as_datetime(stage.get("LastUpdatedDate")),
                instance_urls=urls,
            )
        )
    return found


def _v2_domains(
    call: Call, client: Any, apis: dict[str, DiscoveredApi], problems: list[AwsFailure] | None
) -> None:
    domains = _v2_pages(call, client.get_domain_names)
    for domain in domains:
        name = domain["DomainName"]
        if domain.get("RoutingMode") == ROUTING_RULE_ONLY:
            # Its API mappings are off, and routing rules only invoke REST API stages.
            continue
        try:
            mappings = _v2_pages(call, client.get_api_mappings, DomainName=name)
        except AwsError as exc:
            _domain_problem(name, exc, problems)
            continue
        mutual_tls = bool((domain.get("MutualTlsAuthentication") or {}).get("TruststoreUri"))
        for mapping in mappings:
            api = apis.get(mapping.get("ApiId", ""))
            if api is None:
                continue
            scheme = "wss" if api.protocol == "WEBSOCKET" else "https"
            base_path = mapping.get("ApiMappingKey") or ""
            _add_domain(
                api,
                CustomDomain(
                    url=f"{scheme}://{name}/{base_path}" if base_path else f"{scheme}://{name}",
                    domain_name=name,
                    base_path=base_path,
                    stage=mapping.get("Stage"),
                    mutual_tls=mutual_tls,
                ),
            )


def _add_domain(api: DiscoveredApi, domain: CustomDomain) -> None:
    # Two routing rules may send one URL to different stages, told apart by headers.
    key = (domain.url, domain.stage, sorted(domain.required_headers.items()))
    for known in api.custom_domains:
        if (known.url, known.stage, sorted(known.required_headers.items())) == key:
            return
    api.custom_domains.append(domain)


# ------------------------------------------------------------------------------ one region
def _with_stages(
    apis: list[DiscoveredApi],
    fetch: Callable[[DiscoveredApi], list[DiscoveredStage]],
    each: Each = one_by_one,
) -> list[DiscoveredApi]:
    def stages_of(api: DiscoveredApi) -> list[DiscoveredStage] | None:
        try:
            return fetch(api)
        except AwsError as exc:
            if exc.failure.code != "not_found":
                raise
            # Deleted between the listing and this request: it no longer exists.
            logger.info("API %s in %s vanished while it was listed", api.api_id, api.region)
            return None

    kept = []
    for api, stages in zip(apis, each(stages_of, apis), strict=True):
        if stages is not None:
            api.stages = stages
            kept.append(api)
    return kept


def list_region(
    *,
    call: Call,
    client_for: ClientFor,
    account_id: str,
    region: str,
    problems: list[AwsFailure] | None = None,
    each: Each = one_by_one,
    out_of_scope: Callable[[DiscoveredApi], str | None] | None = None,
) -> list[DiscoveredApi]:
    """Every API of one account and region, with stages, instance URLs and custom domains.

    A custom domain that cannot be read is left out and its failure appended to `problems`;
    the APIs and the other domains still list (an `aws_timeout` still ends the region).
    `each` lists the APIs' stages (one GetStages per API: most of a large region's calls).
    An API `out_of_scope` gives a reason for is listed with that reason and no stages, domains
    or further calls.
    """
    v1, v2 = client_for("apigateway"), client_for("apigatewayv2")
    rest = [_rest_api(item, account_id, region) for item in _v1_pages(call, v1.get_rest_apis)]
    others = [_v2_api(item, account_id, region) for item in _v2_pages(call, v2.get_apis)]
    excluded: list[DiscoveredApi] = []
    if out_of_scope is not None:
        for api in (*rest, *others):
            api.excluded_by_scope = out_of_scope(api)
        excluded = [api for api in (*rest, *others) if api.excluded_by_scope]
        rest = [api for api in rest if not api.excluded_by_scope]
        others = [api for api in others if not api.excluded_by_scope]
    rest = _with_stages(rest, lambda api: _rest_stages(call, v1, api), each)
    others = _with_stages(others, lambda api: _v2_stages(call, v2, api), each)
    # Custom domains matter only where there are APIs to map to; most regions have none.
    if rest:
        _rest_domains(call, v1, v2, {api.api_id: api for api in rest}, problems)
    if others:
        _v2_domains(call, v2, {api.api_id: api for api in others}, problems)
    return rest + others + excluded


# ------------------------------------------------------------------------------ one API
def describe_api(
    *,
    call: Call,
    client_for: ClientFor,
    account_id: str,
    region: str,
    api_id: str,
    protocol: str | None = None,
) -> DiscoveredApi | None:
    """One API with its stages and instance URLs, or None if it does not exist (any more).

    REST and HTTP/WebSocket API ids share one format, so v1 is asked first, then v2; or v2
    first when the API is known to be one (`protocol` HTTP or WEBSOCKET: an application's),
    which saves a 404 per sync. Custom domains are not looked up here (that lists every
    domain of the region): see add_domains.
    """
    lookups = [_describe_v1, _describe_v2]
    if protocol in ("HTTP", "WEBSOCKET"):
        lookups.reverse()
    for lookup in lookups:
        try:
            return lookup(call, client_for, account_id, region, api_id)
        except AwsError as exc:
            if exc.failure.code != "not_found":
                raise
    return None


def _describe_v1(
    call: Call, client_for: ClientFor, account_id: str, region: str, api_id: str
) -> DiscoveredApi | None:
    v1 = client_for("apigateway")
    api = _rest_api(call(lambda: v1.get_rest_api(restApiId=api_id)), account_id, region)
    found = _with_stages([api], lambda api: _rest_stages(call, v1, api))
    return found[0] if found else None


def _describe_v2(
    call: Call, client_for: ClientFor, account_id: str, region: str, api_id: str
) -> DiscoveredApi | None:
    v2 = client_for("apigatewayv2")
    api = _v2_api(call(lambda: v2.get_api(ApiId=api_id)), account_id, region)
    found = _with_stages([api], lambda api: _v2_stages(call, v2, api))
    return found[0] if found else None


def add_domains(
    *,
    call: Call,
    client_for: ClientFor,
    api: DiscoveredApi,
    problems: list[AwsFailure] | None = None,
) -> None:
    """The custom domain URLs mapped (or routed) to one API; see list_region for `problems`."""
    v2 = client_for("apigatewayv2")
    if api.protocol == "REST":
        _rest_domains(call, client_for("apigateway"), v2, {api.api_id: api}, problems)
    else:
        _v2_domains(call, v2, {api.api_id: api}, problems)
