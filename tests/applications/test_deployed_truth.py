"""Deployed truth: one definition per stage, read from what each stage serves.

moto keeps no deployment snapshot (its GetDeployment has no `apiSummary`), exports Swagger 2.0
whatever is asked for, and has no `webAclArn` or `canarySettings` on stages. Those answers
are given here as AWS gives them (`aws_answers`: validated against botocore's service model,
like a Stubber), while moto answers everything else.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from botocore.response import StreamingBody
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.schedules.runs import RunServices
from tests.applications.conftest import account_client, onboarded
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem
from tests.schedules.conftest import (  # noqa: F401 - fixtures
    execute_queued,
    read_run,
    run_now,
    run_services,
    saved_schedule,
)

WAF_ACL = "arn:aws:wafv2:us-east-1:111111111111:regional/webacl/edge/1b2c3d4e"
VPCE_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "execute-api:Invoke",
            "Resource": "execute-api:/*",
            "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}},
        },
    ],
}


class OrdersApi:
    """A REST API whose `prod` stage serves an older deployment than its `dev` stage: prod
    has GET /orders (API key only) and its CORS preflight; dev adds an open POST /orders."""

    def __init__(self, org: SeededOrganization, policy: dict[str, Any] | None = None) -> None:
        owner = org.api_named("shop-storefront-api")
        self.account_id, self.region = owner.account_id, owner.region
        apigw = account_client(org, owner, "apigateway")
        extra = {"policy": json.dumps(policy)} if policy else {}
        self.api_id = apigw.create_rest_api(
            name="orders", endpointConfiguration={"types": ["REGIONAL"]}, **extra
        )["id"]
        root = apigw.get_resources(restApiId=self.api_id)["items"][0]["id"]
        orders = apigw.create_resource(restApiId=self.api_id, parentId=root, pathPart="orders")
        for method, api_key in (("GET", True), ("OPTIONS", False)):
            apigw.put_method(
                restApiId=self.api_id,
                resourceId=orders["id"],
                httpMethod=method,
                authorizationType="NONE",
                apiKeyRequired=api_key,
            )
            apigw.put_integration(
                restApiId=self.api_id, resourceId=orders["id"], httpMethod=method, type="MOCK"
            )
        self.prod = apigw.create_deployment(restApiId=self.api_id, stageName="prod")["id"]
        apigw.put_method(
            restApiId=self.api_id,
            resourceId=orders["id"],
            httpMethod="POST",
            authorizationType="NONE",
        )
        apigw.put_integration(
            restApiId=self.api_id,
            resourceId=orders["id"],
            httpMethod="POST",
            type="HTTP_PROXY",
            integrationHttpMethod="POST",
            uri="https://backend.example.com/orders",
        )
        self.dev = apigw.create_deployment(restApiId=self.api_id, stageName="dev")["id"]

    # ------------------------------------------------------------------ what AWS would answer
    def summary(self, deployment_id: str) -> dict[str, Any]:
        snapshot = {
            "/orders": {
                "GET": {"authorizationType": "NONE", "apiKeyRequired": True},
                "OPTIONS": {"authorizationType": "NONE", "apiKeyRequired": False},
            }
        }
        if deployment_id == self.dev:
            snapshot["/orders"]["POST"] = {"authorizationType": "NONE", "apiKeyRequired": False}
        return snapshot

    def export(self, stage: str) -> dict[str, Any]:
        """An OpenAPI 3 export with the API Gateway extensions, as GetExport answers it."""
        methods: dict[str, Any] = {
            "get": {
                "security": [{"api_key": []}],
                "responses": {"200": {"description": "200 response"}},
                "x-amazon-apigateway-integration": {"type": "mock"},
            },
            "options": {
                "responses": {"200": {"description": "200 response"}},
                "x-amazon-apigateway-integration": {"type": "mock"},
            },
        }
        if stage == "dev":
            methods["post"] = {
                "responses": {"200": {"description": "200 response"}},
                "x-amazon-apigateway-integration": {"type": "http_proxy"},
            }
        return {
            "openapi": "3.0.1",
            "info": {"title": "orders", "version": "2026-12-01T00:00:00Z"},
            "servers": [
                {
                    "url": f"https://{self.api_id}.execute-api.{self.region}.amazonaws.com/"
                    "{basePath}",
                    "variables": {"basePath": {"default": stage}},
                }
            ],
            "paths": {"/orders": methods},
            "components": {
                "securitySchemes": {
                    "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"}
                }
            },
        }

    def answer_as_aws(
        self, answers: dict[Any, Any], *, stages: dict[str, dict[str, Any]] | None = None
    ) -> None:
        """GetDeployment with its apisummary, GetExport as OpenAPI 3, and (optionally) the
        stages with the fields moto does not keep."""

        def deployment(params: dict[str, Any]) -> dict[str, Any] | None:
            if params.get("restApiId") != self.api_id:
                return None
            assert params.get("embed") == ["apisummary"]
            return {
                "id": params["deploymentId"],
                "apiSummary": self.summary(params["deploymentId"]),
            }

        def export(params: dict[str, Any]) -> dict[str, Any] | None:
            if params.get("restApiId") != self.api_id:
                return None
            assert params["exportType"] == "oas30"
            data = json.dumps(self.export(params["stageName"])).encode()
            return {
                "contentType": "application/json",
                "body": StreamingBody(io.BytesIO(data), len(data)),
            }

        answers[("apigateway", "GetDeployment")] = deployment
        answers[("apigateway", "GetExport")] = export
        if stages is not None:
            deployments = {"prod": self.prod, "dev": self.dev}

            def get_stages(params: dict[str, Any]) -> dict[str, Any] | None:
                if params.get("restApiId") != self.api_id:
                    return None
                return {
                    "item": [
                        {"stageName": name, "deploymentId": deployments[name], **extra}
                        for name, extra in stages.items()
                    ]
                }

            answers[("apigateway", "GetStages")] = get_stages


def onboard_orders(
    client: TestClient, tenant: TenantWithKey, connection: str, api: OrdersApi, stages: list[str]
) -> dict[str, Any]:
    return onboarded(
        client,
        tenant,
        connection_id=connection,
        region=api.region,
        api_id=api.api_id,
        stages=stages,
    )


def by_stage(application: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {definition["stage"]: definition for definition in application["definitions"]}


def operations(
    client: TestClient, tenant: TenantWithKey, app_id: str, **params: Any
) -> dict[str, dict[str, Any]]:
    response = client.get(
        f"/api/v1/applications/{app_id}/operations", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    return {f"{op['method']} {op['path']}": op for op in response.json()["items"]}


def test_two_stages_serving_different_deployments_get_two_definitions(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    aws_answers: dict[Any, Any],
) -> None:
    api = OrdersApi(org)
    api.answer_as_aws(aws_answers)

    body = onboard_orders(client, tenant, shop_prod, api, ["prod", "dev"])

    definitions = by_stage(body)
    assert set(definitions) == {"prod", "dev"}
    prod, dev = definitions["prod"], definitions["dev"]
    assert (prod["deployment_id"], dev["deployment_id"]) == (api.prod, api.dev)
    for definition in (prod, dev):
        assert definition["source"] == "deployment"
        assert definition["document_source"] == "aws_export"
        assert definition["format"] == "openapi_3"
        assert definition["valid"] is True, definition["validation_errors"]
        assert definition["validation_errors"] == []
        assert definition["version"] == 1
    # prod: an API-key-only GET (counted as unauthenticated: a key is not authentication) and
    # a CORS preflight (open by design, counted apart).
    assert prod["operations"] == 2
    assert prod["unauthenticated_operations"] == 1
    assert prod["api_key_operations"] == 1
    assert prod["cors_preflight_operations"] == 1
    assert prod["exposure"] == {
        "public": 0,
        "api_key_only": 1,
        "authenticated": 0,
        "cors_preflight": 1,
    }
    # dev serves a newer deployment with an open POST as well.
    assert dev["operations"] == 3
    assert dev["unauthenticated_operations"] == 2
    assert dev["exposure"]["public"] == 1
    assert body["definition"] == prod  # the first instance's stage

    prod_ops = operations(client, tenant, body["id"], stage="prod")
    dev_ops = operations(client, tenant, body["id"], stage="dev")
    assert set(prod_ops) == {"GET /orders", "OPTIONS /orders"}
    assert set(dev_ops) == {"GET /orders", "OPTIONS /orders", "POST /orders"}
    assert prod_ops["GET /orders"]["exposure"] == "api_key_only"
    assert prod_ops["GET /orders"]["unauthenticated"] is True
    assert prod_ops["OPTIONS /orders"]["exposure"] == "cors_preflight"
    assert prod_ops["OPTIONS /orders"]["integration_type"] == "MOCK"
    assert dev_ops["POST /orders"]["exposure"] == "public"

    document = client.get(
        f"/api/v1/applications/{body['id']}/openapi",
        params={"stage": "dev"},
        headers=tenant.headers,
    ).json()
    assert set(document["paths"]["/orders"]) == {"get", "options", "post"}
    assert document["servers"] == [
        {"url": f"https://{api.api_id}.execute-api.{api.region}.amazonaws.com/dev"}
    ]
    versioned = client.get(
        f"/api/v1/applications/{body['id']}/openapi",
        params={"stage": "prod", "version": 1},
        headers=tenant.headers,
    )
    assert set(versioned.json()["paths"]["/orders"]) == {"get", "options"}


def test_an_unknown_stage_or_version_is_a_404_naming_the_stages_there_are(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    aws_answers: dict[Any, Any],
) -> None:
    api = OrdersApi(org)
    api.answer_as_aws(aws_answers)
    body = onboard_orders(client, tenant, shop_prod, api, ["prod"])
    path = f"/api/v1/applications/{body['id']}"

    for url, params in (
        (f"{path}/openapi", {"stage": "dev"}),
        (f"{path}/openapi", {"stage": "prod", "version": 2}),
        (f"{path}/operations", {"stage": "dev"}),
        (f"{path}/operations", {"stage": "prod", "canary": "true"}),
    ):
        problem = assert_problem(
            client.get(url, params=params, headers=tenant.headers), 404, "definition_not_found"
        )
        assert "prod" in problem["detail"]
    assert_problem(
        client.get(f"{path}/openapi", params={"version": 0}, headers=tenant.headers),
        422,
        "validation_error",
    )


def test_a_canary_serves_its_own_deployment_and_is_recorded_beside_the_stage(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    aws_answers: dict[Any, Any],
) -> None:
    api = OrdersApi(org)
    # 10% of prod's callers get the dev deployment, with its open POST.
    api.answer_as_aws(
        aws_answers,
        stages={"prod": {"canarySettings": {"deploymentId": api.dev, "percentTraffic": 10.0}}},
    )

    body = onboard_orders(client, tenant, shop_prod, api, ["prod"])

    canary = body["definition"]["canary"]
    assert canary == {
        "deployment_id": api.dev,
        "percent_traffic": 10.0,
        "source": "deployment",
        "operations": 3,
        "unauthenticated_operations": 2,
        "api_key_operations": 1,
        "cors_preflight_operations": 1,
    }
    served = operations(client, tenant, body["id"], stage="prod", canary="true")
    assert served["POST /orders"]["exposure"] == "public"
    assert "POST /orders" not in operations(client, tenant, body["id"], stage="prod")


def test_protections_say_what_guards_each_stage(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    aws_answers: dict[Any, Any],
) -> None:
    api = OrdersApi(org, policy=VPCE_ONLY_POLICY)
    api.answer_as_aws(aws_answers, stages={"prod": {"webAclArn": WAF_ACL}, "dev": {}})

    body = onboard_orders(client, tenant, shop_prod, api, ["prod", "dev"])

    assert {p["stage"]: p for p in body["protections"]} == {
        "prod": {
            "stage": "prod",
            "resource_policy": "restricts_callers",
            "waf_web_acl": True,
            "mutual_tls": False,
            "reachable_from": "internet",
        },
        "dev": {
            "stage": "dev",
            "resource_policy": "restricts_callers",
            "waf_web_acl": False,
            "mutual_tls": False,
            "reachable_from": "internet",
        },
    }


def test_a_private_api_and_its_instance_urls_are_reachable_from_the_vpc_only(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    private = next(api for api in org.apis if api.endpoint_type == "PRIVATE")
    body = onboarded(
        client,
        tenant,
        connection_id=central,
        account_id=private.account_id,
        region=private.region,
        api_id=private.api_id,
        stages=[private.stages[0].name],
    )

    assert body["instances"]
    assert {i["reachable_from"] for i in body["instances"]} == {"vpc_only"}
    assert [p["reachable_from"] for p in body["protections"]] == ["vpc_only"]
    listed = client.get(
        f"/api/v1/connections/{central}/apis",
        params={"region": private.region, "account_id": private.account_id},
        headers=tenant.headers,
    ).json()["items"]
    reachable = {item["api_id"]: item["reachable_from"] for item in listed}
    assert reachable[private.api_id] == "vpc_only"
    assert set(reachable.values()) == {"vpc_only", "internet"}


def test_auto_onboard_reads_a_definition_for_each_instance_stage(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    aws_answers: dict[Any, Any],
    database: Database,
    run_services: RunServices,  # noqa: F811
) -> None:
    api = OrdersApi(org)
    api.answer_as_aws(aws_answers)
    saved_schedule(
        client,
        tenant,
        shop_prod,
        frequency="daily",
        hour=9,
        minute=0,
        timezone="UTC",
        regions=[api.region],
    )
    queued = run_now(client, tenant, shop_prod)
    execute_queued(database, run_services)
    run = read_run(client, tenant, shop_prod, queued["id"])
    assert run["status"] == "succeeded", run

    listed = client.get(
        "/api/v1/applications", params={"api_id": api.api_id}, headers=tenant.headers
    ).json()["items"]
    assert len(listed) == 1
    definitions = by_stage(listed[0])
    # Not the alphabetically first stage standing in for the others: each its own.
    assert {stage: d["operations"] for stage, d in definitions.items()} == {"dev": 3, "prod": 2}
    assert {d["deployment_id"] for d in definitions.values()} == {api.prod, api.dev}


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (None, "none"),
        (VPCE_ONLY_POLICY, "restricts_callers"),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "*"},
                        "Action": "execute-api:Invoke",
                        "Resource": "*",
                    }
                ]
            },
            "allows_anyone",
        ),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "execute-api:Invoke",
                        "Resource": "*",
                        "Condition": {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24"]}},
                    }
                ]
            },
            "restricts_callers",
        ),
        (
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                        "Action": "execute-api:Invoke",
                        "Resource": "*",
                    }
                ]
            },
            "restricts_callers",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
                    {
                        "Effect": "Deny",
                        "Principal": {"AWS": "arn:aws:iam::123456789012:user/mallory"},
                        "Action": "execute-api:Invoke",
                        "Resource": "*",
                    },
                ]
            },
            "allows_anyone",
        ),
    ],
)
def test_a_resource_policy_is_read_as_a_security_team_would(
    policy: dict[str, Any] | None, expected: str
) -> None:
    from app.integrations.aws.protections import classify_resource_policy

    # AWS answers the policy as JSON text with its quotes escaped.
    text = None if policy is None else json.dumps(policy).replace('"', '\\"')
    assert classify_resource_policy(text) == expected
    if policy is not None:
        assert classify_resource_policy(json.dumps(policy)) == expected
