"""A schedule's scope over an organization: what is left out is never asked of AWS, and the
run says why. Against moto's Organizations, which models OUs (nested ones too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededOrganization
from app.schedules.runs import RunServices
from tests.applications.conftest import account_client, applications
from tests.conftest import AwsCall, TenantWithKey
from tests.connections.aws_fixtures import aws, platform_user  # noqa: F401 - fixtures
from tests.discovery.conftest import central, create_connection, org  # noqa: F401 - fixtures
from tests.schedules.conftest import (  # noqa: F401 - fixture
    DAILY_US,
    put_schedule,
    run_services,
    saved_schedule,
)
from tests.schedules.test_runs import run_once


def organize(organization: SeededOrganization) -> dict[str, str]:
    """root / workloads / prod (shop-prod), root / workloads (payments-prod),
    root / sandbox (shop-staging, data-sandbox)."""
    orgs = boto3.client("organizations")
    root = orgs.list_roots()["Roots"][0]["Id"]
    workloads = orgs.create_organizational_unit(ParentId=root, Name="workloads")
    workloads_id = workloads["OrganizationalUnit"]["Id"]
    prod = orgs.create_organizational_unit(ParentId=workloads_id, Name="prod")
    prod_id = prod["OrganizationalUnit"]["Id"]
    sandbox = orgs.create_organizational_unit(ParentId=root, Name="sandbox")
    sandbox_id = sandbox["OrganizationalUnit"]["Id"]
    for name, parent in (
        ("shop-prod", prod_id),
        ("payments-prod", workloads_id),
        ("shop-staging", sandbox_id),
        ("data-sandbox", sandbox_id),
    ):
        orgs.move_account(
            AccountId=organization.account_id_named(name),
            SourceParentId=root,
            DestinationParentId=parent,
        )
    return {"root": root, "workloads": workloads_id, "prod": prod_id, "sandbox": sandbox_id}


def assumed_accounts(calls: list[AwsCall], organization: SeededOrganization) -> set[str]:
    """The accounts whose child role was assumed."""
    child_role = organization.child_role_name
    return {
        call.params["RoleArn"].split(":")[4]
        for call in calls
        if call.operation == "AssumeRole" and child_role in call.params["RoleArn"]
    }


def onboarded_accounts(client: TestClient, tenant: TenantWithKey) -> set[str]:
    return {item["source"]["account_id"] for item in applications(client, tenant, limit=500)}


RunScoped = Callable[..., dict[str, Any]]


@pytest.fixture
def run_scoped(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    central: str,  # noqa: F811
    database: Database,
    run_services: RunServices,  # noqa: F811
) -> RunScoped:
    """Save the central connection's schedule with this scope, run it now, read the run."""

    def run(**scope: Any) -> dict[str, Any]:
        regions = list(org.regions)
        saved_schedule(client, tenant, central, **{**DAILY_US, "regions": regions, **scope})
        return run_once(client, tenant, central, database, run_services)

    return run


def tags_of(organization: SeededOrganization, api: Any) -> dict[str, str]:
    """The API's tags, as its owner reads them in AWS."""
    if api.protocol == "REST":
        apigateway = account_client(organization, api, "apigateway")
        return dict(apigateway.get_rest_api(restApiId=api.api_id).get("tags") or {})
    v2 = account_client(organization, api, "apigatewayv2")
    return dict(v2.get_api(ApiId=api.api_id).get("Tags") or {})


def test_an_excluded_ou_and_its_nested_ou_are_never_assumed_into_nor_onboarded(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
    aws_calls: list[AwsCall],
) -> None:
    ous = organize(org)
    aws_calls.clear()

    run = run_scoped(
        organizational_units={"exclude": [ous["workloads"]]},
    )

    left_out = {org.account_id_named("shop-prod"), org.account_id_named("payments-prod")}
    assert assumed_accounts(aws_calls, org).isdisjoint(left_out)
    assert onboarded_accounts(client, tenant).isdisjoint(left_out)
    assert onboarded_accounts(client, tenant), "the other accounts' APIs are onboarded"
    excluded = {entry["account_id"]: entry["reason"] for entry in run["excluded_accounts"]}
    assert set(excluded) == left_out
    assert all(ous["workloads"] in reason for reason in excluded.values())
    assert run["organizational_units"]["exclude"] == [ous["workloads"]]
    assert run["status"] == "succeeded"


