"""One access line per request, with what an operator needs and nothing secret."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient

from app.core.logging import JsonFormatter, TextFormatter, redact
from tests.conftest import TenantWithKey


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "onboarder.access"]


def test_one_access_line_per_request_with_tenant_and_request_id(
    client: TestClient, tenant: TenantWithKey, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="onboarder.access"):
        response = client.get("/api/v1/tenant", headers=tenant.headers)
        client.get("/api/v1/tenant")

    records = _access_records(caplog)
    assert len(records) == 2
    ok, denied = (record.__dict__ for record in records)
    assert ok["method"] == "GET"
    assert ok["route"] == "/api/v1/tenant"
    assert ok["status"] == 200
    assert ok["duration_ms"] >= 0
    assert ok["tenant_id"] == str(tenant.tenant.id)
    assert ok["request_id"] == response.headers["x-request-id"]
    assert denied["status"] == 401
    assert denied["tenant_id"] is None


def test_json_lines_parse_and_carry_the_fields(
    client: TestClient, tenant: TenantWithKey, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="onboarder.access"):
        client.get("/api/v1/tenant", headers=tenant.headers)
    line = JsonFormatter().format(_access_records(caplog)[0])
    payload = json.loads(line)
    assert payload["route"] == "/api/v1/tenant"
    assert payload["status"] == 200
    assert payload["tenant_id"] == str(tenant.tenant.id)
    assert payload["level"] == "info"
    assert tenant.api_key not in line


def test_formatters_scrub_keys_that_slip_into_a_message(tenant: TenantWithKey) -> None:
    record = logging.makeLogRecord(
        {"msg": "oops %s", "args": (f"Authorization: Bearer {tenant.api_key}",), "levelno": 20}
    )
    assert tenant.api_key not in TextFormatter().format(record)
    assert tenant.api_key not in JsonFormatter().format(record)
    assert "secret_access_key=[REDACTED]" in redact("secret_access_key=abc/def+ghi")


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()])
def test_a_line_that_names_a_secret_field_keeps_its_request_id(
    formatter: logging.Formatter,
) -> None:
    """A PATCH that rotates a key logs which fields changed; the field's name is no secret,
    and the request id after it is what an operator searches for."""
    record = logging.makeLogRecord(
        {
            "msg": "connection updated",
            "levelno": 20,
            "fields": "access_key_id,secret_access_key",
            "request_id": "4f1c2a9e0b7d4c3a",
        }
    )
    line = formatter.format(record)
    assert "4f1c2a9e0b7d4c3a" in line
    assert "access_key_id,secret_access_key" in line


def test_a_secret_access_key_is_scrubbed_wherever_it_stands() -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for text in [
        f"secret_access_key={secret}",
        f'{{"secret_access_key": "{secret}"}}',
        f"'SecretAccessKey': '{secret}'",
        f"the key {secret} was refused",
    ]:
        assert secret not in redact(text), text
    sha1 = "3f786850e387550fdab836ed7e6dc881de23001b"
    assert redact(f"commit {sha1}") == f"commit {sha1}"
