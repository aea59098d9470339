"""Onboarding APIs of the demo organization (moto): every protocol and endpoint type."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededOrganization
from tests.applications.conftest import (
    account_client,
    api_ref,
    applications,
    onboard,
    onboarded,
    storefront_prod,
)
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def execute_api(api_id: str, region: str, stage: str) -> str:
    return f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}"


def operations(client: TestClient, tenant: TenantWithKey, app_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/applications/{app_id}/operations", headers=tenant.headers)
    assert response.status_code == 200, response.text
    return {f"{op['method']} {op['path']}": op for op in response.json()["items"]}


def definition(client: TestClient, tenant: TenantWithKey, app_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/applications/{app_id}/openapi", headers=tenant.headers)
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def test_an_edge_rest_api_is_onboarded_with_its_export_and_attack_surface(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    body = onboarded(client, tenant, **storefront_prod(org, shop_prod))

    assert body["name"] == "shop-storefront-api"
    assert body["onboarded_via"] == "manual"
    assert body["source"] == {
        "type": "aws_api_gateway",
        "connection_id": shop_prod,
        "account_id": api.account_id,
        "region": "us-east-1",
        "api_id": api.api_id,
        "protocol": "REST",
        "endpoint_type": "EDGE",
    }
    prod_url = execute_api(api.api_id, "us-east-1", "prod")
    assert [(i["url"], i["stage"]) for i in body["instances"]] == [(prod_url, "prod")]
    summary = body["definition"]
    # GET /products is open; POST /orders needs an API key and the Cognito authorizer;
    # GET /orders/{id} needs IAM-signed requests.
    assert summary["operations"] == 3
    assert summary["unauthenticated_operations"] == 1
    assert summary["api_key_operations"] == 1
    assert summary["authorizer_types"] == {"AWS_IAM": 1, "COGNITO_USER_POOLS": 1}
    assert summary["exposure"] == {
        "public": 1,
        "api_key_only": 0,
        "authenticated": 2,
        "cors_preflight": 0,
    }
    # moto exports Swagger 2.0 whatever type is asked for (AWS answers OpenAPI 3), with
    # upper-case method keys that Swagger 2.0 does not allow: kept as exported, and flagged.
    assert summary["format"] == "swagger_2"
    assert summary["document_source"] == "aws_export"
    assert summary["valid"] is False
    assert any("GET" in error for error in summary["validation_errors"])
    # moto's GetDeployment has no apisummary: the operations come from the API's draft, and
    # the definition says so.
    assert summary["source"] == "draft_resources"
    assert summary["stage"] == "prod"
    assert summary["version"] == 1
    assert len(summary["sha256"]) == 64
    assert body["definitions"] == [summary]
    assert body["protections"] == [
        {
            "stage": "prod",
            "resource_policy": "none",
            "waf_web_acl": False,
            "mutual_tls": False,
            "reachable_from": "internet",
        }
    ]
    assert body["instances"][0]["reachable_from"] == "internet"

    ops = operations(client, tenant, body["id"])
    assert set(ops) == {"GET /products", "POST /orders", "GET /orders/{id}"}
    assert ops["GET /products"]["unauthenticated"] is True
    assert ops["GET /products"]["exposure"] == "public"
    assert ops["POST /orders"]["exposure"] == "authenticated"
    assert ops["POST /orders"]["api_key_required"] is True
    assert ops["POST /orders"]["authorizer_type"] == "COGNITO_USER_POOLS"
    assert ops["POST /orders"]["authorizer_name"] == "shop-customers"
    assert ops["GET /orders/{id}"]["authorization"] == "AWS_IAM"

    document = definition(client, tenant, body["id"])
    assert document["swagger"] == "2.0"
    assert document["host"] == f"{api.api_id}.execute-api.us-east-1.amazonaws.com"
    assert document["basePath"] == "/prod"
    assert document["x-servers"] == [{"url": prod_url}]
    assert "/products" in document["paths"]


def test_a_regional_rest_api_names_its_lambda_token_authorizer(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api-eu")
    body = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        **api_ref(api),
        stages=["prod", "staging"],
    )

    assert body["source"]["endpoint_type"] == "REGIONAL"
    assert {i["url"] for i in body["instances"]} == {
        execute_api(api.api_id, "eu-west-1", "prod"),
        execute_api(api.api_id, "eu-west-1", "staging"),
    }
    assert body["definition"]["authorizer_types"] == {"AWS_IAM": 1, "TOKEN": 1}
    assert body["definition"]["unauthenticated_operations"] == 1


def test_a_private_rest_api_is_onboarded_at_its_vpc_endpoint_url(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    api = org.api_named("payments-internal-api")
    vpce_url = (
        f"https://{api.api_id}-{api.vpc_endpoint_ids[1]}.execute-api.eu-west-1.amazonaws.com/prod"
    )
    body = onboarded(
        client,
        tenant,
        connection_id=central,
        account_id=api.account_id,
        **api_ref(api),
        instance_urls=[vpce_url + "/"],
    )

    assert body["source"]["endpoint_type"] == "PRIVATE"
    assert body["instances"][0]["url"] == vpce_url
    assert body["instances"][0]["stage"] == "prod"
    assert len(body["instances"]) == 1
    document = definition(client, tenant, body["id"])
    assert (
        document["host"]
        == f"{api.api_id}-{api.vpc_endpoint_ids[1]}.execute-api.eu-west-1.amazonaws.com"
    )
    assert document["basePath"] == "/prod"


def test_an_http_api_without_an_export_gets_a_definition_built_from_its_routes(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    # moto has no ExportApi: this is the "export that fails" path (Stubber tests cover AWS's).
    api = org.api_named("shop-catalog-api")
    endpoint = f"https://{api.api_id}.execute-api.us-east-1.amazonaws.com"
    body = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        **api_ref(api),
        instance_urls=[endpoint, "https://catalog.example-shop.com"],
        name="Catalog (mobile)",
    )

    assert body["name"] == "Catalog (mobile)"
    assert [(i["url"], i["stage"]) for i in body["instances"]] == [
        (endpoint, "$default"),
        ("https://catalog.example-shop.com", "$default"),
    ]
    summary = body["definition"]
    # moto has no ExportApi: the definition is built from the routes (the API's draft).
    assert summary["document_source"] == "built"
    assert summary["source"] == "draft_routes"
    assert summary["valid"] is True, summary["validation_errors"]
    assert summary["format"] == "openapi_3"
    assert summary["export_error"]
    assert summary["operations"] == 2
    assert summary["unauthenticated_operations"] == 1
    assert summary["authorizer_types"] == {"JWT": 1}

    document = definition(client, tenant, body["id"])
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": endpoint}, {"url": "https://catalog.example-shop.com"}]
    assert document["paths"]["/items"]["get"]["security"] == []
    assert document["paths"]["/items"]["post"]["security"] == [{"shop-catalog-api-jwt": []}]
    scheme = document["components"]["securitySchemes"]["shop-catalog-api-jwt"]
    assert scheme["bearerFormat"] == "JWT"


def test_a_websocket_api_counts_every_route_as_protected_by_connect(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-live-chat")
    body = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        **api_ref(api),
        stages=["production"],
    )

    url = f"wss://{api.api_id}.execute-api.eu-west-1.amazonaws.com/production"
    assert [i["url"] for i in body["instances"]] == [url]
    summary = body["definition"]
    assert summary["document_source"] == "built"
    assert summary["source"] == "draft_routes"
    assert summary["valid"] is True, summary["validation_errors"]
    assert summary["export_error"] is None  # AWS has no export for WebSocket APIs
    # $connect is IAM-signed; $disconnect and sendMessage only run on a connection it let in.
    assert summary["operations"] == 3
    assert summary["unauthenticated_operations"] == 0
    assert summary["authorizer_types"] == {"AWS_IAM": 3}
    document = definition(client, tenant, body["id"])
    assert document["servers"] == [{"url": url}]
    assert set(document["x-amazon-apigateway-websocket-routes"]) == {
        "$connect",
        "$disconnect",
        "sendMessage",
    }


def test_an_api_onboarded_twice_is_a_409_naming_the_existing_application(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str, central: str
) -> None:
    api = org.api_named("shop-storefront-api")
    first = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    # The same API through another connection (the organization's) is still the same API.
    again = onboard(
        client,
        tenant,
        connection_id=central,
        account_id=api.account_id,
        **api_ref(api),
        stages=["staging"],
    )

    problem = assert_problem(again, 409, "conflict")
    assert problem["application_id"] == first["id"]
    assert first["id"] in problem["hint"]
    assert [a["id"] for a in applications(client, tenant)] == [first["id"]]


def test_instances_are_added_to_an_application(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    created = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    path = f"/api/v1/applications/{created['id']}/instances"

    added = client.post(
        path,
        json={"stages": ["staging"], "instance_urls": ["https://api.example-shop.com/v1"]},
        headers=tenant.headers,
    )
    assert added.status_code == 200, added.text
    assert [(i["url"], i["stage"]) for i in added.json()["instances"]] == [
        (execute_api(api.api_id, "us-east-1", "prod"), "prod"),
        (execute_api(api.api_id, "us-east-1", "staging"), "staging"),
        ("https://api.example-shop.com/v1", "prod"),
    ]
    assert added.json()["updated_at"] > created["updated_at"]
    # Each stage has its own definition, whose servers are that stage's URLs; the
    # application's `definition` stays the first instance's stage.
    assert [(d["stage"], d["version"]) for d in added.json()["definitions"]] == [
        ("prod", 1),
        ("staging", 1),
    ]
    assert added.json()["definition"]["stage"] == "prod"
    assert [p["stage"] for p in added.json()["protections"]] == ["prod", "staging"]
    document = definition(client, tenant, created["id"])
    assert [s["url"] for s in document["x-servers"]] == [
        execute_api(api.api_id, "us-east-1", "prod"),
        "https://api.example-shop.com/v1",
    ]
    staging = client.get(
        f"/api/v1/applications/{created['id']}/openapi?stage=staging", headers=tenant.headers
    )
    assert [s["url"] for s in staging.json()["x-servers"]] == [
        execute_api(api.api_id, "us-east-1", "staging")
    ]

    repeated = client.post(path, json={"stages": ["staging"]}, headers=tenant.headers)
    assert repeated.status_code == 200
    assert len(repeated.json()["instances"]) == 3
    assert repeated.json()["updated_at"] == added.json()["updated_at"]


def test_instances_the_api_does_not_have_are_422_naming_the_field(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    base = {"connection_id": shop_prod, "region": "us-east-1", "api_id": api.api_id}

    unknown_url = onboard(
        client,
        tenant,
        **base,
        instance_urls=[execute_api(api.api_id, "us-east-1", "prod"), "https://evil.example.com/x"],
    )
    problem = assert_problem(unknown_url, 422, "validation_error")
    assert problem["errors"][0]["field"] == "instance_urls[1]"
    assert execute_api(api.api_id, "us-east-1", "dev") in problem["errors"][0]["message"]

    unknown_stage = onboard(client, tenant, **base, stages=["prod", "qa"])
    problem = assert_problem(unknown_stage, 422, "validation_error")
    assert problem["errors"][0]["field"] == "stages[1]"
    assert "dev, prod, staging" in problem["errors"][0]["message"]

    nothing = onboard(client, tenant, **base)
    assert assert_problem(nothing, 422, "validation_error")["errors"][0]["field"] == "instance_urls"
    assert applications(client, tenant) == []


def test_malformed_onboarding_input_is_a_422_naming_the_field(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str, central: str
) -> None:
    api = org.api_named("shop-storefront-api")
    base = {
        "connection_id": shop_prod,
        "region": "us-east-1",
        "api_id": api.api_id,
        "stages": ["prod"],
    }
    cases: list[tuple[dict[str, Any], str]] = [
        ({"region": "mars-north-1"}, "region"),
        ({"api_id": "Not An Id"}, "api_id"),
        ({"account_id": "12345"}, "account_id"),
        ({"instance_urls": ["ftp://x"]}, "instance_urls.0"),
        ({"connection_id": "00000000-0000-0000-0000-000000000000"}, "connection_id"),
        # A central role reaches many accounts: which one must be said.
        ({"connection_id": central}, "account_id"),
        # An assume_role connection reaches its own account only.
        ({"account_id": org.account_id_named("payments-prod")}, "account_id"),
    ]
    for change, field in cases:
        response = onboard(client, tenant, **{**base, **change})
        problem = assert_problem(response, 422, "validation_error")
        assert [e["field"] for e in problem["errors"]] == [field], (change, problem)
    assert applications(client, tenant) == []


def test_an_api_deleted_in_aws_is_a_404_of_its_own_and_nothing_is_stored(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    listed = client.get(
        f"/api/v1/connections/{shop_prod}/apis",
        params={"region": "us-east-1"},
        headers=tenant.headers,
    )
    assert api.api_id in {a["api_id"] for a in listed.json()["items"]}
    account_client(org, api, "apigateway").delete_rest_api(restApiId=api.api_id)

    response = onboard(client, tenant, **storefront_prod(org, shop_prod))

    problem = assert_problem(response, 404, "api_not_found")
    assert api.api_id in problem["detail"]
    assert "refresh=true" in problem["hint"]
    assert applications(client, tenant) == []


def test_discovery_marks_onboarded_apis_until_they_are_deleted(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-catalog-api")
    created = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        **api_ref(api),
        stages=["$default"],
    )

    def marks() -> dict[str, str | None]:
        listed = client.get(
            f"/api/v1/connections/{shop_prod}/apis",
            params={"region": "us-east-1"},
            headers=tenant.headers,
        )
        return {a["name"]: a["application_id"] for a in listed.json()["items"]}

    assert marks() == {"shop-storefront-api": None, "shop-catalog-api": created["id"]}

    deleted = client.delete(f"/api/v1/applications/{created['id']}", headers=tenant.headers)
    assert deleted.status_code == 204
    gone = client.get(f"/api/v1/applications/{created['id']}", headers=tenant.headers)
    assert_problem(gone, 404, "not_found")
    assert marks() == {"shop-storefront-api": None, "shop-catalog-api": None}
    # Deleted means it can be onboarded again.
    onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        **api_ref(api),
        stages=["$default"],
    )


def test_applications_are_listed_with_filters_and_cursor_pages(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str, central: str
) -> None:
    for name in ["shop-storefront-api", "shop-catalog-api", "shop-live-chat"]:
        api = org.api_named(name)
        onboarded(
            client, tenant, connection_id=shop_prod, **api_ref(api), stages=[api.stage_names[0]]
        )
    private = org.api_named("payments-internal-api")
    onboarded(
        client,
        tenant,
        connection_id=central,
        account_id=private.account_id,
        **api_ref(private),
        stages=["prod"],
    )

    def names(**params: Any) -> list[str]:
        return [a["name"] for a in applications(client, tenant, **params)]

    assert names() == [
        "shop-storefront-api",
        "shop-catalog-api",
        "shop-live-chat",
        "payments-internal-api",
    ]
    assert names(region="eu-west-1") == ["shop-live-chat", "payments-internal-api"]
    assert names(connection_id=central) == ["payments-internal-api"]
    assert names(account_id=private.account_id) == ["payments-internal-api"]
    assert names(protocol="WEBSOCKET") == ["shop-live-chat"]
    assert names(onboarded_via="auto_onboard") == []
    assert names(onboarded_via="manual", region="us-east-1") == [
        "shop-storefront-api",
        "shop-catalog-api",
    ]

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/applications", params=params, headers=tenant.headers).json()
        seen += [a["name"] for a in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names()
    bad = client.get("/api/v1/applications", params={"onboarded_via": "x"}, headers=tenant.headers)
    assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "onboarded_via"


def test_another_tenants_application_does_not_exist(
    client: TestClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
) -> None:
    api = org.api_named("shop-storefront-api")
    created = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    path = f"/api/v1/applications/{created['id']}"

    for method, suffix, body in [
        ("GET", "", None),
        ("GET", "/openapi", None),
        ("GET", "/operations", None),
        ("POST", "/instances", {"stages": ["dev"]}),
        ("DELETE", "", None),
    ]:
        response = client.request(method, path + suffix, json=body, headers=other_tenant.headers)
        assert_problem(response, 404, "not_found")
    assert applications(client, other_tenant) == []
    # Nor can its connection be used to onboard.
    response = onboard(
        client,
        other_tenant,
        connection_id=shop_prod,
        **api_ref(api),
        stages=["prod"],
    )
    assert (
        assert_problem(response, 422, "validation_error")["errors"][0]["field"] == "connection_id"
    )
    assert len(applications(client, tenant)) == 1


def test_an_application_outlives_its_connection(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    created = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    assert (
        client.delete(f"/api/v1/connections/{shop_prod}", headers=tenant.headers).status_code == 204
    )

    kept = client.get(f"/api/v1/applications/{created['id']}", headers=tenant.headers).json()
    assert kept["source"]["connection_id"] is None
    assert kept["instances"] == created["instances"]
    assert definition(client, tenant, created["id"])["basePath"] == "/prod"
    response = client.post(
        f"/api/v1/applications/{created['id']}/instances",
        json={"stages": ["dev"]},
        headers=tenant.headers,
    )
    assert_problem(response, 409, "connection_deleted")