def test_an_included_ou_and_an_included_account_add_up_and_an_exclude_wins(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
    aws_calls: list[AwsCall],
) -> None:
    ous = organize(org)
    staging = org.account_id_named("shop-staging")
    aws_calls.clear()

    run = run_scoped(
        organizational_units={"include": [ous["workloads"]]},
        accounts={"include": [staging], "exclude": [org.account_id_named("payments-prod")]},
    )

    expected = {org.account_id_named("shop-prod"), staging}
    assert assumed_accounts(aws_calls, org) == expected
    assert onboarded_accounts(client, tenant) == expected
    reasons = {entry["account_id"]: entry["reason"] for entry in run["excluded_accounts"]}
    assert "accounts.exclude" in reasons[org.account_id_named("payments-prod")]
    assert "include" in reasons[org.account_id_named("data-sandbox")]


def test_excluded_regions_are_not_listed(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
    aws_calls: list[AwsCall],
) -> None:
    kept, dropped = org.regions[0], org.regions[1]
    aws_calls.clear()

    run = run_scoped(exclude_regions=[dropped])

    listed = {c.region for c in aws_calls if c.operation in ("GetRestApis", "GetApis")}
    assert listed == {kept}
    onboarded = applications(client, tenant, limit=500)
    assert {item["source"]["region"] for item in onboarded} == {kept}
    assert {result["region"] for result in run["results"]} == {kept}


def test_tags_include_and_exclude_choose_the_apis_and_spare_the_stage_listings(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
    aws_calls: list[AwsCall],
) -> None:
    aws_calls.clear()

    run = run_scoped(
        tags={"include": {"environment": "production"}, "exclude": {"data-classification": "*"}},
    )

    names = {item["name"] for item in applications(client, tenant, limit=500)}
    tags = {api.name: tags_of(org, api) for api in org.apis}
    production = {
        name for name, tagged in tags.items() if tagged.get("environment") == "production"
    }
    pci = {name for name, tagged in tags.items() if "data-classification" in tagged}
    assert pci == {"payments-internal-api"}
    assert names == production - pci
    skipped = {entry["name"]: entry["reason"] for entry in run["skipped"]}
    assert skipped["payments-internal-api"].startswith("excluded_by_scope")
    assert "data-classification" in skipped["payments-internal-api"]
    assert "environment" in skipped["shop-storefront-api-staging"]
    # An API left out by its tags costs no GetStages.
    left_out = {api.api_id for api in org.apis if api.name in skipped}
    staged = {
        c.params.get("restApiId") or c.params.get("ApiId")
        for c in aws_calls
        if c.operation == "GetStages"
    }
    assert staged.isdisjoint(left_out)


def test_an_ou_the_organization_does_not_have_is_reported_by_the_run(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
) -> None:
    ous = organize(org)
    unknown = "ou-" + ous["workloads"].split("-")[1] + "-zzzzzzzz"

    run = run_scoped(
        organizational_units={"include": [ous["sandbox"], unknown]},
    )

    codes = {(error["code"], unknown in error["message"]) for error in run["errors"]}
    assert ("ou_not_found", True) in codes
    assert run["status"] == "partial"
    assert onboarded_accounts(client, tenant) <= {
        org.account_id_named("shop-staging"),
        org.account_id_named("data-sandbox"),
    }

    # An excluded OU that cannot be read: which accounts to leave out is unknown, so nothing
    # is onboarded.
    before = applications(client, tenant, limit=500)
    run = run_scoped(
        organizational_units={"exclude": [unknown]},
    )
    assert run["status"] == "failed"
    assert applications(client, tenant, limit=500) == before


