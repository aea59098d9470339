"""Exports and attack surfaces as AWS answers them, where moto cannot (botocore's Stubber).

moto exports Swagger 2.0 whatever type is asked for, has no ExportApi for HTTP APIs, returns
every listing in one page and embeds methods whether asked or not; AWS does none of that.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.integrations.aws.apigateway import DiscoveredApi, DiscoveredStage, describe_api
from app.integrations.aws.definitions import (
    DefinitionError,
    Operation,
    StageDefinition,
    StageReader,
    Surface,
    build_definition,
    validate_document,
    with_servers,
)
from app.integrations.aws.demo_organization import SeededOrganization
from app.integrations.aws.errors import AwsError, CallContext
from app.integrations.aws.sessions import call_aws
from tests.applications.conftest import applications, onboard, storefront_prod
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem

CREDENTIALS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "x" * 40}
CREATED = datetime(2026, 3, 1, tzinfo=UTC)


def call(fetch: Callable[[], dict[str, Any]], /, *, quota: str | None = None) -> dict[str, Any]:
    return call_aws(CallContext(action="apigateway:GET"), fetch)


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name="eu-west-1", **CREDENTIALS)
    return client, Stubber(client)


def clients(**made: Any) -> Callable[[str], Any]:
    return lambda service: made[service]


def body(document: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(document), len(document))


OAS30 = {
    "openapi": "3.0.1",
    "info": {"title": "orders", "version": "2026-03-01"},
    "servers": [
        {
            "url": "https://r1.execute-api.eu-west-1.amazonaws.com/{basePath}",
            "variables": {"basePath": {"default": "prod"}},
        }
    ],
    "paths": {"/orders": {"post": {"x-amazon-apigateway-integration": {"type": "http_proxy"}}}},
    "components": {
        "securitySchemes": {
            "orders-auth": {"type": "apiKey", "x-amazon-apigateway-authtype": "custom"}
        }
    },
}


def _method(authorization: str, **extra: Any) -> dict[str, Any]:
    return {"httpMethod": "X", "authorizationType": authorization, **extra}


def plan_rest(v1: Stubber, export: dict[str, Any] | Exception) -> None:
    api = {
        "id": "r1",
        "name": "orders",
        "createdDate": CREATED,
        "endpointConfiguration": {"types": ["REGIONAL"]},
    }
    v1.add_response("get_rest_api", api, {"restApiId": "r1"})
    v1.add_response(
        "get_stages", {"item": [{"stageName": "prod", "deploymentId": "d1"}]}, {"restApiId": "r1"}
    )
    plan_export(v1, export)
    # A deployment that answers no apisummary: the operations are read from the draft.
    v1.add_response(
        "get_deployment",
        {"id": "d1"},
        {"restApiId": "r1", "deploymentId": "d1", "embed": ["apisummary"]},
    )
    v1.add_response(
        "get_authorizers",
        {"items": [{"id": "a1", "name": "orders-auth", "type": "REQUEST"}], "position": "p1"},
        {"restApiId": "r1", "limit": 500},
    )
    v1.add_response(
        "get_authorizers",
        {"items": [{"id": "a2", "name": "staff", "type": "COGNITO_USER_POOLS"}]},
        {"restApiId": "r1", "limit": 500, "position": "p1"},
    )
    v1.add_response(
        "get_resources",
        {
            "items": [
                {"id": "root", "path": "/", "resourceMethods": {"GET": _method("NONE")}},
                {
                    "id": "o",
                    "path": "/orders",
                    "resourceMethods": {
                        "POST": _method("CUSTOM", authorizerId="a1", apiKeyRequired=True),
                        "OPTIONS": _method("NONE"),
                    },
                },
            ],
            "position": "p2",
        },
        {"restApiId": "r1", "limit": 500, "embed": ["methods"]},
    )
    v1.add_response(
        "get_resources",
        # A page without embedded methods: each method is then asked for.
        {"items": [{"id": "s", "path": "/staff/{id}", "resourceMethods": {"DELETE": {}}}]},
        {"restApiId": "r1", "limit": 500, "embed": ["methods"], "position": "p2"},
    )
    v1.add_response(
        "get_method",
        _method("COGNITO_USER_POOLS", authorizerId="a2"),
        {"restApiId": "r1", "resourceId": "s", "httpMethod": "DELETE"},
    )


def plan_export(v1: Stubber, export: dict[str, Any] | Exception) -> None:
    params = {
        "restApiId": "r1",
        "stageName": "prod",
        "exportType": "oas30",
        "parameters": {"extensions": "apigateway"},
        "accepts": "application/json",
    }
    if isinstance(export, Exception):
        v1.add_client_error("get_export", str(export), "", 400, expected_params=params)
    else:
        data = json.dumps(export).encode()
        v1.add_response(
            "get_export", {"body": body(data), "contentType": "application/json"}, params
        )


def read_api(
    client_for: Callable[[str], Any], api_id: str, stage: str
) -> tuple[DiscoveredApi, Surface, Any, StageDefinition]:
    """What onboarding reads of an API: the API and stages, then what the stage serves."""
    api = describe_api(
        call=call,
        client_for=client_for,
        account_id="111111111111",
        region="eu-west-1",
        api_id=api_id,
    )
    assert api is not None
    read = StageReader(call=call, client_for=client_for, api=api, max_bytes=1_000_000).read(stage)
    return api, read.surface, read.definition, read


def rest_onboarding(
    export: dict[str, Any] | Exception,
) -> tuple[DiscoveredApi, Surface, Any, StageDefinition]:
    v1, stubber = stubbed("apigateway")
    plan_rest(stubber, export)
    client_for = clients(apigateway=v1)
    with stubber:
        found = read_api(client_for, "r1", "prod")
        stubber.assert_no_pending_responses()
    return found


def test_a_rest_api_gets_its_openapi_3_export_and_every_page_of_its_surface() -> None:
    _, surface, definition, read = rest_onboarding(OAS30)

    assert definition.format == "openapi_3"
    assert definition.source == "aws_export"
    assert definition.document == OAS30
    served = with_servers(
        definition.document,
        definition.format,
        ["https://r1.execute-api.eu-west-1.amazonaws.com/prod"],
    )
    assert served["servers"] == [{"url": "https://r1.execute-api.eu-west-1.amazonaws.com/prod"}]
    assert served["paths"] == OAS30["paths"]

    by_key = {f"{op.method} {op.path}": op for op in surface.operations}
    assert set(by_key) == {"GET /", "OPTIONS /orders", "POST /orders", "DELETE /staff/{id}"}
    assert by_key["POST /orders"].authorizer_type == "REQUEST"
    assert by_key["POST /orders"].authorizer_name == "orders-auth"
    assert by_key["DELETE /staff/{id}"].authorizer_type == "COGNITO_USER_POOLS"
    assert surface.unauthenticated == 2
    assert surface.api_key == 1
    assert surface.authorizer_types == {"COGNITO_USER_POOLS": 1, "REQUEST": 1}
    # The deployment answered no apisummary: the draft stood in, and the definition says so.
    assert read.source == "draft_resources"


def test_a_rest_stage_reads_its_operations_from_its_deployment_not_the_draft() -> None:
    """GetDeployment's apisummary (shaped as botocore's model says) gives each deployed
    method's authorization and API key; the stage's export names the authorizers and the
    integrations. Neither GetResources nor GetAuthorizers is asked for."""
    v1, stubber = stubbed("apigateway")
    stubber.add_response("get_rest_api", {"id": "r1", "name": "orders"}, {"restApiId": "r1"})
    stubber.add_response(
        "get_stages",
        {"item": [{"stageName": "prod", "deploymentId": "d1", "webAclArn": "arn:waf"}]},
        {"restApiId": "r1"},
    )
    export = {
        **OAS30,
        "paths": {
            "/orders": {
                "post": {
                    "security": [{"orders-auth": []}],
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {"type": "http_proxy"},
                },
                "options": {
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {"type": "mock"},
                },
            },
            "/health": {
                "get": {
                    "security": [{"api_key": []}],
                    "responses": {"200": {"description": "ok"}},
                    "x-amazon-apigateway-integration": {"type": "mock"},
                }
            },
        },
        "components": {
            "securitySchemes": {
                "orders-auth": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {"type": "token"},
                },
                "api_key": {"type": "apiKey", "name": "x-api-key", "in": "header"},
            }
        },
    }
    plan_export(stubber, export)
    stubber.add_response(
        "get_deployment",
        {
            "id": "d1",
            "apiSummary": {
                "/orders": {
                    "POST": {"authorizationType": "CUSTOM", "apiKeyRequired": False},
                    "OPTIONS": {"authorizationType": "NONE", "apiKeyRequired": False},
                },
                "/health": {"GET": {"authorizationType": "NONE", "apiKeyRequired": True}},
            },
        },
        {"restApiId": "r1", "deploymentId": "d1", "embed": ["apisummary"]},
    )
    with stubber:
        api, surface, _, read = read_api(clients(apigateway=v1), "r1", "prod")
        stubber.assert_no_pending_responses()

    assert read.source == "deployment"
    assert read.deployment_id == "d1"
    assert read.validation.valid, read.validation.errors
    assert api.stages[0].web_acl_arn == "arn:waf"
    by_key = {f"{op.method} {op.path}": op for op in surface.operations}
    assert by_key["POST /orders"].exposure == "authenticated"
    assert (by_key["POST /orders"].authorizer_type, by_key["POST /orders"].authorizer_name) == (
        "TOKEN",
        "orders-auth",
    )
    assert by_key["OPTIONS /orders"].exposure == "cors_preflight"
    assert by_key["GET /health"].exposure == "api_key_only"
    assert surface.counts() == {
        "operations": 3,
        "unauthenticated_operations": 1,
        "api_key_operations": 1,
        "cors_preflight_operations": 1,
    }


def test_an_export_that_is_not_valid_openapi_is_kept_and_flagged() -> None:
    """moto's export of a REST API is Swagger 2.0 with upper-case method keys, which the
    specification does not allow: the definition is stored as exported, marked invalid."""
    invalid = {
        "swagger": "2.0",
        "info": {"title": "orders", "version": "1"},
        "paths": {"/orders": {"GET": {"responses": {}}}},
    }
    _, _, definition, read = rest_onboarding(invalid)

    assert definition.document == invalid
    assert definition.format == "swagger_2"
    assert read.validation.valid is False
    assert read.validation.errors
    assert len(read.validation.errors) <= 20


def test_a_failed_rest_export_falls_back_to_a_definition_built_from_the_resources() -> None:
    _, _, definition, read = rest_onboarding(Exception("BadRequestException"))

    assert definition.source == "built"
    assert definition.format == "openapi_3"
    assert "BadRequestException" in definition.export_error
    paths = definition.document["paths"]
    assert set(paths) == {"/", "/orders", "/staff/{id}"}
    assert paths["/orders"]["post"]["security"] == [{"orders-auth": [], "api_key": []}]
    assert paths["/orders"]["post"]["x-amazon-apigateway-api-key-required"] is True
    assert paths["/staff/{id}"]["delete"]["parameters"][0]["name"] == "id"
    assert paths["/"]["get"]["security"] == []
    assert read.validation.valid, read.validation.errors


def export_prod_stage(v1: Any) -> None:
    """Fetch the definition of a REST API's prod stage, with a 1 KiB bound."""
    api = DiscoveredApi(
        "111111111111",
        "eu-west-1",
        "r1",
        "orders",
        None,
        "REST",
        "REGIONAL",
        [],
        CREATED,
        {},
        "https://r1.execute-api.eu-west-1.amazonaws.com",
    )
    api.stages = [DiscoveredStage("prod", "d1", None, None)]
    StageReader(call=call, client_for=clients(apigateway=v1), api=api, max_bytes=1024).read("prod")


