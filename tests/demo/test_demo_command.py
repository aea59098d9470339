"""`onboarder demo` starts, answers, and every curl line it prints works."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.demo.running import Demo, running_demo


def _replay_curl(line: str) -> httpx.Response:
    """Run a printed `curl` line with httpx (curl itself may not be installed)."""
    words = shlex.split(line)
    assert words[0] == "curl"
    method, headers, url, data = "GET", {}, None, None
    index = 1
    while index < len(words):
        word = words[index]
        if word in {"-H", "--header"}:
            name, _, value = words[index + 1].partition(":")
            headers[name.strip()] = value.strip()
            index += 2
        elif word in {"-X", "--request"}:
            method = words[index + 1]
            index += 2
        elif word in {"-d", "--data", "--data-raw"}:
            data = words[index + 1]
            method = "POST" if method == "GET" else method
            index += 2
        elif word.startswith("-"):
            index += 1
        else:
            url = word
            index += 1
    assert url, line
    return httpx.request(method, url, headers=headers, content=data, timeout=30)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`onboarder demo` running in its own process, against moto's server, for this module."""
    with running_demo(tmp_path_factory.mktemp("demo")) as running:
        yield running


def test_demo_serves_and_its_curl_lines_work(demo: Demo) -> None:
    text = demo.banner
    assert f"{demo.base_url}/api/v1/docs" in text
    assert "APIsecCentralRole" in text
    assert re.search(rf"Console:\s+{re.escape(demo.base_url)}/$", text, re.MULTILINE), text
    console = httpx.get(f"{demo.base_url}/")
    assert console.status_code == 200
    assert console.headers["content-type"].startswith("text/html")

    curl_lines = [line.strip() for line in text.splitlines() if line.strip().startswith("curl ")]
    assert len(curl_lines) >= 3
    for line in curl_lines:
        response = _replay_curl(line)
        assert response.status_code in {200, 201}, (line.split("Bearer")[0], response.text)
        assert response.json()
        if line.endswith("/connections/test"):
            assert response.json()["ok"] is True, response.text
            # The management account (no child role) and legacy-archive (its child role
            # trusts another role) are unreachable; the connection still works.
            accounts = {a["name"]: a for a in response.json()["accounts"]}
            assert len(accounts) == 6
            assert [name for name, a in accounts.items() if not a["reachable"]] == [
                "master",
                "legacy-archive",
            ]

    assert httpx.get(f"{demo.base_url}/healthz").json() == {"status": "ok"}
    assert demo.request("GET", "/tenant").json()["name"] == "demo"


def test_a_private_api_is_onboarded_end_to_end_in_the_demo_organization(demo: Demo) -> None:
    connection = {
        "name": "payments (end to end)",
        "credential_type": "central_role",
        "central_role_arn": demo.central_role_arn,
    }
    tested = demo.request("POST", "/connections/test", json=connection).json()
    assert tested["ok"] is True, tested
    created = demo.request("POST", "/connections", json=connection)
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]

    accounts = demo.request("GET", f"/connections/{connection_id}/accounts").json()["items"]
    payments = next(a["account_id"] for a in accounts if a["name"] == "payments-prod")
    listed = demo.request(
        "GET",
        f"/connections/{connection_id}/apis",
        params={"region": "eu-west-1", "account_id": payments},
    ).json()
    private = next(api for api in listed["items"] if api["endpoint_type"] == "PRIVATE")
    prod = next(stage for stage in private["stages"] if stage["name"] == "prod")
    vpce_url = next(url for url in prod["instance_urls"] if "-vpce-" in url)

    onboarded = demo.request(
        "POST",
        "/applications",
        json={
            "connection_id": connection_id,
            "account_id": payments,
            "region": "eu-west-1",
            "api_id": private["api_id"],
            "instance_urls": [vpce_url],
        },
    )
    assert onboarded.status_code == 201, onboarded.text
    application = onboarded.json()
    assert application["instances"] == [
        {
            "url": vpce_url,
            "stage": "prod",
            "created_at": application["instances"][0]["created_at"],
            # A private API: a scanner outside the customer's VPC cannot reach it.
            "reachable_from": "vpc_only",
            "mutual_tls": False,
            "required_headers": {},
            "status": "active",
            "retired_at": None,
        }
    ]
    assert application["definition"]["operations"] == 3

    document = demo.request("GET", f"/applications/{application['id']}/openapi").json()
    assert document["host"] == vpce_url.split("/")[2]
    assert document["basePath"] == "/prod"
    assert set(document["paths"]) >= {"/products", "/orders"}
    relisted = demo.request(
        "GET",
        f"/connections/{connection_id}/apis",
        params={"region": "eu-west-1", "account_id": payments, "refresh": "true"},
    ).json()
    marked = {api["api_id"]: api["application_id"] for api in relisted["items"]}
    assert marked[private["api_id"]] == application["id"]


def _banner_value(demo: Demo, pattern: str) -> str:
    found = re.search(pattern, demo.banner)
    assert found, demo.banner
    return found.group(1)


def test_the_banners_iam_user_connects_to_an_account_with_apis(demo: Demo) -> None:
    keys = {
        "credential_type": "aws_user",
        "access_key_id": _banner_value(demo, r"access key id (AKIA\w+)"),
        "secret_access_key": _banner_value(demo, r"secret access key (\S+)"),
    }
    created = demo.request("POST", "/connections", json={"name": "reader user", **keys})
    assert created.status_code == 201, created.text
    connection = created.json()
    assert connection["access_key_id_masked"].endswith(keys["access_key_id"][-4:])
    listed = [
        api
        for region in ("us-east-1", "eu-west-1")
        for api in demo.request(
            "GET", f"/connections/{connection['id']}/apis", params={"region": region}
        ).json()["items"]
    ]
    assert listed, "the IAM user's account (shop-staging) has APIs"
    account = _banner_value(demo, r"IAM user of shop-staging (\d{12})")
    assert {api["account_id"] for api in listed} == {account}


def test_what_the_banner_says_fails_fails_as_aws_refuses_it(demo: Demo) -> None:
    role_arn = _banner_value(demo, r"role (arn:aws:iam::\d+:role/APIGatewayAccessRole-OldVendor)")
    tested = demo.request(
        "POST", "/connections/test", json={"credential_type": "assume_role", "role_arn": role_arn}
    ).json()
    assert tested["ok"] is False
    assert tested["error"]["code"] == "role_not_assumable"
    assert "not authorized to perform: sts:AssumeRole" in tested["error"]["message"]
    assert "sts:ExternalId" in tested["error"]["hint"]

    refusing = _banner_value(demo, r"account legacy-archive (\d{12})")
    central = {"credential_type": "central_role", "central_role_arn": demo.central_role_arn}
    accounts = demo.request("POST", "/connections/test", json=central).json()["accounts"]
    legacy = next(a for a in accounts if a["account_id"] == refusing)
    assert legacy["error"]["code"] == "role_not_assumable"
    assert "trust policy" in legacy["error"]["hint"]


def test_a_port_in_use_is_reported_before_seeding_naming_the_flag() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        finished = subprocess.run(
            [sys.executable, "-m", "app.cli", "demo", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert finished.returncode == 2
    assert f"127.0.0.1:{port}" in finished.stderr
    assert "--port" in finished.stderr
    assert "Onboarder demo" not in finished.stdout
    # Seeding the organization takes tens of seconds; the answer comes before it.
    assert time.monotonic() - started < 20
