"""Regions an organization denies by policy, and parts of a region that cannot be read.

Organizations deny unused regions with a service control policy (Control Tower's region deny
control is one): AWS then answers API Gateway's calls there with AccessDeniedException, and
its message names the policy type ("with an explicit deny in a service control policy"). moto
never denies anything, so those answers come from botocore's Stubber, shaped as the service
model says (an `AccessDeniedException`, HTTP 403), and AWS's message wording.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.integrations.aws.discovery import RegionOutcome, settle_region_denials
from app.integrations.aws.errors import AwsFailure
from app.schedules.runs import RunServices
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import StubPlan
from tests.schedules.conftest import DAILY_US, saved_schedule
from tests.schedules.test_runs import run_once

ROLE = "arn:aws:sts::{account}:assumed-role/APIsecReadOnly/onboarder"


def denied(account: str, region: str, policy: str) -> StubPlan:
    """GetRestApis in `region` denied by an explicit deny in `policy`, as AWS words it."""
    message = (
        f"User: {ROLE.format(account=account)} is not authorized to perform: apigateway:GET "
        f"on resource: arn:aws:apigateway:{region}::/restapis with an explicit deny in a "
        f"{policy}"
    )

    def plan(stubber: Any) -> None:
        stubber.add_client_error(
            "get_rest_apis",
            service_error_code="AccessDeniedException",
            service_message=message,
            http_status_code=403,
        )

    return plan


@pytest.mark.parametrize(
    "policy",
    [
        "service control policy",  # an SCP, or Control Tower's region deny control
        # A role policy whose Deny has a condition on aws:RequestedRegion: AWS names the
        # policy type, and us-east-1 answers for the same role.
        "identity-based policy",
    ],
)
def test_a_region_a_policy_denies_is_reported_and_the_run_succeeds(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    stub_service: dict[str, StubPlan],
    policy: str,
) -> None:
    account = org.account_id_named("shop-prod")
    stub_service["apigateway@eu-west-1"] = denied(account, "eu-west-1", policy)
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": list(org.regions)})

    run = run_once(client, tenant, shop_prod, database, run_services)

    assert run["status"] == "succeeded"
    assert run["errors"] == []
    assert run["onboarded"] == len(org.apis_in(account, "us-east-1"))
    statuses = {(r["account_id"], r["region"]): r["status"] for r in run["results"]}
    assert statuses == {(account, "us-east-1"): "ok", (account, "eu-west-1"): "denied_by_policy"}
    assert run["regions_denied_by_policy"] == [{"account_id": account, "region": "eu-west-1"}]


def test_the_apis_of_an_scp_denied_region_are_none_and_say_why(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    stub_service: dict[str, StubPlan],
) -> None:
    account = org.account_id_named("shop-prod")
    stub_service["apigateway@eu-west-1"] = denied(account, "eu-west-1", "service control policy")

    response = client.get(
        f"/api/v1/connections/{shop_prod}/apis",
        params={"region": "eu-west-1"},
        headers=tenant.headers,
    )

    assert response.status_code == 200, response.text
    page = response.json()
    assert (page["items"], page["errors"]) == ([], [])
    [denial] = page["regions_denied_by_policy"]
    assert (denial["account_id"], denial["region"]) == (account, "eu-west-1")
    assert "service control policy" in denial["hint"]


def test_an_implicit_deny_stays_a_failure_that_names_the_missing_permission() -> None:
    def outcome(region: str, status: str, message: str = "") -> RegionOutcome:
        error = (
            AwsFailure(code="access_denied", message=message, hint="Allow apigateway:GET")
            if message
            else None
        )
        return RegionOutcome("111111111111", region, status, error=error)  # type: ignore[arg-type]

    implicit = outcome(
        "eu-west-1",
        "failed",
        "User: x is not authorized to perform: apigateway:GET because no identity-based policy "
        "allows the apigateway:GET action",
    )
    explicit_alone = RegionOutcome(
        "222222222222",
        "eu-west-1",
        "failed",
        error=AwsFailure(
            code="access_denied",
            message="... with an explicit deny in an identity-based policy",
            hint="",
        ),
    )
    outcomes = [outcome("us-east-1", "ok"), implicit, explicit_alone]

    settle_region_denials(outcomes)

    # The account whose other region answers, with an implicit deny: a permission is missing.
    assert (implicit.status, implicit.error and implicit.error.code) == ("failed", "access_denied")
    # An explicit deny in an account where nothing answers: nothing says it is region-specific.
    assert explicit_alone.status == "failed"


def test_a_custom_domain_that_cannot_be_read_leaves_the_region_listed_and_is_reported(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    aws_answers: dict[tuple[str, str], Any],
) -> None:
    # moto has no private custom domains: GetDomainNames answers one as AWS does (with its
    # domainNameId), and its mappings answer 404 as AWS does when it cannot find them.
    account = org.account_id_named("shop-prod")

    def domain_names(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "items": [
                {
                    "domainName": "internal.example.com",
                    "domainNameId": "a1b2c3d4e5",
                    "domainNameArn": "arn:aws:apigateway:us-east-1:"
                    f"{account}:/domainnames/internal.example.com+a1b2c3d4e5",
                    "endpointConfiguration": {"types": ["PRIVATE"]},
                }
            ]
        }

    def mappings(params: dict[str, Any]) -> dict[str, Any]:
        raise ClientError(
            {
                "Error": {"Code": "NotFoundException", "Message": "Invalid domain name"},
                "ResponseMetadata": {"HTTPStatusCode": 404},
            },
            "GetBasePathMappings",
        )

    aws_answers[("apigateway", "GetDomainNames")] = domain_names
    aws_answers[("apigateway", "GetBasePathMappings")] = mappings
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": ["us-east-1"]})

    listed = client.get(
        f"/api/v1/connections/{shop_prod}/apis",
        params={"region": "us-east-1"},
        headers=tenant.headers,
    ).json()
    run = run_once(client, tenant, shop_prod, database, run_services)

    expected = len(org.apis_in(account, "us-east-1"))
    assert len(listed["items"]) == expected
    [problem] = listed["errors"]
    assert (problem["account_id"], problem["region"], problem["code"]) == (
        account,
        "us-east-1",
        "not_found",
    )
    assert "internal.example.com" in problem["message"]
    assert run["onboarded"] == expected
    assert [(e["region"], e["code"]) for e in run["errors"]] == [("us-east-1", "not_found")]
    assert run["status"] == "partial"