@pytest.mark.parametrize(
    ("export", "code"),
    [
        (b"<html>Service Unavailable</html>", "definition_unparsable"),
        (b'{"openapi": "3.0.1", "info": {}}', "definition_unparsable"),
        (b'{"asyncapi": "2.0", "paths": {}}', "definition_unparsable"),
        (
            b'{"swagger": "2.0", "paths": {}, "x-pad": "' + b"x" * 2000 + b'"}',
            "definition_too_large",
        ),
    ],
)
def test_an_export_that_cannot_be_used_is_a_definition_error(export: bytes, code: str) -> None:
    v1, stubber = stubbed("apigateway")
    stubber.add_response("get_export", {"body": body(export)})
    with stubber, pytest.raises(DefinitionError) as raised:
        export_prod_stage(v1)
    assert raised.value.code == code


def test_a_throttled_export_fails_instead_of_falling_back() -> None:
    v1, stubber = stubbed("apigateway")
    stubber.add_client_error("get_export", "TooManyRequestsException", "slow down", 429)
    with stubber, pytest.raises(AwsError) as raised:
        export_prod_stage(v1)
    assert raised.value.failure.code == "throttled"


def test_an_http_api_gets_its_export_from_export_api() -> None:
    answered = {"responses": {"default": {"description": "Default response"}}}
    exported = {
        "openapi": "3.0.1",
        "info": {"title": "catalog", "version": "1"},
        "paths": {
            "/items": {"get": answered},
            "/$default": {
                "x-amazon-apigateway-any-method": {**answered, "security": [{"lambda-auth": []}]}
            },
        },
        "components": {
            "securitySchemes": {
                "lambda-auth": {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authorizer": {
                        "type": "request",
                        "authorizerPayloadFormatVersion": "2.0",
                    },
                }
            }
        },
    }
    v1, s1 = stubbed("apigateway")
    v2, s2 = stubbed("apigatewayv2")
    s1.add_client_error(
        "get_rest_api",
        "NotFoundException",
        "Invalid API identifier",
        404,
        expected_params={"restApiId": "h1"},
    )
    s2.add_response(
        "get_api",
        {
            "ApiId": "h1",
            "Name": "catalog",
            "ProtocolType": "HTTP",
            "ApiEndpoint": "https://h1.execute-api.eu-west-1.amazonaws.com",
            "RouteSelectionExpression": "x",
        },
        {"ApiId": "h1"},
    )
    s2.add_response(
        "get_stages", {"Items": [{"StageName": "$default"}]}, {"ApiId": "h1", "MaxResults": "500"}
    )
    # The stage's export is what the stage serves: no GetRoutes (the draft) is asked for.
    s2.add_response(
        "export_api",
        {"body": json.dumps(exported).encode()},
        {
            "ApiId": "h1",
            "Specification": "OAS30",
            "OutputType": "JSON",
            "StageName": "$default",
            "IncludeExtensions": True,
        },
    )
    client_for = clients(apigateway=v1, apigatewayv2=v2)

    with s1, s2:
        api, surface, definition, read = read_api(client_for, "h1", "$default")
        s2.assert_no_pending_responses()

    assert api.stages[0].instance_urls == ["https://h1.execute-api.eu-west-1.amazonaws.com"]
    assert (definition.source, definition.format) == ("aws_export", "openapi_3")
    assert definition.document == exported
    assert read.source == "stage_export"
    assert read.validation.valid, read.validation.errors
    by_key = {f"{op.method} {op.path}": op for op in surface.operations}
    assert set(by_key) == {"GET /items", "ANY /{proxy+}"}
    assert by_key["ANY /{proxy+}"].authorizer_type == "REQUEST"
    assert by_key["ANY /{proxy+}"].authorizer_name == "lambda-auth"
    assert by_key["GET /items"].exposure == "public"
    assert surface.unauthenticated == 1


