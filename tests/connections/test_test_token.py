"""A connection tested before it was created is stored as tested (the test token)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.connections import test_tokens
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import IamUser, allow, enforcing_iam, make_user

MGMT = "123456789012"


def user_body(user: IamUser, **extra: Any) -> dict[str, Any]:
    return {
        "credential_type": "aws_user",
        "access_key_id": user.access_key_id,
        "secret_access_key": user.secret_access_key,
        **extra,
    }


def probe(client: TestClient, tenant: TenantWithKey, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/connections/test", json=body, headers=tenant.headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def create(client: TestClient, tenant: TenantWithKey, body: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/api/v1/connections", json=body, headers=tenant.headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.fixture
def reader(aws: None) -> IamUser:
    return make_user("reader", allow("apigateway:GET"))


def test_tested_before_create_is_stored_ok_with_the_test_time(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    before = datetime.now().astimezone()
    result = probe(client, tenant, user_body(reader))
    assert result["ok"] is True
    token = result["test_token"]
    assert token

    # The name may be given (or changed) after the test: it is not a credential field.
    created = create(client, tenant, user_body(reader, name="prod keys", test_token=token))
    assert created["status"] == "ok"
    assert created["account_id"] == MGMT
    tested_at = datetime.fromisoformat(created["last_tested_at"])
    assert before - timedelta(seconds=1) <= tested_at <= datetime.now().astimezone()
    assert "test_token" not in created

    fetched = client.get(f"/api/v1/connections/{created['id']}", headers=tenant.headers).json()
    assert fetched["status"] == "ok"
    assert fetched["last_tested_at"] == created["last_tested_at"]


def test_without_a_token_the_connection_is_untested(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    probe(client, tenant, user_body(reader))
    created = create(client, tenant, user_body(reader, name="prod keys"))
    assert created["status"] == "untested"
    assert created["last_tested_at"] is None


def test_a_failed_test_gives_no_token(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    wrong = IamUser(arn="", access_key_id=reader.access_key_id, secret_access_key="b" * 40)
    result = enforcing_iam(lambda: probe(client, tenant, user_body(wrong)))
    assert result["ok"] is False
    assert result["test_token"] is None


def assert_untested(created: dict[str, Any]) -> None:
    assert created["status"] == "untested"
    assert created["last_tested_at"] is None
    assert created["account_id"] is None


def test_a_token_for_other_fields_is_ignored(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    other = make_user("other", allow("apigateway:GET"))
    token = probe(client, tenant, user_body(reader))["test_token"]
    assert_untested(create(client, tenant, user_body(other, name="other", test_token=token)))
    # Same key id, another secret: the secret is part of what was tested.
    changed = IamUser(arn="", access_key_id=reader.access_key_id, secret_access_key="c" * 40)
    assert_untested(create(client, tenant, user_body(changed, name="changed", test_token=token)))
    # Another credential field (the partition) also counts.
    assert_untested(
        create(
            client,
            tenant,
            user_body(reader, name="gov", partition="aws-us-gov", test_token=token),
        )
    )


def test_another_tenants_token_is_ignored(
    client: TestClient,
    tenant: TenantWithKey,
    make_tenant: Callable[..., TenantWithKey],
    reader: IamUser,
) -> None:
    other_tenant = make_tenant()
    token = probe(client, other_tenant, user_body(reader))["test_token"]
    assert_untested(create(client, tenant, user_body(reader, name="keys", test_token=token)))


def test_an_expired_token_is_ignored(
    client: TestClient,
    tenant: TenantWithKey,
    reader: IamUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = probe(client, tenant, user_body(reader))["test_token"]
    later = datetime.now().astimezone() + test_tokens.VALID_FOR + timedelta(seconds=5)
    monkeypatch.setattr(test_tokens, "utcnow", lambda: later)
    assert_untested(create(client, tenant, user_body(reader, name="keys", test_token=token)))


def test_a_token_just_within_its_time_is_honoured(
    client: TestClient,
    tenant: TenantWithKey,
    reader: IamUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = probe(client, tenant, user_body(reader))["test_token"]
    later = datetime.now().astimezone() + test_tokens.VALID_FOR - timedelta(seconds=30)
    monkeypatch.setattr(test_tokens, "utcnow", lambda: later)
    assert create(client, tenant, user_body(reader, name="keys", test_token=token))["status"] == (
        "ok"
    )


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "garbage",
        "ctt1.bm90IGpzb24.c2ln",
        "ctt1.!!!.???",
        "x" * 5000,
    ],
)
def test_a_garbage_token_is_ignored(
    client: TestClient, tenant: TenantWithKey, reader: IamUser, garbage: str
) -> None:
    assert_untested(create(client, tenant, user_body(reader, name="keys", test_token=garbage)))


def test_a_tampered_token_is_ignored(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    token = probe(client, tenant, user_body(reader))["test_token"]
    prefix, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["a"] = "999999999999"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert_untested(
        create(
            client,
            tenant,
            user_body(reader, name="keys", test_token=f"{prefix}.{forged}.{signature}"),
        )
    )


def test_the_token_never_contains_the_secret(
    client: TestClient, tenant: TenantWithKey, reader: IamUser, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    token = probe(client, tenant, user_body(reader))["test_token"]
    _, payload, _ = token.split(".")
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    for text in (token, decoded):
        assert reader.secret_access_key not in text
        assert reader.access_key_id not in text
    create(client, tenant, user_body(reader, name="keys", test_token=token))
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    assert token not in logged
    assert reader.secret_access_key not in logged


def test_role_types_carry_the_token_too(
    client: TestClient, tenant: TenantWithKey, reader: IamUser
) -> None:
    # A token from an aws_user test does not make a role connection tested.
    token = probe(client, tenant, user_body(reader))["test_token"]
    body = {
        "name": "role",
        "credential_type": "assume_role",
        "role_arn": "arn:aws:iam::999988887777:role/APIGatewayAccessRole",
        "test_token": token,
    }
    assert_untested(create(client, tenant, body))
