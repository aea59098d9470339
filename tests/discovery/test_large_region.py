"""A region with many APIs lists their stages several at once, and stays correct doing so.

One GetStages per API is most of a large region's requests; made one after the other, each
waits a round trip and the region ends later than its quota allows (the largest region sets
when a whole discovery ends). The engine lends such a region's stage listings to idle workers.
moto answers the listings; the `aws_answers` hook only watches GetStages (it returns None, so
moto answers) or answers it as AWS does for an API deleted while it was listed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from app.integrations.aws.credentials import AwsUserCredentials, ProbeContext
from app.integrations.aws.discovery import SPREAD_HELPERS, DiscoveryEngine
from app.integrations.aws.sessions import AwsSession
from tests.connections.aws_fixtures import IamUser, make_user

REGION = "eu-west-1"
READ_APIGATEWAY = {"Effect": "Allow", "Action": "apigateway:GET", "Resource": "*"}


def _rest_apis(count: int) -> list[str]:
    apigateway = boto3.client("apigateway", region_name=REGION)
    ids = []
    for index in range(count):
        api_id = apigateway.create_rest_api(name=f"api-{index:02d}")["id"]
        root = apigateway.get_resources(restApiId=api_id)["items"][0]["id"]
        apigateway.put_method(
            restApiId=api_id, resourceId=root, httpMethod="GET", authorizationType="NONE"
        )
        apigateway.put_integration(restApiId=api_id, resourceId=root, httpMethod="GET", type="MOCK")
        apigateway.create_deployment(restApiId=api_id, stageName="prod")
        ids.append(api_id)
    return ids


def _discover(reader: IamUser, max_in_flight: int = 8) -> Any:
    spec = AwsUserCredentials(
        access_key_id=reader.access_key_id, secret_access_key=reader.secret_access_key
    )
    context = ProbeContext(platform=AwsSession.platform, tenant_external_id="unused")
    return DiscoveryEngine(max_in_flight=max_in_flight).discover(spec, context, regions=[REGION])


class _Watch:
    """Counts GetStages requests in flight at once (each held 20 ms, as a round trip)."""

    def __init__(self, answer: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.lock = threading.Lock()
        self.now = self.most = self.requests = 0
        self.answer = answer

    def __call__(self, params: dict[str, Any]) -> Any:
        with self.lock:
            self.now += 1
            self.requests += 1
            self.most = max(self.most, self.now)
        try:
            time.sleep(0.02)
            return self.answer(params) if self.answer else None
        finally:
            with self.lock:
                self.now -= 1


def test_a_large_regions_stages_are_listed_several_at_once_every_api_with_its_own(
    aws: None, aws_answers: dict[tuple[str, str], Any]
) -> None:
    ids = _rest_apis(60)
    watch = aws_answers[("apigateway", "GetStages")] = _Watch()

    result = _discover(make_user("reader", READ_APIGATEWAY))

    [outcome] = result.outcomes
    assert outcome.status == "ok"
    assert sorted(api.api_id for api in outcome.apis) == sorted(ids)
    for api in outcome.apis:
        [stage] = api.stages
        assert stage.name == "prod"
        assert stage.instance_urls == [
            f"https://{api.api_id}.execute-api.{REGION}.amazonaws.com/prod"
        ]
    assert watch.requests == 60
    # The region's own task and its helpers: more than one at a time, never more than that.
    assert 1 < watch.most <= 1 + SPREAD_HELPERS


def test_a_small_region_lists_its_stages_one_after_the_other(
    aws: None, aws_answers: dict[tuple[str, str], Any]
) -> None:
    _rest_apis(5)
    watch = aws_answers[("apigateway", "GetStages")] = _Watch()

    result = _discover(make_user("reader", READ_APIGATEWAY))

    assert len(result.apis) == 5
    assert watch.most == 1


def _refused(code: str, status: int, message: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetStages",
    )


def test_an_api_deleted_while_a_large_region_lists_is_left_out_and_the_rest_stay(
    aws: None, aws_answers: dict[tuple[str, str], Any]
) -> None:
    ids = _rest_apis(45)
    gone = ids[17]

    def answer(params: dict[str, Any]) -> Any:
        if params["restApiId"] == gone:
            raise _refused("NotFoundException", 404, "Invalid API identifier specified")
        return None

    aws_answers[("apigateway", "GetStages")] = _Watch(answer)

    result = _discover(make_user("reader", READ_APIGATEWAY))

    [outcome] = result.outcomes
    assert outcome.status == "ok"
    assert sorted(api.api_id for api in outcome.apis) == sorted(set(ids) - {gone})


@pytest.mark.parametrize("max_in_flight", [1, 8])
def test_a_refusal_in_one_stage_listing_fails_the_region_once_with_its_hint(
    aws: None, aws_answers: dict[tuple[str, str], Any], max_in_flight: int
) -> None:
    # With one worker no helper ever starts: the region's own task lists every stage itself.
    ids = _rest_apis(45)

    def answer(params: dict[str, Any]) -> Any:
        if params["restApiId"] == ids[30]:
            raise _refused(
                "AccessDeniedException",
                403,
                "User: arn:aws:iam::123456789012:user/reader is not authorized to perform: "
                "apigateway:GET on resource: arn:aws:apigateway:eu-west-1::/restapis/x/stages "
                "because no identity-based policy allows the apigateway:GET action",
            )
        return None

    aws_answers[("apigateway", "GetStages")] = _Watch(answer)

    result = _discover(make_user("reader", READ_APIGATEWAY), max_in_flight=max_in_flight)

    [outcome] = result.outcomes
    assert outcome.status == "failed"
    assert outcome.error is not None
    assert outcome.error.code == "access_denied"
    assert "apigateway:GET" in (outcome.error.hint or "")
    assert outcome.apis == []
