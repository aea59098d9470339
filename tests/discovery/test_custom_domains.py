"""Custom domains as AWS has them: private domains, routing rules and routing modes,
mappings without a stage, and one domain's failure that leaves the region listed.

moto models none of private custom domains (`domainNameId`), routing modes or routing rules
(apigatewayv2 ListRoutingRules): those answers are given here as AWS gives them with the
`aws_answers` fixture (validated against botocore's service model, like a Stubber) while moto
answers everything else, or with botocore's Stubber where `list_region` is called directly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from fastapi.testclient import TestClient

from app.integrations.aws.apigateway import dns_suffix, execute_api_host, list_region
from app.integrations.aws.demo_organization import SeededOrganization
from app.integrations.aws.errors import AwsError, AwsFailure, CallContext, classify
from tests.conftest import TenantWithKey
from tests.discovery.test_discovery_apis import apis, by_name

Answers = dict[tuple[str, str], Callable[[dict[str, Any]], Any]]
SHOP_DOMAIN = "api.example-shop.com"  # moto holds it: base path v1 -> shop-storefront-api prod


def not_found(operation: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "NotFoundException", "Message": "Invalid domain name identifier"},
            "ResponseMetadata": {"HTTPStatusCode": 404},
        },
        operation,
    )


def recorded(
    requests: list[dict[str, Any]], answer: Callable[[dict[str, Any]], Any] = lambda _: None
) -> Callable[[dict[str, Any]], Any]:
    """Keeps each request's parameters; the answer None lets moto answer."""

    def answer_for(params: dict[str, Any]) -> Any:
        requests.append(params)
        return answer(params)

    return answer_for


