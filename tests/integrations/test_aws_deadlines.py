"""Bounded AWS waits: a silent AWS endpoint (it takes the connection and never answers) ends a
request at its deadline with `aws_timeout`, and a run gives up on a silent region and goes on.

The silent endpoint is a loopback TCP server the SDK is pointed at through the standard
AWS_ENDPOINT_URL variables; the live region of the engine and run tests is answered by
botocore's Stubber (moto cannot be reached for one region and not for another), STS by moto.
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest
from botocore.stub import Stubber
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.core.db import Database
from app.discovery.service import DiscoveryCache, DiscoveryTarget, discover_apis
from app.integrations.aws.credentials import AwsUserCredentials, ProbeContext
from app.integrations.aws.deadlines import (
    RUN_TIMEOUTS,
    AwsTimeouts,
    Deadline,
    bounded,
    carry,
    current_deadline,
    interactive_timeouts,
    within,
)
from app.integrations.aws.discovery import DiscoveryEngine, DiscoveryResult, RegionOutcome
from app.integrations.aws.errors import AwsError, CallContext, timed_out
from app.integrations.aws.sessions import AwsSession
from app.schedules.runs import RunServices
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import (  # noqa: F401 - fixtures
    IamUser,
    SilentEndpoint,
    StubPlan,
    allow,
    aws,
    make_user,
    platform_user,
    silent_endpoint,
    stub_service,
)
from tests.discovery.conftest import create_connection
from tests.schedules.conftest import DAILY_US, execute_queued, read_run, run_now, saved_schedule

DEADLINE = 2.0
# A run's region deadline: the answering region (an IAM check, two listings, GetStages, all
# local) must end within it even on a loaded CI machine; 1 s was not always enough there.
RUN_REGION_DEADLINE = 3.0
CONTEXT = CallContext(action="sts:GetCallerIdentity")
KEYS = {
    "credential_type": "aws_user",
    "access_key_id": "AKIAIOSFODNN7EXAMPLE",
    "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "aws_interactive_deadline_seconds": DEADLINE,
            "aws_run_region_deadline_seconds": RUN_REGION_DEADLINE,
        }
    )


@pytest.fixture
def silent_aws(silent_endpoint: SilentEndpoint, monkeypatch: pytest.MonkeyPatch) -> SilentEndpoint:  # noqa: F811
    """Every AWS service behind the silent endpoint, with credentials that look real."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEYS["access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEYS["secret_access_key"])
    return silent_endpoint


def timed(function: Any) -> tuple[Any, float]:
    started = time.monotonic()
    answer = function()
    return answer, time.monotonic() - started


def call_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "aws-call"}


# ------------------------------------------------------------------------------ the mechanism
def test_a_call_is_not_made_once_the_deadline_has_passed() -> None:
    made: list[bool] = []
    with within(Deadline.after(0)), pytest.raises(AwsError) as raised:
        bounded(CONTEXT, lambda: made.append(True))
    assert made == []
    assert raised.value.failure.code == "aws_timeout"


def test_a_call_that_outlasts_the_deadline_is_left_behind_at_the_deadline() -> None:
    release = threading.Event()
    before = call_threads()
    with within(Deadline.after(0.2)), pytest.raises(AwsError) as raised:
        bounded(CONTEXT, lambda: release.wait(10))
    assert raised.value.failure.code == "aws_timeout"
    assert "sts:GetCallerIdentity" in raised.value.failure.message
    left_behind = call_threads() - before
    assert len(left_behind) == 1
    # It ends as soon as its call does (here: released; in life: the SDK's timeouts).
    release.set()
    for thread in left_behind:
        thread.join(timeout=5)
        assert not thread.is_alive()


def test_a_call_the_sdk_ends_before_the_deadline_runs_in_the_callers_thread() -> None:
    ran_in: list[threading.Thread] = []
    with within(Deadline.after(60, call_limit=1)):
        bounded(CONTEXT, lambda: ran_in.append(threading.current_thread()))
    with within(Deadline.after(60, call_limit=600)):
        bounded(CONTEXT, lambda: ran_in.append(threading.current_thread()))
    assert ran_in[0] is threading.current_thread()
    assert ran_in[1].name == "aws-call"


def test_work_handed_to_a_pool_keeps_the_deadline_and_the_earlier_one_wins() -> None:
    soon, later = Deadline.after(5), Deadline.after(50)
    with within(soon), within(later), ThreadPoolExecutor(2) as pool:
        assert current_deadline() is soon
        assert pool.submit(carry(current_deadline)).result() is soon
        assert pool.submit(current_deadline).result() is None
    assert current_deadline() is None


def test_the_sdk_limits_of_one_call() -> None:
    # Runs: 5 attempts of 5 s to connect and 30 s to answer, and between them 1 + 2 + 4 + 8 s
    # of back-off, each up to 5 s longer when AWS asks for it.
    assert RUN_TIMEOUTS.call_limit == 5 * 35 + 15 + 4 * 5
    assert RUN_TIMEOUTS.config.read_timeout == 30
    interactive = interactive_timeouts(10)
    assert interactive == AwsTimeouts(connect_seconds=5, read_seconds=10, attempts=3)
    assert interactive.config.retries == {"mode": "standard", "total_max_attempts": 3}


