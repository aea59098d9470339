"""The demo organization exists in moto exactly as its description says."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from app.integrations.aws.demo_organization import (
    SeededApi,
    SeededOrganization,
    seed_demo_organization,
)

PLATFORM_PRINCIPAL = "arn:aws:iam::999988887777:role/apisec-platform"
EXTERNAL_ID = "onboarder-test-external-id"


def _use_fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    # moto would otherwise build ~2,500 fake AMIs per EC2 region; nothing here needs them.
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def _seed() -> SeededOrganization:
    return seed_demo_organization(
        platform_principal_arn=PLATFORM_PRINCIPAL, external_id=EXTERNAL_ID
    )


@pytest.fixture
def org(monkeypatch: pytest.MonkeyPatch) -> Iterator[SeededOrganization]:
    _use_fake_aws_env(monkeypatch)
    with mock_aws():
        yield _seed()


Creds = dict[str, str]


def _client(service: str, creds: Creds | None = None, region: str = "us-east-1") -> Any:
    if creds is None:
        return boto3.client(service, region_name=region)
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken"),
    )


def _assume(role_arn: str, creds: Creds | None = None, external_id: str | None = None) -> Creds:
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "onboarder-test"}
    if external_id is not None:
        kwargs["ExternalId"] = external_id
    credentials: Creds = _client("sts", creds).assume_role(**kwargs)["Credentials"]
    return credentials


def _child_creds(org: SeededOrganization, account_id: str) -> Creds:
    """Central role (as the platform does, with the external id), then the child role."""
    central = _assume(org.central_role_arn, external_id=EXTERNAL_ID)
    return _assume(f"arn:aws:iam::{account_id}:role/{org.child_role_name}", central)


def _only(apis: list[SeededApi]) -> SeededApi:
    assert len(apis) == 1, apis
    return apis[0]


def test_organization_has_management_and_member_accounts(org: SeededOrganization) -> None:
    orgs = _client("organizations")
    assert orgs.describe_organization()["Organization"]["MasterAccountId"] == (
        org.management_account_id
    )
    accounts = {a["Id"]: a for a in orgs.list_accounts()["Accounts"]}
    assert len(org.member_account_ids) >= 3
    assert len(accounts) == 1 + len(org.member_account_ids)
    assert set(accounts) == {org.management_account_id, *org.member_account_ids}
    for name, account_id in zip(org.member_account_names, org.member_account_ids, strict=True):
        assert accounts[account_id]["Name"] == name
        assert org.account_id_named(name) == account_id
    assert org.accounts_without_child_role == (org.management_account_id,)
    assert org.central_role_arn == (
        f"arn:aws:iam::{org.management_account_id}:role/APIsecCentralRole"
    )
    assert org.child_role_name == "APIsecChildRole"

    central = _client("iam").get_role(RoleName="APIsecCentralRole")["Role"]
    (statement,) = central["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": PLATFORM_PRINCIPAL}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    # StackSets never deploy the child role into the management account.
    with pytest.raises(ClientError) as missing:
        _client("iam").get_role(RoleName=org.child_role_name)
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"


def test_apis_are_spread_over_accounts_and_regions(org: SeededOrganization) -> None:
    assert len(org.regions) >= 2
    assert {api.region for api in org.apis} == set(org.regions)
    assert {api.protocol for api in org.apis} == {"REST", "HTTP", "WEBSOCKET"}
    rest_types = sorted(api.endpoint_type for api in org.apis if api.protocol == "REST")
    assert set(rest_types) == {"EDGE", "REGIONAL", "PRIVATE"}
    assert {api.account_id for api in org.apis} < set(org.member_account_ids)
    empty = [
        (account, region)
        for account in org.member_account_ids
        for region in org.regions
        if not org.apis_in(account, region)
    ]
    assert empty, "some account-regions should have no APIs"
    assert sum(len(org.apis_in(a, r)) for a in org.member_account_ids for r in org.regions) == (
        len(org.apis)
    )
    assert len({api.name for api in org.apis}) == len(org.apis)
    assert all(api.stages for api in org.apis)


def test_child_role_chain_sees_exactly_the_described_apis(org: SeededOrganization) -> None:
    for account_id in org.member_account_ids:
        creds = _child_creds(org, account_id)
        assert _client("sts", creds).get_caller_identity()["Account"] == account_id
        role = _client("iam", creds).get_role(RoleName=org.child_role_name)["Role"]
        (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"AWS": org.central_role_arn}
        for region in org.regions:
            described = org.apis_in(account_id, region)
            rest = _client("apigateway", creds, region).get_rest_apis()["items"]
            v2 = _client("apigatewayv2", creds, region).get_apis()["Items"]
            assert {(a["id"], a["name"], a["endpointConfiguration"]["types"][0]) for a in rest} == {
                (a.api_id, a.name, a.endpoint_type) for a in described if a.protocol == "REST"
            }
            assert {(a["ApiId"], a["Name"], a["ProtocolType"]) for a in v2} == {
                (a.api_id, a.name, a.protocol) for a in described if a.protocol != "REST"
            }
            for api in described:
                if api.protocol == "REST":
                    stages = _client("apigateway", creds, region).get_stages(restApiId=api.api_id)
                    actual = {(s["stageName"], s["deploymentId"]) for s in stages["item"]}
                else:
                    stages = _client("apigatewayv2", creds, region).get_stages(ApiId=api.api_id)
                    actual = {(s["StageName"], "") for s in stages["Items"]}
                assert actual == {(s.name, s.deployment_id) for s in api.stages}


def test_rest_api_methods_authorizers_and_stages(org: SeededOrganization) -> None:
    edge = org.api_named("shop-storefront-api")
    assert edge.endpoint_type == "EDGE"
    assert set(edge.stage_names) == {"prod", "staging", "dev"}
    for api in (a for a in org.apis if a.protocol == "REST"):
        apigw = _client("apigateway", _child_creds(org, api.account_id), api.region)
        resources = {r["path"]: r["id"] for r in apigw.get_resources(restApiId=api.api_id)["items"]}
        assert {"/products", "/orders", "/orders/{id}"} <= set(resources)
        products = apigw.get_method(
            restApiId=api.api_id, resourceId=resources["/products"], httpMethod="GET"
        )
        assert products["authorizationType"] == "NONE"
        assert products["methodIntegration"]["type"] == "MOCK"
        orders = apigw.get_method(
            restApiId=api.api_id, resourceId=resources["/orders"], httpMethod="POST"
        )
        assert orders["apiKeyRequired"] is True
        authorizer = apigw.get_authorizer(restApiId=api.api_id, authorizerId=orders["authorizerId"])
        assert (orders["authorizationType"], authorizer["type"]) in {
            ("COGNITO_USER_POOLS", "COGNITO_USER_POOLS"),
            ("CUSTOM", "TOKEN"),
        }
        order = apigw.get_method(
            restApiId=api.api_id, resourceId=resources["/orders/{id}"], httpMethod="GET"
        )
        assert order["authorizationType"] == "AWS_IAM"
        deployments = apigw.get_deployments(restApiId=api.api_id)["items"]
        assert {d["id"] for d in deployments} == {s.deployment_id for s in api.stages}


def test_private_api_uses_the_two_described_vpc_endpoints(org: SeededOrganization) -> None:
    private = _only([a for a in org.apis if a.endpoint_type == "PRIVATE"])
    assert private.protocol == "REST"
    assert len(private.vpc_endpoint_ids) == 2
    assert all(not a.vpc_endpoint_ids for a in org.apis if a is not private)

    creds = _child_creds(org, private.account_id)
    api = _client("apigateway", creds, private.region).get_rest_api(restApiId=private.api_id)
    assert api["endpointConfiguration"]["types"] == ["PRIVATE"]
    assert sorted(api["endpointConfiguration"]["vpcEndpointIds"]) == sorted(
        private.vpc_endpoint_ids
    )
    endpoints = _client("ec2", creds, private.region).describe_vpc_endpoints(
        VpcEndpointIds=list(private.vpc_endpoint_ids)
    )["VpcEndpoints"]
    assert len(endpoints) == 2
    for endpoint in endpoints:
        assert endpoint["ServiceName"] == f"com.amazonaws.{private.region}.execute-api"
        assert endpoint["VpcEndpointType"] == "Interface"


def test_http_and_websocket_apis(org: SeededOrganization) -> None:
    http_apis = [a for a in org.apis if a.protocol == "HTTP"]
    assert len(http_apis) >= 2
    default = _only([a for a in http_apis if "$default" in a.stage_names])
    named = [a for a in http_apis if "v1" in a.stage_names]
    assert named

    v2 = _client("apigatewayv2", _child_creds(org, default.account_id), default.region)
    (stage,) = v2.get_stages(ApiId=default.api_id)["Items"]
    assert stage["StageName"] == "$default"
    assert stage["AutoDeploy"] is True
    routes = {r["RouteKey"]: r for r in v2.get_routes(ApiId=default.api_id)["Items"]}
    assert set(routes) == {"GET /items", "POST /items"}
    assert routes["GET /items"]["AuthorizationType"] == "NONE"
    assert routes["POST /items"]["AuthorizationType"] == "JWT"
    authorizer = v2.get_authorizer(
        ApiId=default.api_id, AuthorizerId=routes["POST /items"]["AuthorizerId"]
    )
    assert authorizer["AuthorizerType"] == "JWT"
    assert authorizer["JwtConfiguration"]["Issuer"].startswith("https://")

    websocket = _only([a for a in org.apis if a.protocol == "WEBSOCKET"])
    v2 = _client("apigatewayv2", _child_creds(org, websocket.account_id), websocket.region)
    api = v2.get_api(ApiId=websocket.api_id)
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["RouteSelectionExpression"] == "$request.body.action"
    route_keys = {r["RouteKey"] for r in v2.get_routes(ApiId=websocket.api_id)["Items"]}
    assert route_keys == {"$connect", "$disconnect", "sendMessage"}
    assert [s["StageName"] for s in v2.get_stages(ApiId=websocket.api_id)["Items"]] == [
        "production"
    ]


def test_custom_domains_point_at_the_described_apis(org: SeededOrganization) -> None:
    mapped = [a for a in org.apis if a.custom_domains]
    assert {a.protocol for a in mapped} == {"REST", "HTTP"}
    for api in mapped:
        creds = _child_creds(org, api.account_id)
        for custom_domain in api.custom_domains:
            domain, _, base_path = custom_domain.partition("/")
            if api.protocol == "REST":
                mapping = _client("apigateway", creds, api.region).get_base_path_mapping(
                    domainName=domain, basePath=base_path or "(none)"
                )
                assert mapping["restApiId"] == api.api_id
                assert mapping["stage"] in api.stage_names
            else:
                mappings = _client("apigatewayv2", creds, api.region).get_api_mappings(
                    DomainName=domain
                )["Items"]
                (mapping,) = [m for m in mappings if m.get("ApiMappingKey", "") == base_path]
                assert mapping["ApiId"] == api.api_id
                assert mapping["Stage"] in api.stage_names
    storefront = org.api_named("shop-storefront-api")
    assert storefront.custom_domains == ("api.example-shop.com/v1",)


def test_assume_role_and_iam_user_credentials(org: SeededOrganization) -> None:
    role_account = org.assume_role_arn.split(":")[4]
    assert role_account in org.member_account_ids
    assert org.assume_role_arn.endswith(":role/APIGatewayAccessRole")
    creds = _assume(org.assume_role_arn, external_id=EXTERNAL_ID)
    assert _client("sts", creds).get_caller_identity()["Account"] == role_account
    role = _client("iam", creds).get_role(RoleName="APIGatewayAccessRole")["Role"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": PLATFORM_PRINCIPAL}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    rest_names = {a["name"] for a in _client("apigateway", creds).get_rest_apis()["items"]}
    assert rest_names == {
        a.name for a in org.apis_in(role_account, "us-east-1") if a.protocol == "REST"
    }

    assert org.user_account_id in org.member_account_ids
    user_creds = {
        "AccessKeyId": org.user_access_key_id,
        "SecretAccessKey": org.user_secret_access_key,
    }
    identity = _client("sts", user_creds).get_caller_identity()
    assert identity["Account"] == org.user_account_id
    assert identity["Arn"].endswith(":user/onboarder-reader")
    policy = _client("iam", user_creds).get_user_policy(
        UserName="onboarder-reader", PolicyName="APIGatewayReadOnly"
    )["PolicyDocument"]
    assert policy["Statement"][0]["Action"] == ["apigateway:GET"]
    for region in org.regions:
        names = {
            a["name"] for a in _client("apigateway", user_creds, region).get_rest_apis()["items"]
        }
        assert names == {
            a.name for a in org.apis_in(org.user_account_id, region) if a.protocol == "REST"
        }
    assert org.user_secret_access_key not in repr(org)


def _shape(org: SeededOrganization) -> list[tuple[object, ...]]:
    """The description minus the ids moto generates."""
    account_names = dict(zip(org.member_account_ids, org.member_account_names, strict=True))
    return [
        (
            account_names[api.account_id],
            api.region,
            api.name,
            api.protocol,
            api.endpoint_type,
            api.stage_names,
            len(api.vpc_endpoint_ids),
            api.custom_domains,
            api.routes,
        )
        for api in org.apis
    ]


def test_seeding_is_deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    _use_fake_aws_env(monkeypatch)
    with mock_aws():
        first = _seed()
    with mock_aws():
        second = _seed()
    assert [a.name for a in first.apis] == [a.name for a in second.apis]
    assert _shape(first) == _shape(second)
    assert first.member_account_names == second.member_account_names
    assert first.regions == second.regions
    assert first.management_account_id == second.management_account_id == "123456789012"


def test_seeding_works_against_a_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """``onboarder demo`` seeds a ThreadedMotoServer found through AWS_ENDPOINT_URL."""
    _use_fake_aws_env(monkeypatch)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    try:
        org = _seed()
        private = _only([a for a in org.apis if a.endpoint_type == "PRIVATE"])
        creds = _child_creds(org, private.account_id)
        api = _client("apigateway", creds, private.region).get_rest_api(restApiId=private.api_id)
        assert sorted(api["endpointConfiguration"]["vpcEndpointIds"]) == sorted(
            private.vpc_endpoint_ids
        )
        accounts = _client("organizations").list_accounts()["Accounts"]
        assert len(accounts) == 1 + len(org.member_account_ids)
    finally:
        requests.post(f"{endpoint}/moto-api/reset", timeout=10)
        server.stop()
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    with mock_aws():  # and it describes the same organization as an in-process seed
        assert _shape(org) == _shape(_seed())
