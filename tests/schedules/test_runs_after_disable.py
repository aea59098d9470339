"""Disabling a schedule (DELETE /connections/{id}/auto-onboard) keeps its runs listed and
readable: the history outlives the schedule; only deleting the connection takes it along."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.core.db import Database
from tests.conftest import TenantWithKey
from tests.discovery.conftest import create_connection
from tests.schedules.conftest import DAILY_US, auto_onboard, finish_all, run_now, saved_schedule


def test_runs_stay_listed_after_the_schedule_is_disabled(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    role = create_connection(
        client,
        tenant,
        name="role",
        credential_type="assume_role",
        role_arn="arn:aws:iam::123456789012:role/APIGatewayAccessRole",
    )
    saved_schedule(client, tenant, role, **DAILY_US)
    run = run_now(client, tenant, role)
    finish_all(database)

    assert client.delete(auto_onboard(role), headers=tenant.headers).status_code == 204

    listed = client.get(f"{auto_onboard(role)}/runs", headers=tenant.headers)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [run["id"]]
    one = client.get(f"{auto_onboard(role)}/runs/{run['id']}", headers=tenant.headers)
    assert one.status_code == 200
    assert one.json()["status"] == "succeeded"
    # Saving a schedule again starts from the same history.
    saved_schedule(client, tenant, role, **DAILY_US)
    again = client.get(f"{auto_onboard(role)}/runs", headers=tenant.headers).json()["items"]
    assert [item["id"] for item in again] == [run["id"]]
