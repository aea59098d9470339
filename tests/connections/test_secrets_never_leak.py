"""No response, log line or error of a whole connection lifecycle contains a secret."""

from __future__ import annotations

import logging
from typing import Any

import boto3
import pytest
from fastapi.testclient import TestClient

from app.core.logging import JsonFormatter, TextFormatter
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import allow, make_user


def test_create_test_rotate_delete_shows_no_secret_anywhere(
    client: TestClient, tenant: TenantWithKey, aws: None, caplog: pytest.LogCaptureFixture
) -> None:
    first = make_user("reader", allow("apigateway:GET"))
    # Made before the capture starts: the test's own IAM call is not the service's doing.
    second_key = boto3.client("iam").create_access_key(UserName="reader")["AccessKey"]
    texts: list[str] = []

    def call(method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = client.request(method, url, headers=tenant.headers, **kwargs)
        texts.append(response.text)
        texts.append(str(response.headers))
        return response.json() if response.content else {}

    credentials = {
        "credential_type": "aws_user",
        "access_key_id": first.access_key_id,
        "secret_access_key": first.secret_access_key,
    }
    with caplog.at_level(logging.DEBUG):
        assert call("POST", "/api/v1/connections/test", json=credentials)["ok"] is True
        created = call("POST", "/api/v1/connections", json={"name": "c", **credentials})
        url = f"/api/v1/connections/{created['id']}"
        assert call("POST", f"{url}/test")["ok"] is True

        rotated = {
            "access_key_id": second_key["AccessKeyId"],
            "secret_access_key": second_key["SecretAccessKey"],
        }
        call("PATCH", url, json=rotated)
        assert call("POST", f"{url}/test")["ok"] is True
        call("GET", "/api/v1/connections")
        call("GET", url)
        # Failures too: a malformed secret, and a refused one.
        call(
            "PATCH", url, json={**rotated, "secret_access_key": "x" + rotated["secret_access_key"]}
        )
        call(
            "POST",
            "/api/v1/connections/test",
            json={**credentials, "secret_access_key": second_key["SecretAccessKey"][::-1]},
        )
        call("DELETE", url)

    log_lines = [record.getMessage() for record in caplog.records]
    log_lines += [TextFormatter().format(record) for record in caplog.records]
    log_lines += [JsonFormatter().format(record) for record in caplog.records]
    log_lines += [
        str(record.__dict__) for record in caplog.records if record.name.startswith("app")
    ]
    everything = "\n".join(texts + log_lines)

    secrets = [first.secret_access_key, second_key["SecretAccessKey"]]
    key_ids = [first.access_key_id, second_key["AccessKeyId"]]
    # Booleans, so that a failure report never prints the secret it found.
    leaked = [secret in everything or secret[::-1] in everything for secret in secrets]
    assert leaked == [False, False]
    shown = [key_id in "\n".join(texts) for key_id in key_ids]
    assert shown == [False, False], "an access key id was shown unmasked"
    assert any("AKIA************" in text for text in texts)
