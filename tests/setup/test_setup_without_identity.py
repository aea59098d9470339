"""Without an AWS identity of its own, GET /aws/setup is still a 503, and its problem still
carries what the IAM-user path needs (which trusts no platform identity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.integrations.aws.platform import platform_principal
from tests.conftest import TenantWithKey
from tests.core.test_errors import assert_problem

SETUP = "/api/v1/aws/setup"


@pytest.fixture(autouse=True)
def _no_platform_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    platform_principal.forget()
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
    yield
    platform_principal.forget()


def test_the_problem_carries_the_iam_user_path(client: TestClient, tenant: TenantWithKey) -> None:
    body = assert_problem(
        client.get(SETUP, headers=tenant.headers), 503, "platform_identity_unavailable"
    )
    assert "ONBOARDER_PLATFORM_PRINCIPAL_ARN" in body["hint"]
    assert body["external_id"] == tenant.tenant.external_id
    assert body["read_only_policy"] == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["apigateway:GET"], "Resource": "*"}],
    }
    steps = body["instructions"]["aws_user"]
    assert len(steps) >= 3
    assert any("access key" in step for step in steps)
    # Nothing that needs the platform's identity is made up.
    assert "platform_principal_arn" not in body
    assert "central_role" not in body
    assert "trust_policy" not in body