# ------------------------------------------------------------------------------ requests
ROLE = {
    "credential_type": "assume_role",
    "role_arn": "arn:aws:iam::999988887777:role/APIGatewayAccessRole",
}


@pytest.mark.parametrize(
    ("body", "first_check"),
    [(KEYS, "credentials"), (ROLE, "assume_role")],
    ids=["aws_user", "assume_role"],
)
def test_a_silent_aws_endpoint_makes_a_connection_test_answer_aws_timeout_within_its_deadline(
    client: TestClient,
    tenant: TenantWithKey,
    silent_aws: SilentEndpoint,
    body: dict[str, str],
    first_check: str,
) -> None:
    # assume_role: the platform's own identity (sts:GetCallerIdentity), then AssumeRole.
    response, elapsed = timed(
        lambda: client.post("/api/v1/connections/test", json=body, headers=tenant.headers)
    )

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["ok"] is False
    assert answer["error"]["code"] == "aws_timeout"
    assert f"within {DEADLINE:g} s" in answer["error"]["message"]
    assert "network egress" in answer["error"]["hint"]
    assert "AWS_ENDPOINT_URL" in answer["error"]["hint"]
    assert [(c["name"], c["ok"]) for c in answer["checks"]] == [(first_check, False)]
    assert silent_aws.accepted, "the SDK never reached the silent endpoint"
    assert DEADLINE - 0.1 <= elapsed < DEADLINE + 2, elapsed


def test_a_silent_aws_endpoint_makes_discovery_and_onboarding_answer_504_aws_timeout(
    client: TestClient, tenant: TenantWithKey, silent_aws: SilentEndpoint
) -> None:
    connection_id = create_connection(client, tenant, name="silent", **KEYS)

    discovery, discovery_elapsed = timed(
        lambda: client.get(
            f"/api/v1/connections/{connection_id}/apis",
            params={"region": "us-east-1"},
            headers=tenant.headers,
        )
    )
    onboarding, onboarding_elapsed = timed(
        lambda: client.post(
            "/api/v1/applications",
            json={
                "connection_id": connection_id,
                "region": "us-east-1",
                "api_id": "a1b2c3d4e5",
                "stages": ["prod"],
            },
            headers=tenant.headers,
        )
    )

    for response, elapsed in ((discovery, discovery_elapsed), (onboarding, onboarding_elapsed)):
        assert response.status_code == 504, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "aws_timeout"
        assert "try again" in problem["hint"].lower()
        assert elapsed < DEADLINE + 2, elapsed
    assert client.get("/api/v1/applications", headers=tenant.headers).json()["items"] == []


@pytest.fixture
def quick_sdk(settings: Settings) -> Settings:
    # The SDK gives up on its own (3 attempts of 0.5 s, at most 3 s of back-off between them)
    # after the deadline, and a few seconds later at the most, however silent AWS is.
    settings.aws_interactive_deadline_seconds = 1.0
    settings.aws_interactive_read_timeout_seconds = 0.5
    return settings


def test_calls_left_behind_at_the_deadline_end_on_their_own(
    quick_sdk: Settings, client: TestClient, tenant: TenantWithKey, silent_aws: SilentEndpoint
) -> None:
    connection_id = create_connection(client, tenant, name="silent", **KEYS)
    before = call_threads()

    tested = client.post(f"/api/v1/connections/{connection_id}/test", headers=tenant.headers)

    assert tested.json()["error"]["code"] == "aws_timeout"
    assert "within 1 s" in tested.json()["error"]["message"]  # the deadline, not the SDK
    left_behind = call_threads() - before
    assert left_behind
    for thread in left_behind:
        thread.join(timeout=8)
        assert not thread.is_alive()
    stored = client.get(f"/api/v1/connections/{connection_id}", headers=tenant.headers).json()
    assert (stored["status"], stored["last_error_code"]) == ("failed", "aws_timeout")


def test_a_discovery_answer_in_which_aws_did_not_answer_in_time_is_not_reused() -> None:
    late = timed_out(CallContext(action="apigateway:GET", region="us-east-1"), seconds=25)
    incomplete = DiscoveryResult(
        outcomes=[RegionOutcome("123456789012", "us-east-1", "failed", error=late)]
    )
    complete = DiscoveryResult(outcomes=[RegionOutcome("123456789012", "us-east-1", "ok")])
    answers = iter([incomplete, complete])
    # The engine's answers, as they come: the cache is what is under test.
    engine = SimpleNamespace(discover=lambda *args, **kwargs: next(answers))
    target = DiscoveryTarget(
        tenant_id=uuid.uuid4(),
        connection_id=uuid.uuid4(),
        version=datetime.now(UTC),
        spec=AwsUserCredentials.model_validate(KEYS),
        context=ProbeContext(platform=AwsSession.platform, tenant_external_id="unused"),
    )
    cache = DiscoveryCache(60)

    def ask() -> DiscoveryResult:
        return discover_apis(
            target=target,
            engine=cast(DiscoveryEngine, engine),
            cache=cache,
            region="us-east-1",
            account_id=None,
            refresh=False,
        )

    assert ask() is incomplete
    assert ask() is complete
    assert ask() is complete  # a complete answer is reused


