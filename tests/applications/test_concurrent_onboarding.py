"""Onboardings racing other requests: the database decides, and nothing is half-written."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete

from app.applications import service
from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.models import Connection
from tests.applications.conftest import applications, onboard, storefront_prod
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def test_simultaneous_onboardings_give_one_201_and_one_409_naming_it(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    central: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Both requests pass the early duplicate check and ask AWS; only then, together, do they
    # write. Nothing but the unique constraint stands between them.
    both_inspected = threading.Barrier(2, timeout=30)
    original = service.inspect

    def inspect_then_wait(**kwargs: Any) -> service.Inspection:
        inspection = original(**kwargs)
        both_inspected.wait()
        return inspection

    monkeypatch.setattr(service, "inspect", inspect_then_wait)
    api = org.api_named("shop-storefront-api")
    bodies = [
        {"connection_id": shop_prod, "stages": ["prod"]},
        {"connection_id": central, "account_id": api.account_id, "stages": ["staging"]},
    ]

    with ThreadPoolExecutor(2) as pool:
        responses = list(
            pool.map(
                lambda body: onboard(client, tenant, region="us-east-1", api_id=api.api_id, **body),
                bodies,
            )
        )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 409], [r.text for r in responses]
    created = next(r for r in responses if r.status_code == 201).json()
    conflict = next(r for r in responses if r.status_code == 409)
    assert assert_problem(conflict, 409, "conflict")["application_id"] == created["id"]
    stored = applications(client, tenant)
    assert [a["id"] for a in stored] == [created["id"]]
    assert stored[0]["instances"] == created["instances"]


def test_a_connection_deleted_while_its_api_is_onboarded_is_a_409_and_nothing_is_stored(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = service.inspect

    def inspect_then_delete_connection(**kwargs: Any) -> service.Inspection:
        inspection = original(**kwargs)
        with database.session() as session:
            session.execute(delete(Connection).where(Connection.id == uuid.UUID(shop_prod)))
        return inspection

    monkeypatch.setattr(service, "inspect", inspect_then_delete_connection)

    response = onboard(client, tenant, **storefront_prod(org, shop_prod))

    assert "onboarded" in assert_problem(response, 409, "connection_deleted")["detail"]
    assert applications(client, tenant) == []
