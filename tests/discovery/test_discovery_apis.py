"""Discovery over the demo organization in moto: every protocol, endpoint type and URL rule."""

from __future__ import annotations

from typing import Any

import boto3
from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededApi, SeededOrganization
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import allow, enforcing_iam, make_user
from tests.core.test_errors import assert_problem
from tests.discovery.conftest import create_connection


def apis(
    client: TestClient, tenant: TenantWithKey, connection_id: str, **params: Any
) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/connections/{connection_id}/apis", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_name(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {api["name"]: api for api in body["items"]}


def stage(api: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in api["stages"] if s["name"] == name)
    return found


def assert_matches_seed(found: dict[str, Any], seeded: SeededApi) -> None:
    assert found["api_id"] == seeded.api_id
    assert found["account_id"] == seeded.account_id
    assert found["region"] == seeded.region
    assert found["protocol"] == seeded.protocol
    assert found["endpoint_type"] == seeded.endpoint_type
    assert sorted(s["name"] for s in found["stages"]) == sorted(seeded.stage_names)
    assert sorted(found["vpc_endpoint_ids"]) == sorted(seeded.vpc_endpoint_ids)
    assert found["created_at"] is not None
    assert found["application_id"] is None


def test_a_region_lists_every_api_of_every_member_account(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    body = apis(client, tenant, central, region="us-east-1")

    expected = {api.name: api for api in org.apis if api.region == "us-east-1"}
    found = by_name(body)
    assert set(found) == set(expected)
    for name, seeded in expected.items():
        assert_matches_seed(found[name], seeded)
    assert body["errors"] == []
    assert body["regions_not_enabled"] == []
    assert body["next_cursor"] is None


def test_rest_apis_have_one_url_per_stage_and_their_custom_domain(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    seeded = org.api_named("shop-storefront-api")
    api = by_name(apis(client, tenant, central, region="us-east-1"))["shop-storefront-api"]

    base = f"https://{seeded.api_id}.execute-api.us-east-1.amazonaws.com"
    for name in ("prod", "staging", "dev"):
        assert stage(api, name)["instance_urls"] == [f"{base}/{name}"]
        assert stage(api, name)["deployment_id"]
    assert api["custom_domain_urls"] == ["https://api.example-shop.com/v1"]
    assert api["custom_domains"][0]["stage"] == "prod"
    assert api["tags"]["team"]


def test_http_apis_use_their_endpoint_without_a_path_for_the_default_stage(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    found = by_name(apis(client, tenant, central, region="us-east-1"))
    catalog, staging = found["shop-catalog-api"], found["shop-catalog-api-staging"]

    catalog_id = org.api_named("shop-catalog-api").api_id
    assert stage(catalog, "$default")["instance_urls"] == [
        f"https://{catalog_id}.execute-api.us-east-1.amazonaws.com"
    ]
    assert catalog["custom_domain_urls"] == ["https://catalog.example-shop.com"]
    staging_id = org.api_named("shop-catalog-api-staging").api_id
    assert stage(staging, "v1")["instance_urls"] == [
        f"https://{staging_id}.execute-api.us-east-1.amazonaws.com/v1"
    ]


def test_a_private_api_gets_a_url_per_vpc_endpoint_and_websocket_apis_wss(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    found = by_name(apis(client, tenant, central, region="eu-west-1"))

    private = found["payments-internal-api"]
    seeded = org.api_named("payments-internal-api")
    assert len(seeded.vpc_endpoint_ids) == 2
    host = "execute-api.eu-west-1.amazonaws.com"
    for name in ("prod", "staging"):
        assert stage(private, name)["instance_urls"] == [
            f"https://{seeded.api_id}.{host}/{name}",
            *(f"https://{seeded.api_id}-{vpce}.{host}/{name}" for vpce in seeded.vpc_endpoint_ids),
        ]
    chat = found["shop-live-chat"]
    chat_id = org.api_named("shop-live-chat").api_id
    assert chat["protocol"] == "WEBSOCKET"
    assert stage(chat, "production")["instance_urls"] == [f"wss://{chat_id}.{host}/production"]
    assert found["shop-storefront-api-eu"]["endpoint_type"] == "REGIONAL"


def test_one_account_and_paging_through_the_answer(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    shop_prod = org.account_id_named("shop-prod")
    first = apis(client, tenant, central, region="us-east-1", account_id=shop_prod, limit=1)
    assert [api["name"] for api in first["items"]] == ["shop-catalog-api"]
    second = apis(
        client,
        tenant,
        central,
        region="us-east-1",
        account_id=shop_prod,
        limit=1,
        cursor=first["next_cursor"],
    )
    assert [api["name"] for api in second["items"]] == ["shop-storefront-api"]
    assert second["next_cursor"] is None


def test_single_account_connections_list_their_own_account(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization
) -> None:
    user = create_connection(
        client,
        tenant,
        name="reader",
        credential_type="aws_user",
        access_key_id=org.user_access_key_id,
        secret_access_key=org.user_secret_access_key,
    )
    role = create_connection(
        client, tenant, name="role", credential_type="assume_role", role_arn=org.assume_role_arn
    )

    user_apis = by_name(apis(client, tenant, user, region="us-east-1"))
    assert set(user_apis) == {api.name for api in org.apis_in(org.user_account_id, "us-east-1")}
    role_account = org.assume_role_arn.split(":")[4]
    role_apis = by_name(apis(client, tenant, role, region="eu-west-1"))
    assert set(role_apis) == {api.name for api in org.apis_in(role_account, "eu-west-1")}

    accounts = client.get(f"/api/v1/connections/{role}/accounts", headers=tenant.headers).json()
    assert [a["account_id"] for a in accounts["items"]] == [role_account]
    assert accounts["items"][0]["reachable"] is True


def test_accounts_of_a_central_role_are_the_whole_organization(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    body = client.get(f"/api/v1/connections/{central}/accounts", headers=tenant.headers).json()
    assert {a["account_id"] for a in body["items"]} == {
        org.management_account_id,
        *org.member_account_ids,
    }
    assert all(a["status"] == "ACTIVE" for a in body["items"])


def test_malformed_questions_name_the_field(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, central: str
) -> None:
    url = f"/api/v1/connections/{central}/apis"
    response = client.get(url, headers=tenant.headers)
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["field"] == "region"

    response = client.get(url, params={"region": "mars-north-1"}, headers=tenant.headers)
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"] == [
        {"field": "region", "message": response.json()["errors"][0]["message"]}
    ]
    assert "mars-north-1" in response.json()["errors"][0]["message"]

    response = client.get(
        url, params={"region": "us-east-1", "account_id": "12"}, headers=tenant.headers
    )
    assert_problem(response, 422, "validation_error")
    assert response.json()["errors"][0]["field"] == "account_id"

    response = client.get(
        url, params={"region": "us-east-1", "account_id": "000011112222"}, headers=tenant.headers
    )
    assert_problem(response, 404, "not_found")


def test_another_tenants_connection_is_not_found(
    client: TestClient,
    tenant: TenantWithKey,
    make_tenant: Any,
    org: SeededOrganization,
    central: str,
) -> None:
    other = make_tenant("other")
    for path in ("apis?region=us-east-1", "accounts", "regions"):
        response = client.get(f"/api/v1/connections/{central}/{path}", headers=other.headers)
        assert_problem(response, 404, "not_found")


def test_a_refused_access_key_is_a_502_with_the_aws_error_and_its_hint(
    client: TestClient, tenant: TenantWithKey, aws: None
) -> None:
    reader = make_user("reader", allow("apigateway:GET"))
    connection = create_connection(
        client,
        tenant,
        credential_type="aws_user",
        access_key_id=reader.access_key_id,
        secret_access_key=reader.secret_access_key,
    )
    boto3.client("iam").delete_access_key(UserName="reader", AccessKeyId=reader.access_key_id)

    response = enforcing_iam(
        lambda: client.get(
            f"/api/v1/connections/{connection}/apis",
            params={"region": "us-east-1"},
            headers=tenant.headers,
        )
    )

    assert_problem(response, 502, "invalid_credentials")
    assert "Create a new access key" in response.json()["hint"]
    assert reader.secret_access_key not in response.text