# ------------------------------------------------------------------------------ runs
def _region_with_one_api(stages: list[dict[str, Any]]) -> dict[str, StubPlan]:
    """API Gateway in the live region, as the Stubber answers it: one REST API."""

    def v1(stubber: Stubber) -> None:
        created = datetime(2024, 5, 1, tzinfo=UTC)
        stubber.add_response(
            "get_rest_apis",
            {
                "items": [
                    {
                        "id": "a1b2c3d4e5",
                        "name": "orders",
                        "createdDate": created,
                        "endpointConfiguration": {"types": ["REGIONAL"]},
                    }
                ]
            },
        )
        stubber.add_response("get_stages", {"item": stages})
        stubber.add_response("get_domain_names", {"items": []})

    def v2(stubber: Stubber) -> None:
        stubber.add_response("get_apis", {"Items": []})

    return {"apigateway@us-east-1": v1, "apigatewayv2@us-east-1": v2}


@pytest.fixture
def silent_api_gateway(
    silent_endpoint: SilentEndpoint,  # noqa: F811
    stub_service: dict[str, StubPlan],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, StubPlan]:
    """API Gateway silent in every region but us-east-1 (Stubber); STS stays on moto."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_API_GATEWAY", silent_endpoint.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYV2", silent_endpoint.url)
    return stub_service


def test_a_silent_region_fails_with_aws_timeout_and_the_other_is_listed(
    platform_user: IamUser,  # noqa: F811
    silent_api_gateway: dict[str, StubPlan],
) -> None:
    silent_api_gateway.update(_region_with_one_api([{"stageName": "prod"}]))
    reader = make_user("reader", allow("apigateway:GET"))
    spec = AwsUserCredentials(
        access_key_id=reader.access_key_id, secret_access_key=reader.secret_access_key
    )
    context = ProbeContext(
        # 3 s: the answering region (one IAM check, two listings, a GetStages against moto)
        # must end within it even on a loaded CI machine; 1 s was not always enough there.
        platform=AwsSession.platform,
        tenant_external_id="unused",
        region_seconds=3.0,
    )

    result, elapsed = timed(
        lambda: DiscoveryEngine(max_in_flight=2).discover(
            spec, context, regions=["us-east-1", "eu-west-1"]
        )
    )

    outcomes = {outcome.region: outcome for outcome in result.outcomes}
    assert outcomes["us-east-1"].status == "ok"
    assert [api.api_id for api in outcomes["us-east-1"].apis] == ["a1b2c3d4e5"]
    assert outcomes["eu-west-1"].status == "failed"
    failure = outcomes["eu-west-1"].error
    assert failure is not None
    assert failure.code == "aws_timeout"
    assert "region eu-west-1" in failure.message
    assert result.timed_out
    assert elapsed < 3.0 + 2, elapsed


def test_a_run_records_a_silent_region_as_aws_timeout_and_goes_on(
    app: FastAPI,
    client: TestClient,
    tenant: TenantWithKey,
    database: Database,
    settings: Settings,
    platform_user: IamUser,  # noqa: F811
    silent_api_gateway: dict[str, StubPlan],
) -> None:
    # The live region's API has no stage: the run lists it and has nothing to onboard.
    silent_api_gateway.update(_region_with_one_api([]))
    reader = make_user("reader", allow("apigateway:GET"))
    connection_id = create_connection(
        client,
        tenant,
        name="reader",
        credential_type="aws_user",
        access_key_id=reader.access_key_id,
        secret_access_key=reader.secret_access_key,
    )
    saved_schedule(client, tenant, connection_id, **DAILY_US)  # us-east-1 and eu-west-1
    services = RunServices(
        engine=DiscoveryEngine(max_in_flight=2),
        box=app.state.secret_box,
        settings=settings,
    )

    queued = run_now(client, tenant, connection_id)
    _, elapsed = timed(lambda: execute_queued(database, services))
    run = read_run(client, tenant, connection_id, queued["id"])

    assert run["status"] == "partial"
    assert run["discovered"] == 1
    assert run["skipped_no_stage"] == 1
    assert [(e["region"], e["code"]) for e in run["errors"]] == [("eu-west-1", "aws_timeout")]
    assert {(r["region"], r["status"]) for r in run["results"]} == {
        ("us-east-1", "ok"),
        ("eu-west-1", "failed"),
    }
    assert elapsed < RUN_REGION_DEADLINE + 3, elapsed
