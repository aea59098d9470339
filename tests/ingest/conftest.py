from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.core.db import Database
from app.models import IngestTrigger
from scheduler.ingest import TriggerWorker
from tests.applications.conftest import shop_prod  # noqa: F401 - fixture
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    aws,
    platform_user,
    stub_service,
)
from tests.discovery.conftest import central, org  # noqa: F401 - fixtures
from tests.schedules.conftest import FakeClock, run_services  # noqa: F401 - fixture

TOKEN_HEADER = "X-Onboarder-Ingest-Token"
_ids = itertools.count(1)


def events_url(connection_id: str) -> str:
    return f"/api/v1/aws/events/{connection_id}"


def new_token(client: TestClient, tenant: TenantWithKey, connection_id: str) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/connections/{connection_id}/ingest-token", headers=tenant.headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def ingest_status(client: TestClient, tenant: TenantWithKey, connection_id: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/connections/{connection_id}/ingest", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cloudtrail_event(
    event_name: str,
    *,
    account: str,
    region: str = "us-east-1",
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
    error_code: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An EventBridge event as EventBridge hands CloudTrail's record of an API Gateway call
    to a rule's target (the shape of AWS's "AWS API Call via CloudTrail" events)."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail: dict[str, Any] = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "accountId": account},
        "eventTime": now,
        "eventSource": "apigateway.amazonaws.com",
        "eventName": event_name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": request,
        "responseElements": response,
        "requestID": "c0ffee00-0000-4000-8000-000000000000",
        "eventID": f"e{next(_ids):011d}-0000-4000-8000-000000000000",
        "readOnly": event_name.startswith("Get"),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    if error_code is not None:
        detail["errorCode"] = error_code
        detail["errorMessage"] = "failed"
    return {
        "version": "0",
        "id": event_id or f"{next(_ids):08d}-aaaa-4bbb-8ccc-{next(_ids):012d}",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.apigateway",
        "account": account,
        "time": now,
        "region": region,
        "resources": [],
        "detail": detail,
    }


def deployment_event(account: str, region: str, api_id: str, stage: str = "prod") -> dict[str, Any]:
    return cloudtrail_event(
        "CreateDeployment",
        account=account,
        region=region,
        request={"restApiId": api_id, "createDeploymentInput": {"stageName": stage}},
        response={"id": "dep123", "self": {"__recordType": "Deployment"}},
    )


def post_events(client: TestClient, connection_id: str, token: str, body: Any) -> Any:
    return client.post(events_url(connection_id), json=body, headers={TOKEN_HEADER: token})


def triggers(database: Database) -> int:
    with database.session() as session:
        return int(session.scalar(select(func.count()).select_from(IngestTrigger)) or 0)


def drain(worker: TriggerWorker, seconds: float = 20.0) -> int:
    """What the scheduler's loop does: poll, then wait for the syncs it started."""
    claimed = worker.poll()
    deadline = time.monotonic() + seconds
    while worker.in_flight():
        if time.monotonic() > deadline:
            raise AssertionError("the change-event syncs did not end in time")
        time.sleep(0.01)
    return claimed


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC))
