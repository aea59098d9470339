"""The ingest endpoint: AWS change events in, authenticated by the connection's token.

It records API Gateway change calls as triggers and answers 202 at once; it never asks AWS
(the autouse guard in tests/conftest.py would fail a call made with a transaction open, and
no moto is running here for most tests). A wrong token, a malformed body, another tenant's
connection: each is refused and writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from app.core.db import Database
from tests.conftest import TenantWithKey
from tests.discovery.conftest import create_connection
from tests.ingest.conftest import (
    TOKEN_HEADER,
    cloudtrail_event,
    deployment_event,
    events_url,
    ingest_status,
    new_token,
    post_events,
    triggers,
)

ACCOUNT = "111122223333"


def user_connection(client: TestClient, tenant: TenantWithKey, name: str = "reader") -> str:
    return create_connection(
        client,
        tenant,
        name=name,
        credential_type="aws_user",
        access_key_id="AKIAIOSFODNN7EXAMPLE",
        secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    )


def test_a_token_is_shown_once_and_a_new_one_replaces_it(
    client: TestClient, tenant: TenantWithKey
) -> None:
    connection_id = user_connection(client, tenant)
    assert ingest_status(client, tenant, connection_id)["enabled"] is False

    first = new_token(client, tenant, connection_id)
    assert first["token"].startswith("oit_")
    assert first["ingest_url"].endswith(events_url(connection_id))
    status = ingest_status(client, tenant, connection_id)
    assert status["enabled"] is True
    assert first["token"] not in str(status)
    assert (
        first["token"]
        not in client.get(f"/api/v1/connections/{connection_id}", headers=tenant.headers).text
    )

    second = new_token(client, tenant, connection_id)
    event = deployment_event(ACCOUNT, "us-east-1", "a1b2c3d4e5")
    assert post_events(client, connection_id, first["token"], event).status_code == 401
    assert post_events(client, connection_id, second["token"], event).status_code == 202

    deleted = client.delete(
        f"/api/v1/connections/{connection_id}/ingest-token", headers=tenant.headers
    )
    assert deleted.status_code == 204
    assert post_events(client, connection_id, second["token"], event).status_code == 401
    assert ingest_status(client, tenant, connection_id)["enabled"] is False


def test_change_calls_are_recorded_and_reads_failures_and_other_services_ignored(
    client: TestClient, tenant: TenantWithKey, database: Database
) -> None:
    connection_id = user_connection(client, tenant)
    token = new_token(client, tenant, connection_id)["token"]
    failed = cloudtrail_event(
        "DeleteRestApi", account=ACCOUNT, request={"restApiId": "a1b2c3d4e5"}, error_code="NotFound"
    )
    read = cloudtrail_event("GetRestApis", account=ACCOUNT, request={"limit": 500})
    other = {**deployment_event(ACCOUNT, "us-east-1", "a1b2c3d4e5"), "source": "aws.s3"}
    created = cloudtrail_event(
        "CreateRestApi",
        account=ACCOUNT,
        request={"name": "orders"},
        response={"id": "zyxw987654", "name": "orders"},
    )
    unmapped = cloudtrail_event(
        "DeleteBasePathMapping",
        account=ACCOUNT,
        request={"domainName": "API.example.com", "basePath": "v1"},
    )
    batch = [failed, read, other, created, unmapped, deployment_event(ACCOUNT, "eu-west-1", "b")]

    response = post_events(client, connection_id, token, batch)

    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 3, "ignored": 3}
    status = ingest_status(client, tenant, connection_id)
    assert status["events_24h"] == 3
    assert status["pending"] == 3
    assert status["last_event_at"] is not None
    assert sorted((t["event_name"], t["target"]) for t in status["recent"]) == [
        ("CreateDeployment", "api:b"),
        ("CreateRestApi", "api:zyxw987654"),
        ("DeleteBasePathMapping", "domain:api.example.com"),
    ]
    # EventBridge delivers at least once: the same event again is recorded once.
    again = post_events(client, connection_id, token, created)
    assert again.json() == {"accepted": 1, "ignored": 0}
    assert triggers(database) == 3


def test_a_bad_token_a_malformed_body_and_another_tenants_connection_write_nothing(
    client: TestClient,
    tenant: TenantWithKey,
    make_tenant: Callable[..., TenantWithKey],
    database: Database,
) -> None:
    connection_id = user_connection(client, tenant)
    token = new_token(client, tenant, connection_id)["token"]
    other = make_tenant()
    theirs = user_connection(client, other)
    their_token = new_token(client, other, theirs)["token"]
    event = deployment_event(ACCOUNT, "us-east-1", "a1b2c3d4e5")

    missing = client.post(events_url(connection_id), json=event)
    wrong = post_events(client, connection_id, token[:-2] + "xx", event)
    unknown = post_events(client, "00000000-0000-4000-8000-000000000000", "oit_nothing", event)
    assert [r.status_code for r in (missing, wrong, unknown)] == [401, 401, 401]
    assert wrong.json()["code"] == "unauthorized"
    assert "hint" in wrong.json()
    # A valid token on another tenant's connection: for this token's tenant it does not exist.
    crossed = post_events(client, theirs, token, event)
    assert crossed.status_code == 404, crossed.text
    # ... and on another connection of its own tenant: the token is not that connection's.
    mine_too = user_connection(client, tenant, name="second")
    assert post_events(client, mine_too, token, event).status_code == 401

    no_account = {k: v for k, v in event.items() if k != "account"}
    bad_detail = {**event, "detail": {**event["detail"], "eventName": 42}}
    for body, field in (
        (no_account, "account"),
        ([event, bad_detail], "1.detail.eventName"),
        ({"hello": "world"}, "id"),
        ([], "body"),
    ):
        response = post_events(client, connection_id, token, body)
        assert response.status_code == 422, response.text
        assert field in {error["field"] for error in response.json()["errors"]}, response.json()
    not_json = client.post(
        events_url(connection_id),
        content=b"{not json",
        headers={TOKEN_HEADER: token, "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    huge = client.post(
        events_url(connection_id),
        content=b"[" + b" " * (300 * 1024) + b"]",
        headers={TOKEN_HEADER: token, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"

    assert triggers(database) == 0
    assert ingest_status(client, tenant, connection_id)["last_event_at"] is None
    assert ingest_status(client, other, theirs)["last_event_at"] is None
    assert post_events(client, theirs, their_token, event).status_code == 202


def test_token_routes_answer_404_for_another_tenants_connection(
    client: TestClient, tenant: TenantWithKey, make_tenant: Callable[..., TenantWithKey]
) -> None:
    theirs = user_connection(client, make_tenant())
    base = f"/api/v1/connections/{theirs}"
    assert client.post(f"{base}/ingest-token", headers=tenant.headers).status_code == 404
    assert client.get(f"{base}/ingest", headers=tenant.headers).status_code == 404
    assert client.get(f"{base}/ingest/setup", headers=tenant.headers).status_code == 404
    assert client.delete(f"{base}/ingest-token", headers=tenant.headers).status_code == 404
