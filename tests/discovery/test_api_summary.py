"""GET /connections/{id}/api-summary: which regions hold APIs, and how many, per account."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.integrations.aws import apigateway
from app.integrations.aws.demo_organization import SeededOrganization
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem
from tests.discovery.conftest import create_connection


def summary(
    client: TestClient, tenant: TenantWithKey, connection_id: str, **params: Any
) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/connections/{connection_id}/api-summary", params=params, headers=tenant.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def expected(org: SeededOrganization, account_ids: set[str]) -> Counter[tuple[str, str]]:
    return Counter(
        (api.region, api.account_id) for api in org.apis if api.account_id in account_ids
    )


@pytest.fixture
def listing_only(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fails the test's requests if a stage or a custom domain is asked for: the calls made."""
    asked: list[str] = []

    def refuse(name: str) -> Any:
        def called(*args: Any, **kwargs: Any) -> Any:
            asked.append(name)
            raise AssertionError(f"{name} called while counting")

        return called

    for name in ("_rest_stages", "_v2_stages", "_rest_domains", "_v2_domains"):
        monkeypatch.setattr(apigateway, name, refuse(name))
    return asked


def test_a_central_role_counts_the_apis_of_each_account_and_region(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    listing_only: list[str],
) -> None:
    body = summary(client, tenant, central)

    found = Counter({(i["region"], i["account_id"]): i["apis"] for i in body["items"]})
    assert found == expected(org, set(org.member_account_ids))
    # At least two accounts hold APIs, in two regions: each is counted on its own.
    assert len({i["account_id"] for i in body["items"]}) >= 2
    assert {i["region"] for i in body["items"]} == {"us-east-1", "eu-west-1"}
    # The most APIs first; no empty region is listed.
    assert [i["apis"] for i in body["items"]] == sorted(
        (i["apis"] for i in body["items"]), reverse=True
    )
    assert all(i["apis"] > 0 for i in body["items"])
    # An account that cannot be reached is said, as /accounts says it, not silently left out.
    accounts = client.get(f"/api/v1/connections/{central}/accounts", headers=tenant.headers)
    unreachable = {a["account_id"] for a in accounts.json()["items"] if not a["reachable"]}
    assert {e["account_id"] for e in body["errors"]} == unreachable
    assert all(e["region"] is None and e["code"] for e in body["errors"])
    assert listing_only == []


def test_one_account_of_a_central_role(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    listing_only: list[str],
) -> None:
    shop_prod = org.account_id_named("shop-prod")
    body = summary(client, tenant, central, account_id=shop_prod)

    found = Counter({(i["region"], i["account_id"]): i["apis"] for i in body["items"]})
    assert found == expected(org, {shop_prod})
    assert found[("us-east-1", shop_prod)] == 2
    assert body["errors"] == []


def test_a_single_account_connection_counts_its_own_apis(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, listing_only: list[str]
) -> None:
    connection = create_connection(
        client,
        tenant,
        name="shop-prod",
        credential_type="assume_role",
        role_arn=org.assume_role_arn,
    )
    shop_prod = org.account_id_named("shop-prod")

    body = summary(client, tenant, connection)

    assert Counter({(i["region"], i["account_id"]): i["apis"] for i in body["items"]}) == (
        expected(org, {shop_prod})
    )


def test_the_answer_is_reused_until_refresh(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    central: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    listed: list[str] = []
    real = apigateway.list_region

    def counting(**kwargs: Any) -> Any:
        listed.append(kwargs["region"])
        return real(**kwargs)

    monkeypatch.setattr("app.integrations.aws.discovery.list_region", counting)
    shop_prod = org.account_id_named("shop-prod")
    first = summary(client, tenant, central, account_id=shop_prod)
    asked = len(listed)
    assert asked > 0

    assert summary(client, tenant, central, account_id=shop_prod) == first
    assert len(listed) == asked
    summary(client, tenant, central, account_id=shop_prod, refresh="true")
    assert len(listed) == 2 * asked


def test_an_account_not_reached_is_a_404_and_a_malformed_one_a_422(
    client: TestClient, tenant: TenantWithKey, central: str
) -> None:
    path = f"/api/v1/connections/{central}/api-summary"
    missing = client.get(path, params={"account_id": "999999999999"}, headers=tenant.headers)
    assert_problem(missing, 404, "not_found")
    malformed = client.get(path, params={"account_id": "12"}, headers=tenant.headers)
    assert_problem(malformed, 422, "validation_error")
