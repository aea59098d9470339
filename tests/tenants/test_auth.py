"""API keys: 401 for missing, malformed, unknown and revoked keys; keys stored only hashed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.config import Settings
from app.core.db import Database
from app.main import create_app
from app.models import ApiKey
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem


def test_a_valid_key_identifies_its_tenant(client: TestClient, tenant: TenantWithKey) -> None:
    response = client.get("/api/v1/tenant", headers=tenant.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(tenant.tenant.id)
    assert body["name"] == tenant.tenant.name
    assert len(body["external_id"]) >= 32


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": "Bearer onb_0123456789abcdef_" + "A" * 43},
    ],
    ids=["missing", "empty", "no-token", "basic", "malformed", "unknown"],
)
def test_missing_or_unknown_key_is_401(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/api/v1/tenant", headers=headers)
    body = assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in body["hint"]


def test_a_key_with_a_known_id_but_wrong_secret_is_401(
    client: TestClient, tenant: TenantWithKey
) -> None:
    key_id = tenant.api_key.split("_")[1]
    forged = f"onb_{key_id}_" + "B" * 43
    assert_problem(
        client.get("/api/v1/tenant", headers={"Authorization": f"Bearer {forged}"}),
        401,
        "unauthorized",
    )


def test_a_revoked_key_is_401_and_other_keys_keep_working(
    client: TestClient, tenant: TenantWithKey
) -> None:
    created = client.post("/api/v1/api-keys", json={"label": "ci"}, headers=tenant.headers)
    assert created.status_code == 201
    second = created.json()
    assert second["api_key"].startswith(f"onb_{second['key_id']}_")
    second_headers = {"Authorization": f"Bearer {second['api_key']}"}
    assert client.get("/api/v1/tenant", headers=second_headers).status_code == 200

    revoked = client.delete(f"/api/v1/api-keys/{second['key_id']}", headers=tenant.headers)
    assert revoked.status_code == 204

    body = assert_problem(client.get("/api/v1/tenant", headers=second_headers), 401, "unauthorized")
    assert "revoked" in body["detail"]
    assert client.get("/api/v1/tenant", headers=tenant.headers).status_code == 200


def test_key_listing_never_shows_a_key(client: TestClient, tenant: TenantWithKey) -> None:
    response = client.get("/api/v1/api-keys", headers=tenant.headers)
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) == 1
    assert items[0]["key_id"] == tenant.api_key.split("_")[1]
    assert tenant.api_key.split("_", 2)[2] not in response.text
    assert "api_key" not in items[0]


def test_a_tenant_cannot_revoke_another_tenants_key(
    client: TestClient, make_tenant: Callable[..., TenantWithKey]
) -> None:
    alice, bob = make_tenant(), make_tenant()
    bob_key_id = bob.api_key.split("_")[1]
    response = client.delete(f"/api/v1/api-keys/{bob_key_id}", headers=alice.headers)
    assert_problem(response, 404, "not_found")
    assert client.get("/api/v1/tenant", headers=bob.headers).status_code == 200


def test_keys_are_stored_only_as_a_digest_and_last_use_is_recorded(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    with database.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant.tenant.id)).one()
        assert row.last_used_at is None
        assert tenant.api_key not in row.secret_hash
        assert tenant.api_key.split("_", 2)[2] not in row.secret_hash
        assert len(row.secret_hash) == 64

    client.get("/api/v1/tenant", headers=tenant.headers)
    with database.session() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.tenant_id == tenant.tenant.id)).one()
        assert row.last_used_at is not None


def test_tenants_get_distinct_random_external_ids(
    make_tenant: Callable[..., TenantWithKey],
) -> None:
    external_ids = {make_tenant().tenant.external_id for _ in range(5)}
    assert len(external_ids) == 5


def test_a_tenant_holds_at_most_the_configured_number_of_keys(
    settings: Settings, tenant: TenantWithKey
) -> None:
    app = create_app(
        settings.model_copy(update={"max_api_keys_per_tenant": 3}), configure_logs=False
    )
    with TestClient(app) as client:
        created = [
            client.post("/api/v1/api-keys", json={"label": f"k{n}"}, headers=tenant.headers)
            for n in range(2)
        ]
        assert [r.status_code for r in created] == [201, 201]  # with the first one: 3

        refused = client.post("/api/v1/api-keys", json={"label": "k3"}, headers=tenant.headers)
        problem = assert_problem(refused, 409, "api_key_limit_reached")
        assert problem["limit"] == 3
        assert "DELETE /api/v1/api-keys/" in problem["hint"]
        assert len(client.get("/api/v1/api-keys", headers=tenant.headers).json()["items"]) == 3

        # A revoked key frees its place.
        key_id = created[0].json()["key_id"]
        assert (
            client.delete(f"/api/v1/api-keys/{key_id}", headers=tenant.headers).status_code == 204
        )
        again = client.post("/api/v1/api-keys", json={"label": "k4"}, headers=tenant.headers)
        assert again.status_code == 201