def shop_apis(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> Any:
    body = apis(
        client,
        tenant,
        central,
        region="us-east-1",
        account_id=org.api_named("shop-storefront-api").account_id,
    )
    assert body["errors"] == []
    return by_name(body)


def rule(
    rule_id: str,
    priority: int,
    api_id: str,
    stage: str,
    *,
    base_path: str | None = None,
    strip: bool = True,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = []
    if base_path is not None:
        conditions.append({"MatchBasePaths": {"AnyOf": [base_path]}})
    for header, glob in (headers or {}).items():
        conditions.append({"MatchHeaders": {"AnyOf": [{"Header": header, "ValueGlob": glob}]}})
    return {
        "RoutingRuleId": rule_id,
        "RoutingRuleArn": f"arn:aws:apigateway:us-east-1::/domainnames/x/routingrules/{rule_id}",
        "Priority": priority,
        "Conditions": conditions,
        "Actions": [{"InvokeApi": {"ApiId": api_id, "Stage": stage, "StripBasePath": strip}}],
    }


def shop_domain_routed(aws_answers: Answers, mode: str, endpoint: str = "EDGE") -> None:
    """GetDomainNames answers the shop's domain (moto holds its mapping) in a routing mode,
    as AWS answers it (moto has no routing modes)."""
    aws_answers[("apigateway", "GetDomainNames")] = lambda _: {
        "items": [
            {
                "domainName": SHOP_DOMAIN,
                "routingMode": mode,
                "endpointConfiguration": {"types": [endpoint]},
            }
        ]
    }


def domain_view(domain: dict[str, Any]) -> tuple[Any, ...]:
    return (
        domain["url"],
        domain["stage"],
        domain["routing_rule_id"],
        domain["priority"],
        domain["required_headers"],
    )


# ------------------------------------------------------------------------------ private domains
def test_a_private_custom_domain_is_read_with_its_id_and_is_reachable_from_the_vpc_only(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    private_api = org.api_named("payments-internal-api")
    aws_answers[("apigateway", "GetDomainNames")] = lambda _: {
        "items": [
            {
                "domainName": "payments.internal.example.com",
                "domainNameId": "a1b2c3",
                "endpointConfiguration": {"types": ["PRIVATE"]},
            },
            {"domainName": "gone.example.com", "endpointConfiguration": {"types": ["REGIONAL"]}},
        ]
    }

    def mappings(params: dict[str, Any]) -> Any:
        if params["domainName"] == "gone.example.com":
            raise not_found("GetBasePathMappings")
        if params.get("domainNameId") != "a1b2c3":
            raise not_found("GetBasePathMappings")  # what AWS answers without the id
        return {"items": [{"basePath": "(none)", "restApiId": private_api.api_id, "stage": "prod"}]}

    requests: list[dict[str, Any]] = []
    aws_answers[("apigateway", "GetBasePathMappings")] = recorded(requests, mappings)

    body = apis(client, tenant, central, region="eu-west-1", account_id=private_api.account_id)

    assert [(r["domainName"], r.get("domainNameId")) for r in requests] == [
        ("payments.internal.example.com", "a1b2c3"),
        ("gone.example.com", None),
    ]
    # The domain that could not be read leaves the region's APIs listed.
    found = by_name(body)
    assert set(found) == {a.name for a in org.apis_in(private_api.account_id, "eu-west-1")}
    # ... and is said in the answer's errors, with the region it is in.
    assert [(e["account_id"], e["region"], e["code"]) for e in body["errors"]] == [
        (private_api.account_id, "eu-west-1", "not_found")
    ]
    assert body["errors"][0]["message"].startswith("The custom domain gone.example.com")
    api = found["payments-internal-api"]
    assert api["custom_domain_urls"] == ["https://payments.internal.example.com"]
    assert api["custom_domains"] == [
        {
            "url": "https://payments.internal.example.com",
            "domain_name": "payments.internal.example.com",
            "base_path": "",
            "stage": "prod",
            "mutual_tls": False,
            "reachable_from": "vpc_only",
            "routing_rule_id": None,
            "priority": None,
            "required_headers": {},
        }
    ]


def _scripted_call(fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None) -> Any:
    try:
        return fetch()
    except ClientError as exc:
        raise AwsError(classify(exc, CallContext(action="apigateway:GET"))) from exc


def _stubbed_region() -> tuple[Any, Any, Stubber, Stubber]:
    credentials = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}
    v1 = boto3.client("apigateway", region_name="eu-west-1", **credentials)
    v2 = boto3.client("apigatewayv2", region_name="eu-west-1", **credentials)
    s1, s2 = Stubber(v1), Stubber(v2)
    api = {"id": "r1", "name": "orders", "endpointConfiguration": {"types": ["REGIONAL"]}}
    s1.add_response("get_rest_apis", {"items": [api]}, {"limit": 500})
    s2.add_response("get_apis", {"Items": []}, {"MaxResults": "500"})
    s1.add_response("get_stages", {"item": [{"stageName": "prod"}]}, {"restApiId": "r1"})
    s1.add_response(
        "get_domain_names",
        {"items": [{"domainName": "gone.example.com"}, {"domainName": "ok.example.com"}]},
        {"limit": 500},
    )
    return v1, v2, s1, s2


def test_a_domain_that_cannot_be_read_is_a_problem_of_the_region_not_its_failure() -> None:
    """Stubber: GetBasePathMappings answers 404 for one domain, as AWS does for a domain
    deleted while it was listed (or a private one asked for without its id)."""
    v1, v2, s1, s2 = _stubbed_region()
    s1.add_client_error(
        "get_base_path_mappings",
        "NotFoundException",
        "Invalid domain name identifier specified",
        404,
        expected_params={"domainName": "gone.example.com", "limit": 500},
    )
    s1.add_response(
        "get_base_path_mappings",
        {"items": [{"basePath": "(none)", "restApiId": "r1", "stage": "prod"}]},
        {"domainName": "ok.example.com", "limit": 500},
    )
    problems: list[AwsFailure] = []

    with s1, s2:
        found = list_region(
            call=_scripted_call,
            client_for={"apigateway": v1, "apigatewayv2": v2}.__getitem__,
            account_id="111122223333",
            region="eu-west-1",
            problems=problems,
        )
        s1.assert_no_pending_responses()

    assert [api.api_id for api in found] == ["r1"]
    assert found[0].custom_domain_urls == ["https://ok.example.com"]
    assert [problem.code for problem in problems] == ["not_found"]
    assert problems[0].message.startswith("The custom domain gone.example.com could not be read")


def test_a_timeout_on_a_domain_still_ends_the_region() -> None:
    """Stubber: the region's deadline passes at the first GetBasePathMappings."""
    v1, v2, s1, s2 = _stubbed_region()
    timeout = AwsFailure(code="aws_timeout", message="Gave up on eu-west-1.", hint="Retry.")
    seen: list[str] = []

    def timing_out(fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None) -> Any:
        seen.append("call")
        if len(seen) == 5:  # the first GetBasePathMappings
            raise AwsError(timeout)
        return fetch()

    problems: list[AwsFailure] = []
    with s1, s2, pytest.raises(AwsError) as raised:
        list_region(
            call=timing_out,
            client_for={"apigateway": v1, "apigatewayv2": v2}.__getitem__,
            account_id="111122223333",
            region="eu-west-1",
            problems=problems,
        )
    assert raised.value.failure.code == "aws_timeout"
    assert problems == []


# ------------------------------------------------------------------------------ routing rules
def test_a_routing_rule_only_domain_offers_its_rules_urls_and_no_mappings(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    storefront = org.api_named("shop-storefront-api").api_id
    shop_domain_routed(aws_answers, "ROUTING_RULE_ONLY")
    pages = {
        None: {
            "RoutingRules": [
                rule("main", 20, storefront, "prod", base_path="v1"),
                rule("beta", 10, storefront, "staging", base_path="v1", headers={"x-beta": "yes*"}),
            ],
            "NextToken": "page2",
        },
        "page2": {
            "RoutingRules": [
                rule("all", 30, storefront, "dev", base_path="v1", strip=False),
                rule("elsewhere", 40, "notlisted", "prod"),
            ]
        },
    }
    rule_requests: list[dict[str, Any]] = []
    aws_answers[("apigatewayv2", "ListRoutingRules")] = recorded(
        rule_requests, lambda params: pages[params.get("NextToken")]
    )
    mapping_requests: list[dict[str, Any]] = []
    aws_answers[("apigateway", "GetBasePathMappings")] = recorded(mapping_requests)
    # The HTTP API's domain routes by rules only too: its API mappings are off.
    aws_answers[("apigatewayv2", "GetDomainNames")] = lambda _: {
        "Items": [{"DomainName": "catalog.example-shop.com", "RoutingMode": "ROUTING_RULE_ONLY"}]
    }
    api_mapping_requests: list[dict[str, Any]] = []
    aws_answers[("apigatewayv2", "GetApiMappings")] = recorded(api_mapping_requests)

    found = shop_apis(client, tenant, org, central)

    assert rule_requests == [
        {"DomainName": SHOP_DOMAIN, "MaxResults": 100},
        {"DomainName": SHOP_DOMAIN, "MaxResults": 100, "NextToken": "page2"},
    ]
    assert mapping_requests == []
    assert api_mapping_requests == []
    api = found["shop-storefront-api"]
    assert api["custom_domain_urls"] == [f"https://{SHOP_DOMAIN}/v1", f"https://{SHOP_DOMAIN}"]
    assert [domain_view(d) for d in api["custom_domains"]] == [
        (f"https://{SHOP_DOMAIN}/v1", "staging", "beta", 10, {"x-beta": "yes*"}),
        (f"https://{SHOP_DOMAIN}/v1", "prod", "main", 20, {}),
        # Without StripBasePath the stage receives the full path: its root is the domain's.
        (f"https://{SHOP_DOMAIN}", "dev", "all", 30, {}),
    ]
    assert {d["base_path"] for d in api["custom_domains"]} == {"v1"}
    assert {d["reachable_from"] for d in api["custom_domains"]} == {"internet"}
    assert found["shop-catalog-api"]["custom_domain_urls"] == []


def test_a_mapping_that_repeats_a_rule_is_listed_once(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    storefront = org.api_named("shop-storefront-api").api_id
    shop_domain_routed(aws_answers, "ROUTING_RULE_THEN_BASE_PATH_MAPPING")
    aws_answers[("apigatewayv2", "ListRoutingRules")] = lambda _: {
        "RoutingRules": [
            rule("beta", 5, storefront, "staging", base_path="v1", headers={"x-beta": "1"}),
            rule("same-as-mapping", 6, storefront, "prod", base_path="v1"),
        ]
    }
    mapping_requests: list[dict[str, Any]] = []
    aws_answers[("apigateway", "GetBasePathMappings")] = recorded(mapping_requests)  # moto's

    api = shop_apis(client, tenant, org, central)["shop-storefront-api"]

    assert [r["domainName"] for r in mapping_requests] == [SHOP_DOMAIN]
    assert api["custom_domain_urls"] == [f"https://{SHOP_DOMAIN}/v1"]
    # The mapping v1 -> prod gives what the second rule gives already: listed once.
    assert [domain_view(d) for d in api["custom_domains"]] == [
        (f"https://{SHOP_DOMAIN}/v1", "staging", "beta", 5, {"x-beta": "1"}),
        (f"https://{SHOP_DOMAIN}/v1", "prod", "same-as-mapping", 6, {}),
    ]


def test_rules_then_mappings_adds_the_mapping_urls_after_the_rules(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    storefront = org.api_named("shop-storefront-api").api_id
    shop_domain_routed(aws_answers, "ROUTING_RULE_THEN_BASE_PATH_MAPPING")
    aws_answers[("apigatewayv2", "ListRoutingRules")] = lambda _: {
        "RoutingRules": [rule("beta", 5, storefront, "staging", headers={"x-beta": "1"})]
    }

    api = shop_apis(client, tenant, org, central)["shop-storefront-api"]

    assert api["custom_domain_urls"] == [f"https://{SHOP_DOMAIN}", f"https://{SHOP_DOMAIN}/v1"]
    assert [domain_view(d) for d in api["custom_domains"]] == [
        (f"https://{SHOP_DOMAIN}", "staging", "beta", 5, {"x-beta": "1"}),
        (f"https://{SHOP_DOMAIN}/v1", "prod", None, None, {}),
    ]


# ------------------------------------------------------------------------------ mappings
def test_a_mapping_without_a_stage_offers_one_url_per_stage(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    aws_answers: Answers,
) -> None:
    storefront = org.api_named("shop-storefront-api").api_id
    aws_answers[("apigateway", "GetDomainNames")] = lambda _: {
        "items": [{"domainName": SHOP_DOMAIN}, {"domainName": "root.example-shop.com"}]
    }
    aws_answers[("apigateway", "GetBasePathMappings")] = lambda params: {
        "items": [
            {
                "basePath": "shop" if params["domainName"] == SHOP_DOMAIN else "(none)",
                "restApiId": storefront,
            }
        ]
    }

    api = shop_apis(client, tenant, org, central)["shop-storefront-api"]

    assert [(d["url"], d["stage"], d["base_path"]) for d in api["custom_domains"]] == [
        (f"https://{SHOP_DOMAIN}/shop/dev", "dev", "shop"),
        (f"https://{SHOP_DOMAIN}/shop/prod", "prod", "shop"),
        (f"https://{SHOP_DOMAIN}/shop/staging", "staging", "shop"),
        ("https://root.example-shop.com/dev", "dev", ""),
        ("https://root.example-shop.com/prod", "prod", ""),
        ("https://root.example-shop.com/staging", "staging", ""),
    ]


# ------------------------------------------------------------------------------ DNS suffix
@pytest.mark.parametrize(
    ("region", "suffix"),
    [
        ("us-east-1", "amazonaws.com"),
        ("cn-north-1", "amazonaws.com.cn"),
        ("cn-northwest-1", "amazonaws.com.cn"),
        ("us-gov-west-1", "amazonaws.com"),
        ("us-iso-east-1", "c2s.ic.gov"),
        ("us-isob-east-1", "sc2s.sgov.gov"),
        ("ap-southeast-9", "amazonaws.com"),  # not yet in botocore: the aws partition's pattern
        ("nowhere-1", "amazonaws.com"),
    ],
)
def test_the_dns_suffix_is_the_region_partitions(region: str, suffix: str) -> None:
    assert dns_suffix(region) == suffix
    assert execute_api_host("abc", region) == f"abc.execute-api.{region}.{suffix}"
