"""The engine where moto cannot show it: paging, throttling, denied accounts, disabled regions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.integrations.aws.apigateway import GET_RESOURCES, list_region
from app.integrations.aws.credentials import (
    AwsUserCredentials,
    CentralRoleCredentials,
    ProbeContext,
)
from app.integrations.aws.demo_organization import SeededOrganization
from app.integrations.aws.discovery import DiscoveryEngine, RateLimiter
from app.integrations.aws.sessions import AwsSession
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import IamUser, StubPlan, make_user
from tests.discovery.conftest import create_connection

CREATED = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)


# ------------------------------------------------------------------------------ paging
def _rest(api_id: str) -> dict[str, Any]:
    return {
        "id": api_id,
        "name": f"rest-{api_id}",
        "createdDate": CREATED,
        "endpointConfiguration": {"types": ["REGIONAL"]},
    }


def _v2(api_id: str, protocol: str) -> dict[str, Any]:
    scheme = "wss" if protocol == "WEBSOCKET" else "https"
    return {
        "ApiId": api_id,
        "Name": f"{protocol.lower()}-{api_id}",
        "ProtocolType": protocol,
        "RouteSelectionExpression": "$request.method $request.path",
        "ApiEndpoint": f"{scheme}://{api_id}.execute-api.eu-west-1.amazonaws.com",
        "CreatedDate": CREATED,
    }


def test_every_listing_is_read_to_its_last_page_asking_for_the_largest_pages() -> None:
    # moto returns every item in one page; the Stubber gives AWS's paged answers, and checks
    # that each request carries the previous page's token and the largest page size.
    credentials = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}
    v1 = boto3.client("apigateway", region_name="eu-west-1", **credentials)
    v2 = boto3.client("apigatewayv2", region_name="eu-west-1", **credentials)
    s1, s2 = Stubber(v1), Stubber(v2)
    s1.add_response("get_rest_apis", {"items": [_rest("r1")], "position": "p1"}, {"limit": 500})
    s1.add_response(
        "get_rest_apis",
        {"items": [_rest("r2")], "position": "p2"},
        {"limit": 500, "position": "p1"},
    )
    s1.add_response("get_rest_apis", {"items": [_rest("r3")]}, {"limit": 500, "position": "p2"})
    s2.add_response(
        "get_apis", {"Items": [_v2("h1", "HTTP")], "NextToken": "n1"}, {"MaxResults": "500"}
    )
    s2.add_response(
        "get_apis", {"Items": [_v2("w1", "WEBSOCKET")]}, {"MaxResults": "500", "NextToken": "n1"}
    )
    for api_id in ("r1", "r2", "r3"):
        s1.add_response(
            "get_stages",
            {"item": [{"stageName": "prod", "deploymentId": f"d-{api_id}"}]},
            {"restApiId": api_id},
        )
    s2.add_response(
        "get_stages",
        {"Items": [{"StageName": "$default"}], "NextToken": "s1"},
        {"ApiId": "h1", "MaxResults": "500"},
    )
    s2.add_response(
        "get_stages",
        {"Items": [{"StageName": "v1"}]},
        {"ApiId": "h1", "MaxResults": "500", "NextToken": "s1"},
    )
    s2.add_response(
        "get_stages", {"Items": [{"StageName": "live"}]}, {"ApiId": "w1", "MaxResults": "500"}
    )
    s1.add_response(
        "get_domain_names",
        {"items": [{"domainName": "a.example.com"}], "position": "d1"},
        {"limit": 500},
    )
    s1.add_response(
        "get_domain_names",
        {"items": [{"domainName": "b.example.com"}]},
        {"limit": 500, "position": "d1"},
    )
    s1.add_response(
        "get_base_path_mappings",
        {"items": [{"basePath": "(none)", "restApiId": "r1", "stage": "prod"}]},
        {"domainName": "a.example.com", "limit": 500},
    )
    s1.add_response(
        "get_base_path_mappings",
        {"items": [{"basePath": "orders", "restApiId": "r2", "stage": "prod"}], "position": "m1"},
        {"domainName": "b.example.com", "limit": 500},
    )
    s1.add_response(
        "get_base_path_mappings",
        {"items": [{"basePath": "x", "restApiId": "in-another-region", "stage": "prod"}]},
        {"domainName": "b.example.com", "limit": 500, "position": "m1"},
    )
    s2.add_response(
        "get_domain_names",
        {"Items": [{"DomainName": "api.example.com"}], "NextToken": "v2d1"},
        {"MaxResults": "500"},
    )
    s2.add_response(
        "get_domain_names",
        {"Items": [{"DomainName": "chat.example.com"}]},
        {"MaxResults": "500", "NextToken": "v2d1"},
    )
    s2.add_response(
        "get_api_mappings",
        {"Items": [{"ApiId": "h1", "ApiMappingKey": "", "Stage": "$default"}], "NextToken": "am"},
        {"DomainName": "api.example.com", "MaxResults": "500"},
    )
    s2.add_response(
        "get_api_mappings",
        {"Items": [{"ApiId": "h1", "ApiMappingKey": "v1", "Stage": "v1"}]},
        {"DomainName": "api.example.com", "MaxResults": "500", "NextToken": "am"},
    )
    s2.add_response(
        "get_api_mappings",
        {"Items": [{"ApiId": "w1", "ApiMappingKey": "live", "Stage": "live"}]},
        {"DomainName": "chat.example.com", "MaxResults": "500"},
    )
    calls: list[str] = []

    def call(fetch: Any, /, *, quota: str | None = None) -> Any:
        calls.append("call")
        return fetch()

    with s1, s2:
        found = list_region(
            call=call,
            client_for={"apigateway": v1, "apigatewayv2": v2}.__getitem__,
            account_id="111122223333",
            region="eu-west-1",
        )
        s1.assert_no_pending_responses()
        s2.assert_no_pending_responses()

    by_id = {api.api_id: api for api in found}
    assert sorted(by_id) == ["h1", "r1", "r2", "r3", "w1"]
    assert by_id["r1"].custom_domain_urls == ["https://a.example.com"]
    assert by_id["r2"].custom_domain_urls == ["https://b.example.com/orders"]
    assert by_id["r3"].custom_domain_urls == []
    assert [s.name for s in by_id["h1"].stages] == ["$default", "v1"]
    assert by_id["h1"].custom_domain_urls == [
        "https://api.example.com",
        "https://api.example.com/v1",
    ]
    assert by_id["w1"].custom_domain_urls == ["wss://chat.example.com/live"]
    assert by_id["w1"].stages[0].instance_urls == [
        "wss://w1.execute-api.eu-west-1.amazonaws.com/live"
    ]
    assert len(calls) == 21  # every request went through the engine's quota


# ------------------------------------------------------------------------------ quota
def test_the_rate_limiter_allows_a_burst_then_ten_a_second_per_account_and_region() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))

    limiter = RateLimiter(10, 40, clock=lambda: now[0], sleep=sleep)
    for _ in range(40):
        limiter.acquire(("a", "us-east-1"))
    assert slept == []
    limiter.acquire(("a", "us-east-1"))
    limiter.acquire(("a", "us-east-1"))
    assert slept == [0.1, 0.2]
    limiter.acquire(("a", "eu-west-1"))  # another region has its own quota
    limiter.acquire(("b", "us-east-1"))  # and so has another account
    assert slept == [0.1, 0.2]
    now[0] = 10.0
    limiter.acquire(("a", "us-east-1"))
    assert slept == [0.1, 0.2]
    limiter.drain(("a", "us-east-1"))
    limiter.acquire(("a", "us-east-1"))
    assert slept == [0.1, 0.2, 0.1]


def test_throttling_is_retried_until_the_listing_gets_through(
    platform_user: IamUser, throttling_apigateway: Any, retry_sleeps: list[float]
) -> None:
    # More throttles in a row than botocore's 5 attempts: the engine waits and tries again.
    throttling_apigateway.throttles_left = 7
    reader = make_user("reader")
    engine_sleeps: list[float] = []
    engine = DiscoveryEngine(max_in_flight=4, sleep=engine_sleeps.append)
    spec = AwsUserCredentials(
        access_key_id=reader.access_key_id, secret_access_key=reader.secret_access_key
    )
    context = ProbeContext(platform=AwsSession.platform, tenant_external_id="unused")

    result = engine.discover(spec, context, regions=["us-east-1"])

    assert [(o.region, o.status, o.error) for o in result.outcomes] == [("us-east-1", "ok", None)]
    assert throttling_apigateway.requests == 8
    # One back-off of a second or more, then the quota's pacing from an emptied bucket.
    assert engine_sleeps[0] >= 1.0
    assert all(wait <= 0.25 for wait in engine_sleeps[1:])
    assert engine.clients.throttles == 7


# ------------------------------------------------------------------------------ partial failure
def _children_answered_by_moto_except(
    org: SeededOrganization, external_id: str, denied: str
) -> StubPlan:
    """The central role's STS answers in ListAccounts order: real moto credentials for every
    account (fetched beforehand), AccessDenied for `denied` (moto never refuses AssumeRole)."""
    accounts = [a["Id"] for a in boto3.client("organizations").list_accounts()["Accounts"]]
    central = boto3.client("sts").assume_role(
        RoleArn=org.central_role_arn, RoleSessionName="test", ExternalId=external_id
    )["Credentials"]
    as_central = boto3.client(
        "sts",
        aws_access_key_id=central["AccessKeyId"],
        aws_secret_access_key=central["SecretAccessKey"],
        aws_session_token=central["SessionToken"],
    )
    answers: list[tuple[str, dict[str, Any] | None]] = []
    for account_id in accounts:
        role_arn = f"arn:aws:iam::{account_id}:role/APIsecChildRole"
        if account_id == denied:
            answers.append((role_arn, None))
        else:
            credentials = as_central.assume_role(RoleArn=role_arn, RoleSessionName="test")
            answers.append((role_arn, {"Credentials": credentials["Credentials"]}))

    def plan(stubber: Stubber) -> None:
        for role_arn, answer in answers:
            expected = {
                "RoleArn": role_arn,
                "RoleSessionName": "APIsec-Onboarder",
                "DurationSeconds": 3600,
                "ExternalId": external_id,
            }
            if answer is None:
                stubber.add_client_error(
                    "assume_role",
                    service_error_code="AccessDenied",
                    http_status_code=403,
                    service_message=f"not authorized to perform: sts:AssumeRole on {role_arn}",
                    expected_params=expected,
                )
            else:
                stubber.add_response("assume_role", answer, expected)

    return plan


def _disabled_region(reachable_accounts: int) -> StubPlan:
    """AWS's answer in an opt-in region the account has not enabled: the token is unknown."""

    def plan(stubber: Stubber) -> None:
        for _ in range(reachable_accounts):
            stubber.add_client_error(
                "get_rest_apis",
                service_error_code="UnrecognizedClientException",
                service_message="The security token included in the request is invalid.",
                http_status_code=403,
            )

    return plan