def test_a_built_definition_declares_path_parameters_and_catch_all_routes() -> None:
    api = DiscoveredApi(
        "111111111111",
        "eu-west-1",
        "h1",
        "catalog",
        "Items",
        "HTTP",
        "REGIONAL",
        [],
        CREATED,
        {},
        "https://h1.execute-api.eu-west-1.amazonaws.com",
    )
    surface = Surface(
        (
            Operation("ANY", "/{proxy+}", "AWS_IAM", "AWS_IAM", None, False),
            Operation("GET", "/items/{id}/parts/{part}", "JWT", "JWT", "idp", False),
        )
    )
    document = build_definition(api, surface)

    assert document["info"] == {"title": "catalog", "version": "2026-03-01", "description": "Items"}
    catch_all = document["paths"]["/{proxy+}"]["x-amazon-apigateway-any-method"]
    assert catch_all["parameters"][0]["name"] == "proxy+"
    assert validate_document(document, "openapi_3").valid
    assert catch_all["security"] == [{"sigv4": []}]
    item = document["paths"]["/items/{id}/parts/{part}"]["get"]
    assert [p["name"] for p in item["parameters"]] == ["id", "part"]
    assert set(document["components"]["securitySchemes"]) == {"sigv4", "idp"}


def test_an_export_over_the_size_bound_is_a_502_and_nothing_is_stored(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(app.state.settings, "max_definition_bytes", 100)

    response = onboard(client, tenant, **storefront_prod(org, shop_prod))

    problem = assert_problem(response, 502, "definition_too_large")
    assert "ONBOARDER_MAX_DEFINITION_BYTES" in problem["hint"]
    assert applications(client, tenant) == []
