"""The inventory stays true: a sync (one application now, or every application a run lists)
notices what changed in AWS and records it, and records nothing when nothing changed.

AWS here is moto: the seeded demo organization, changed as its owners would change it
(a method added and the stage redeployed, a stage deleted, an API deleted, an account
removed from the organization). Where a run must fail in a region, botocore's Stubber answers
as AWS would (moto never denies).
"""

from __future__ import annotations

from typing import Any

import boto3
from fastapi.testclient import TestClient

from app.core.db import Database
from app.integrations.aws.demo_organization import SeededApi, SeededOrganization
from app.integrations.aws.discovery import DiscoveryEngine
from app.schedules.runs import RunServices
from tests.applications.conftest import (
    account_client,
    api_ref,
    applications,
    onboarded,
    storefront_prod,
)
from tests.conftest import TenantWithKey
from tests.connections.aws_fixtures import StubPlan
from tests.discovery.test_custom_domains import recorded
from tests.schedules.conftest import DAILY_US, saved_schedule
from tests.schedules.test_runs import run_once

APPLICATIONS = "/api/v1/applications"


def sync(client: TestClient, tenant: TenantWithKey, application_id: str) -> dict[str, Any]:
    response = client.post(f"{APPLICATIONS}/{application_id}/sync", headers=tenant.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def changes(client: TestClient, tenant: TenantWithKey, application_id: str) -> list[Any]:
    response = client.get(f"{APPLICATIONS}/{application_id}/changes", headers=tenant.headers)
    assert response.status_code == 200, response.text
    items: list[Any] = response.json()["items"]
    return items


def kinds(client: TestClient, tenant: TenantWithKey, application_id: str) -> list[str]:
    return [change["kind"] for change in changes(client, tenant, application_id)]


def redeploy_with_an_open_method(org: SeededOrganization, api: SeededApi, path: str) -> None:
    """What an owner does: a new GET with no authorization, and the stage deployed again."""
    apigw = account_client(org, api, "apigateway")
    root = next(
        item["id"]
        for item in apigw.get_resources(restApiId=api.api_id)["items"]
        if item["path"] == "/"
    )
    resource = apigw.create_resource(restApiId=api.api_id, parentId=root, pathPart=path)
    apigw.put_method(
        restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET", authorizationType="NONE"
    )
    apigw.put_integration(
        restApiId=api.api_id, resourceId=resource["id"], httpMethod="GET", type="MOCK"
    )
    apigw.create_deployment(restApiId=api.api_id, stageName="prod")


def test_an_api_deleted_in_aws_is_retired_and_a_second_sync_records_nothing(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    assert (application["status"], application["last_synced_at"]) == ("active", None)
    api = org.api_named("shop-storefront-api")
    account_client(org, api, "apigateway").delete_rest_api(restApiId=api.api_id)

    synced = sync(client, tenant, application["id"])

    assert synced["status"] == "retired"
    assert synced["retired_at"] is not None
    assert synced["last_synced_at"] is not None
    assert synced["definitions"], "its definitions are kept"
    history = changes(client, tenant, application["id"])
    assert [change["kind"] for change in history] == ["retired", "onboarded"]
    assert api.api_id in history[0]["summary"]

    again = sync(client, tenant, application["id"])
    assert (again["status"], again["retired_at"]) == ("retired", synced["retired_at"])
    assert kinds(client, tenant, application["id"]) == ["retired", "onboarded"]
    retired = applications(client, tenant, status="retired")
    assert [item["id"] for item in retired] == [application["id"]]
    assert applications(client, tenant, status="active") == []


def test_an_open_method_deployed_to_a_stage_is_a_new_version_and_an_exposure_increase(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    [before] = application["definitions"]
    api = org.api_named("shop-storefront-api")
    redeploy_with_an_open_method(org, api, "debug")

    synced = sync(client, tenant, application["id"])

    [after] = synced["definitions"]
    assert (after["stage"], after["version"]) == ("prod", before["version"] + 1)
    assert after["deployment_id"] != before["deployment_id"]
    assert after["operations"] == before["operations"] + 1
    history = changes(client, tenant, application["id"])
    assert [change["kind"] for change in history][:2] == [
        "exposure_increased",
        "definition_changed",
    ]
    exposure, definition = history[0], history[1]
    assert exposure["stage"] == "prod"
    assert exposure["details"]["operations"] == [
        {"method": "GET", "path": "/debug", "before": None, "after": "public"}
    ]
    assert "GET /debug" in exposure["summary"]
    assert definition["details"]["operations_added"] == [
        {"method": "GET", "path": "/debug", "exposure": "public", "authorizer_type": None}
    ]
    assert definition["details"]["operations_removed"] == []
    assert (definition["details"]["version_before"], definition["details"]["version_after"]) == (
        before["version"],
        after["version"],
    )
    # The version before is kept, and served on request.
    old = client.get(
        f"{APPLICATIONS}/{application['id']}/openapi",
        params={"stage": "prod", "version": before["version"]},
        headers=tenant.headers,
    )
    assert old.status_code == 200, old.text

    # Nothing changed since: no new version, no change.
    sync(client, tenant, application["id"])
    assert len(changes(client, tenant, application["id"])) == len(history)


def test_a_deleted_stage_retires_its_instances(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    application = onboarded(
        client,
        tenant,
        connection_id=shop_prod,
        region=api.region,
        api_id=api.api_id,
        stages=["prod", "staging"],
    )
    account_client(org, api, "apigateway").delete_stage(restApiId=api.api_id, stageName="staging")

    synced = sync(client, tenant, application["id"])

    assert synced["status"] == "active"
    by_stage = {instance["stage"]: instance for instance in synced["instances"]}
    assert by_stage["staging"]["status"] == "retired"
    assert by_stage["staging"]["retired_at"] is not None
    assert (by_stage["prod"]["status"], by_stage["prod"]["retired_at"]) == ("active", None)
    retired = [
        c for c in changes(client, tenant, application["id"]) if c["kind"] == "instance_retired"
    ]
    assert [(c["stage"], c["details"]["url"]) for c in retired] == [
        ("staging", by_stage["staging"]["url"])
    ]
    assert "stage staging is gone" in retired[0]["summary"]


def test_runs_sync_without_reading_unchanged_stages_retire_what_is_gone_and_spare_failed_regions(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    aws_answers: dict[tuple[str, str], Any],
    stub_service: dict[str, StubPlan],
) -> None:
    account = org.account_id_named("shop-prod")
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": list(org.regions)})
    first = run_once(client, tenant, shop_prod, database, run_services)
    assert first["onboarded"] == len(org.apis_in(account, "us-east-1")) + len(
        org.apis_in(account, "eu-west-1")
    )
    definition_reads: list[dict[str, Any]] = []
    for operation in (
        ("apigateway", "GetExport"),
        ("apigateway", "GetDeployment"),
        ("apigateway", "GetResources"),
        ("apigatewayv2", "ExportApi"),
        ("apigatewayv2", "GetRoutes"),
    ):
        aws_answers[operation] = recorded(definition_reads)  # moto answers; counted here

    second = run_once(client, tenant, shop_prod, database, run_services)

    assert definition_reads == []
    assert (second["synced"], second["definitions_changed"], second["retired"]) == (
        first["onboarded"],
        0,
        0,
    )
    assert second["application_ids"] == []
    synced = applications(client, tenant)
    assert all(item["last_synced_at"] for item in synced)

    # The storefront is deleted and redeployed elsewhere nothing; eu-west-1 refuses this time.
    storefront = org.api_named("shop-storefront-api")
    account_client(org, storefront, "apigateway").delete_rest_api(restApiId=storefront.api_id)

    def denied(stubber: Any) -> None:
        stubber.add_client_error(
            "get_rest_apis",
            service_error_code="AccessDeniedException",
            service_message="User is not authorized to perform: apigateway:GET",
            http_status_code=403,
        )

    stub_service["apigateway@eu-west-1"] = denied
    services = RunServices(
        engine=DiscoveryEngine(), box=run_services.box, settings=run_services.settings
    )
    third = run_once(client, tenant, shop_prod, database, services)

    assert third["status"] == "partial"
    assert third["retired"] == 1
    by_api = {item["source"]["api_id"]: item for item in applications(client, tenant)}
    assert by_api[storefront.api_id]["status"] == "retired"
    assert by_api[storefront.api_id]["id"] in third["application_ids"]
    # What eu-west-1 holds is not known this time: nothing of it changes.
    for api in org.apis_in(account, "eu-west-1"):
        assert by_api[api.api_id]["status"] == "active"
    results = {(r["account_id"], r["region"]): r for r in third["results"]}
    assert results[(account, "us-east-1")]["retired"] == 1


def test_an_account_removed_from_the_organization_orphans_its_applications(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    central: str,
) -> None:
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": list(org.regions)})
    run_once(client, tenant, central, database, run_services)
    leaving = org.account_id_named("shop-prod")
    staying = org.account_id_named("payments-prod")
    boto3.client("organizations").remove_account_from_organization(AccountId=leaving)

    run = run_once(client, tenant, central, database, run_services)

    by_account: dict[str, list[Any]] = {}
    for item in applications(client, tenant):
        by_account.setdefault(item["source"]["account_id"], []).append(item)
    assert {item["status"] for item in by_account[leaving]} == {"orphaned"}
    assert {item["status"] for item in by_account[staying]} == {"active"}
    assert run["orphaned"] == len(by_account[leaving])
    orphaned = by_account[leaving][0]
    assert orphaned["orphaned_at"] is not None
    [change] = [c for c in changes(client, tenant, orphaned["id"]) if c["kind"] == "orphaned"]
    assert change["details"]["reason"] == "the account is no longer in the organization"


def test_a_deleted_connection_orphans_its_applications_and_another_connections_run_restores(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    central: str,
) -> None:
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    deleted = client.delete(f"/api/v1/connections/{shop_prod}", headers=tenant.headers)
    assert deleted.status_code == 204

    orphaned = client.get(f"{APPLICATIONS}/{application['id']}", headers=tenant.headers).json()
    assert orphaned["status"] == "orphaned"
    refused = client.post(f"{APPLICATIONS}/{application['id']}/sync", headers=tenant.headers)
    assert refused.status_code == 409
    assert refused.json()["code"] == "connection_deleted"

    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": ["us-east-1"]})
    run = run_once(client, tenant, central, database, run_services)

    restored = client.get(f"{APPLICATIONS}/{application['id']}", headers=tenant.headers).json()
    assert (restored["status"], restored["orphaned_at"]) == ("active", None)
    assert restored["source"]["connection_id"] == central
    assert run["restored"] == 1
    assert kinds(client, tenant, application["id"])[:2] == ["restored", "orphaned"]


def test_a_deleted_connections_applications_move_to_a_central_role_known_to_reach_them(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    shop_prod: str,
    central: str,
) -> None:
    # The central role's own account is the management account; that it reaches shop-prod
    # is known from an application it onboarded there.
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    catalog = org.api_named("shop-catalog-api")
    onboarded(
        client,
        tenant,
        connection_id=central,
        account_id=catalog.account_id,
        stages=["$default"],
        **api_ref(catalog),
    )
    deleted = client.delete(f"/api/v1/connections/{shop_prod}", headers=tenant.headers)
    assert deleted.status_code == 204

    moved = client.get(f"{APPLICATIONS}/{application['id']}", headers=tenant.headers).json()
    assert (moved["status"], moved["source"]["connection_id"]) == ("active", central)
    assert "orphaned" not in kinds(client, tenant, application["id"])


def test_the_history_pages_newest_first(
    client: TestClient, tenant: TenantWithKey, org: SeededOrganization, shop_prod: str
) -> None:
    api = org.api_named("shop-storefront-api")
    application = onboarded(client, tenant, **storefront_prod(org, shop_prod))
    redeploy_with_an_open_method(org, api, "one")
    sync(client, tenant, application["id"])
    every = kinds(client, tenant, application["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get(
            f"{APPLICATIONS}/{application['id']}/changes", params=params, headers=tenant.headers
        ).json()
        seen += [change["kind"] for change in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == every
    assert every[-1] == "onboarded"


def test_a_run_reads_again_only_the_stage_whose_deployment_changed(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    shop_prod: str,
    aws_answers: dict[tuple[str, str], Any],
) -> None:
    saved_schedule(client, tenant, shop_prod, **{**DAILY_US, "regions": ["us-east-1"]})
    run_once(client, tenant, shop_prod, database, run_services)
    storefront = org.api_named("shop-storefront-api")
    redeploy_with_an_open_method(org, storefront, "debug")
    exports: list[dict[str, Any]] = []
    aws_answers[("apigateway", "GetExport")] = recorded(exports)  # moto answers; counted

    run = run_once(client, tenant, shop_prod, database, run_services)

    assert [(e["restApiId"], e["stageName"]) for e in exports] == [(storefront.api_id, "prod")]
    assert run["definitions_changed"] == 1
    application = next(
        item
        for item in applications(client, tenant)
        if item["source"]["api_id"] == storefront.api_id
    )
    assert run["application_ids"] == [application["id"]]
    assert kinds(client, tenant, application["id"])[:2] == [
        "exposure_increased",
        "definition_changed",
    ]


def test_a_suspended_account_orphans_its_applications_and_active_again_restores_them(
    client: TestClient,
    tenant: TenantWithKey,
    org: SeededOrganization,
    database: Database,
    run_services: RunServices,
    central: str,
    aws_answers: dict[tuple[str, str], Any],
) -> None:
    # moto's accounts are never suspended: ListAccounts answers as AWS does for one that is
    # (State SUSPENDED, the field AWS added beside the older Status).
    saved_schedule(client, tenant, central, **{**DAILY_US, "regions": ["eu-west-1"]})
    run_once(client, tenant, central, database, run_services)
    suspended = org.account_id_named("payments-prod")
    accounts = boto3.client("organizations").list_accounts()["Accounts"]

    def listing(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "Accounts": [
                {**account, "State": "SUSPENDED" if account["Id"] == suspended else "ACTIVE"}
                for account in accounts
            ]
        }

    aws_answers[("organizations", "ListAccounts")] = listing
    run = run_once(client, tenant, central, database, run_services)

    payments = [a for a in applications(client, tenant) if a["source"]["account_id"] == suspended]
    assert payments
    assert {a["status"] for a in payments} == {"orphaned"}
    assert run["orphaned"] == len(payments)
    [change] = [c for c in changes(client, tenant, payments[0]["id"]) if c["kind"] == "orphaned"]
    assert change["details"]["reason"] == "the account is suspended"

    aws_answers.clear()  # active again
    again = run_once(client, tenant, central, database, run_services)

    assert again["restored"] == len(payments)
    assert {
        a["status"] for a in applications(client, tenant) if a["source"]["account_id"] == suspended
    } == {"active"}
