"""The change events of the ingest benchmark: what EventBridge posts when an API is redeployed.

A deploy, as the console, the CLI or a pipeline makes it, is a burst of API Gateway calls that
CloudTrail records and EventBridge forwards one by one ("AWS API Call via CloudTrail", source
aws.apigateway): a deployment is created, the stage is pointed at it and its settings touched
(UpdateStage, three times here), and a last deployment is made to the stage. `bursts` lays the
bursts of many APIs out in time: they start `per_second` APIs a second, in a seeded order, and
the calls of one burst are spread over 1 to 2 seconds, so those of different APIs interleave.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench.discovery.organization import ApiKey

# The calls of one deploy, in order.
DEPLOY_BURST = ("CreateDeployment", "UpdateStage", "UpdateStage", "UpdateStage", "CreateDeployment")
BURST_SECONDS = (1.0, 2.0)  # how long one burst lasts, drawn per API
_CLIENT_IDENTITY = {
    "type": "AssumedRole",
    "principalId": "AROABENCHDEPLOYER0000:pipeline",
    "sessionContext": {"sessionIssuer": {"type": "Role", "userName": "deploy-pipeline"}},
}


@dataclass(frozen=True)
class Deploy:
    """One API's deploy: the stage it redeploys, to which deployment, and its protocol."""

    key: ApiKey
    protocol: str  # REST | HTTP | WEBSOCKET
    stage: str
    deployment_id: str


@dataclass(frozen=True)
class Planned:
    """One event to post `at` seconds after the phase starts."""

    at: float
    deploy: Deploy
    index: int  # its place in the burst (0 to len(DEPLOY_BURST) - 1)
    body: dict[str, Any]


def _parameters(deploy: Deploy, event_name: str, last: bool) -> tuple[dict[str, Any], Any]:
    """requestParameters and responseElements as CloudTrail records them: REST calls name the
    API restApiId, apigatewayv2's apiId."""
    api_id = deploy.key[2]
    if deploy.protocol == "REST":
        if event_name == "CreateDeployment":
            given: dict[str, Any] = {"description": "pipeline deploy"}
            if last:
                given["stageName"] = deploy.stage
            request = {"restApiId": api_id, "createDeploymentInput": given}
            answer = {"id": deploy.deployment_id, "createdDate": _now_text()}
            return request, answer
        patch = [{"op": "replace", "path": "/deploymentId", "value": deploy.deployment_id}]
        update = {"patchOperations": patch}
        return {"restApiId": api_id, "stageName": deploy.stage, "updateStageInput": update}, None
    if event_name == "CreateDeployment":
        request = {"apiId": api_id, "stageName": deploy.stage} if last else {"apiId": api_id}
        return request, {"deploymentId": deploy.deployment_id, "deploymentStatus": "DEPLOYED"}
    return {"apiId": api_id, "stageName": deploy.stage, "deploymentId": deploy.deployment_id}, None


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# What every event of a deploy shares: EventBridge's envelope, CloudTrail's record of a
# management call (made by the deploy pipeline's role), by the keys AWS gives them.
_ENVELOPE = {
    "version": "0",
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.apigateway",
    "resources": [],
}
_RECORD = {
    "eventVersion": "1.09",
    "eventSource": "apigateway.amazonaws.com",
    "eventType": "AwsApiCall",
    "eventCategory": "Management",
    "managementEvent": True,
    "readOnly": False,
    "sourceIPAddress": "codepipeline.amazonaws.com",
    "userAgent": "aws-sdk-go-v2/1.30.0 api/apigateway",
}


def change_event(deploy: Deploy, event_name: str, *, last: bool = False) -> dict[str, Any]:
    """The EventBridge event of one API Gateway call of the deploy, stamped now."""
    account, region, _ = deploy.key
    request, answer = _parameters(deploy, event_name, last)
    now = _now_text()
    record = _RECORD | {
        "eventName": event_name,
        "eventTime": now,
        "eventID": str(uuid.uuid4()),
        "requestID": str(uuid.uuid4()),
        "awsRegion": region,
        "recipientAccountId": account,
        "userIdentity": _CLIENT_IDENTITY | {"accountId": account},
        "requestParameters": request,
        "responseElements": answer,
    }
    return _ENVELOPE | {
        "id": str(uuid.uuid4()),
        "account": account,
        "region": region,
        "time": now,
        "detail": record,
    }


def bursts(deploys: list[Deploy], *, per_second: float, seed: int) -> list[Planned]:
    """Every deploy's burst, starting `per_second` APIs a second in a seeded order, the calls
    of one spread over BURST_SECONDS; sorted by when they are to be posted. The bodies are
    stamped when planned (eventTime to the second: a few seconds early does not matter)."""
    rng = random.Random(f"ingest-bursts:{seed}")
    order = list(deploys)
    rng.shuffle(order)
    planned: list[Planned] = []
    for position, deploy in enumerate(order):
        start = position / per_second
        spread = rng.uniform(*BURST_SECONDS)
        inner = sorted(rng.uniform(0.0, spread) for _ in range(len(DEPLOY_BURST) - 2))
        offsets = [0.0, *inner, spread]
        for index, (event_name, offset) in enumerate(zip(DEPLOY_BURST, offsets, strict=True)):
            last = index == len(DEPLOY_BURST) - 1
            body = change_event(deploy, event_name, last=last)
            planned.append(Planned(start + offset, deploy, index, body))
    planned.sort(key=lambda item: item.at)
    return planned
