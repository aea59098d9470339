"""Building blocks for connection tests: moto with IAM enforced, users, roles, Stubber seams."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.endpoint
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from moto.core import set_initial_no_auth_action_count

from app.integrations.aws.sessions import AwsSession, SharedClients


@dataclass
class IamUser:
    arn: str
    access_key_id: str
    secret_access_key: str


def allow(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": list(actions), "Resource": resource}


def make_user(name: str, *statements: dict[str, Any]) -> IamUser:
    iam = boto3.client("iam", region_name="us-east-1")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(
            UserName=name,
            PolicyName=f"{name}-policy",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        )
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return IamUser(
        arn=arn, access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )


def trust_policy(trusted: str, external_id: str | None) -> str:
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": trusted},
        "Action": "sts:AssumeRole",
    }
    if external_id:
        trust["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [trust]})


def make_role(
    name: str, *, trusted: str, external_id: str | None, statements: list[dict[str, Any]]
) -> str:
    iam = boto3.client("iam", region_name="us-east-1")
    arn: str = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=trust_policy(trusted, external_id)
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName=f"{name}-policy",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
    )
    return arn


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
    with mock_aws():
        yield


@pytest.fixture
def platform_user(aws: None, monkeypatch: pytest.MonkeyPatch) -> IamUser:
    """The service's own identity, a real IAM user in moto, so that moto can enforce IAM."""
    user = make_user("onboarder-platform", allow("sts:AssumeRole"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", user.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", user.secret_access_key)
    return user


def enforcing_iam(function: Callable[[], Any]) -> Any:
    """Run with moto evaluating signatures, identity policies and same-account trust policies."""
    return set_initial_no_auth_action_count(0)(function)()


StubPlan = Callable[[Stubber], None]


def organization_description(management_account_id: str) -> dict[str, Any]:
    """Organizations' DescribeOrganization answer, shaped as its service model says."""
    organization_id = "o-exampleorgid"
    return {
        "Organization": {
            "Id": organization_id,
            "Arn": f"arn:aws:organizations::{management_account_id}:organization/{organization_id}",
            "FeatureSet": "ALL",
            "MasterAccountArn": f"arn:aws:organizations::{management_account_id}:account/"
            f"{organization_id}/{management_account_id}",
            "MasterAccountId": management_account_id,
            "MasterAccountEmail": "management@example.com",
        }
    }


@pytest.fixture
def stub_service(monkeypatch: pytest.MonkeyPatch) -> dict[str, StubPlan]:
    """Answers from botocore's Stubber for the services named, for what moto cannot produce.

    Every client the service creates for a planned service name gets a Stubber with the plan;
    a key "service@<principal ARN>" limits the plan to the clients of that identity's session
    (e.g. the STS client of the central role, which assumes the child roles), and a key
    "service@<region>" to discovery's shared client of that region (all accounts use it).
    """
    plans: dict[str, StubPlan] = {}
    original = AwsSession.client
    original_shared = SharedClients.client

    def attach(made: Any, plan: StubPlan | None) -> Any:
        if plan is not None and not getattr(made, "_test_stubbed", False):
            stubber = Stubber(made)
            plan(stubber)
            stubber.activate()
            made._test_stubbed = True
        return made

    def shared_client(self: SharedClients, service: str, region: str) -> Any:
        return attach(original_shared(self, service, region), plans.get(f"{service}@{region}"))

    monkeypatch.setattr(SharedClients, "client", shared_client)

    def client(self: AwsSession, service: str, region: str | None = None) -> Any:
        made = original(self, service, region)
        return attach(made, plans.get(f"{service}@{self.principal_arn}") or plans.get(service))

    monkeypatch.setattr(AwsSession, "client", client)
    return plans


@pytest.fixture
def retry_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retry back-off, recorded instead of slept."""
    sleeps: list[float] = []
    fake_time = types.SimpleNamespace(sleep=sleeps.append)
    monkeypatch.setattr(botocore.endpoint, "time", fake_time)
    return sleeps


class _ThrottlingApiGateway(http.server.BaseHTTPRequestHandler):
    """API Gateway's control plane as it answers past its quota: 429, then the listing."""

    throttles_left = 0
    requests = 0

    def do_GET(self) -> None:
        type(self).requests += 1
        if type(self).throttles_left > 0:
            type(self).throttles_left -= 1
            body = b'{"message": "Too Many Requests"}'
            self.send_response(429)
            self.send_header("x-amzn-ErrorType", "TooManyRequestsException")
        else:
            body = b'{"item": []}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def throttling_apigateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_ThrottlingApiGateway]]:
    """A local endpoint that throttles API Gateway calls (moto never throttles, and the
    Stubber answers before botocore's retry logic runs). Reached through the SDK's standard
    AWS_ENDPOINT_URL_API_GATEWAY variable; STS and the rest stay on moto."""
    handler = type("Handler", (_ThrottlingApiGateway,), {"throttles_left": 0, "requests": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL_API_GATEWAY", f"http://127.0.0.1:{server.server_port}")
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SilentEndpoint:
    """What the SDK sees of it: a URL that takes connections and never answers."""

    url: str
    accepted: list[socket.socket]


@pytest.fixture
def silent_endpoint() -> Iterator[SilentEndpoint]:
    """A loopback TCP server that accepts every connection and never says a word: an AWS
    endpoint behind a proxy, NAT or VPC endpoint that holds requests. Point the SDK at it with
    AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>). At the end it closes every connection
    and stops listening, so that calls still waiting on it end at once."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    stop = threading.Event()
    accepted: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)

    thread = threading.Thread(target=serve, name="silent-endpoint", daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        yield SilentEndpoint(url=f"http://127.0.0.1:{port}", accepted=accepted)
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for connection in accepted:
            connection.close()
