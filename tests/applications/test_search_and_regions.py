"""The applications list's search by name (`q`), the regions its filter offers, and the 409's
hint that names the console's way to add instances."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.integrations.aws.demo_organization import SeededOrganization
from tests.applications.conftest import (
    api_ref,
    applications,
    onboard,
    onboarded,
    storefront_prod,
)
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def _three(client: TestClient, tenant: TenantWithKey, org: SeededOrganization, via: str) -> None:
    """storefront (us-east-1) as "Shop Storefront 100%_off", catalog (us-east-1) and the
    storefront's EU twin (eu-west-1) under their own names."""
    onboarded(client, tenant, **storefront_prod(org, via), name="Shop Storefront 100%_off")
    for name in ("shop-catalog-api", "shop-storefront-api-eu"):
        api = org.api_named(name)
        onboarded(client, tenant, connection_id=via, **api_ref(api), stages=[api.stage_names[0]])


def test_q_finds_applications_by_part_of_the_name_in_any_case(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    _three(client, tenant, org, shop_prod)

    def names(**params: str) -> list[str]:
        return sorted(a["name"] for a in applications(client, tenant, **params))

    assert names(q="STOREFRONT") == ["Shop Storefront 100%_off", "shop-storefront-api-eu"]
    assert names(q="catalog") == ["shop-catalog-api"]
    # % and _ are the name's own characters, not wildcards.
    assert names(q="100%_") == ["Shop Storefront 100%_off"]
    assert names(q="%") == ["Shop Storefront 100%_off"]
    assert names(q="p_c") == []
    assert names(q="nothing like it") == []
    # It combines with the other filters.
    assert names(q="storefront", region="eu-west-1") == ["shop-storefront-api-eu"]


def test_an_empty_or_overlong_q_is_a_422(client: TestClient, tenant: TenantWithKey) -> None:
    for q in ("", "x" * 201):
        response = client.get("/api/v1/applications", params={"q": q}, headers=tenant.headers)
        assert_problem(response, 422, "validation_error")


def test_regions_lists_where_the_tenants_applications_are(
    client: TestClient,
    tenant: TenantWithKey,
    other_tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
) -> None:
    empty = client.get("/api/v1/applications/regions", headers=tenant.headers)
    assert empty.status_code == 200, empty.text
    assert empty.json() == {"items": []}

    _three(client, tenant, org, shop_prod)
    response = client.get("/api/v1/applications/regions", headers=tenant.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "items": [
            {"region": "eu-west-1", "applications": 1},
            {"region": "us-east-1", "applications": 2},
        ]
    }
    # Another tenant's applications are its own.
    other = client.get("/api/v1/applications/regions", headers=other_tenant.headers)
    assert other.json() == {"items": []}


def test_the_409_of_an_onboarded_api_points_to_add_instances(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    first = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    again = onboard(client, tenant, **{**storefront_prod(org, shop_prod), "stages": ["staging"]})

    problem = assert_problem(again, 409, "conflict")
    assert problem["application_id"] == first["id"]
    assert "choose Add Instances" in problem["hint"]
    assert f"POST /applications/{first['id']}/instances" in problem["hint"]