def test_a_denied_account_and_a_disabled_region_do_not_stop_the_rest(
    tenant: TenantWithKey,
    org: SeededOrganization,
    platform_user: IamUser,
    stub_service: dict[str, StubPlan],
) -> None:
    external_id = tenant.tenant.external_id
    denied = org.account_id_named("shop-staging")
    stub_service[f"sts@{org.central_role_arn}"] = _children_answered_by_moto_except(
        org, external_id, denied
    )
    stub_service["apigateway@af-south-1"] = _disabled_region(reachable_accounts=4)
    engine = DiscoveryEngine(max_in_flight=1)
    context = ProbeContext(
        platform=AwsSession.platform,
        tenant_external_id=external_id,
        platform_principal_arn=platform_user.arn,
    )
    spec = CentralRoleCredentials(central_role_arn=org.central_role_arn)

    result = engine.discover(spec, context, regions=["us-east-1", "eu-west-1", "af-south-1"])

    accounts = {a.account_id: a for a in result.accounts}
    denied_error = accounts[denied].error
    assert accounts[denied].reachable is False
    assert denied_error is not None
    assert denied_error.code == "role_not_assumable"
    expected = {api.api_id for api in org.apis if api.account_id != denied}
    assert {api.api_id for api in result.apis} == expected
    statuses = {(o.account_id, o.region): o.status for o in result.outcomes}
    reachable = [a for a in accounts if a != denied]
    assert len(reachable) == 4
    for account_id in reachable:
        assert statuses[(account_id, "us-east-1")] == "ok"
        assert statuses[(account_id, "eu-west-1")] == "ok"
        assert statuses[(account_id, "af-south-1")] == "not_enabled"
    assert not any(o.account_id == denied for o in result.outcomes)


