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
