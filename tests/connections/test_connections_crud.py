"""Creating, listing, changing and deleting connections: validation, isolation, secrets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.db import Database
from app.models import Connection
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROLE_ARN = "arn:aws:iam::999988887777:role/APIGatewayAccessRole"
CENTRAL_ARN = "arn:aws:iam::111122223333:role/APIsecCentralRole"


def user_body(name: str = "prod keys", **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "credential_type": "aws_user",
        "access_key_id": KEY_ID,
        "secret_access_key": SECRET,
        **extra,
    }


def test_create_and_read_an_access_key_connection(
    client: TestClient, tenant: TenantWithKey
) -> None:
    response = client.post("/api/v1/connections", json=user_body(), headers=tenant.headers)
    assert response.status_code == 201
    body = response.json()
    assert body["access_key_id_masked"] == "AKIA************MPLE"
    assert body["status"] == "untested"
    assert body["last_tested_at"] is None
    assert SECRET not in response.text
    assert KEY_ID not in response.text

    fetched = client.get(f"/api/v1/connections/{body['id']}", headers=tenant.headers)
    assert fetched.json() == body


def test_create_the_two_role_types_with_defaults(client: TestClient, tenant: TenantWithKey) -> None:
    role = client.post(
        "/api/v1/connections",
        json={"name": "role", "credential_type": "assume_role", "role_arn": ROLE_ARN},
        headers=tenant.headers,
    ).json()
    assert role["role_arn"] == ROLE_ARN
    assert role["session_name"] is None
    central = client.post(
        "/api/v1/connections",
        json={
            "name": "org",
            "credential_type": "central_role",
            "central_role_arn": CENTRAL_ARN,
            "session_name": "security-team",
        },
        headers=tenant.headers,
    ).json()
    assert central["child_role_name"] == "APIsecChildRole"
    assert central["session_name"] == "security-team"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        (
            {"name": "x", "credential_type": "assume_role", "role_arn": "arn:aws:iam::123:role/x"},
            "role_arn",
            "12-digit",
        ),
        (
            {
                "name": "x",
                "credential_type": "assume_role",
                "role_arn": "arn:aws:iam::123456789012:user/bob",
            },
            "role_arn",
            "role",
        ),
        (
            {
                "name": "x",
                "credential_type": "assume_role",
                "role_arn": ROLE_ARN,
                "session_name": "a b",
            },
            "session_name",
            "2 to 64",
        ),
        (
            {
                "name": "x",
                "credential_type": "assume_role",
                "role_arn": ROLE_ARN,
                "external_id": "the-other-customers-id",
            },
            "external_id",
            "is not accepted",
        ),
        (user_body(access_key_id="ASIAIOSFODNN7EXAMPLE"), "access_key_id", "temporary"),
        (user_body(access_key_id="AKIA123"), "access_key_id", "AKIA"),
        (user_body(secret_access_key="too-short-secret"), "secret_access_key", "40-character"),
        (
            {
                "name": "x",
                "credential_type": "central_role",
                "central_role_arn": CENTRAL_ARN,
                "child_role_name": "bad name!",
            },
            "child_role_name",
            "role name",
        ),
        (user_body(name="   "), "name", "at least 1"),
        ({"name": "x", "credential_type": "password"}, "credential_type", ""),
        ({"name": "x"}, "credential_type", ""),
        (user_body(role_arn=ROLE_ARN), "role_arn", "Extra"),
    ],
)
def test_malformed_input_is_a_422_naming_the_field(
    client: TestClient, tenant: TenantWithKey, body: dict[str, Any], field: str, words: str
) -> None:
    response = client.post("/api/v1/connections", json=body, headers=tenant.headers)
    problem = assert_problem(response, 422, "validation_error")
    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert field in fields, problem["errors"]
    assert words in fields[field]
    assert "too-short-secret" not in response.text


def test_a_name_is_unique_within_a_tenant_only(
    client: TestClient, make_tenant: Callable[..., TenantWithKey]
) -> None:
    alice, bob = make_tenant(), make_tenant()
    assert (
        client.post("/api/v1/connections", json=user_body(), headers=alice.headers).status_code
        == 201
    )
    duplicate = client.post("/api/v1/connections", json=user_body(), headers=alice.headers)
    assert_problem(duplicate, 409, "conflict")
    assert (
        client.post("/api/v1/connections", json=user_body(), headers=bob.headers).status_code == 201
    )


def test_the_secret_is_stored_encrypted(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    client.post("/api/v1/connections", json=user_body(), headers=tenant.headers)
    with database.session() as session:
        row = session.scalars(select(Connection)).one()
        assert row.secret_access_key_encrypted
        assert SECRET not in row.secret_access_key_encrypted
        assert "wJalrXUtnFEMI" not in row.secret_access_key_encrypted
        assert row.secret_access_key_encrypted.startswith("gAAAAA")  # a Fernet token


def test_rotating_keys_replaces_the_secret_and_needs_both_halves(
    client: TestClient, tenant: TenantWithKey, database: Database, app: Any
) -> None:
    created = client.post("/api/v1/connections", json=user_body(), headers=tenant.headers).json()
    url = f"/api/v1/connections/{created['id']}"
    with database.session() as session:
        before = session.scalars(select(Connection)).one().secret_access_key_encrypted

    half = client.patch(url, json={"access_key_id": "AKIAI44QH8DHBEXAMPLE"}, headers=tenant.headers)
    problem = assert_problem(half, 422, "validation_error")
    assert problem["errors"][0]["field"] == "secret_access_key"

    new_secret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
    rotated = client.patch(
        url,
        json={"access_key_id": "AKIAI44QH8DHBEXAMPLE", "secret_access_key": new_secret},
        headers=tenant.headers,
    )
    assert rotated.status_code == 200
    assert rotated.json()["access_key_id_masked"] == "AKIA************MPLE"
    assert rotated.json()["status"] == "untested"
    assert new_secret not in rotated.text
    with database.session() as session:
        row = session.scalars(select(Connection)).one()
        assert row.secret_access_key_encrypted != before
        assert row.access_key_id == "AKIAI44QH8DHBEXAMPLE"
        assert app.state.secret_box.decrypt(row.secret_access_key_encrypted) == new_secret


def test_patch_renames_and_refuses_fields_of_another_type(
    client: TestClient, tenant: TenantWithKey
) -> None:
    created = client.post(
        "/api/v1/connections",
        json={"name": "role", "credential_type": "assume_role", "role_arn": ROLE_ARN},
        headers=tenant.headers,
    ).json()
    url = f"/api/v1/connections/{created['id']}"
    renamed = client.patch(
        url, json={"name": "renamed", "session_name": "audit-team"}, headers=tenant.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "renamed"
    assert renamed.json()["session_name"] == "audit-team"

    wrong = client.patch(url, json={"child_role_name": "Other"}, headers=tenant.headers)
    problem = assert_problem(wrong, 422, "validation_error")
    assert problem["errors"][0]["field"] == "child_role_name"
    assert client.get(url, headers=tenant.headers).json()["name"] == "renamed"


def test_delete_then_gone(client: TestClient, tenant: TenantWithKey) -> None:
    created = client.post("/api/v1/connections", json=user_body(), headers=tenant.headers).json()
    url = f"/api/v1/connections/{created['id']}"
    assert client.delete(url, headers=tenant.headers).status_code == 204
    assert_problem(client.get(url, headers=tenant.headers), 404, "not_found")


def test_another_tenants_connection_does_not_exist(
    client: TestClient, make_tenant: Callable[..., TenantWithKey]
) -> None:
    alice, mallory = make_tenant(), make_tenant()
    created = client.post("/api/v1/connections", json=user_body(), headers=alice.headers).json()
    url = f"/api/v1/connections/{created['id']}"
    assert_problem(client.get(url, headers=mallory.headers), 404, "not_found")
    assert_problem(client.patch(url, json={"name": "x"}, headers=mallory.headers), 404, "not_found")
    assert_problem(client.post(f"{url}/test", headers=mallory.headers), 404, "not_found")
    assert_problem(client.delete(url, headers=mallory.headers), 404, "not_found")
    assert client.get("/api/v1/connections", headers=mallory.headers).json()["items"] == []
    assert client.get(url, headers=alice.headers).json()["name"] == "prod keys"


def test_listing_pages_through_every_connection_once(
    client: TestClient, tenant: TenantWithKey
) -> None:
    for index in range(5):
        client.post("/api/v1/connections", json=user_body(name=f"c{index}"), headers=tenant.headers)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/api/v1/connections", params=params, headers=tenant.headers).json()
        seen += [item["name"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"c{index}" for index in range(5)]
    assert pages == 3
    bad = client.get("/api/v1/connections", params={"cursor": "nonsense"}, headers=tenant.headers)
    assert assert_problem(bad, 422, "validation_error")["errors"][0]["field"] == "cursor"
    too_many = client.get("/api/v1/connections", params={"limit": 501}, headers=tenant.headers)
    assert assert_problem(too_many, 422, "validation_error")["errors"][0]["field"] == "limit"


def test_a_name_taken_by_a_racing_request_is_a_409_not_a_500(
    client: TestClient, tenant: TenantWithKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two requests that both passed the name check: the database's unique constraint decides.
    from app.connections import service

    assert (
        client.post("/api/v1/connections", json=user_body(), headers=tenant.headers).status_code
        == 201
    )
    monkeypatch.setattr(service, "_ensure_name_free", lambda *args, **kwargs: None)
    racing = client.post("/api/v1/connections", json=user_body(), headers=tenant.headers)
    assert_problem(racing, 409, "conflict")
    listing = client.get("/api/v1/connections", headers=tenant.headers).json()
    assert len(listing["items"]) == 1