def test_the_http_answer_reports_the_denied_account_beside_the_apis_found(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    single_worker: None,
    stub_service: dict[str, StubPlan],
) -> None:
    denied = org.account_id_named("shop-staging")
    stub_service[f"sts@{org.central_role_arn}"] = _children_answered_by_moto_except(
        org, tenant.tenant.external_id, denied
    )
    body = client.get(
        f"/api/v1/connections/{central}/apis",
        params={"region": "us-east-1"},
        headers=tenant.headers,
    ).json()

    assert {api["name"] for api in body["items"]} == {
        api.name for api in org.apis if api.region == "us-east-1" and api.account_id != denied
    }
    assert [(e["account_id"], e["region"], e["code"]) for e in body["errors"]] == [
        (denied, None, "role_not_assumable")
    ]
    assert "trust policy" in body["errors"][0]["hint"]


@pytest.fixture
def role_connection(client: TestClient, tenant: TenantWithKey, org: SeededOrganization) -> str:
    return create_connection(
        client, tenant, name="role", credential_type="assume_role", role_arn=org.assume_role_arn
    )


def test_regions_report_an_opt_in_region_that_is_not_enabled(
    client: TestClient,
    tenant: TenantWithKey,
    role_connection: str,
    stub_service: dict[str, StubPlan],
    app: FastAPI,
) -> None:
    stub_service["apigateway@af-south-1"] = _disabled_region(reachable_accounts=1)
    body = client.get(
        f"/api/v1/connections/{role_connection}/regions", headers=tenant.headers
    ).json()

    regions = {r["region"]: r for r in body["items"]}
    assert regions["us-east-1"] == {
        "region": "us-east-1",
        "opt_in": False,
        "enabled": True,
        "error": None,
    }
    assert regions["af-south-1"]["enabled"] is False
    assert regions["af-south-1"]["error"]["code"] == "region_not_enabled"
    assert "Account > AWS Regions" in regions["af-south-1"]["error"]["hint"]
    assert regions["eu-south-1"]["opt_in"] is True
    assert regions["eu-south-1"]["enabled"] is True  # moto answers there
    assert len(regions) >= 30


def test_get_resources_has_its_own_quota_per_account_beside_the_control_plane() -> None:
    """AWS's fixed quota for GetResources is 5 requests every 2 seconds per account: past a
    burst of 5, each waits 0.4 s more, whatever the region, while other calls go on."""
    slept: list[float] = []
    engine = DiscoveryEngine(sleep=lambda seconds: slept.append(round(seconds, 1)))
    in_ireland = engine._caller("111122223333", "eu-west-1")
    in_virginia = engine._caller("111122223333", "us-east-1")
    elsewhere = engine._caller("444455556666", "eu-west-1")

    for _ in range(5):
        in_ireland(lambda: {}, quota=GET_RESOURCES)
    assert slept == []
    in_ireland(lambda: {}, quota=GET_RESOURCES)
    in_virginia(lambda: {}, quota=GET_RESOURCES)  # the same account: the same quota
    assert slept == [0.4, 0.8]
    in_ireland(lambda: {})  # GetRestApis and the rest are not held back by it
    elsewhere(lambda: {}, quota=GET_RESOURCES)  # nor is another account
    assert slept == [0.4, 0.8]
