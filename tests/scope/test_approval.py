"""Approval mode: a run holds new in-scope APIs as candidates; approving onboards one,
dismissing keeps it out of later runs until what it serves changes."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.schedules.runs import RunServices
from tests.applications.conftest import account_client, applications
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import aws, platform_user  # noqa: F401 - fixtures
from tests.discovery.conftest import central, org  # noqa: F401 - fixtures
from tests.schedules.conftest import (  # noqa: F401 - fixture
    DAILY_US,
    run_services,
    saved_schedule,
)
from tests.schedules.test_runs import run_once


def candidates(
    client: TestClient, tenant: TenantWithKey, connection_id: str, status: str = "pending"
) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/v1/connections/{connection_id}/candidates",
        params={"status": status, "limit": 500},
        headers=tenant.headers,
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_approval_mode_holds_candidates_then_approve_onboards_and_dismiss_keeps_out(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    central: str,  # noqa: F811
    database: Database,
    run_services: RunServices,  # noqa: F811
    make_tenant: Any,
) -> None:
    saved_schedule(
        client, tenant, central, **{**DAILY_US, "regions": list(org.regions), "approval": True}
    )

    first = run_once(client, tenant, central, database, run_services)

    assert applications(client, tenant) == []
    held = candidates(client, tenant, central)
    assert first["held_for_approval"] == len(held) > 2
    # Said per account and region too.
    assert sum(r["held_for_approval"] for r in first["results"]) == len(held)
    storefront_account = next(c["account_id"] for c in held if c["name"] == "shop-storefront-api")
    assert any(
        r["held_for_approval"] and r["account_id"] == storefront_account for r in first["results"]
    )
    assert first["onboarded"] == 0
    by_name = {item["name"]: item for item in held}
    storefront = by_name["shop-storefront-api"]
    assert storefront["stages"]
    assert all(stage["instance_urls"] for stage in storefront["stages"])

    # Approve one, with a choice of stage; dismiss another.
    stage = storefront["stages"][0]["name"]
    approved = client.post(
        f"/api/v1/candidates/{storefront['id']}/approve",
        json={"stages": [stage]},
        headers=tenant.headers,
    )
    assert approved.status_code == 201, approved.text
    assert {i["stage"] for i in approved.json()["instances"]} == {stage}
    chat = by_name["shop-storefront-api-eu"]
    dismissed = client.post(f"/api/v1/candidates/{chat['id']}/dismiss", headers=tenant.headers)
    assert dismissed.status_code == 200, dismissed.text
    assert dismissed.json()["status"] == "dismissed"
    again = client.post(f"/api/v1/candidates/{chat['id']}/approve", headers=tenant.headers)
    assert (again.status_code, again.json()["code"]) == (409, "candidate_dismissed")
    other = make_tenant()
    assert (
        client.post(f"/api/v1/candidates/{chat['id']}/dismiss", headers=other.headers).status_code
        == 404
    )

    second = run_once(client, tenant, central, database, run_services)

    pending = {item["name"] for item in candidates(client, tenant, central)}
    assert "shop-storefront-api-eu" not in pending, "a dismissed API is not offered again"
    assert "shop-storefront-api" not in pending, "an approved API is onboarded, not held"
    assert second["held_for_approval"] == len(held) - 2
    reasons = {entry["name"]: entry["reason"] for entry in second["skipped"]}
    assert reasons["shop-storefront-api-eu"].startswith("dismissed")
    assert [a["name"] for a in applications(client, tenant)] == ["shop-storefront-api"]

    # The dismissed API changes (a new deployment): the next run offers it again.
    api = org.api_named("shop-storefront-api-eu")
    apigateway = account_client(org, api, "apigateway")
    apigateway.create_deployment(restApiId=api.api_id, stageName=api.stages[0].name)

    run_once(client, tenant, central, database, run_services)

    offered = {item["name"]: item for item in candidates(client, tenant, central)}
    assert "shop-storefront-api-eu" in offered
    assert candidates(client, tenant, central, status="dismissed") == []
    assert [c["name"] for c in candidates(client, tenant, central, status="approved")] == [
        "shop-storefront-api"
    ]
