"""What API Gateway holds in one account and region: REST APIs (v1), HTTP and WebSocket APIs (v2).

Every request goes through a `Call` that the discovery engine provides (it applies the
per-account-and-region quota and the retries), and every listing is followed to its last page
with the largest page size AWS accepts. The order of requests is fixed, so a test can script
them with botocore's Stubber.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from app.integrations.aws.errors import AwsError

logger = logging.getLogger(__name__)

T = TypeVar("T")
ClientFor = Callable[[str], Any]
# Operations with a quota of their own besides the control plane's: AWS's fixed quota for
# GetResources is 5 requests every 2 seconds per account.
GET_RESOURCES = "GetResources"


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


@dataclass
class CustomDomain:
    url: str
    domain_name: str
    base_path: str
    stage: str | None
    # The domain asks callers for a client certificate (mutualTlsAuthentication).
    mutual_tls: bool = False


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

    @property
    def reachable_from(self) -> str:
        """Private APIs answer only inside the customer's VPCs (through an interface endpoint):
        a scanner outside them cannot reach any of their URLs."""
        return "vpc_only" if self.endpoint_type == "PRIVATE" else "internet"

    @property
    def custom_domain_urls(self) -> list[str]:
        return [domain.url for domain in self.custom_domains]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.account_id, self.region, self.api_id)


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


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


def _rest_domains(call: Call, client: Any, apis: dict[str, DiscoveredApi]) -> None:
    domains = _v1_pages(call, client.get_domain_names)
    for domain in domains:
        name = domain["domainName"]
        mappings = _v1_pages(call, client.get_base_path_mappings, domainName=name)
        for mapping in mappings:
            api = apis.get(mapping.get("restApiId", ""))
            if api is None:
                continue
            base_path = mapping.get("basePath") or ""
            base_path = "" if base_path == "(none)" else base_path
            mutual_tls = bool((domain.get("mutualTlsAuthentication") or {}).get("truststoreUri"))
            _add_domain(api, "https", name, base_path, mapping.get("stage"), mutual_tls)


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


def _v2_domains(call: Call, client: Any, apis: dict[str, DiscoveredApi]) -> None:
    domains = _v2_pages(call, client.get_domain_names)
    for domain in domains:
        name = domain["DomainName"]
        mappings = _v2_pages(call, client.get_api_mappings, DomainName=name)
        for mapping in mappings:
            api = apis.get(mapping.get("ApiId", ""))
            if api is not None:
                scheme = "wss" if api.protocol == "WEBSOCKET" else "https"
                mutual_tls = bool(
                    (domain.get("MutualTlsAuthentication") or {}).get("TruststoreUri")
                )
                _add_domain(
                    api,
                    scheme,
                    name,
                    mapping.get("ApiMappingKey") or "",
                    mapping.get("Stage"),
                    mutual_tls,
                )


def _add_domain(
    api: DiscoveredApi,
    scheme: str,
    domain: str,
    base_path: str,
    stage: str | None,
    mutual_tls: bool = False,
) -> None:
    url = f"{scheme}://{domain}/{base_path}" if base_path else f"{scheme}://{domain}"
    if url not in api.custom_domain_urls:
        api.custom_domains.append(
            CustomDomain(
                url=url,
                domain_name=domain,
                base_path=base_path,
                stage=stage,
                mutual_tls=mutual_tls,
            )
        )


# ------------------------------------------------------------------------------ one region
def _with_stages(
    apis: list[DiscoveredApi], fetch: Callable[[DiscoveredApi], list[DiscoveredStage]]
) -> list[DiscoveredApi]:
    kept = []
    for api in apis:
        try:
            api.stages = fetch(api)
        except AwsError as exc:
            if exc.failure.code != "not_found":
                raise
            # Deleted between the listing and this request: it no longer exists.
            logger.info("API %s in %s vanished while it was listed", api.api_id, api.region)
            continue
        kept.append(api)
    return kept


def list_region(
    *, call: Call, client_for: ClientFor, account_id: str, region: str
) -> list[DiscoveredApi]:
    """Every API of one account and region, with stages, instance URLs and custom domains."""
    v1, v2 = client_for("apigateway"), client_for("apigatewayv2")
    rest = [_rest_api(item, account_id, region) for item in _v1_pages(call, v1.get_rest_apis)]
    others = [_v2_api(item, account_id, region) for item in _v2_pages(call, v2.get_apis)]
    rest = _with_stages(rest, lambda api: _rest_stages(call, v1, api))
    others = _with_stages(others, lambda api: _v2_stages(call, v2, api))
    # Custom domains matter only where there are APIs to map to; most regions have none.
    if rest:
        _rest_domains(call, v1, {api.api_id: api for api in rest})
    if others:
        _v2_domains(call, v2, {api.api_id: api for api in others})
    return rest + others


# ------------------------------------------------------------------------------ one API
def describe_api(
    *, call: Call, client_for: ClientFor, account_id: str, region: str, api_id: str
) -> DiscoveredApi | None:
    """One API with its stages and instance URLs, or None if it does not exist (any more).

    REST and HTTP/WebSocket API ids share one format, so v1 is asked first, then v2. Custom
    domains are not looked up here (that lists every domain of the region): see add_domains.
    """
    v1 = client_for("apigateway")
    try:
        item = call(lambda: v1.get_rest_api(restApiId=api_id))
    except AwsError as exc:
        if exc.failure.code != "not_found":
            raise
    else:
        api = _rest_api(item, account_id, region)
        found = _with_stages([api], lambda api: _rest_stages(call, v1, api))
        return found[0] if found else None
    v2 = client_for("apigatewayv2")
    try:
        item = call(lambda: v2.get_api(ApiId=api_id))
    except AwsError as exc:
        if exc.failure.code != "not_found":
            raise
        return None
    api = _v2_api(item, account_id, region)
    found = _with_stages([api], lambda api: _v2_stages(call, v2, api))
    return found[0] if found else None


def add_domains(*, call: Call, client_for: ClientFor, api: DiscoveredApi) -> None:
    """The custom domain URLs mapped to one API."""
    if api.protocol == "REST":
        _rest_domains(call, client_for("apigateway"), {api.api_id: api})
    else:
        _v2_domains(call, client_for("apigatewayv2"), {api.api_id: api})