@pytest.mark.parametrize(
    ("scope", "field"),
    [
        ({"accounts": {"include": ["12345"]}}, "accounts"),
        ({"accounts": {"include": ["111111111111"], "exclude": ["111111111111"]}}, "accounts"),
        ({"organizational_units": {"exclude": ["ou-nope"]}}, "organizational_units"),
        ({"exclude_regions": ["mars-1"]}, "exclude_regions"),
        ({"tags": {}}, "tags"),
        ({"tags": {"include": {}}}, "tags"),
        ({"tags": {"include": {"": "x"}}}, "tags"),
        ({"approval": "maybe"}, "approval"),
        ({"accounts": {"only": ["111111111111"]}}, "accounts"),
    ],
)
def test_a_malformed_scope_is_a_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    tenant: TenantWithKey,
    central: str,  # noqa: F811
    org: SeededOrganization,  # noqa: F811
    scope: dict[str, Any],
    field: str,
) -> None:
    saved = saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})

    response = put_schedule(
        client, tenant, central, **{**DAILY_US, "regions": list(org.regions), **scope}
    )

    assert response.status_code == 422, response.text
    fields = {error["field"].split(".")[0].split("[")[0] for error in response.json()["errors"]}
    assert field in fields
    now = client.get(f"/api/v1/connections/{central}/auto-onboard", headers=tenant.headers).json()
    assert {k: now[k] for k in ("accounts", "exclude_regions", "tags")} == {
        k: saved[k] for k in ("accounts", "exclude_regions", "tags")
    }


def test_accounts_and_ous_apply_to_an_organization_only(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
) -> None:
    single = create_connection(
        client, tenant, name="one", credential_type="assume_role", role_arn=org.assume_role_arn
    )
    for field, rule in (
        ("accounts", {"exclude": ["111111111111"]}),
        ("organizational_units", {"exclude": ["r-abcd"]}),
    ):
        response = put_schedule(
            client, tenant, single, **{**DAILY_US, "regions": list(org.regions), field: rule}
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == field


def test_the_api_listing_filters_by_tag(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    central: str,  # noqa: F811
) -> None:
    account = org.account_id_named("shop-prod")
    region = org.regions[0]

    def names(*tags: str) -> set[str]:
        response = client.get(
            f"/api/v1/connections/{central}/apis",
            params={"region": region, "account_id": account, "tag": list(tags)},
            headers=tenant.headers,
        )
        assert response.status_code == 200, response.text
        return {item["name"] for item in response.json()["items"]}

    everything = names()
    storefront = names("team=storefront")
    assert storefront
    assert storefront < everything
    assert names("team=*") == everything
    assert names("team=storefront", "environment=staging") == set()
    assert (
        client.get(
            f"/api/v1/connections/{central}/apis",
            params={"region": region, "account_id": account, "tag": "=x"},
            headers=tenant.headers,
        ).status_code
        == 422
    )


def test_a_central_role_that_may_not_read_ous_is_told_which_permissions_to_add(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    run_scoped: RunScoped,
    aws_answers: dict[tuple[str, str], Any],
) -> None:
    # moto does not check the central role's policy; AWS answers an implicit deny thus
    # (shaped as the service model says, through the aws_answers hook).
    ous = organize(org)

    def denied(params: dict[str, Any]) -> Any:
        raise ClientError(
            {
                "Error": {
                    "Code": "AccessDeniedException",
                    "Message": f"User: {org.central_role_arn} is not authorized to perform: "
                    "organizations:ListAccountsForParent on resource: "
                    f"{params['ParentId']} because no identity-based policy allows it",
                },
                "ResponseMetadata": {"HTTPStatusCode": 400},
            },
            "ListAccountsForParent",
        )

    aws_answers[("organizations", "ListAccountsForParent")] = denied

    run = run_scoped(
        organizational_units={"exclude": [ous["sandbox"]]},
    )

    assert run["status"] == "failed"
    [error] = run["errors"]
    assert error["code"] == "access_denied"
    assert "organizations:ListAccountsForParent" in error["hint"]
    assert "organizations:ListOrganizationalUnitsForParent" in error["hint"]
    assert applications(client, tenant) == []


def test_the_organizations_ous_are_listed_with_names_and_accounts_for_choosing(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,  # noqa: F811
    central: str,  # noqa: F811
) -> None:
    ous = organize(org)

    response = client.get(
        f"/api/v1/connections/{central}/organizational-units", headers=tenant.headers
    )

    assert response.status_code == 200, response.text
    units = {unit["id"]: unit for unit in response.json()["items"]}
    assert units[ous["root"]]["parent_id"] is None
    assert org.management_account_id in units[ous["root"]]["account_ids"]
    assert (units[ous["prod"]]["name"], units[ous["prod"]]["parent_id"]) == (
        "prod",
        ous["workloads"],
    )
    assert units[ous["prod"]]["account_ids"] == [org.account_id_named("shop-prod")]
    assert sorted(units[ous["sandbox"]]["account_ids"]) == sorted(
        [org.account_id_named("shop-staging"), org.account_id_named("data-sandbox")]
    )
